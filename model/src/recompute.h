// Gradient checkpointing: run a piece of the forward pass without keeping its graph and rebuild
// that graph in the backward pass. Memory falls from everything the piece keeps for its backward
// (attention probabilities, MLP activations) to its inputs; time rises by one more forward.
#pragma once

#include <ATen/Tensor.h>

#include <functional>
#include <vector>

namespace uio::model {

using Piece = std::function<at::Tensor(const std::vector<at::Tensor>&)>;

// piece(inputs) with its graph dropped. Gradients reach `inputs` that require them and
// `parameters`, the trainable tensors piece uses from outside (listed so that they get gradient
// even when no input requires any). piece must be deterministic: it runs twice.
at::Tensor recompute_in_backward(Piece piece, const std::vector<at::Tensor>& inputs,
                                 const std::vector<at::Tensor>& parameters);

}  // namespace uio::model
