#include "uio/storage/passages.h"

#include "uio/storage/statement.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

namespace uio::storage {

namespace {

bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

// The last place in [from, to) where a passage may end, by preference: after a paragraph, after
// a sentence, after a space. Zero when there is none.
int64_t best_cut(std::string_view text, int64_t from, int64_t to) {
    const std::string_view window = text.substr(static_cast<size_t>(from), static_cast<size_t>(to - from));
    if (const size_t at = window.rfind("\n\n"); at != std::string_view::npos)
        return from + static_cast<int64_t>(at) + 2;
    for (size_t i = window.size(); i-- > 1;) {
        const char c = window[i - 1];
        if ((c == '.' || c == '!' || c == '?') && (window[i] == ' ' || window[i] == '\n'))
            return from + static_cast<int64_t>(i) + 1;
    }
    if (const size_t at = window.find_last_of(" \n"); at != std::string_view::npos)
        return from + static_cast<int64_t>(at) + 1;
    return 0;
}

constexpr std::array kStopWords = {
    "a",      "about", "an",    "and",  "are",   "as",    "at",    "be",    "but",  "by",    "did",   "do",
    "does",   "for",   "from",  "had",  "has",   "have",  "he",    "her",   "his",  "how",   "i",     "in",
    "is",     "it",    "its",   "me",   "my",    "of",    "on",    "or",    "she",  "that",  "the",   "their",
    "them",   "there", "they",  "this", "to",    "was",   "we",    "were",  "what", "when",  "where", "which",
    "who",    "whom",  "why",   "will", "with",  "would", "you",   "your",  "tell", "say",   "says",  "said",
    "about",  "does",  "doing", "into", "than",  "then",  "these", "those", "been", "being", "can",   "could",
    "should", "may",   "might", "must", "shall", "not",   "no",    "so",    "if",   "also",  "any",   "all",
};

struct PageSpan {
    int64_t page, begin, end;
};

struct SectionStart {
    std::string title;
    int64_t offset;
};

// The stored maps, read leniently: an entry that is not what ingestion writes is skipped.
std::vector<PageSpan> read_pages(const std::string& json) {
    std::vector<PageSpan> pages;
    const auto parsed = nlohmann::json::parse(json, nullptr, false);
    if (!parsed.is_array())
        return pages;
    for (const auto& p : parsed) {
        if (p.is_array() && p.size() == 3 && p[0].is_number_integer() && p[1].is_number_integer() &&
            p[2].is_number_integer()) {
            pages.push_back({p[0].get<int64_t>(), p[1].get<int64_t>(), p[2].get<int64_t>()});
        }
    }
    return pages;
}

std::vector<SectionStart> read_sections(const std::string& json) {
    std::vector<SectionStart> sections;
    const auto parsed = nlohmann::json::parse(json, nullptr, false);
    if (!parsed.is_array())
        return sections;
    for (const auto& s : parsed) {
        if (s.is_object() && s.contains("title") && s["title"].is_string() && s.contains("offset") &&
            s["offset"].is_number_integer()) {
            sections.push_back({s["title"].get<std::string>(), s["offset"].get<int64_t>()});
        }
    }
    return sections;
}

// Maps written before the index counted UTF-16 code units; they are rewritten in bytes once.
std::pair<std::string, std::string> maps_in_bytes(const std::string& text, const std::string& sections_json,
                                                  const std::string& pages_json) {
    auto sections = nlohmann::json::parse(sections_json, nullptr, false);
    auto pages = nlohmann::json::parse(pages_json, nullptr, false);
    std::vector<int64_t> offsets;
    if (sections.is_array()) {
        for (const auto& s : sections)
            if (s.is_object() && s.contains("offset") && s["offset"].is_number_integer())
                offsets.push_back(s["offset"].get<int64_t>());
    }
    if (pages.is_array()) {
        for (const auto& p : pages)
            if (p.is_array() && p.size() == 3 && p[1].is_number_integer() && p[2].is_number_integer()) {
                offsets.push_back(p[1].get<int64_t>());
                offsets.push_back(p[2].get<int64_t>());
            }
    }
    const auto bytes = utf8_offsets(text, offsets);
    size_t next = 0;
    if (sections.is_array()) {
        for (auto& s : sections)
            if (s.is_object() && s.contains("offset") && s["offset"].is_number_integer())
                s["offset"] = bytes[next++];
    }
    if (pages.is_array()) {
        for (auto& p : pages)
            if (p.is_array() && p.size() == 3 && p[1].is_number_integer() && p[2].is_number_integer()) {
                p[1] = bytes[next++];
                p[2] = bytes[next++];
            }
    }
    return {sections.is_array() ? sections.dump() : std::string("[]"), pages.is_array() ? pages.dump() : "[]"};
}

Passage read_passage(const Statement& row, int first) {
    Passage p;
    p.id = row.column_int(first);
    p.document_id = row.column_int(first + 1);
    p.ordinal = row.column_int(first + 2);
    p.begin = row.column_int(first + 3);
    p.end = row.column_int(first + 4);
    if (!row.is_null(first + 5))
        p.page_first = row.column_int(first + 5);
    if (!row.is_null(first + 6))
        p.page_last = row.column_int(first + 6);
    p.section = row.column_text(first + 7);
    return p;
}

constexpr const char* kPassageColumns =
    "p.id, p.document_id, p.ordinal, p.byte_begin, p.byte_end, p.page_first, "
    "p.page_last, p.section";

}  // namespace

std::vector<std::pair<int64_t, int64_t>> cut_passages(std::string_view text, int64_t target) {
    std::vector<std::pair<int64_t, int64_t>> spans;
    const auto n = static_cast<int64_t>(text.size());
    int64_t begin = 0;
    while (begin < n) {
        int64_t end = n;
        if (n - begin > target + target / 4) {
            end = best_cut(text, begin + target / 2, begin + target);
            if (end <= begin) {  // one long word: cut at a character boundary
                end = begin + target;
                while (end > begin + 1 && is_continuation(static_cast<unsigned char>(text[static_cast<size_t>(end)])))
                    --end;
            }
        }
        spans.emplace_back(begin, end);
        begin = end;
    }
    return spans;
}

std::string match_any_word(std::string_view question) {
    std::vector<std::string> words;
    std::set<std::string> seen;
    std::string word;
    auto finish = [&] {
        const bool stop = std::find(kStopWords.begin(), kStopWords.end(), word) != kStopWords.end();
        if (word.size() >= 2 && !stop && seen.insert(word).second && words.size() < 32)
            words.push_back(word);
        word.clear();
    };
    for (const char c : question) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || u >= 0x80) {
            word += static_cast<char>(std::tolower(u));
        } else {
            finish();
        }
    }
    finish();
    std::string query;
    for (const std::string& w : words) {
        query += (query.empty() ? "\"" : " OR \"") + w + "\"";
    }
    return query;
}

std::vector<int64_t> utf8_offsets(std::string_view utf8, const std::vector<int64_t>& utf16_offsets) {
    std::vector<size_t> order(utf16_offsets.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return utf16_offsets[a] < utf16_offsets[b]; });
    std::vector<int64_t> bytes(utf16_offsets.size());
    size_t at = 0;      // bytes
    int64_t units = 0;  // UTF-16 code units before `at`
    for (const size_t i : order) {
        while (at < utf8.size() && units < utf16_offsets[i]) {
            const auto lead = static_cast<unsigned char>(utf8[at]);
            const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
            units += length == 4 ? 2 : 1;
            at = std::min(utf8.size(), at + length);
        }
        bytes[i] = static_cast<int64_t>(at);
    }
    return bytes;
}

void Passages::index(int64_t document_id) {
    Transaction transaction(m_db);
    index_in_transaction(document_id);
    transaction.commit();
}

void Passages::index_in_transaction(int64_t document_id) {
    Statement select(m_db, "SELECT text, sections, page_map, offsets FROM document_texts WHERE document_id = ?");
    select.bind(1, document_id);
    if (!select.step())
        return;
    const std::string text = select.column_text(0);
    std::string sections_json = select.column_text(1);
    std::string pages_json = select.column_text(2);
    if (select.column_text(3) != "utf8") {
        std::tie(sections_json, pages_json) = maps_in_bytes(text, sections_json, pages_json);
        Statement fix(m_db,
                      "UPDATE document_texts SET sections = ?, page_map = ?, offsets = 'utf8' WHERE document_id = ?");
        fix.bind(1, sections_json).bind(2, pages_json).bind(3, document_id).run();
    }
    const auto pages = read_pages(pages_json);
    const auto sections = read_sections(sections_json);

    Statement clear(m_db, "DELETE FROM passages WHERE document_id = ?");
    clear.bind(1, document_id).run();
    Statement insert(m_db,
                     "INSERT INTO passages(document_id, ordinal, byte_begin, byte_end, page_first, page_last, section) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)");
    Statement insert_text(m_db, "INSERT INTO passage_text(rowid, text) VALUES (?, ?)");
    // No passage runs over a page or into a section: a citation names one page, one section.
    std::vector<int64_t> breaks{0, static_cast<int64_t>(text.size())};
    for (const PageSpan& p : pages)
        breaks.push_back(p.begin);
    for (const SectionStart& s : sections)
        breaks.push_back(s.offset);
    std::sort(breaks.begin(), breaks.end());
    breaks.erase(std::unique(breaks.begin(), breaks.end()), breaks.end());
    std::vector<std::pair<int64_t, int64_t>> spans;
    for (size_t b = 0; b + 1 < breaks.size(); ++b) {
        const int64_t from = std::clamp<int64_t>(breaks[b], 0, static_cast<int64_t>(text.size()));
        const int64_t to = std::clamp<int64_t>(breaks[b + 1], from, static_cast<int64_t>(text.size()));
        for (const auto& [begin, end] :
             cut_passages(std::string_view(text).substr(static_cast<size_t>(from), static_cast<size_t>(to - from))))
            spans.emplace_back(from + begin, from + end);
    }
    int64_t ordinal = 0;
    for (const auto& [begin, end] : spans) {
        insert.reset();
        insert.bind(1, document_id).bind(2, ordinal++).bind(3, begin).bind(4, end);
        const auto page_at = [&](int64_t offset) -> std::optional<int64_t> {
            for (const PageSpan& p : pages)
                if (offset < p.end)
                    return p.page;
            return pages.empty() ? std::nullopt : std::optional(pages.back().page);
        };
        const auto first = page_at(begin), last = page_at(std::max(begin, end - 1));
        first ? insert.bind(5, *first) : insert.bind_null(5);
        last ? insert.bind(6, *last) : insert.bind_null(6);
        std::string section;
        for (const SectionStart& s : sections)
            if (s.offset <= begin || (section.empty() && s.offset < end))
                section = s.title;
        insert.bind(7, section).run();
        insert_text.reset();
        insert_text.bind(1, m_db.last_insert_rowid())
            .bind(2, std::string_view(text).substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin)))
            .run();
    }
    Statement done(m_db, "UPDATE document_texts SET indexed = 1 WHERE document_id = ?");
    done.bind(1, document_id).run();
}

std::optional<int64_t> Passages::index_next() {
    Statement next(m_db, "SELECT document_id FROM document_texts WHERE indexed = 0 ORDER BY document_id LIMIT 1");
    if (!next.step())
        return std::nullopt;
    const int64_t id = next.column_int(0);
    index(id);
    return id;
}

int64_t Passages::unindexed_count() {
    Statement count(m_db, "SELECT COUNT(*) FROM document_texts WHERE indexed = 0");
    count.step();
    return count.column_int(0);
}

void Passages::index_missing(const std::vector<int64_t>& document_ids) {
    for (const int64_t id : document_ids) {
        Statement indexed(m_db, "SELECT indexed FROM document_texts WHERE document_id = ?");
        indexed.bind(1, id);
        if (indexed.step() && indexed.column_int(0) == 0)
            index(id);
    }
}

std::vector<PassageHit> Passages::search(const std::string& question, const std::vector<int64_t>& document_ids,
                                         int limit) {
    std::vector<PassageHit> hits;
    const std::string match = match_any_word(question);
    if (match.empty() || limit <= 0)
        return hits;
    std::string sql = std::string("SELECT ") + kPassageColumns +
                      ", bm25(passage_text), snippet(passage_text, 0, '[', ']', '…', 16) "
                      "FROM passage_text JOIN passages p ON p.id = passage_text.rowid WHERE passage_text MATCH ?";
    if (!document_ids.empty()) {
        sql += " AND p.document_id IN (";
        for (size_t i = 0; i < document_ids.size(); ++i)
            sql += i ? ", ?" : "?";
        sql += ")";
    }
    sql += " ORDER BY bm25(passage_text) LIMIT ?";
    Statement select(m_db, sql);
    int k = 1;
    select.bind(k++, match);
    for (const int64_t id : document_ids)
        select.bind(k++, id);
    select.bind(k, static_cast<int64_t>(limit));
    while (select.step()) {
        hits.push_back({read_passage(select, 0), -select.column_double(8), select.column_text(9)});
    }
    return hits;
}

std::vector<Passage> Passages::of_document(int64_t document_id) {
    Statement select(
        m_db, std::string("SELECT ") + kPassageColumns + " FROM passages p WHERE p.document_id = ? ORDER BY p.ordinal");
    select.bind(1, document_id);
    std::vector<Passage> passages;
    while (select.step())
        passages.push_back(read_passage(select, 0));
    return passages;
}

std::string Passages::text(const Passage& passage) {
    Statement select(m_db, "SELECT substr(CAST(text AS BLOB), ?, ?) FROM document_texts WHERE document_id = ?");
    select.bind(1, passage.begin + 1).bind(2, passage.end - passage.begin).bind(3, passage.document_id);
    return select.step() ? select.column_text(0) : std::string();
}

}  // namespace uio::storage
