#include "decoder.h"

#include "attention.h"
#include "recompute.h"
#include "rope.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>

namespace uio::model {

std::pair<at::Tensor, at::Tensor> transfer_head(AttentionImpl& attn, AdapterLayerImpl& lora, double scale,
                                                const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin) {
    const int64_t R = h.size(1);
    const auto keys = (attn.k_proj(h) + lora.transfer_k->delta(h, scale)).view({1, R, attn.n_kv_head, attn.head_dim});
    const auto values = (attn.v_proj(h) + lora.transfer_v->delta(h, scale)).view({1, R, attn.n_kv_head, attn.head_dim});
    return {apply_rope(keys.transpose(1, 2), cos, sin), values.transpose(1, 2)};  // (1, K, R, D) each
}

at::Tensor decode_with_memories(LlamaImpl& model, AdapterImpl& adapter, const std::vector<at::Tensor>& memories,
                                const at::Tensor& tokens, bool repeat_token, bool recompute) {
    const auto dtype = model.compute_dtype();
    const auto device = model.device();
    const int64_t L = model.config.n_layer, m = adapter.config.memory_tokens;
    const int64_t R = static_cast<int64_t>(memories.size()) * m;  // memory rows
    auto x = model.model->embed_tokens(tokens).to(dtype);         // (1, T, C)
    if (repeat_token) {
        x = at::cat({adapter.e_rep.to(dtype).view({1, 1, -1}), x}, 1);
    }
    const int64_t T = x.size(1);
    if (R + T > model.rope.n_positions()) {
        throw ModelError(std::to_string(memories.size()) + " memory segments and " + std::to_string(T) +
                         " tokens need " + std::to_string(R + T) + " positions; the model has " +
                         std::to_string(model.rope.n_positions()));
    }
    const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
    const auto [mem_cos, mem_sin] = rope_cos_sin(model.rope, at::arange(R, opts), dtype);  // (R, D)
    const auto [cos, sin] = rope_cos_sin(model.rope, at::arange(R, R + T, opts), dtype);   // (T, D)
    // Per layer, the memory rows of every segment: (1, R, C).
    std::vector<at::Tensor> rows_of_layer;
    if (R > 0) {
        const auto all = at::stack(memories, 0).to(device, dtype);  // (S, L, m, C)
        for (int64_t k = 0; k < L; ++k) {
            rows_of_layer.push_back(all.select(1, k).reshape({1, R, -1}));
        }
    }
    const double s = adapter.scale();
    recompute = recompute && at::GradMode::is_enabled();
    for (int64_t k = 0; k < L; ++k) {
        DecoderLayerImpl& layer = model.layer(k);
        AdapterLayerImpl& lora = adapter.layer(k);
        // in: x (1, T, C), then the memory rows (1, R, C) when there are any.
        auto run_layer = [&layer, &lora, s, cos = cos, sin = sin, mem_cos = mem_cos,
                          mem_sin = mem_sin](const std::vector<at::Tensor>& in) {
            auto& attn = *layer.self_attn;
            auto [q, key, value] = attn.project(layer.input_layernorm(in[0]), cos, sin);  // (1, H|K, T, D)
            if (in.size() > 1) {
                const auto [mem_key, mem_value] = transfer_head(attn, lora, s, in[1], mem_cos, mem_sin);
                key = at::cat({mem_key, key}, 2);  // (1, K, R + T, D)
                value = at::cat({mem_value, value}, 2);
            }
            // Queries aligned to the end: all memories seen.
            const auto y = in[0] + attn.output(attention_causal(q, key, value));
            return y + layer.mlp(layer.post_attention_layernorm(y));
        };
        std::vector<at::Tensor> in{x};
        if (R > 0) {
            in.push_back(rows_of_layer[static_cast<size_t>(k)]);
        }
        x = recompute
                ? recompute_in_backward(
                      run_layer, in, {lora.transfer_k->A, lora.transfer_k->B, lora.transfer_v->A, lora.transfer_v->B})
                : run_layer(in);
    }
    return model.logits(model.model->norm(x));  // (1, T, V)
}

}  // namespace uio::model
