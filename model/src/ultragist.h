// UltraGist (docs/ultragist.md): a second kind of compressor on the same Llama. Extra weights per
// layer (ultragist_{q,k,v,o}_proj) and one embedding row make R = window / ratio memory tokens per
// complete window; their keys and values, kept before RoPE, replace the window's in the cache:
// [sink | memory of every finished window | raw rows of the current window]. Every forward
// rotates all keys afresh at their slot index. One difference from the authors' code: the sink
// (the first token's key and value) is taken when the first window completes, not at the first
// forward, so that token 0 is never cached twice and a window fed token by token compresses to
// what one pass makes.
// Legend: T ordinary tokens of a forward, U memory tokens, P cached rows, C n_embd, H n_head,
// K n_kv_head, D head_dim, V n_vocab.
#pragma once

#include "llama.h"

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace uio::model {

class Checkpoint;

struct UltraGistWeights {
    at::Tensor embed;                               // (C): the row every memory token embeds to
    std::vector<std::array<at::Tensor, 4>> layers;  // per layer q, k, v, o weights, (out, in)
};

// The names of the release's tensors, embedding first.
std::vector<std::string> ultragist_tensor_names(const LlamaConfig& config);

// Reads model.ultragist_embed_tokens.weight and model.layers.N.self_attn.ultragist_{q,k,v,o}_proj
// .weight through `find` (an undefined tensor when absent), checking their shapes against
// `config`. Throws ModelError naming what is missing.
UltraGistWeights load_ultragist_weights(const std::function<at::Tensor(const std::string&)>& find,
                                        const LlamaConfig& config, const at::Device& device, at::ScalarType dtype);
UltraGistWeights load_ultragist_weights(const Checkpoint& checkpoint, const LlamaConfig& config,
                                        const at::Device& device, at::ScalarType dtype);

// The release's "adapt" rule: the smallest ratio of `ratios` whose reach, (positions - window)
// * ratio + window, holds the tokens seen so far plus one more window; the largest when none does.
int64_t adaptive_ratio(int64_t tokens, int64_t window, int64_t positions, const std::vector<int64_t>& ratios);

struct MemoryBlob;

// Per layer keys and values (K, rows, D) from stored windows (L, 2, K, 1 + U, D): one sink, the
// first window's, then every window's memory rows in order. Throws ModelError for blobs that
// UltraGist did not make for this model.
std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> ultragist_memory_rows(const std::vector<MemoryBlob>& blobs,
                                                                                  const LlamaConfig& config,
                                                                                  const at::Device& device,
                                                                                  at::ScalarType dtype);

class UltraGistSession {
public:
    // ratio: tokens per memory token, dividing window; 0 chooses it at the first complete window
    // with adaptive_ratio over 2, 4, 8, 16, 32.
    UltraGistSession(LlamaImpl& model, const UltraGistWeights& weights, int64_t window = 1024, int64_t ratio = 0);

    // Feeds tokens in order and returns the logits (T, V) f32 of each. A window that completes is
    // compressed in the same forward as its last tokens (the ordinary tokens never see the memory
    // tokens appended after them).
    // With logits = false nothing is computed for the vocabulary (compression) and the result is
    // undefined.
    at::Tensor feed(const std::vector<int32_t>& tokens, bool logits = true);

    // Memory made before: per layer (K, rows, D) keys and values before RoPE, [sink | memory of
    // `windows` finished windows]. Replaces what the session held; the next token starts a window.
    void restore(const std::vector<at::Tensor>& keys, const std::vector<at::Tensor>& values, int64_t windows);
    // The last finished window's memory with the sink in front: (L, 2, K, 1 + U, D), keys then
    // values. Throws when no window has finished.
    at::Tensor last_window() const;
    // Everything the session holds, to return to it (a chat starts every answer from its documents).
    struct State {
        std::vector<at::Tensor> keys, values;
        int64_t rows = 0, sink = 0, memory = 0, seen = 0, last = 0;
    };
    State state() const;
    void set_state(const State& state);

    int64_t ratio() const { return m_ratio; }
    void set_ratio(int64_t ratio) { m_ratio = ratio; }
    int64_t window() const { return m_window; }
    int64_t cached_rows() const { return m_rows; }    // sink + memory + raw
    int64_t memory_rows() const { return m_memory; }  // of finished windows
    int64_t seen() const { return m_seen; }

private:
    // One forward of `tokens` (all in the current window) followed by `n_memory` memory tokens.
    at::Tensor forward(const std::vector<int32_t>& tokens, int64_t n_memory, bool logits);

    // Slots can run past the model's positions (the release extends its table the same way).
    const RopeTable& rope_for(int64_t positions);

    LlamaImpl& m_model;
    const UltraGistWeights& m_weights;
    int64_t m_window;
    int64_t m_ratio;
    // Room for n cached rows in every layer's buffers, keeping the rows there.
    void reserve(int64_t n);
    // Rotates rows [first, first + n) of every layer's keys at their slots into m_rotated.
    void rotate_rows(int64_t first, int64_t n);

    // Per layer (K, capacity, D); rows [0, m_rows) are the cache. Keys before RoPE, and the same
    // keys rotated at their slots: a row keeps its slot until its window is compressed, so a
    // forward rotates only its new rows (decoding reads the cache, never rewrites it).
    std::vector<at::Tensor> m_keys, m_values, m_rotated;
    int64_t m_capacity = 0;
    int64_t m_rows = 0;
    int64_t m_sink = 0;    // 0 or 1
    int64_t m_memory = 0;  // rows after the sink
    int64_t m_seen = 0;    // ordinary tokens fed
    int64_t m_last = 0;    // memory rows of the last finished window
    std::optional<RopeTable> m_long_rope;
};

}  // namespace uio::model
