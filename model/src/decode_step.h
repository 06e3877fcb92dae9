// One token through the whole model on the CPU, written as plain loops over the weights instead
// of some thirty libtorch operators per layer: at one row each operator's dispatch costs about
// as much as its arithmetic, and together they took a sixth of a decoding step. The weights, the
// cache and the results are the model's own; activations stay f32 between the products (the
// plain path rounds them to bf16 in a bf16 model). LlamaImpl::hidden takes this path when it
// applies; LlamaImpl::hidden_reference is the plain one it is tested against.
#pragma once

#include "kv_cache.h"

#include <ATen/core/Tensor.h>

namespace uio::model {

class LlamaImpl;

// True for one token of batch 1 on the CPU with f32 or bf16 weights (quantized ones included)
// and no autograd.
bool decode_step_applies(const LlamaImpl& model, const at::Tensor& tokens);

// The final hidden state (1, 1, C) after the last norm, in the model's compute dtype; appends
// the token to the cache. tokens: (1, 1) int64.
at::Tensor decode_step(LlamaImpl& model, const at::Tensor& tokens, KVCache& cache);

}  // namespace uio::model
