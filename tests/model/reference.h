// A float64 reference of the Llama forward pass, written from HF's modeling_llama.py and
// uio-method.md without sharing code with the engine: explicit loops over heads and positions,
// rotations computed angle by angle. Slow; for a handful of tokens.
#pragma once

#include "checkpoint.h"
#include "uio/model/config.h"

#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace reference {

using uio::model::Checkpoint;
using uio::model::LlamaConfig;

// Optional LoRA on the projections of layer k ("q", "k", "v" of h, "o" of the attended heads):
// returns the delta to add, or an undefined tensor.
using LoraFn = std::function<at::Tensor(int64_t layer, const std::string& proj, const at::Tensor& h)>;
// Optional: replaces rows of layer k's keys and values (N, K, D), before rotation, as a cache would.
using KvFn = std::function<void(int64_t layer, at::Tensor& k, at::Tensor& v)>;

struct Result {
    std::vector<at::Tensor> layer_inputs;  // L of (N, C): RMSNorm_in_k(residual) at every row
    at::Tensor logits;                     // (N, V)
};

inline at::Tensor weight(const Checkpoint& w, const std::string& name) {
    // Tied embeddings may be stored as lm_head.weight only.
    if (name == "model.embed_tokens.weight" && !w.contains(name))
        return w.view("lm_head.weight").to(at::kDouble);
    return w.view(name).to(at::kDouble);
}

inline at::Tensor rms(const at::Tensor& x, const at::Tensor& g, double eps) {
    return x / at::sqrt(x.pow(2).mean(-1, true) + eps) * g;
}

inline at::Tensor rotate(const at::Tensor& v, int64_t pos, double theta) {  // v: (D)
    const int64_t D = v.size(0);
    auto out = at::empty_like(v);
    for (int64_t i = 0; i < D / 2; ++i) {
        const double angle = pos * std::pow(theta, -2.0 * i / D);
        const double a = v[i].item<double>(), b = v[i + D / 2].item<double>();
        out[i] = a * std::cos(angle) - b * std::sin(angle);
        out[i + D / 2] = b * std::cos(angle) + a * std::sin(angle);
    }
    return out;
}

// x: (N, C) input embeddings in f64; positions: N; visible(i, j): may row i see row j.
inline Result forward(const Checkpoint& w, const LlamaConfig& c, at::Tensor x, const std::vector<int64_t>& positions,
                      const std::function<bool(int64_t, int64_t)>& visible, const LoraFn& lora = {},
                      const KvFn& cached = {}) {
    const int64_t N = x.size(0), D = c.head_dim(), H = c.n_head, K = c.n_kv_head;
    Result result;
    auto delta = [&](int64_t k, const char* proj, const at::Tensor& h) {
        const at::Tensor d = lora ? lora(k, proj, h) : at::Tensor();
        return d.defined() ? d : at::zeros({1}, at::kDouble);
    };
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        const auto h = rms(x, weight(w, p + "input_layernorm.weight"), c.rms_norm_eps);
        result.layer_inputs.push_back(h);
        const auto q = (at::matmul(h, weight(w, p + "self_attn.q_proj.weight").t()) + delta(l, "q", h)).view({N, H, D});
        auto k = (at::matmul(h, weight(w, p + "self_attn.k_proj.weight").t()) + delta(l, "k", h)).view({N, K, D});
        auto v = (at::matmul(h, weight(w, p + "self_attn.v_proj.weight").t()) + delta(l, "v", h)).view({N, K, D});
        if (cached)
            cached(l, k, v);
        auto attended = at::zeros({N, H, D}, at::kDouble);
        for (int64_t head = 0; head < H; ++head) {
            const int64_t kv = head / (H / K);
            for (int64_t i = 0; i < N; ++i) {
                const auto qi = rotate(q[i][head], positions[i], c.rope_theta);
                std::vector<int64_t> seen;
                for (int64_t j = 0; j < N; ++j) {
                    if (visible(i, j))
                        seen.push_back(j);
                }
                auto scores = at::empty({static_cast<int64_t>(seen.size())}, at::kDouble);
                for (size_t s = 0; s < seen.size(); ++s) {
                    scores[static_cast<int64_t>(s)] =
                        at::dot(qi, rotate(k[seen[s]][kv], positions[seen[s]], c.rope_theta)) / std::sqrt(double(D));
                }
                const auto probs = at::softmax(scores, 0);
                for (size_t s = 0; s < seen.size(); ++s) {
                    attended[i][head] += probs[static_cast<int64_t>(s)] * v[seen[s]][kv];
                }
            }
        }
        const auto heads = attended.view({N, H * D});
        x = x + at::matmul(heads, weight(w, p + "self_attn.o_proj.weight").t()) + delta(l, "o", heads);
        const auto h2 = rms(x, weight(w, p + "post_attention_layernorm.weight"), c.rms_norm_eps);
        const auto gate = at::matmul(h2, weight(w, p + "mlp.gate_proj.weight").t());
        const auto up = at::matmul(h2, weight(w, p + "mlp.up_proj.weight").t());
        x = x + at::matmul(gate / (1 + at::exp(-gate)) * up, weight(w, p + "mlp.down_proj.weight").t());
    }
    x = rms(x, weight(w, "model.norm.weight"), c.rms_norm_eps);
    const auto head = c.tie_word_embeddings ? weight(w, "model.embed_tokens.weight") : weight(w, "lm_head.weight");
    result.logits = at::matmul(x, head.t());
    return result;
}

// Plain causal Llama over token ids: logits (T, V).
inline at::Tensor causal_logits(const Checkpoint& w, const LlamaConfig& c, const std::vector<int64_t>& tokens) {
    const auto x = weight(w, "model.embed_tokens.weight").index_select(0, at::tensor(tokens));
    std::vector<int64_t> positions(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i)
        positions[i] = static_cast<int64_t>(i);
    return forward(w, c, x, positions, [](int64_t i, int64_t j) { return j <= i; }).logits;
}

}  // namespace reference
