#include "matmul.h"

#include "matvec.h"

#include <ATen/ATen.h>

namespace uio::model {

namespace {

// One row (decoding one token) through an f32 or bf16 weight, on the CPU, without autograd:
// the streaming kernels of matvec.h. Anything else goes through libtorch.
bool one_row_kernel_applies(const at::Tensor& x, const at::Tensor& w) {
    const auto type = w.scalar_type();
    return x.is_cpu() && w.is_cpu() && x.numel() == w.size(1) && w.is_contiguous() &&
           (type == at::kFloat || type == at::kBFloat16) &&
           (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) &&
           !(at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad()));
}

}  // namespace

at::Tensor dense(const at::Tensor& x, const at::Tensor& weight) {
    auto shape = x.sizes().vec();
    shape.back() = weight.size(0);
    if (one_row_kernel_applies(x, weight)) {
        const at::Tensor row = x.to(at::kFloat).contiguous();
        at::Tensor y = at::empty({weight.size(0)}, row.options());
        if (weight.scalar_type() == at::kFloat)
            matvec_f32(weight.data_ptr<float>(), row.data_ptr<float>(), y.data_ptr<float>(), weight.size(0),
                       weight.size(1));
        else
            matvec_bf16(reinterpret_cast<const uint16_t*>(weight.data_ptr<at::BFloat16>()), row.data_ptr<float>(),
                        y.data_ptr<float>(), weight.size(0), weight.size(1));
        return y.to(x.scalar_type()).view(shape);
    }
    const at::Tensor w = weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type());
    return at::linear(x, w);
}

at::Tensor dense_reference(const at::Tensor& x, const at::Tensor& weight) {
    const at::Tensor w = weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type());
    return at::linear(x, w);
}

at::ScalarType compute_dtype(at::ScalarType storage, const at::Device& device) {
    return device.is_cpu() && storage == at::kHalf ? at::kFloat : storage;
}

}  // namespace uio::model
