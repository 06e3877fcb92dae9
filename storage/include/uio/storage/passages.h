// The passage index: every document's text cut into passages of a few hundred tokens (at
// paragraph or sentence ends), each knowing its byte range in the text, its pages and its section,
// and indexed for full-text search (SQLite FTS5, ranked by bm25). A document is indexed when it is
// added; libraries made before the index are indexed by index_next(), a document at a time.
// Offsets are bytes of the UTF-8 text. Borrows a Database; one thread.
#pragma once

#include "uio/storage/database.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uio::storage {

struct Passage {
    int64_t id = 0;
    int64_t document_id = 0;
    int64_t ordinal = 0;  // 0, 1, ... in the document's order
    int64_t begin = 0;    // [begin, end) in the document's text, in bytes
    int64_t end = 0;
    std::optional<int64_t> page_first;  // paged documents only, 1-based
    std::optional<int64_t> page_last;
    std::string section;  // the title of the innermost section it starts in; may be empty
};

struct PassageHit {
    Passage passage;
    double score = 0.0;   // bm25, larger is better (SQLite's own sign flipped)
    std::string snippet;  // a few words around the matches, the matches in [brackets]
};

// Where passages end: at most about `target` bytes each, cut after a paragraph, else a sentence,
// else a space, never inside a UTF-8 character. Covers the whole text, in order, without overlap.
std::vector<std::pair<int64_t, int64_t>> cut_passages(std::string_view text, int64_t target = 1200);

// An FTS5 query that matches any of the words of a question (stop words left out, each quoted, so
// nothing the user types is read as query syntax). Empty when no word is left.
std::string match_any_word(std::string_view question);

// The byte offset in `utf8` of each UTF-16 offset in `offsets` (sorted or not), clamped to the text.
std::vector<int64_t> utf8_offsets(std::string_view utf8, const std::vector<int64_t>& utf16_offsets);

class Passages {
public:
    explicit Passages(Database& db) : m_db(db) {}

    // Cuts and indexes the document (again, if it was). Its own transaction.
    void index(int64_t document_id);
    // The same inside the caller's transaction.
    void index_in_transaction(int64_t document_id);
    // Indexes one document that has no passages yet; returns its id, or nothing when all are indexed.
    std::optional<int64_t> index_next();
    int64_t unindexed_count();
    // Indexes those of these documents that are not yet (a question may come before index_next).
    void index_missing(const std::vector<int64_t>& document_ids);

    // The best passages for the words of `question` within these documents (all when empty), best
    // first.
    std::vector<PassageHit> search(const std::string& question, const std::vector<int64_t>& document_ids,
                                   int limit = 20);
    std::vector<Passage> of_document(int64_t document_id);  // in order
    std::string text(const Passage& passage);               // its bytes of the document's text

private:
    Database& m_db;
};

}  // namespace uio::storage
