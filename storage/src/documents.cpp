#include "uio/storage/documents.h"

#include "uio/storage/library.h"
#include "uio/storage/passages.h"
#include "uio/storage/statement.h"

namespace uio::storage {

namespace {

constexpr const char* kColumns = "id, sha256, title, authors, source_path, format, added_at, page_count, token_count";

Document read_document(const Statement& row) {
    Document d;
    d.id = row.column_int(0);
    d.sha256 = row.column_text(1);
    d.title = row.column_text(2);
    d.authors = row.column_text(3);
    d.source_path = row.column_text(4);
    d.format = row.column_text(5);
    d.added_at = row.column_int(6);
    if (!row.is_null(7))
        d.page_count = row.column_int(7);
    if (!row.is_null(8))
        d.token_count = row.column_int(8);
    return d;
}

}  // namespace

Documents::Added Documents::add(const NewDocument& document) {
    Transaction transaction(m_db);
    if (const auto existing = find_by_sha256(document.sha256)) {
        return {existing->id, false};
    }
    Statement insert(m_db,
                     "INSERT INTO documents(sha256, title, authors, source_path, format, added_at, page_count) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, document.sha256).bind(2, document.title).bind(3, document.authors).bind(4, document.source_path);
    insert.bind(5, document.format).bind(6, now_ms());
    if (document.page_count) {
        insert.bind(7, *document.page_count);
    } else {
        insert.bind_null(7);
    }
    insert.run();
    const int64_t id = m_db.last_insert_rowid();
    Statement text(m_db,
                   "INSERT INTO document_texts(document_id, text, sections, page_map, offsets) "
                   "VALUES (?, ?, ?, ?, 'utf8')");
    text.bind(1, id).bind(2, document.text).bind(3, document.sections_json).bind(4, document.page_map_json).run();
    Passages(m_db).index_in_transaction(id);
    transaction.commit();
    return {id, true};
}

std::optional<Document> Documents::get(int64_t id) {
    Statement select(m_db, std::string("SELECT ") + kColumns + " FROM documents WHERE id = ?");
    select.bind(1, id);
    return select.step() ? std::optional(read_document(select)) : std::nullopt;
}

std::optional<Document> Documents::find_by_sha256(const std::string& sha256) {
    Statement select(m_db, std::string("SELECT ") + kColumns + " FROM documents WHERE sha256 = ?");
    select.bind(1, sha256);
    return select.step() ? std::optional(read_document(select)) : std::nullopt;
}

std::optional<DocumentText> Documents::text(int64_t id) {
    Statement select(m_db, "SELECT text, sections, page_map FROM document_texts WHERE document_id = ?");
    select.bind(1, id);
    if (!select.step())
        return std::nullopt;
    return DocumentText{select.column_text(0), select.column_text(1), select.column_text(2)};
}

void Documents::rename(int64_t id, const std::string& title) {
    Statement update(m_db, "UPDATE documents SET title = ? WHERE id = ?");
    update.bind(1, title).bind(2, id).run();
}

void Documents::set_token_count(int64_t id, int64_t tokens) {
    Statement update(m_db, "UPDATE documents SET token_count = ? WHERE id = ?");
    update.bind(1, tokens).bind(2, id).run();
}

void Documents::remove(int64_t id) {
    Transaction transaction(m_db);
    // Cached memory hangs off the content hash, not the row; text, jobs and chat places cascade.
    Statement keys(m_db, "DELETE FROM memory_keys WHERE document_sha256 = (SELECT sha256 FROM documents WHERE id = ?)");
    keys.bind(1, id).run();
    Statement remove(m_db, "DELETE FROM documents WHERE id = ?");
    remove.bind(1, id).run();
    transaction.commit();
}

std::vector<DocumentSummary> Documents::list() {
    Statement select(m_db,
                     std::string("SELECT d.id, d.sha256, d.title, d.authors, d.source_path, d.format, d.added_at, "
                                 "d.page_count, d.token_count, "
                                 "(SELECT state FROM compression_jobs j WHERE j.document_id = d.id "
                                 " ORDER BY j.id DESC LIMIT 1), "
                                 "COALESCE((SELECT SUM(s.size) FROM memory_segments s JOIN memory_keys k "
                                 "          ON s.key_id = k.id WHERE k.document_sha256 = d.sha256), 0) "
                                 "FROM documents d ORDER BY d.title COLLATE NOCASE, d.id"));
    std::vector<DocumentSummary> result;
    while (select.step()) {
        std::optional<JobState> state;
        if (!select.is_null(9))
            state = job_state_named(select.column_text(9));
        result.push_back({read_document(select), state, select.column_int(10)});
    }
    return result;
}

}  // namespace uio::storage
