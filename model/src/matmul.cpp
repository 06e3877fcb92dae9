#include "matmul.h"

#include <ATen/ATen.h>

namespace uio::model {

at::Tensor dense(const at::Tensor& x, const at::Tensor& weight) {
    return at::linear(x, weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type()));
}

at::ScalarType compute_dtype(at::ScalarType storage, const at::Device& device) {
    return device.is_cpu() && storage == at::kHalf ? at::kFloat : storage;
}

}  // namespace uio::model
