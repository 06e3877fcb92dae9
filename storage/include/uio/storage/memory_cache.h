// The memory cache: one row per compressed segment, under a key that names exactly how it was
// made. Each segment is written in its own transaction, so a crash loses at most the segment in
// flight; blobs go in and out through SQLite's incremental blob I/O, straight between the
// database pages and the caller's buffer. A segment whose checksum fails reads as missing.
#pragma once

#include "uio/storage/database.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace uio::storage {

struct MemoryKey {
    std::string document_sha256;
    std::string model_fingerprint;
    std::string adapter_fingerprint;
    int64_t segment_length = 0;
    int64_t memory_tokens = 0;
    std::string dtype;  // "f32", "bf16", "f16"
};

struct SegmentInfo {
    int64_t index = 0;
    int64_t token_begin = 0;
    int64_t token_end = 0;
    std::vector<int64_t> shape;
    std::string dtype;
    uint64_t checksum = 0;  // uio::blob_checksum of the bytes
};

struct StoredSegment {
    SegmentInfo info;
    std::vector<std::byte> bytes;
};

class MemoryCache {
public:
    explicit MemoryCache(Database& db) : m_db(db) {}

    int64_t key_id(const MemoryKey& key);                   // creates the key when new
    std::optional<int64_t> find_key(const MemoryKey& key);  // never creates

    // Stores one segment in its own transaction, replacing one with the same index. Throws
    // StorageError when `bytes` do not match `info.checksum` (the caller's buffer is damaged).
    void put(int64_t key, const SegmentInfo& info, std::span<const std::byte> bytes);
    // The segment, or nothing when it is absent or its bytes fail the checksum.
    std::optional<StoredSegment> get(int64_t key, int64_t index);
    std::vector<int64_t> indices(int64_t key);  // stored segments, ascending
    void remove(int64_t key, int64_t index);    // one segment (nothing when it is not stored)

    // What the tokenizer made of the document under this key: its token count and the tail after
    // the last full segment. Nothing until set, or when the stored tail is damaged.
    struct Tokens {
        int64_t count = 0;
        std::vector<int32_t> tail;
        // Where segment k starts in the document's text (bytes), for every segment and then the
        // tail: what a segment's memory covers. Empty when not recorded.
        std::vector<int64_t> segment_offsets;
    };
    void set_tokens(int64_t key, const Tokens& tokens);
    std::optional<Tokens> tokens(int64_t key);

    int64_t bytes_for_key(int64_t key);
    int64_t bytes_for_document(const std::string& sha256);
    void purge_key(int64_t key);
    // Bytes of every stored segment, and of those not made by this model and adapter (all of them
    // when the fingerprints are empty).
    struct Usage {
        int64_t total_bytes = 0;
        int64_t other_bytes = 0;
    };
    Usage usage(const std::string& model_fingerprint, const std::string& adapter_fingerprint);
    // Removes every key not made by this model and adapter; returns the bytes that went.
    int64_t purge_other(const std::string& model_fingerprint, const std::string& adapter_fingerprint);

private:
    Database& m_db;
};

}  // namespace uio::storage
