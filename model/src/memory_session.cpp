#include "memory_session.h"

#include "decoder.h"
#include "encoder.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>

namespace uio::model {

void append_memories(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& memories, KVCache& cache) {
    const int64_t S = memories.size(0), m = memories.size(2), L = model.config.n_layer;
    if (S == 0) {
        return;
    }
    const auto dtype = model.compute_dtype();
    const int64_t start = cache.size();
    const auto positions =
        at::arange(start, start + S * m, at::TensorOptions().dtype(at::kLong).device(model.device()));
    const auto [cos, sin] = rope_cos_sin(model.rope, positions, dtype);  // (S*m, D) each
    const double s = adapter.scale();
    for (int64_t k = 0; k < L; ++k) {
        auto& attn = *model.layer(k).self_attn;
        AdapterLayerImpl& lora = adapter.layer(k);
        const auto h = memories.select(1, k).reshape({1, S * m, -1}).to(model.device(), dtype);  // (1, S*m, C)
        const auto [keys, values] = transfer_head(attn, lora, s, h, cos, sin);                   // (1, K, S*m, D)
        cache.append(k, keys, values);
    }
    cache.commit(S * m);
}

MemorySession::MemorySession(LlamaImpl& model, Adapter adapter, const at::Tensor& memories)
    : m_model(model), m_holder(std::move(adapter)), m_adapter(*m_holder), m_cache(model.new_cache()) {
    const int64_t needed = memories.size(0) * m_adapter.config.memory_tokens;
    if (needed >= model.rope.n_positions()) {
        const int64_t fit = (model.rope.n_positions() - 1) / m_adapter.config.memory_tokens;
        throw ModelError("the documents need " + std::to_string(memories.size(0)) + " memory segments (" +
                         std::to_string(needed) + " positions); this model has " +
                         std::to_string(model.rope.n_positions()) + ", enough for about " + std::to_string(fit) +
                         " segments, i.e. " + std::to_string(fit * m_adapter.config.segment_length) +
                         " tokens of documents at this compression ratio");
    }
    append_memories(model, m_adapter, memories, m_cache);
    m_document_positions = m_memory_positions = m_cache.size();
}

void MemorySession::rewind() {
    m_cache.truncate(m_document_positions);
    m_memory_positions = m_document_positions;
    m_pending.clear();
}

at::Tensor MemorySession::feed(const std::vector<int32_t>& tokens, const std::atomic<bool>* cancel, bool all_logits) {
    const int64_t l = m_adapter.config.segment_length;
    std::vector<at::Tensor> logits;
    size_t done = 0;
    while (done < tokens.size()) {
        if (cancel && cancel->load(std::memory_order_relaxed)) {
            throw Cancelled();
        }
        // Never more than l waiting: a chunk ends where the pending tokens fill a segment. Behind
        // thousands of memory positions a chunk's attention scores (heads x chunk x positions,
        // f32) are kept under 24 MB, so that the allocator reuses their buffers instead of
        // mapping fresh zeroed pages for every layer (runtime.h keep_freed_buffers).
        const int64_t per_row = m_model.config.n_head * (m_cache.size() + 512) * 4;
        const auto rows = static_cast<size_t>(std::clamp<int64_t>((int64_t(24) << 20) / per_row, 64, 512));
        const auto n = static_cast<int64_t>(
            std::min<size_t>({tokens.size() - done, static_cast<size_t>(l) - m_pending.size(), rows}));
        if (m_cache.size() + n > m_model.rope.n_positions()) {
            throw ModelError("the context is full: " + std::to_string(m_memory_positions) +
                             " positions of memory and " + std::to_string(m_pending.size() + n) +
                             " tokens need more than the model's " + std::to_string(m_model.rope.n_positions()) +
                             " positions");
        }
        const std::vector<int64_t> chunk(tokens.begin() + static_cast<std::ptrdiff_t>(done),
                                         tokens.begin() + static_cast<std::ptrdiff_t>(done) + n);
        const auto input = at::tensor(chunk, at::kLong).view({1, n}).to(m_model.device());
        const auto hidden = m_model.hidden(input, m_cache);  // (1, n, C)
        if (all_logits) {
            logits.push_back(m_model.logits(hidden)[0]);  // (n, V)
        } else {
            logits.assign({m_model.logits(hidden.narrow(1, n - 1, 1))[0]});  // (1, V)
        }
        m_pending.insert(m_pending.end(), chunk.begin(), chunk.end());
        done += static_cast<size_t>(n);
        if (static_cast<int64_t>(m_pending.size()) == l) {
            compress_pending();
        }
    }
    return at::cat(logits, 0);
}

void MemorySession::compress_pending() {
    // Encode the l waiting tokens, drop their cache entries, put their memory in their place.
    const auto tokens = at::tensor(std::vector<int64_t>(m_pending.begin(), m_pending.end()), at::kLong)
                            .view({1, -1})
                            .to(m_model.device());
    const auto memory = encode_segments(m_model, m_adapter, tokens);  // (1, L, m, C)
    m_cache.truncate(m_memory_positions);
    append_memories(m_model, m_adapter, memory, m_cache);
    m_memory_positions = m_cache.size();
    m_pending.clear();
}

}  // namespace uio::model
