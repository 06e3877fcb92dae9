// Scaled dot-product attention with grouped-query heads.
// Legend: B batch, H query heads, K key/value heads (H % K == 0), T queries, S keys, D head dim.
#pragma once

#include <ATen/core/Tensor.h>

namespace uio::model {

// q: (B, H, T, D), k, v: (B, K, S, D) with S >= T. Causal with the query block aligned to the
// end of the keys: query i sees keys j <= i + (S - T). Returns (B, H, T, D).
at::Tensor attention_causal(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// As above with an explicit mask: bool (T, S), true where the query may see the key.
at::Tensor attention_masked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

// bool (T, S) mask of attention_causal, on device.
at::Tensor causal_mask(int64_t n_query, int64_t n_key, const at::Device& device);

}  // namespace uio::model
