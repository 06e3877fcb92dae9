// Turns an SQLite result code into a StorageError carrying SQLite's own message and a kind.
#pragma once

#include "uio/storage/error.h"

#include <sqlite3.h>

#include <cerrno>
#include <string>

namespace uio::storage {

// `system_errno`: sqlite3_system_errno's, which tells an I/O error of a full disk (creating or
// growing the -wal and -shm files fails that way) from the others.
inline StorageError::Kind error_kind(int code, int system_errno = 0) {
    switch (code & 0xff) {
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
            return system_errno == ENOSPC || system_errno == EDQUOT ? StorageError::Kind::DiskFull
                                                                    : StorageError::Kind::Other;
        case SQLITE_NOTADB:
            return StorageError::Kind::NotADatabase;
        case SQLITE_CORRUPT:
            return StorageError::Kind::Damaged;
        case SQLITE_FULL:
            return StorageError::Kind::DiskFull;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return StorageError::Kind::Busy;
        case SQLITE_READONLY:
            return StorageError::Kind::ReadOnly;
        case SQLITE_CONSTRAINT:
            return StorageError::Kind::Constraint;
        default:
            return StorageError::Kind::Other;
    }
}

inline std::string advice(StorageError::Kind kind) {
    switch (kind) {
        case StorageError::Kind::NotADatabase:
            return " (the file is not a UIO Desk library)";
        case StorageError::Kind::Damaged:
            return " (the library file is damaged; move it aside and start a new one)";
        case StorageError::Kind::DiskFull:
            return " (the disk is full: free some space and try again; nothing saved was lost)";
        case StorageError::Kind::Busy:
            return " (another program holds the library; close it and try again)";
        case StorageError::Kind::ReadOnly:
            return " (the library file cannot be written: check its permissions)";
        default:
            return "";
    }
}

inline void check(sqlite3* db, int rc, const std::string& doing) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) {
        return;
    }
    const int code = db ? sqlite3_extended_errcode(db) : rc;
    const auto kind = error_kind(code, db ? sqlite3_system_errno(db) : 0);
    const char* detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    throw StorageError(doing + ": " + detail + advice(kind), code, kind);
}

}  // namespace uio::storage
