#include "attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>

namespace uio::model {

namespace {

// The reference path: every query head group shares its key/value head without copying it.
// q: (B, H, T, D) is viewed as (B, K, R*T, D) with R = H/K query heads per key/value head.
at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const int64_t K = k.size(1), S = k.size(2), R = H / K;
    const auto qg = q.reshape({B, K, R * T, D});
    auto scores = at::matmul(qg, k.transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(D)));  // (B, K, R*T, S)
    if (mask.defined()) {
        const auto full = mask.unsqueeze(0).expand({R, T, S}).reshape({R * T, S});
        scores = scores.masked_fill(full.logical_not(), -std::numeric_limits<float>::infinity());
    }
    const auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    return at::matmul(probs, v).reshape({B, H, T, D});
}

#if TORCH_VERSION_MAJOR >= 2
at::Tensor repeat_kv(const at::Tensor& x, int64_t n_rep) {
    return n_rep == 1 ? x : x.repeat_interleave(n_rep, 1);
}
#endif

}  // namespace

at::Tensor causal_mask(int64_t n_query, int64_t n_key, const at::Device& device) {
    const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
    const auto i = at::arange(n_query, opts).unsqueeze(1);
    const auto j = at::arange(n_key, opts).unsqueeze(0);
    return j <= i + (n_key - n_query);
}

at::Tensor attention_masked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
    TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && q.size(1) % k.size(1) == 0,
                "attention: expected (B,H,T,D) and (B,K,S,D), got ", q.sizes(), " and ", k.sizes());
#if TORCH_VERSION_MAJOR >= 2
    const int64_t n_rep = q.size(1) / k.size(1);
    return at::scaled_dot_product_attention(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep), mask);
#else
    return attention_reference(q, k, v, mask);
#endif
}

at::Tensor attention_causal(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    const int64_t T = q.size(2), S = k.size(2);
    TORCH_CHECK(S >= T, "attention: fewer keys (", S, ") than queries (", T, ")");
    if (T == 1) {
        return attention_reference(q, k, v, at::Tensor());  // one query sees every key
    }
#if TORCH_VERSION_MAJOR >= 2
    if (T == S) {
        const int64_t n_rep = q.size(1) / k.size(1);
        return at::scaled_dot_product_attention(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep), {}, 0.0,
                                                /*is_causal=*/true);
    }
#endif
    return attention_masked(q, k, v, causal_mask(T, S, q.device()));
}

}  // namespace uio::model
