// x @ weight^T where the weight may be stored in a narrower dtype than the activations:
// libtorch 1.13 has no f16 kernels on CPU, so an f16 model there keeps its weights in f16
// (half the memory) and computes in f32, widening each weight as it is used.
#pragma once

#include <ATen/core/Tensor.h>

namespace uio::model {

// x (..., in), weight (out, in) -> (..., out) in x's dtype. One row on the CPU goes through the
// kernels of matvec.h; everything else through libtorch.
at::Tensor dense(const at::Tensor& x, const at::Tensor& weight);

// The same product through libtorch alone: the reference the fast paths are tested against.
at::Tensor dense_reference(const at::Tensor& x, const at::Tensor& weight);

// The dtype activations use for weights stored in `storage` on `device`.
at::ScalarType compute_dtype(at::ScalarType storage, const at::Device& device);

}  // namespace uio::model
