// A prepared statement: bind parameters (1-based), step through rows, read columns (0-based).
// Owned by one thread, like its Database.
#pragma once

#include "uio/storage/database.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3_stmt;

namespace uio::storage {

class Statement {
public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, int64_t value);
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind_blob(int index, std::span<const std::byte> bytes);
    Statement& bind_null(int index);

    // Returns true while there is a row to read, false when done.
    bool step();
    // Runs a statement that returns no rows.
    void run();
    void reset();

    bool is_null(int column) const;
    int64_t column_int(int column) const;
    double column_double(int column) const;
    std::string column_text(int column) const;
    std::vector<std::byte> column_blob(int column) const;

private:
    Database& m_db;
    sqlite3_stmt* m_stmt = nullptr;
};

}  // namespace uio::storage
