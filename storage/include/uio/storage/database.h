// One open SQLite database file. Owns its connection; use one Database per thread (SQLite
// connections are not shared across threads here). Every failure throws StorageError.
#pragma once

#include "uio/storage/error.h"

#include <cstdint>
#include <filesystem>
#include <string>

struct sqlite3;

namespace uio::storage {

class Database {
public:
    // Opens (creating if needed) with foreign keys on and a busy timeout, so that short write
    // conflicts wait instead of failing. Writes nothing: a file from a newer program stays as it is.
    explicit Database(const std::filesystem::path& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    const std::filesystem::path& path() const noexcept { return m_path; }

    // Write-ahead logging, so that readers never block on a writer (changes the file header).
    void use_wal();

    // Runs one or more statements that return no rows.
    void exec(const std::string& sql);

    int64_t last_insert_rowid() const;
    int changes() const;  // rows changed by the last statement

    int user_version();
    void set_user_version(int version);

private:
    friend class Statement;
    friend class Transaction;
    friend class BlobIo;

    std::filesystem::path m_path;
    sqlite3* m_db = nullptr;
};

// Rolls back unless commit() was called.
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

private:
    Database& m_db;
    bool m_done = false;
};

}  // namespace uio::storage
