// One row through a weight matrix on the CPU: y = W x, the whole cost of decoding one token.
// The work is reading W once, so these kernels stream each weight row once, four rows at a time
// against one x held in cache, on every core (OpenMP). libtorch's own paths either run these
// products on one thread or pay oneDNN's set-up per call, which at these sizes costs more than
// the reading. Dispatch by the processor at run time: AVX-512, AVX2 with FMA, or plain C++.
#pragma once

#include <cstdint>
#include <string>

namespace uio::model {

// Weights stored as int8 in groups of `group` consecutive inputs, each group with its own f32
// scale: w[o][i] = q[o][i] * scale[o][i / group]. group divides n_in.
struct Int8Rows {
    const int8_t* q = nullptr;     // (n_out, n_in)
    const float* scale = nullptr;  // (n_out, n_in / group)
    int64_t group = 0;
};

// y (n_out) = W (n_out, n_in, row-major) x (n_in). threads <= 0: the engine's CPU threads.
void matvec_f32(const float* w, const float* x, float* y, int64_t n_out, int64_t n_in, int threads = 0);
void matvec_bf16(const uint16_t* w, const float* x, float* y, int64_t n_out, int64_t n_in, int threads = 0);
void matvec_int8(const Int8Rows& w, const float* x, float* y, int64_t n_out, int64_t n_in, int threads = 0);

// y (d) = sum over rows r < n of p[r] * v[r] (v: n rows of d, row-major), single-threaded: the
// second half of attention for one head, whose rows are the cached values.
void weighted_rows_f32(const float* v, const float* p, float* y, int64_t n, int64_t d);
void weighted_rows_bf16(const uint16_t* v, const float* p, float* y, int64_t n, int64_t d);

// Which instruction set the kernels use on this processor: "avx512", "avx2" or "generic".
const char* matvec_isa();
// For tests: use a narrower instruction set than the processor's best. False when this
// processor cannot run `name`. Not thread-safe.
bool matvec_use_isa(const std::string& name);

}  // namespace uio::model
