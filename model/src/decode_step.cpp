#include "decode_step.h"

#include "llama.h"
#include "matvec.h"
#include "uio/model/runtime.h"

#include <ATen/ATen.h>

#include <omp.h>

#include <cmath>
#include <vector>

namespace uio::model {

namespace {

// A row of f32 or bf16 values, read as f32.
float value_at(const at::Tensor& t, int64_t i) {
    return t.scalar_type() == at::kFloat ? t.data_ptr<float>()[i] : static_cast<float>(t.data_ptr<at::BFloat16>()[i]);
}

// y = W x for the layer's weight, whatever it is stored in.
void product(const LinearImpl& linear, const float* x, float* y) {
    if (linear.quantized.q.defined()) {
        const auto& q = linear.quantized;
        matvec_int8({q.q.data_ptr<int8_t>(), q.scale.data_ptr<float>(), q.group}, x, y, q.q.size(0), q.q.size(1));
        return;
    }
    const at::Tensor& w = linear.weight;
    if (w.scalar_type() == at::kFloat)
        matvec_f32(w.data_ptr<float>(), x, y, w.size(0), w.size(1));
    else
        matvec_bf16(reinterpret_cast<const uint16_t*>(w.data_ptr<at::BFloat16>()), x, y, w.size(0), w.size(1));
}

void rms_norm_into(const std::vector<float>& x, const at::Tensor& weight, double eps, std::vector<float>& out) {
    double sum = 0.0;
    for (const float v : x)
        sum += static_cast<double>(v) * v;
    const auto inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(x.size()) + eps));
    for (size_t i = 0; i < x.size(); ++i)
        out[i] = x[i] * inv * value_at(weight, static_cast<int64_t>(i));
}

// Hugging Face's rotation of halves, for n_heads heads of D values at one position.
void rotate(float* x, int64_t n_heads, int64_t D, const float* cos, const float* sin) {
    const int64_t half = D / 2;
    for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + h * D;
        for (int64_t j = 0; j < half; ++j) {
            const float a = v[j], b = v[j + half];
            v[j] = a * cos[j] - b * sin[j];
            v[j + half] = b * cos[j + half] + a * sin[j + half];
        }
    }
}

// One query head against S cached keys and values of its key/value head (rows of D, f32 or
// bf16): softmax(q K^T / sqrt(D)) V into out.
template <typename T>
void attend(const float* q, const T* keys, const T* values, int64_t S, int64_t D, float* scores, float* out) {
    if constexpr (std::is_same_v<T, float>)
        matvec_f32(keys, q, scores, S, D, 1);
    else
        matvec_bf16(reinterpret_cast<const uint16_t*>(keys), q, scores, S, D, 1);
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    float top = -INFINITY;
    for (int64_t s = 0; s < S; ++s)
        top = std::max(top, scores[s] *= scale);
    float total = 0.0f;
    for (int64_t s = 0; s < S; ++s)
        total += scores[s] = std::exp(scores[s] - top);
    for (int64_t s = 0; s < S; ++s)
        scores[s] /= total;
    if constexpr (std::is_same_v<T, float>)
        weighted_rows_f32(values, scores, out, S, D);
    else
        weighted_rows_bf16(reinterpret_cast<const uint16_t*>(values), scores, out, S, D);
}

}  // namespace

bool decode_step_applies(const LlamaImpl& model, const at::Tensor& tokens) {
    const auto type = model.model->norm->weight.scalar_type();
    return tokens.size(0) == 1 && tokens.size(1) == 1 && model.model->norm->weight.is_cpu() &&
           (type == at::kFloat || type == at::kBFloat16) && !at::GradMode::is_enabled();
}

at::Tensor decode_step(LlamaImpl& model, const at::Tensor& tokens, KVCache& cache) {
    const LlamaConfig& c = model.config;
    const int64_t C = c.n_embd, H = c.n_head, K = c.n_kv_head, D = c.head_dim(), F = c.n_ff, group = H / K;
    const int64_t position = cache.size(), S = position + 1;
    const at::ScalarType cache_type = model.compute_dtype();
    const auto embedding = model.model->embed_tokens->weight[tokens[0][0].item<int64_t>()];

    std::vector<float> x(C), h(C), q(H * D), k(K * D), v(K * D), attended(H * D), o(C), gate(F), up(F);
    for (int64_t i = 0; i < C; ++i)
        x[i] = value_at(embedding, i);
    const float* cos = model.rope.cos_row(position);
    const float* sin = model.rope.sin_row(position);
    const int threads = cpu_threads();
    std::vector<float> scores(static_cast<size_t>(threads * S));

    for (int64_t layer = 0; layer < c.n_layer; ++layer) {
        DecoderLayerImpl& block = model.layer(layer);
        AttentionImpl& attn = *block.self_attn;
        rms_norm_into(x, block.input_layernorm->weight, c.rms_norm_eps, h);
        product(*attn.q_proj, h.data(), q.data());
        product(*attn.k_proj, h.data(), k.data());
        product(*attn.v_proj, h.data(), v.data());
        rotate(q.data(), H, D, cos, sin);
        rotate(k.data(), K, D, cos, sin);
        const auto as_cache = [&](std::vector<float>& rows) {
            return at::from_blob(rows.data(), {1, K, 1, D}, at::kFloat).to(cache_type);
        };
        const auto [keys, values] = cache.append(layer, as_cache(k), as_cache(v));  // (1, K, S, D)
        const int64_t head_stride = keys.stride(1);
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t head = 0; head < H; ++head) {
            float* own = scores.data() + static_cast<int64_t>(omp_get_thread_num()) * S;
            const int64_t kv = head / group;
            if (cache_type == at::kFloat)
                attend(q.data() + head * D, keys.data_ptr<float>() + kv * head_stride,
                       values.data_ptr<float>() + kv * head_stride, S, D, own, attended.data() + head * D);
            else
                attend(q.data() + head * D, keys.data_ptr<at::BFloat16>() + kv * head_stride,
                       values.data_ptr<at::BFloat16>() + kv * head_stride, S, D, own, attended.data() + head * D);
        }
        product(*attn.o_proj, attended.data(), o.data());
        for (int64_t i = 0; i < C; ++i)
            x[i] += o[i];

        MLPImpl& mlp = *block.mlp;
        rms_norm_into(x, block.post_attention_layernorm->weight, c.rms_norm_eps, h);
        product(*mlp.gate_proj, h.data(), gate.data());
        product(*mlp.up_proj, h.data(), up.data());
        for (int64_t i = 0; i < F; ++i)
            gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
        product(*mlp.down_proj, gate.data(), o.data());
        for (int64_t i = 0; i < C; ++i)
            x[i] += o[i];
    }
    cache.commit(1);
    rms_norm_into(x, model.model->norm->weight, c.rms_norm_eps, h);
    const auto out = at::from_blob(h.data(), {1, 1, C}, at::kFloat);
    return cache_type == at::kFloat ? out.clone() : out.to(cache_type);
}

}  // namespace uio::model
