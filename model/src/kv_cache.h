// Keys and values of the tokens a decoder has seen, per layer, already rotated to their
// positions. Storage grows by doubling so that appending one token is amortised O(1).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace uio::model {

class KVCache {
public:
    KVCache() = default;
    explicit KVCache(int64_t n_layer) : m_keys(n_layer), m_values(n_layer) {}

    int64_t n_layer() const { return static_cast<int64_t>(m_keys.size()); }
    int64_t size() const { return m_size; }  // tokens cached (S)

    // k, v: (B, K, T, D) for layer `layer`. Returns the whole cache of that layer after the
    // append, (B, K, S + T, D). Every layer must append the same T before size() advances.
    std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k, const at::Tensor& v);
    void commit(int64_t n_tokens) { m_size += n_tokens; }

    // Forgets everything after the first n tokens.
    void truncate(int64_t n);
    void clear() { truncate(0); }

private:
    std::vector<at::Tensor> m_keys;    // (B, K, capacity, D)
    std::vector<at::Tensor> m_values;  // (B, K, capacity, D)
    int64_t m_size = 0;
};

}  // namespace uio::model
