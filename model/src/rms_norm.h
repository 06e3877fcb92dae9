// RMSNorm as Hugging Face Llama computes it: normalise in f32, scale in the input dtype.
#pragma once

#include <ATen/core/Tensor.h>

namespace uio::model {

// x: (..., C), weight: (C). Returns (..., C) in x's dtype.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace uio::model
