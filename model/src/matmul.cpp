#include "matmul.h"

#include "matvec.h"
#include "uio/model/runtime.h"

#include <ATen/ATen.h>

#include <dlfcn.h>

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

// oneDNN's row-major sgemm, from the libdnnl that libtorch loads; null when it is not there.
using Sgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float,
                      float*, int64_t);
const Sgemm onednn_sgemm = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));

// Several f32 rows on the CPU without autograd: oneDNN's sgemm uses AVX-512 where OpenBLAS
// 0.3.21 picks its AVX2 kernels (2048-cube: 477 against 227 GFLOP/s on the 2-core Zen 4).
bool sgemm_applies(const at::Tensor& x, const at::Tensor& w) {
    return onednn_sgemm && f32_products_in_onednn() && x.is_cpu() && w.is_cpu() && x.scalar_type() == at::kFloat &&
           w.scalar_type() == at::kFloat && w.is_contiguous() && x.numel() > w.size(1) &&
           !(at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad()));
}

}  // namespace

bool onednn_products_apply(const at::Tensor& a, const at::Tensor& b) {
    return onednn_sgemm && f32_products_in_onednn() && a.is_cpu() && b.is_cpu() && a.scalar_type() == at::kFloat &&
           b.scalar_type() == at::kFloat && !(at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad()));
}

void sgemm(bool transpose_b, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b, int64_t ldb,
           float* c, int64_t ldc) {
    const int status = onednn_sgemm('N', transpose_b ? 'T' : 'N', M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    TORCH_CHECK(status == 0, "oneDNN sgemm failed with status ", status);
}

at::Tensor sgemm_rows(const at::Tensor& x, const at::Tensor& weight) {
    const at::Tensor a = x.contiguous();
    const int64_t K = weight.size(1), N = weight.size(0), M = a.numel() / K;
    auto shape = x.sizes().vec();
    shape.back() = N;
    at::Tensor c = at::empty(shape, a.options());
    const int status = onednn_sgemm('N', 'T', M, N, K, 1.0f, a.data_ptr<float>(), K, weight.data_ptr<float>(), K, 0.0f,
                                    c.data_ptr<float>(), N);
    TORCH_CHECK(status == 0, "oneDNN sgemm failed with status ", status);
    return c;
}

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
    if (sgemm_applies(x, weight))
        return sgemm_rows(x, weight);
    const at::Tensor w = weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type());
    return at::linear(x, w);
}

at::Tensor dense_reference(const at::Tensor& x, const at::Tensor& weight) {
    const at::Tensor w = weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type());
    return at::linear(x, w);
}

Int8Weight quantize_int8(const at::Tensor& weight) {
    const int64_t out = weight.size(0), in = weight.size(1);
    int64_t group = in;
    for (const int64_t g : {32, 16, 8}) {
        if (in % g == 0) {
            group = g;
            break;
        }
    }
    const auto grouped = weight.to(at::kFloat).reshape({out, in / group, group});
    const auto scale = grouped.abs().amax(-1) / 127.0;  // (out, in / group)
    const auto safe = at::where(scale > 0, scale, at::ones_like(scale));
    const auto q = at::round(grouped / safe.unsqueeze(-1)).clamp(-127, 127).to(at::kChar).reshape({out, in});
    return {q.contiguous(), scale.contiguous(), group};
}

at::Tensor dequantize_int8(const Int8Weight& w) {
    const int64_t out = w.q.size(0), in = w.q.size(1);
    return (w.q.to(at::kFloat).view({out, in / w.group, w.group}) * w.scale.unsqueeze(-1)).view({out, in});
}

at::Tensor dense_int8(const at::Tensor& x, const Int8Weight& w) {
    const int64_t out = w.q.size(0), in = w.q.size(1);
    if (x.is_cpu() && x.numel() == in && !(at::GradMode::is_enabled() && x.requires_grad())) {
        const at::Tensor row = x.to(at::kFloat).contiguous();
        at::Tensor y = at::empty({out}, row.options());
        matvec_int8({w.q.data_ptr<int8_t>(), w.scale.data_ptr<float>(), w.group}, row.data_ptr<float>(),
                    y.data_ptr<float>(), out, in);
        auto shape = x.sizes().vec();
        shape.back() = out;
        return y.view(shape);
    }
    const at::Tensor rows = x.to(at::kFloat).contiguous();
    if (!onednn_products_apply(rows, w.scale))
        return at::linear(rows, dequantize_int8(w));
    // Dequantized a block of 256 output rows at a time, each block's product written into its
    // columns: the f32 copy of the weight stays a few MB, in cache, instead of a fresh buffer
    // of the whole matrix per product.
    constexpr int64_t kBlock = 256;
    const int64_t M = rows.numel() / in;
    auto shape = x.sizes().vec();
    shape.back() = out;
    at::Tensor y = at::empty(shape, rows.options());
    for (int64_t o = 0; o < out; o += kBlock) {
        const int64_t n = std::min(kBlock, out - o);
        const at::Tensor tile = dequantize_int8({w.q.narrow(0, o, n), w.scale.narrow(0, o, n), w.group});
        sgemm(true, M, n, in, rows.data_ptr<float>(), in, tile.data_ptr<float>(), in, y.data_ptr<float>() + o, out);
    }
    return y;
}

at::ScalarType compute_dtype(at::ScalarType storage, const at::Device& device) {
    return device.is_cpu() && storage == at::kHalf ? at::kFloat : storage;
}

}  // namespace uio::model
