// What the linked libtorch can do on this machine, and how many CPU threads it uses.
// Torch-free so that app/ and the executables can report it. Not thread-safe: call
// set_cpu_threads() once at start-up, before any model work.
#pragma once

#include <string>

namespace uio::model {

struct RuntimeInfo {
    std::string torch_version;  // "1.13.0"
    int n_cpu_threads = 0;      // libtorch intra-op threads
    std::string blas;           // "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." or "unknown"
    int n_blas_threads = 0;     // 0 when the BLAS does not say
    bool cuda_available = false;
    int n_cuda_devices = 0;
};

RuntimeInfo runtime_info();

// Uses n threads both for libtorch's own kernels (OpenMP; bf16/f16 matmul through oneDNN) and
// for OpenBLAS (f32 matmul). Each pool needs every core for its own work; they only compete when
// a program alternates f32 and bf16 matmuls, which the model does not. n <= 0: one per core.
void set_cpu_threads(int n);

}  // namespace uio::model
