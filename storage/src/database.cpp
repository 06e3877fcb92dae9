#include "uio/storage/database.h"

#include "check.h"
#include "uio/storage/statement.h"

namespace uio::storage {

namespace {
constexpr int kBusyTimeoutMs = 5000;
}

Database::Database(const std::filesystem::path& path) : m_path(path) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string detail = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
        sqlite3_close_v2(m_db);
        throw StorageError("cannot open " + path.string() + ": " + detail + advice(error_kind(rc)), rc, error_kind(rc));
    }
    // Per-connection settings only: nothing here writes to the file.
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, kBusyTimeoutMs);
    try {
        exec("PRAGMA foreign_keys=ON");
        user_version();  // reads the header: fails at once on a file that is not a database
    } catch (const StorageError& e) {
        sqlite3_close_v2(m_db);
        const bool unusable = e.kind() == StorageError::Kind::NotADatabase || e.kind() == StorageError::Kind::Damaged;
        throw StorageError(
            path.string() + (unusable ? " is not a usable database (" : " cannot be opened (") + e.what() + ")",
            e.code(), e.kind());
    }
}

void Database::use_wal() {
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
}

Database::~Database() {
    sqlite3_close_v2(m_db);
}

void Database::exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        const std::string detail = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        const int code = sqlite3_extended_errcode(m_db);
        const auto kind = error_kind(code, sqlite3_system_errno(m_db));
        throw StorageError(m_path.string() + ": " + detail + advice(kind), code, kind);
    }
}

int64_t Database::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(m_db);
}

int Database::changes() const {
    return sqlite3_changes(m_db);
}

int Database::user_version() {
    Statement query(*this, "PRAGMA user_version");
    query.step();
    return static_cast<int>(query.column_int(0));
}

void Database::set_user_version(int version) {
    exec("PRAGMA user_version = " + std::to_string(version));
}

Transaction::Transaction(Database& db) : m_db(db) {
    m_db.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
    if (!m_done) {
        sqlite3_exec(m_db.m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void Transaction::commit() {
    m_db.exec("COMMIT");
    m_done = true;
}

}  // namespace uio::storage
