#include "encoder.h"

#include "attention.h"
#include "recompute.h"

#include <ATen/ATen.h>

namespace uio::model {

at::Tensor encoder_mask(int64_t l, int64_t m, const at::Device& device) {
    const int64_t c = l / m;
    const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
    const auto row = at::arange(l + m, opts).unsqueeze(1);  // (N, 1)
    const auto col = at::arange(l + m, opts).unsqueeze(0);  // (1, N)
    const auto row_is_memory = row >= l, col_is_memory = col >= l;
    const auto ordinary_causal = row_is_memory.logical_not() & col_is_memory.logical_not() & (col <= row);
    const auto memory_sees_prefix = row_is_memory & col_is_memory.logical_not() & (col < (row - l + 1) * c);
    const auto memory_sees_itself = row_is_memory & (col == row);
    return ordinary_causal | memory_sees_prefix | memory_sees_itself;
}

at::Tensor encoder_positions(int64_t l, int64_t m, const at::Device& device) {
    const int64_t c = l / m;
    const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
    return at::cat({at::arange(l, opts), (at::arange(m, opts) + 1) * c});
}

at::Tensor encode_segments(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& tokens,
                           std::vector<at::Tensor>* ordinary_inputs, bool recompute) {
    const int64_t B = tokens.size(0), l = tokens.size(1), m = adapter.config.memory_tokens;
    const int64_t L = model.config.n_layer;
    TORCH_CHECK(l % m == 0, "encode_segments: segment length ", l, " is not a multiple of ", m);
    const auto dtype = model.compute_dtype();
    const auto device = model.device();
    const double s = adapter.scale();

    const auto positions = encoder_positions(l, m, device);
    const auto [cos, sin] = rope_cos_sin(model.rope, positions, dtype);  // (N, D) each
    const auto mask = encoder_mask(l, m, device);                        // (N, N)

    // x: (B, N, C) = [E(x_1..x_l) | e_mem x m]
    const auto memory_rows = adapter.e_mem.to(dtype).view({1, 1, -1}).expand({B, m, -1});
    auto x = at::cat({model.model->embed_tokens(tokens).to(dtype), memory_rows}, 1);
    std::vector<at::Tensor> memories;  // L of (B, m, C)
    recompute = recompute && at::GradMode::is_enabled() && !ordinary_inputs;
    for (int64_t k = 0; k < L; ++k) {
        DecoderLayerImpl& layer = model.layer(k);
        at::Tensor h;  // (B, N, C), the layer's normed input; only the memory rows when recomputing
        if (recompute) {
            memories.push_back(layer.input_layernorm(x.narrow(1, l, m)));  // the norm is row by row
        } else {
            h = layer.input_layernorm(x);
            memories.push_back(h.narrow(1, l, m).clone());  // not a view: the layer's input can go
            if (ordinary_inputs) {
                ordinary_inputs->push_back(h.narrow(1, 0, l));
            }
        }
        if (k == L - 1) {
            break;  // the last layer's memory is its input; nothing after it is needed
        }
        AdapterLayerImpl& lora = adapter.layer(k);
        auto run_layer = [&layer, &lora, s, cos = cos, sin = sin, mask](const at::Tensor& input,
                                                                        const at::Tensor& normed) {
            auto& attn = *layer.self_attn;
            const auto [q, key, v] =
                attn.project(normed, cos, sin, lora.encoder_q->delta(normed, s), lora.encoder_v->delta(normed, s));
            const auto y = input + attn.output(attention_masked(q, key, v, mask));
            return y + layer.mlp(layer.post_attention_layernorm(y));
        };
        if (recompute) {
            x = recompute_in_backward(
                [run_layer, &layer](const std::vector<at::Tensor>& in) {
                    return run_layer(in[0], layer.input_layernorm(in[0]));
                },
                {x}, {lora.encoder_q->A, lora.encoder_q->B, lora.encoder_v->A, lora.encoder_v->B});
        } else {
            x = run_layer(x, h);
        }
    }
    return at::stack(memories, 1);  // (B, L, m, C)
}

}  // namespace uio::model
