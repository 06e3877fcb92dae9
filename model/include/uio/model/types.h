// Precision and device names shared by the facade and the command line.
#pragma once

#include <string>

namespace uio::model {

// Int8: the projections' weights in int8 with one scale per 32 inputs, everything else f32
// (CPU only).
enum class DType { F32, F16, BF16, Int8 };

// "f32" | "f16" | "bf16" | "int8" (also "float32", "float16", "bfloat16"); throws ModelError otherwise.
DType parse_dtype(const std::string& name);
std::string dtype_name(DType dtype);
// Bytes per weight of a model's matrices in this precision (int8 counts its scales).
double bytes_per_weight(DType dtype);

// "cpu", "cuda" or "cuda:N". Throws ModelError when the device is unknown, or is CUDA and this
// build or machine has none (the message says how to get it).
std::string check_device(const std::string& device);

}  // namespace uio::model
