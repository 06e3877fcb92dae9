#include "migrations.h"

#include "uio/storage/error.h"

#include <string>

namespace uio::storage {

namespace {

// 1: documents, their text, and the memory cache.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE documents(
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    authors TEXT NOT NULL DEFAULT '',
    source_path TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    page_count INTEGER,
    token_count INTEGER
);
CREATE TABLE document_texts(
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    sections TEXT NOT NULL DEFAULT '[]',
    page_map TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE memory_keys(
    id INTEGER PRIMARY KEY,
    document_sha256 TEXT NOT NULL,
    model_fingerprint TEXT NOT NULL,
    adapter_fingerprint TEXT NOT NULL,
    segment_length INTEGER NOT NULL,
    memory_tokens INTEGER NOT NULL,
    dtype TEXT NOT NULL,
    UNIQUE(document_sha256, model_fingerprint, adapter_fingerprint, segment_length, memory_tokens, dtype)
);
CREATE TABLE memory_segments(
    key_id INTEGER NOT NULL REFERENCES memory_keys(id) ON DELETE CASCADE,
    segment_index INTEGER NOT NULL,
    token_begin INTEGER NOT NULL,
    token_end INTEGER NOT NULL,
    shape TEXT NOT NULL,
    dtype TEXT NOT NULL,
    checksum INTEGER NOT NULL,
    size INTEGER NOT NULL,
    blob BLOB NOT NULL,
    UNIQUE(key_id, segment_index)
);
)sql";

// 2: chats over sets of documents, and their messages.
constexpr const char* kMigration2 = R"sql(
CREATE TABLE chats(
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE chat_documents(
    chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY(chat_id, document_id)
);
CREATE TABLE messages(
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK(role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_by_chat ON messages(chat_id, id);
)sql";

// 3: compression jobs, adapters and training runs, so that work resumes after a restart.
constexpr const char* kMigration3 = R"sql(
CREATE TABLE compression_jobs(
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    key_id INTEGER REFERENCES memory_keys(id) ON DELETE SET NULL,
    state TEXT NOT NULL CHECK(state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
    priority INTEGER NOT NULL DEFAULT 0,
    segments_done INTEGER NOT NULL DEFAULT 0,
    segments_total INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX jobs_by_state ON compression_jobs(state, priority);
CREATE TABLE adapters(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    base_fingerprint TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE training_runs(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('running', 'paused', 'done', 'failed', 'cancelled')),
    checkpoint_path TEXT NOT NULL DEFAULT '',
    adapter_id INTEGER REFERENCES adapters(id) ON DELETE SET NULL,
    error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE training_points(
    run_id INTEGER NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK(kind IN ('train', 'eval')),
    value REAL NOT NULL,
    PRIMARY KEY(run_id, step, kind)
);
)sql";

// 4: evaluations of a training run record perplexity with memories ('eval') and of each segment
// alone ('eval_plain'). SQLite cannot change a CHECK in place: the table is rebuilt.
constexpr const char* kMigration4 = R"sql(
CREATE TABLE training_points_new(
    run_id INTEGER NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK(kind IN ('train', 'eval', 'eval_plain')),
    value REAL NOT NULL,
    PRIMARY KEY(run_id, step, kind)
);
INSERT INTO training_points_new SELECT run_id, step, kind, value FROM training_points;
DROP TABLE training_points;
ALTER TABLE training_points_new RENAME TO training_points;
)sql";

// 5: compression jobs run in the order they were queued; the priority nothing set goes.
constexpr const char* kMigration5 = R"sql(
DROP INDEX jobs_by_state;
ALTER TABLE compression_jobs DROP COLUMN priority;
CREATE INDEX jobs_by_state ON compression_jobs(state);
)sql";

// 6: what the tokenizer made of the document, kept with its memories, so that resuming or
// answering does not tokenize the whole book again: the token count and the tail after the last
// full segment (int32 ids, little-endian).
constexpr const char* kMigration6 = R"sql(
ALTER TABLE memory_keys ADD COLUMN token_count INTEGER;
ALTER TABLE memory_keys ADD COLUMN tail BLOB;
)sql";

// 7: the passage index (FTS5, bm25) and what cites it. Page and section maps written before
// counted UTF-16 code units ('utf16'); indexing a document rewrites them in bytes of the UTF-8
// text. Each memory key records where its segments start in the text, and each answer its sources.
constexpr const char* kMigration7 = R"sql(
ALTER TABLE document_texts ADD COLUMN offsets TEXT NOT NULL DEFAULT 'utf16';
ALTER TABLE document_texts ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE passages(
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    byte_begin INTEGER NOT NULL,
    byte_end INTEGER NOT NULL,
    page_first INTEGER,
    page_last INTEGER,
    section TEXT NOT NULL DEFAULT '',
    UNIQUE(document_id, ordinal)
);
CREATE VIRTUAL TABLE passage_text USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER passage_gone AFTER DELETE ON passages BEGIN
    DELETE FROM passage_text WHERE rowid = old.id;
END;
ALTER TABLE memory_keys ADD COLUMN segment_offsets BLOB;
ALTER TABLE messages ADD COLUMN sources TEXT NOT NULL DEFAULT '[]';
)sql";

constexpr const char* kMigrations[] = {kMigration1, kMigration2, kMigration3, kMigration4,
                                       kMigration5, kMigration6, kMigration7};
static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace

void migrate(Database& db, int target) {
    while (true) {
        // The version is read inside the write transaction: two programs opening a new library
        // at once must not both run the same migration.
        Transaction transaction(db);
        const int version = db.user_version();
        if (version < 0) {  // no program writes that: the header is damaged (fuzz_library's finding)
            throw StorageError(db.path().string() + " has the impossible schema version " + std::to_string(version) +
                                   " (the library file is damaged; move it aside and start a new one)",
                               0, StorageError::Kind::Damaged);
        }
        if (version >= target) {
            return;
        }
        db.exec(kMigrations[version]);
        db.set_user_version(version + 1);
        transaction.commit();
    }
}

}  // namespace uio::storage
