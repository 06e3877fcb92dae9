#include "uio/model/ceilings.h"

#include "matmul.h"
#include "torch_types.h"
#include "uio/model/runtime.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#if __has_include(<ATen/cuda/CUDAContext.h>) && __has_include(<cuda_runtime_api.h>)
#include <ATen/cuda/CUDAContext.h>
#define UIO_HAVE_CUDA_HEADERS 1
#endif

#include <algorithm>
#include <chrono>
#include <fstream>
#include <vector>

namespace uio::model {

namespace {

void synchronize(const c10::Device& device) {
    if (device.is_cuda()) {
        at::zeros({1}, at::TensorOptions().device(device)).to(at::kCPU);  // waits for the queue
    }
}

template <typename Fn>
double median_seconds(const c10::Device& device, int repeats, Fn fn) {
    fn();  // warm-up
    synchronize(device);
    std::vector<double> times;
    for (int r = 0; r < std::max(repeats, 1); ++r) {
        const auto start = std::chrono::steady_clock::now();
        fn();
        synchronize(device);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace

double measure_gemm_gflops(const std::string& device_name_, DType dtype, int64_t n, int repeats) {
    const c10::Device device = to_device(device_name_);
    // f16 on CPU computes in f32 (see matmul.h), so its ceiling is f32's.
    const auto type = device.is_cpu() && dtype == DType::F16 ? at::kFloat : to_scalar_type(dtype);
    const auto options = at::TensorOptions().dtype(type).device(device);
    const auto a = at::randn({n, n}, options), b = at::randn({n, n}, options);
    const CpuThreadsFor threads(type == at::kFloat ? DType::F32 : DType::BF16);
    // The product the engine's prefill uses: oneDNN's sgemm for f32 where libtorch brings it.
    const bool onednn = device.is_cpu() && type == at::kFloat && f32_products_in_onednn();
    const double seconds = median_seconds(device, repeats, [&] { onednn ? sgemm_rows(a, b) : at::mm(a, b); });
    return 2.0 * static_cast<double>(n) * n * n / seconds / 1e9;
}

double measure_copy_gbps(const std::string& device_name_, int64_t bytes, int repeats) {
    const c10::Device device = to_device(device_name_);
    const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
    const auto source = at::ones({bytes / 4}, options);
    auto target = at::empty_like(source);
    const CpuThreadsFor threads(DType::BF16);  // libtorch's own pool on every core, as decoding uses them
    const double seconds = median_seconds(device, repeats, [&] { target.copy_(source); });
    return 2.0 * static_cast<double>(bytes) / seconds / 1e9;
}

double measure_read_gbps(const std::string& device_name_, int64_t bytes, int repeats) {
    const c10::Device device = to_device(device_name_);
    const auto source = at::ones({bytes / 4}, at::TensorOptions().dtype(at::kFloat).device(device));
    const CpuThreadsFor threads(DType::BF16);
    const double seconds = median_seconds(device, repeats, [&] { source.sum(); });
    return static_cast<double>(bytes) / seconds / 1e9;
}

std::string device_name(const std::string& device) {
    const c10::Device parsed = to_device(device);
    if (parsed.is_cuda()) {
#ifdef UIO_HAVE_CUDA_HEADERS
        return at::cuda::getDeviceProperties(parsed.has_index() ? parsed.index() : 0)->name;
#else
        return "CUDA device " + device;
#endif
    }
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "unknown CPU";
}

}  // namespace uio::model
