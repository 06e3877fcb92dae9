// The user's library file: opening (refusing a newer schema, migrating an older one), integrity,
// and moving a damaged file aside. One Library per thread; repositories borrow its Database.
#pragma once

#include "uio/storage/database.h"

#include <filesystem>
#include <string>

namespace uio::storage {

class Library {
public:
    // Throws StorageError: NotADatabase or Damaged (offer move_aside), NewerVersion (the file is
    // left exactly as it was), DiskFull, ReadOnly.
    explicit Library(const std::filesystem::path& path);

    Database& db() { return m_db; }
    int schema_version() { return m_db.user_version(); }
    static int latest_schema_version();

    // "ok", or SQLite's list of problems.
    std::string integrity_check();

    // Renames a damaged library (and its -wal/-shm files) to "<name>.damaged-<time>" so that a new
    // one can start; returns the new name. The old file is kept for recovery. Throws StorageError.
    static std::filesystem::path move_aside(const std::filesystem::path& path);

private:
    Database m_db;
};

// Milliseconds since the Unix epoch, the time unit of every stored timestamp.
int64_t now_ms();

}  // namespace uio::storage
