#include "uio/model/runtime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#if __has_include(<cuda_runtime_api.h>)
#include <cuda_runtime_api.h>
#define UIO_HAVE_CUDA_RUNTIME 1
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace uio::model {

namespace {

// OpenBLAS is loaded through libblas.so.3 by libtorch, so it is found at run time, not link time.
template <typename Fn>
Fn find_blas_symbol(const char* name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

int g_cpu_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
bool g_f32_in_onednn = false;  // see use_cpu_threads_for

void set_blas_threads(int n) {
    if (auto set = find_blas_symbol<void (*)(int)>("openblas_set_num_threads")) {
        set(n);
    }
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

void keep_freed_buffers() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

void set_cpu_threads(int n) {
    g_cpu_threads = n > 0 ? n : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(g_cpu_threads);
    set_blas_threads(g_cpu_threads);
}

int cpu_threads() {
    return g_cpu_threads;
}

bool f32_products_in_onednn() {
    return g_f32_in_onednn;
}

void use_cpu_threads_for(DType compute, bool autograd) {
    const bool blas_does_the_work =
        compute == DType::F32 && (autograd || find_blas_symbol<void*>("dnnl_sgemm") == nullptr);
    g_f32_in_onednn = !blas_does_the_work;
    at::set_num_threads(blas_does_the_work ? 1 : g_cpu_threads);
    set_blas_threads(blas_does_the_work ? g_cpu_threads : 1);
}

CpuThreadsFor::CpuThreadsFor(DType compute, bool autograd)
    : m_torch_threads(at::get_num_threads()), m_f32_in_onednn(g_f32_in_onednn) {
    if (auto blas_threads = find_blas_symbol<int (*)()>("openblas_get_num_threads"))
        m_blas_threads = blas_threads();
    use_cpu_threads_for(compute, autograd);
}

CpuThreadsFor::~CpuThreadsFor() {
    g_f32_in_onednn = m_f32_in_onednn;
    at::set_num_threads(m_torch_threads);
    if (m_blas_threads > 0)
        set_blas_threads(m_blas_threads);
}

PrecisionChoice fastest_cpu_precision() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::set<std::string> flags;
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("flags", 0) == 0) {
            std::istringstream words(line.substr(line.find(':') + 1));
            for (std::string word; words >> word;)
                flags.insert(word);
            break;
        }
    }
    const auto has = [&](const char* flag) { return flags.count(flag) != 0; };
    if (has("avx512_bf16") || has("amx_bf16"))
        return {DType::BF16,
                "this processor multiplies bf16 natively: prompts are read about twice as fast as in f32, with "
                "half the memory"};
    if (has("avx2") && has("fma"))
        return {DType::Int8,
                "this processor has no native bf16 (bf16 would read prompts at half the speed of f32); int8 "
                "weights read prompts nearly as fast as f32, write answers faster, and take a quarter of the memory"};
    return {DType::F32, "this processor has neither native bf16 nor AVX2: f32 is its fastest precision"};
}

std::vector<CudaDevice> cuda_devices() {
    std::vector<CudaDevice> devices;
#ifdef UIO_HAVE_CUDA_RUNTIME
    if (!torch::cuda::is_available()) {
        return devices;
    }
    int current = 0;
    cudaGetDevice(&current);
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) {
        cudaDeviceProp properties{};
        size_t free = 0, total = 0;
        if (cudaGetDeviceProperties(&properties, i) != cudaSuccess || cudaSetDevice(i) != cudaSuccess ||
            cudaMemGetInfo(&free, &total) != cudaSuccess) {
            continue;
        }
        devices.push_back({i, properties.name, static_cast<int64_t>(free), static_cast<int64_t>(total)});
    }
    cudaSetDevice(current);
#endif
    return devices;
}

MemoryUse memory_in_use(const std::string& device) {
    MemoryUse use;
    std::ifstream statm("/proc/self/statm");
    int64_t pages = 0, resident = 0;
    if (statm >> pages >> resident) {
        use.resident_bytes = resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
    }
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0) {
            use.peak_resident_bytes = std::stoll(line.substr(6)) * 1024;  // "VmHWM:  123456 kB"
            break;
        }
    }
#ifdef UIO_HAVE_CUDA_RUNTIME
    if (device.rfind("cuda", 0) == 0 && torch::cuda::is_available()) {
        size_t free = 0, total = 0;
        if (cudaMemGetInfo(&free, &total) == cudaSuccess) {
            use.gpu_used_bytes = static_cast<int64_t>(total - free);
            use.gpu_total_bytes = static_cast<int64_t>(total);
        }
    }
#else
    (void)device;
#endif
    return use;
}

int64_t available_ram_bytes() {
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    int64_t kib = 0;
    while (meminfo >> key >> kib) {
        if (key == "MemAvailable:")
            return kib * 1024;
        meminfo.ignore(64, '\n');
    }
    return 0;
}

}  // namespace uio::model
