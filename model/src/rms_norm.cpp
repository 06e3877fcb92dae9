#include "rms_norm.h"

namespace uio::model {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
    TORCH_CHECK(x.size(-1) == weight.size(0), "rms_norm: expected (..., ", weight.size(0), "), got ", x.sizes());
    const auto x32 = x.scalar_type() == at::kDouble ? x : x.to(at::kFloat);  // f64 stays exact (tests)
    const auto inv_rms = at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
    return weight * (x32 * inv_rms).to(x.scalar_type());
}

}  // namespace uio::model
