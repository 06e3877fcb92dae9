#include "attention.h"

#include "matmul.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>

namespace uio::model {

namespace {

// a (B, K, M, X) @ b (B, K, X, N), or @ b^T for b (B, K, N, X) when transpose_b: one product per
// key/value head. f32 on the CPU goes through oneDNN's sgemm head by head (libtorch's batched
// product runs each head's on one OpenBLAS thread), reading b in place from the cache's rows.
at::Tensor per_head(const at::Tensor& a, const at::Tensor& b, bool transpose_b) {
    const at::Tensor lhs = a.contiguous();
    const bool rows_in_place = b.size(0) == 1 && b.stride(-1) == 1 && b.stride(-2) == b.size(-1);
    if (!rows_in_place || !onednn_products_apply(lhs, b))
        return at::matmul(lhs, transpose_b ? b.transpose(-1, -2) : b);
    const int64_t K = lhs.size(1), M = lhs.size(2), X = lhs.size(3), N = transpose_b ? b.size(2) : b.size(3);
    at::Tensor out = at::empty({1, K, M, N}, lhs.options());
    for (int64_t h = 0; h < K; ++h)
        sgemm(transpose_b, M, N, X, lhs.data_ptr<float>() + h * M * X, X, b.data_ptr<float>() + h * b.stride(1),
              b.size(-1), out.data_ptr<float>() + h * M * N, N);
    return out;
}

// The reference path: every query head group shares its key/value head without copying it.
// q: (B, H, T, D) is viewed as (B, K, R*T, D) with R = H/K query heads per key/value head.
at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const int64_t K = k.size(1), S = k.size(2), R = H / K;
    const auto qg = q.reshape({B, K, R * T, D});
    auto scores = per_head(qg, k, true) * (1.0 / std::sqrt(static_cast<double>(D)));  // (B, K, R*T, S)
    if (mask.defined()) {
        const auto full = mask.unsqueeze(0).expand({R, T, S}).reshape({R * T, S});
        scores = scores.masked_fill(full.logical_not(), -std::numeric_limits<float>::infinity());
    }
    const auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    return per_head(probs, v, false).reshape({B, H, T, D});
}

// Causal with the queries at the end of the keys, without a (T, S) mask: every query sees the
// first S - T keys (memories and the earlier context), so only the last T columns are masked,
// in place, by one (T, T) triangle shared by all heads. With thousands of memory positions in
// front this saves building, expanding and applying a mask of R*T*S entries per layer.
at::Tensor attention_causal_tail(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const int64_t K = k.size(1), S = k.size(2), R = H / K;
    auto scores = per_head(q.reshape({B, K, R * T, D}), k, true);  // (B, K, R*T, S)
    scores.mul_(1.0 / std::sqrt(static_cast<double>(D)));
    const auto future = at::ones({T, T}, at::TensorOptions().dtype(at::kBool).device(q.device())).triu(1);
    scores.view({B, K, R, T, S}).narrow(-1, S - T, T).masked_fill_(future, -std::numeric_limits<float>::infinity());
    const auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    return per_head(probs, v, false).reshape({B, H, T, D});
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
    if (!q.is_cpu())  // its fused kernels take the mask
        return attention_masked(q, k, v, causal_mask(T, S, q.device()));
#endif
    return attention_causal_tail(q, k, v);
}

}  // namespace uio::model
