// The UIO encoder (uio-method.md §3): the base model with the encoder LoRA reads a segment of l
// tokens followed by m copies of e_mem and keeps, for every layer, the input of that layer's
// attention (after its RMSNorm) at the m memory rows.
// Legend: B segments, l segment length, m memory tokens, c = l / m, N = l + m rows, L layers,
// C hidden size.
#pragma once

#include "adapter.h"
#include "llama.h"

namespace uio::model {

// (N, N) bool, rows = queries, columns = keys, layout [l ordinary | m memory]: ordinary i sees
// ordinary j <= i; memory i sees ordinary j < (i+1)*c and memory i itself.
at::Tensor encoder_mask(int64_t l, int64_t m, const at::Device& device);

// (N) int64: ordinary j at position j, memory i at (i+1)*c.
at::Tensor encoder_positions(int64_t l, int64_t m, const at::Device& device);

// tokens: (B, l) int64 on the model's device. Returns memories (B, L, m, C) in the model's
// compute dtype. Skips what §3 shows is not needed: the last layer's attention and MLP, the
// final norm and lm_head. Segments are independent: a batch equals one segment at a time.
// ordinary_inputs, when given, receives each layer's normed input at the ordinary rows
// (L of (B, l, C)), for checking them against the plain model. With recompute, each layer's
// graph is rebuilt in the backward pass instead of kept (gradient checkpointing).
at::Tensor encode_segments(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& tokens,
                           std::vector<at::Tensor>* ordinary_inputs = nullptr, bool recompute = false);

}  // namespace uio::model
