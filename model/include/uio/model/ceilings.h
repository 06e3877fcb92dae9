// What the hardware can do at best, measured the way the engine uses it (on the CPU with the
// threads the engine gives that kind of work): the matrix-multiply rate (the ceiling of prefill
// and compression) and the memory read and copy rates (the ceiling of decoding, which reads
// every weight once per token).
#pragma once

#include "uio/model/types.h"

#include <cstdint>
#include <string>

namespace uio::model {

// Median GFLOP/s of an (n x n) @ (n x n) product in dtype on device.
double measure_gemm_gflops(const std::string& device, DType dtype, int64_t n, int repeats);

// Median GB/s of copying a buffer of `bytes` on device (read + write both counted).
double measure_copy_gbps(const std::string& device, int64_t bytes, int repeats);

// Median GB/s of reading a buffer of `bytes` on device (summing it): the ceiling of decoding,
// which reads every weight and writes almost nothing.
double measure_read_gbps(const std::string& device, int64_t bytes, int repeats);

// A name for the device: the CPU model from /proc/cpuinfo, or the CUDA device's name.
std::string device_name(const std::string& device);

}  // namespace uio::model
