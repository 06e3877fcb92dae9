// The UIO decoder as one differentiable forward pass, for training and for checking the cached
// decoder (uio-method.md §4): the frozen base model reads [memories | tokens] with memory keys and
// values from the transfer head, positions contiguous from 0 over that list, every token seeing
// all memories and the tokens before it.
// Legend: S memory segments, L layers, m memory tokens, C hidden size, T tokens, V vocabulary,
// K key/value heads, D head dim.
#pragma once

#include "adapter.h"
#include "llama.h"

#include <ATen/Tensor.h>

#include <utility>
#include <vector>

namespace uio::model {

// Keys (rotated to cos/sin) and values of memory rows h (1, R, C) through the transfer head of
// one layer: K = h (W_K + s B*_K A*_K)^T, V likewise. Returns (1, K, R, D) each.
std::pair<at::Tensor, at::Tensor> transfer_head(AttentionImpl& attn, AdapterLayerImpl& lora, double scale,
                                                const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin);

// memories: S tensors (L, m, C), the segments in order (leaves that collect gradient, or not);
// tokens: (1, T) int64. With repeat_token, e_rep goes in front of the tokens (the copy task) and
// the result has T + 1 rows. Returns logits (1, T[+1], V) in f32. With recompute, each layer's
// graph is rebuilt in the backward pass instead of kept (gradient checkpointing).
at::Tensor decode_with_memories(LlamaImpl& model, AdapterImpl& adapter, const std::vector<at::Tensor>& memories,
                                const at::Tensor& tokens, bool repeat_token = false, bool recompute = false);

}  // namespace uio::model
