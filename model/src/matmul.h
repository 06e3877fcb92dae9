// x @ weight^T where the weight may be stored in a narrower dtype than the activations:
// libtorch 1.13 has no f16 kernels on CPU, so an f16 model there keeps its weights in f16
// (half the memory) and computes in f32, widening each weight as it is used.
#pragma once

#include <ATen/core/Tensor.h>

namespace uio::model {

// x (..., in), weight (out, in) -> (..., out) in x's dtype. One row on the CPU goes through the
// kernels of matvec.h, several f32 rows without autograd through oneDNN's sgemm, everything
// else through libtorch.
at::Tensor dense(const at::Tensor& x, const at::Tensor& weight);

// x (..., in) f32 @ weight^T through oneDNN's sgemm; only where the thread layout sends f32
// products there (f32_products_in_onednn, runtime.h). No autograd.
at::Tensor sgemm_rows(const at::Tensor& x, const at::Tensor& weight);

// Whether products of a and b can go to sgemm below: f32 on the CPU, no autograd, and f32
// products sent to oneDNN.
bool onednn_products_apply(const at::Tensor& a, const at::Tensor& b);
// C (M, N) = A (M, K) @ B (K, N), or @ B^T with B (N, K) when transpose_b; row-major with
// leading dimensions. Only where onednn_products_apply.
void sgemm(bool transpose_b, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b, int64_t ldb,
           float* c, int64_t ldc);

// The same product through libtorch alone: the reference the fast paths are tested against.
at::Tensor dense_reference(const at::Tensor& x, const at::Tensor& weight);

// A weight kept as int8 in groups of `group` inputs with one f32 scale each (matvec.h's
// Int8Rows), about a quarter of its f32 size.
struct Int8Weight {
    at::Tensor q;      // (out, in) int8
    at::Tensor scale;  // (out, in / group) f32
    int64_t group = 0;
};

// Symmetric rounding: each group's largest magnitude maps to 127. group: the largest of 32, 16
// and 8 that divides the width, or the whole row.
Int8Weight quantize_int8(const at::Tensor& weight);
at::Tensor dequantize_int8(const Int8Weight& w);  // (out, in) f32
// x (..., in) in f32 -> (..., out) f32: the int8 kernel for one row, else the dequantized weight.
at::Tensor dense_int8(const at::Tensor& x, const Int8Weight& w);

// The dtype activations use for weights stored in `storage` on `device`.
at::ScalarType compute_dtype(at::ScalarType storage, const at::Device& device);

}  // namespace uio::model
