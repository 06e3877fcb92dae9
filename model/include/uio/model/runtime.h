// What the linked libtorch can do on this machine, and how many CPU threads it uses.
// Torch-free so that app/ and the executables can report it. Not thread-safe: call these from
// the thread that owns the model, before model work.
#pragma once

#include "uio/model/types.h"

#include <cstdint>
#include <string>
#include <vector>

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

// Lets the C allocator keep freed buffers of up to 32 MB (and 128 MB at the top of its heap)
// for reuse. By default glibc returns each large activation buffer to the system when it is
// freed and takes it back, zero-filled page by page, on the next step: measured on 2 cores,
// that took a third of bf16 prefill (1685 -> 3019 tokens/s with this). Call once at start-up.
void keep_freed_buffers();

// Uses n CPU threads for model work (n <= 0: one per core). Call once at start-up.
void set_cpu_threads(int n);
int cpu_threads();  // as set

// Gives the n threads to the library that does the matrix work for this compute dtype. bf16
// products run in oneDNN on libtorch's OpenMP pool; f32 ones too (through oneDNN's sgemm, which
// libtorch loads) when nothing needs their gradients, and in OpenBLAS when training
// (autograd = true) or where that sgemm cannot be found. When both pools hold n threads, the
// idle one's spinning threads take the cores from the busy one (measured on 2 cores: f32
// prefill 300 -> 665 tokens/s, f32 decode 8 -> 27 tokens/s with the idle pool at one thread).
// The engine calls this when it loads a model on the CPU, and training around its steps.
void use_cpu_threads_for(DType compute, bool autograd = false);

// Whether the layout set last sends f32 products without gradients to oneDNN's sgemm.
bool f32_products_in_onednn();

// For its lifetime, the thread layout use_cpu_threads_for(compute) sets; then the one before.
// Ceilings are measured with the threads the engine's work of that kind gets.
class CpuThreadsFor {
public:
    explicit CpuThreadsFor(DType compute, bool autograd = false);
    ~CpuThreadsFor();
    CpuThreadsFor(const CpuThreadsFor&) = delete;
    CpuThreadsFor& operator=(const CpuThreadsFor&) = delete;

private:
    int m_torch_threads = 0;
    int m_blas_threads = 0;
    bool m_f32_in_onednn = false;
};

// The precision that runs fastest on this machine's CPU, judged from its instruction set
// (measured on two 2-core machines, docs/benchmarks.md), and why, in a sentence for the user.
struct PrecisionChoice {
    DType dtype = DType::F32;
    std::string reason;
};
PrecisionChoice fastest_cpu_precision();

struct CudaDevice {
    int index = 0;
    std::string name;  // "NVIDIA H100 80GB HBM3"
    int64_t free_bytes = 0;
    int64_t total_bytes = 0;
};

// The CUDA devices this build can use, with their free memory now; empty on a CPU-only build
// or machine. Initialises CUDA on first use (can take seconds): call it off the GUI thread.
std::vector<CudaDevice> cuda_devices();

struct MemoryUse {
    int64_t resident_bytes = 0;       // this process in RAM
    int64_t peak_resident_bytes = 0;  // the most it has held since it started (VmHWM)
    int64_t gpu_used_bytes = 0;       // the whole CUDA device, when the device is one
    int64_t gpu_total_bytes = 0;
};

// RAM the system can still give (MemAvailable), in bytes; 0 when it does not say.
int64_t available_ram_bytes();

// What is in use now, for the status bar. Cheap: reads /proc and asks the CUDA driver.
MemoryUse memory_in_use(const std::string& device);

}  // namespace uio::model
