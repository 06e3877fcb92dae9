// A compressed document in one file, for the command line (`uio compress --out`,
// `uio generate --memory`): safetensors with one tensor "memories" [S, L, m, d] and metadata
// format "uio-memory", version "1", segment_length, memory_tokens, adapter_fingerprint,
// base_fingerprint, n_tokens and residual_tokens (the uncompressed tail, comma-separated ids).
#pragma once

#include "uio/model/memory.h"

#include <filesystem>
#include <string>
#include <vector>

namespace uio::model {

struct MemoryFile {
    std::vector<MemoryBlob> segments;
    std::vector<int32_t> residual;  // the document's last tokens, fewer than segment_length
    int64_t segment_length = 0;
    int64_t memory_tokens = 0;
    int64_t n_tokens = 0;  // of the whole document, BOS included
    std::string adapter_fingerprint;
    std::string base_fingerprint;
};

void write_memory_file(const std::filesystem::path& path, const MemoryFile& file);
MemoryFile read_memory_file(const std::filesystem::path& path);  // throws ModelError

}  // namespace uio::model
