#include "uio/storage/memory_cache.h"

#include "check.h"
#include "uio/common/checksum.h"
#include "uio/storage/statement.h"

#include <charconv>
#include <sstream>

namespace uio::storage {

namespace {

std::string join(const std::vector<int64_t>& shape) {
    std::string s;
    for (const int64_t d : shape) {
        if (!s.empty())
            s += ',';
        s += std::to_string(d);
    }
    return s;
}

// "2,8,64" -> {2, 8, 64}; nothing when the text is not such a list (a damaged row).
std::optional<std::vector<int64_t>> split(const std::string& text) {
    std::vector<int64_t> out;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');) {
        int64_t value = 0;
        const char* end = part.data() + part.size();
        const auto [stop, error] = std::from_chars(part.data(), end, value);
        if (error != std::errc() || stop != end)
            return std::nullopt;
        out.push_back(value);
    }
    return out;
}

}  // namespace

// Incremental blob I/O on one row of memory_segments.blob.
class BlobIo {
public:
    BlobIo(Database& db, int64_t rowid, bool write) : m_db(db.m_db) {
        check(m_db, sqlite3_blob_open(m_db, "main", "memory_segments", "blob", rowid, write ? 1 : 0, &m_blob),
              "opening a memory segment");
    }
    ~BlobIo() { sqlite3_blob_close(m_blob); }
    int size() const { return sqlite3_blob_bytes(m_blob); }
    void read(std::span<std::byte> out) {
        check(m_db, sqlite3_blob_read(m_blob, out.data(), static_cast<int>(out.size()), 0), "reading a memory segment");
    }
    void write(std::span<const std::byte> in) {
        check(m_db, sqlite3_blob_write(m_blob, in.data(), static_cast<int>(in.size()), 0), "writing a memory segment");
    }

private:
    sqlite3* m_db;
    sqlite3_blob* m_blob = nullptr;
};

std::optional<int64_t> MemoryCache::find_key(const MemoryKey& key) {
    Statement select(m_db,
                     "SELECT id FROM memory_keys WHERE document_sha256 = ? AND model_fingerprint = ? AND "
                     "adapter_fingerprint = ? AND segment_length = ? AND memory_tokens = ? AND dtype = ?");
    select.bind(1, key.document_sha256).bind(2, key.model_fingerprint).bind(3, key.adapter_fingerprint);
    select.bind(4, key.segment_length).bind(5, key.memory_tokens).bind(6, key.dtype);
    return select.step() ? std::optional(select.column_int(0)) : std::nullopt;
}

int64_t MemoryCache::key_id(const MemoryKey& key) {
    Statement insert(m_db,
                     "INSERT OR IGNORE INTO memory_keys(document_sha256, model_fingerprint, adapter_fingerprint, "
                     "segment_length, memory_tokens, dtype) VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, key.document_sha256).bind(2, key.model_fingerprint).bind(3, key.adapter_fingerprint);
    insert.bind(4, key.segment_length).bind(5, key.memory_tokens).bind(6, key.dtype).run();
    if (const auto id = find_key(key))
        return *id;
    throw StorageError(
        "the memory key just stored cannot be found (the library file is damaged; move it aside and "
        "start a new one)",
        0, StorageError::Kind::Damaged);
}

void MemoryCache::put(int64_t key, const SegmentInfo& info, std::span<const std::byte> bytes) {
    if (blob_checksum(bytes) != info.checksum) {
        throw StorageError("memory segment " + std::to_string(info.index) + " does not match its checksum; not stored");
    }
    Transaction transaction(m_db);
    Statement insert(m_db,
                     "INSERT OR REPLACE INTO memory_segments(key_id, segment_index, token_begin, token_end, shape, "
                     "dtype, checksum, size, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?, zeroblob(?))");
    insert.bind(1, key).bind(2, info.index).bind(3, info.token_begin).bind(4, info.token_end);
    insert.bind(5, join(info.shape)).bind(6, info.dtype).bind(7, static_cast<int64_t>(info.checksum));
    insert.bind(8, static_cast<int64_t>(bytes.size())).bind(9, static_cast<int64_t>(bytes.size())).run();
    BlobIo(m_db, m_db.last_insert_rowid(), true).write(bytes);
    transaction.commit();
}

std::optional<StoredSegment> MemoryCache::get(int64_t key, int64_t index) {
    Statement select(m_db,
                     "SELECT rowid, token_begin, token_end, shape, dtype, checksum, size FROM memory_segments "
                     "WHERE key_id = ? AND segment_index = ?");
    select.bind(1, key).bind(2, index);
    if (!select.step()) {
        return std::nullopt;
    }
    const auto shape = split(select.column_text(3));
    if (!shape) {
        return std::nullopt;  // damaged: the caller compresses it again
    }
    StoredSegment segment;
    segment.info = {index,  select.column_int(1),  select.column_int(2),
                    *shape, select.column_text(4), static_cast<uint64_t>(select.column_int(5))};
    BlobIo blob(m_db, select.column_int(0), false);
    if (blob.size() != select.column_int(6)) {
        return std::nullopt;
    }
    segment.bytes.resize(static_cast<size_t>(blob.size()));
    blob.read(segment.bytes);
    if (blob_checksum(segment.bytes) != segment.info.checksum) {
        return std::nullopt;  // damaged: the caller compresses it again
    }
    return segment;
}

std::vector<int64_t> MemoryCache::indices(int64_t key) {
    Statement select(m_db, "SELECT segment_index FROM memory_segments WHERE key_id = ? ORDER BY segment_index");
    select.bind(1, key);
    std::vector<int64_t> result;
    while (select.step())
        result.push_back(select.column_int(0));
    return result;
}

int64_t MemoryCache::bytes_for_key(int64_t key) {
    Statement select(m_db, "SELECT COALESCE(SUM(size), 0) FROM memory_segments WHERE key_id = ?");
    select.bind(1, key);
    select.step();
    return select.column_int(0);
}

int64_t MemoryCache::bytes_for_document(const std::string& sha256) {
    Statement select(m_db,
                     "SELECT COALESCE(SUM(s.size), 0) FROM memory_segments s JOIN memory_keys k ON s.key_id = k.id "
                     "WHERE k.document_sha256 = ?");
    select.bind(1, sha256);
    select.step();
    return select.column_int(0);
}

void MemoryCache::set_tokens(int64_t key, const Tokens& tokens) {
    std::vector<std::byte> tail(tokens.tail.size() * 4);
    for (size_t i = 0; i < tokens.tail.size(); ++i) {
        const auto id = static_cast<uint32_t>(tokens.tail[i]);
        for (size_t b = 0; b < 4; ++b)
            tail[4 * i + b] = static_cast<std::byte>((id >> (8 * b)) & 0xFF);
    }
    std::vector<std::byte> offsets(tokens.segment_offsets.size() * 8);
    for (size_t i = 0; i < tokens.segment_offsets.size(); ++i) {
        const auto offset = static_cast<uint64_t>(tokens.segment_offsets[i]);
        for (size_t b = 0; b < 8; ++b)
            offsets[8 * i + b] = static_cast<std::byte>((offset >> (8 * b)) & 0xFF);
    }
    Statement update(m_db, "UPDATE memory_keys SET token_count = ?, tail = ?, segment_offsets = ? WHERE id = ?");
    update.bind(1, tokens.count).bind_blob(2, tail).bind_blob(3, offsets).bind(4, key).run();
}

std::optional<MemoryCache::Tokens> MemoryCache::tokens(int64_t key) {
    Statement select(m_db, "SELECT token_count, tail, segment_offsets FROM memory_keys WHERE id = ?");
    select.bind(1, key);
    if (!select.step() || select.is_null(0))
        return std::nullopt;  // an empty tail is stored as NULL
    const std::vector<std::byte> bytes = select.column_blob(1);
    Tokens tokens{select.column_int(0), {}, {}};
    if (tokens.count < 0 || bytes.size() % 4 != 0 || static_cast<int64_t>(bytes.size() / 4) > tokens.count)
        return std::nullopt;  // damaged: the caller tokenizes again
    for (size_t i = 0; i < bytes.size(); i += 4) {
        uint32_t id = 0;
        for (int b = 0; b < 4; ++b)
            id |= static_cast<uint32_t>(std::to_integer<uint8_t>(bytes[i + b])) << (8 * b);
        tokens.tail.push_back(static_cast<int32_t>(id));
    }
    // Offsets that are not a rising sequence (damage, or none recorded) read as none.
    const std::vector<std::byte> offsets = select.column_blob(2);
    for (size_t i = 0; offsets.size() % 8 == 0 && i < offsets.size(); i += 8) {
        uint64_t offset = 0;
        for (int b = 0; b < 8; ++b)
            offset |= static_cast<uint64_t>(std::to_integer<uint8_t>(offsets[i + b])) << (8 * b);
        if (!tokens.segment_offsets.empty() && static_cast<int64_t>(offset) < tokens.segment_offsets.back()) {
            tokens.segment_offsets.clear();
            break;
        }
        tokens.segment_offsets.push_back(static_cast<int64_t>(offset));
    }
    return tokens;
}

void MemoryCache::remove(int64_t key, int64_t index) {
    Statement remove(m_db, "DELETE FROM memory_segments WHERE key_id = ? AND segment_index = ?");
    remove.bind(1, key).bind(2, index).run();
}

void MemoryCache::purge_key(int64_t key) {
    Statement remove(m_db, "DELETE FROM memory_keys WHERE id = ?");
    remove.bind(1, key).run();
}

MemoryCache::Usage MemoryCache::usage(const std::string& model_fingerprint, const std::string& adapter_fingerprint) {
    Statement select(m_db,
                     "SELECT COALESCE(SUM(s.size), 0), COALESCE(SUM(CASE WHEN k.model_fingerprint = ? AND "
                     "k.adapter_fingerprint = ? THEN 0 ELSE s.size END), 0) "
                     "FROM memory_segments s JOIN memory_keys k ON s.key_id = k.id");
    select.bind(1, model_fingerprint).bind(2, adapter_fingerprint);
    select.step();
    return {select.column_int(0), select.column_int(1)};
}

int64_t MemoryCache::purge_other(const std::string& model_fingerprint, const std::string& adapter_fingerprint) {
    Transaction transaction(m_db);
    const int64_t before = usage(model_fingerprint, adapter_fingerprint).other_bytes;
    Statement remove(m_db, "DELETE FROM memory_keys WHERE NOT (model_fingerprint = ? AND adapter_fingerprint = ?)");
    remove.bind(1, model_fingerprint).bind(2, adapter_fingerprint).run();
    transaction.commit();
    return before;
}

}  // namespace uio::storage
