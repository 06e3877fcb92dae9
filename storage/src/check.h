// Turns an SQLite result code into a StorageError carrying SQLite's own message.
#pragma once

#include "uio/storage/error.h"

#include <sqlite3.h>

#include <string>

namespace uio::storage {

inline void check(sqlite3* db, int rc, const std::string& doing) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) {
        return;
    }
    const char* detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    throw StorageError(doing + ": " + detail, db ? sqlite3_extended_errcode(db) : rc);
}

}  // namespace uio::storage
