#include "uio/model/runtime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <thread>

namespace uio::model {

namespace {

// OpenBLAS is loaded through libblas.so.3 by libtorch, so it is found at run time, not link time.
template <typename Fn>
Fn find_blas_symbol(const char* name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

RuntimeInfo runtime_info() {
    RuntimeInfo info;
    info.torch_version = TORCH_VERSION;
    info.n_cpu_threads = at::get_num_threads();
    if (auto config = find_blas_symbol<char* (*)()>("openblas_get_config")) {
        info.blas = config();
    } else {
        info.blas = "unknown";
    }
    if (auto blas_threads = find_blas_symbol<int (*)()>("openblas_get_num_threads")) {
        info.n_blas_threads = blas_threads();
    }
    info.cuda_available = torch::cuda::is_available();
    info.n_cuda_devices = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
    return info;
}

void set_cpu_threads(int n) {
    if (n <= 0) {
        n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    }
    at::set_num_threads(n);
    if (auto set_blas_threads = find_blas_symbol<void (*)(int)>("openblas_set_num_threads")) {
        set_blas_threads(n);
    }
}

}  // namespace uio::model
