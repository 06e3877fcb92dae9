// UIO memory as plain bytes, so that storage/ can keep it without knowing torch. A segment's
// memory is the tensor [L, m, d] of uio-method.md §3 (layers, memory tokens, hidden size).
#pragma once

#include "uio/common/checksum.h"
#include "uio/model/types.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace uio::model {

struct MemoryBlob {
    DType dtype = DType::F32;
    std::vector<int64_t> shape;    // {n_layer, memory_tokens, n_embd}
    std::vector<std::byte> bytes;  // row-major, little-endian
    uint64_t checksum = 0;         // uio::blob_checksum(bytes)

    bool intact() const { return blob_checksum(bytes) == checksum; }
};

// Settings of an adapter (uio-method.md §2): segment length l, memory tokens m, LoRA rank r and
// alpha (scale alpha / r).
struct AdapterConfig {
    int64_t segment_length = 1024;
    int64_t memory_tokens = 32;
    int64_t rank = 128;
    double alpha = 512.0;
};

// How an adapter came to be, as its file records it. An adapter that was never trained makes
// memories no model can read (and they may mislead it).
struct AdapterOrigin {
    enum class Kind { Unknown, Created, Imported, Trained };
    Kind kind = Kind::Unknown;  // Unknown: a file written before origins were recorded
    int64_t steps = 0;          // optimiser steps, all runs together
    int64_t corpus_tokens = 0;  // of the last run's corpus
    bool trained() const { return kind == Kind::Imported || steps > 0; }
};

// What makes the memories: a UIO adapter, or the published UltraGist compressor
// (docs/ultragist.md), whose segment is its window and whose memory is window / ratio rows of
// keys and values per layer.
enum class CompressorKind { Uio, UltraGist };

struct AdapterInfo {
    CompressorKind kind = CompressorKind::Uio;
    int64_t ratio = 0;  // UltraGist: tokens per memory row, 0 when chosen by each document's length
    AdapterConfig config;
    AdapterOrigin origin;
    std::string base_fingerprint;  // of the base model it belongs to
    std::string fingerprint;       // of the adapter's own weights
    int64_t n_layer = 0;
    int64_t n_embd = 0;
    int64_t n_params = 0;
};

}  // namespace uio::model
