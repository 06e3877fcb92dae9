// Decoding with UIO memory in front (uio-method.md §4, §5). The cache holds, per layer,
// [memories of every segment | tokens not yet compressed]; memory keys and values go through the
// transfer head once, when the memory joins, and stay on the device. Positions run from 0 over
// that list. Whenever l tokens are waiting, they are compressed into one more memory segment and
// their cache entries dropped.
#pragma once

#include "adapter.h"
#include "llama.h"

#include <atomic>
#include <vector>

namespace uio::model {

// Projects memories (S, L, m, C) through the transfer head, rotates the keys to the positions
// after what `cache` holds, and appends them.
void append_memories(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& memories, KVCache& cache);

class MemorySession {
public:
    // memories: (S, L, m, C) of the documents in order, S may be 0.
    // Holds on to the adapter, so that replacing the engine's adapter cannot pull it away.
    MemorySession(LlamaImpl& model, Adapter adapter, const at::Tensor& memories);

    int64_t memory_segments() const { return m_memory_positions / m_adapter.config.memory_tokens; }
    int64_t positions_used() const { return m_cache.size(); }
    int64_t positions_free() const { return m_model.rope.n_positions() - m_cache.size(); }
    // Positions a new question has once the session is rewound to the documents' memories.
    int64_t positions_after_documents() const { return m_model.rope.n_positions() - m_document_positions; }

    // Back to the documents' memories alone, for a new question.
    void rewind();

    // Appends tokens after what is there; returns the logits (T, V) of these tokens in f32 on the
    // device, or only the last token's (1, V) when all_logits is false (a long prompt's logits
    // would take T x V floats). Throws ModelError when the positions run out, Cancelled between chunks.
    at::Tensor feed(const std::vector<int32_t>& tokens, const std::atomic<bool>* cancel = nullptr,
                    bool all_logits = true);

private:
    void compress_pending();

    LlamaImpl& m_model;
    Adapter m_holder;
    AdapterImpl& m_adapter;
    KVCache m_cache;
    int64_t m_document_positions = 0;  // positions of the documents' memories
    int64_t m_memory_positions = 0;    // positions of all memories, compressed tokens included
    std::vector<int32_t> m_pending;    // tokens in the cache after the memories
};

}  // namespace uio::model
