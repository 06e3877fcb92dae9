// Documents of the library: added once per content (sha256), with their text, sections and page
// map (JSON made by the ingestion) and indexed for search (passages.h); renamed, deleted with
// everything hanging off them, listed with their compression status and cache size. Borrows a
// Database; one thread.
#pragma once

#include "uio/storage/database.h"
#include "uio/storage/jobs.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uio::storage {

struct NewDocument {
    std::string sha256;  // of the file's bytes, lowercase hex
    std::string title;
    std::string authors;
    std::string source_path;
    std::string format;  // "pdf", "epub", "txt", "md", "html"
    std::string text;
    std::string sections_json = "[]";  // [{"title", "level", "offset"}], offsets in bytes of `text`
    std::string page_map_json = "[]";  // [[page, begin, end]], in bytes of `text`
    std::optional<int64_t> page_count;
};

struct Document {
    int64_t id = 0;
    std::string sha256;
    std::string title;
    std::string authors;
    std::string source_path;
    std::string format;
    int64_t added_at = 0;  // ms since the epoch
    std::optional<int64_t> page_count;
    std::optional<int64_t> token_count;
};

struct DocumentSummary {
    Document document;
    std::optional<JobState> job_state;  // of the latest compression job; none: never queued
    int64_t cache_bytes = 0;            // memory stored for this content, all keys
};

struct DocumentText {
    std::string text;
    std::string sections_json;
    std::string page_map_json;
};

class Documents {
public:
    explicit Documents(Database& db) : m_db(db) {}

    struct Added {
        int64_t id;
        bool is_new;  // false: the same content was already in the library
    };
    Added add(const NewDocument& document);

    std::optional<Document> get(int64_t id);
    std::optional<Document> find_by_sha256(const std::string& sha256);
    std::optional<DocumentText> text(int64_t id);
    void rename(int64_t id, const std::string& title);
    void set_token_count(int64_t id, int64_t tokens);
    // Removes the document, its text, its jobs, its place in chats and its cached memory.
    void remove(int64_t id);
    std::vector<DocumentSummary> list();

private:
    Database& m_db;
};

}  // namespace uio::storage
