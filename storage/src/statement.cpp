#include "uio/storage/statement.h"

#include "check.h"

namespace uio::storage {

Statement::Statement(Database& db, std::string_view sql) : m_db(db) {
    const int rc = sqlite3_prepare_v2(db.m_db, sql.data(), static_cast<int>(sql.size()), &m_stmt, nullptr);
    check(db.m_db, rc, "preparing \"" + std::string(sql) + "\"");
}

Statement::~Statement() {
    sqlite3_finalize(m_stmt);
}

Statement& Statement::bind(int index, int64_t value) {
    check(m_db.m_db, sqlite3_bind_int64(m_stmt, index, value), "binding an integer");
    return *this;
}

Statement& Statement::bind(int index, double value) {
    check(m_db.m_db, sqlite3_bind_double(m_stmt, index, value), "binding a number");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    const int rc = sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    check(m_db.m_db, rc, "binding text");
    return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::byte> bytes) {
    const int rc = sqlite3_bind_blob64(m_stmt, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    check(m_db.m_db, rc, "binding a blob");
    return *this;
}

Statement& Statement::bind_null(int index) {
    check(m_db.m_db, sqlite3_bind_null(m_stmt, index), "binding null");
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(m_stmt);
    check(m_db.m_db, rc, std::string("running \"") + sqlite3_sql(m_stmt) + "\"");
    return rc == SQLITE_ROW;
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

bool Statement::is_null(int column) const {
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

int64_t Statement::column_int(int column) const {
    return sqlite3_column_int64(m_stmt, column);
}

double Statement::column_double(int column) const {
    return sqlite3_column_double(m_stmt, column);
}

std::string Statement::column_text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, column));
    return text ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(m_stmt, column))) : std::string();
}

std::vector<std::byte> Statement::column_blob(int column) const {
    const auto* data = static_cast<const std::byte*>(sqlite3_column_blob(m_stmt, column));
    const auto size = static_cast<size_t>(sqlite3_column_bytes(m_stmt, column));
    return data ? std::vector<std::byte>(data, data + size) : std::vector<std::byte>();
}

}  // namespace uio::storage
