#include "torch_types.h"
#include "uio/model/error.h"

#include <torch/cuda.h>

namespace uio::model {

DType parse_dtype(const std::string& name) {
    if (name == "f32" || name == "float32")
        return DType::F32;
    if (name == "f16" || name == "float16")
        return DType::F16;
    if (name == "bf16" || name == "bfloat16")
        return DType::BF16;
    if (name == "int8")
        return DType::Int8;
    throw ModelError("unknown precision \"" + name + "\": use f32, f16, bf16 or int8");
}

std::string dtype_name(DType dtype) {
    switch (dtype) {
        case DType::F32:
            return "f32";
        case DType::F16:
            return "f16";
        case DType::BF16:
            return "bf16";
        case DType::Int8:
            return "int8";
    }
    return "f32";
}

double bytes_per_weight(DType dtype) {
    switch (dtype) {
        case DType::F32:
            return 4.0;
        case DType::F16:
        case DType::BF16:
            return 2.0;
        case DType::Int8:
            return 1.0 + 4.0 / 32.0;
    }
    return 4.0;
}

at::ScalarType to_scalar_type(DType dtype) {
    switch (dtype) {
        case DType::F32:
            return at::kFloat;
        case DType::F16:
            return at::kHalf;
        case DType::BF16:
            return at::kBFloat16;
        case DType::Int8:
            return at::kFloat;  // what is not quantized, and the activations
    }
    return at::kFloat;
}

std::string check_device(const std::string& device) {
    c10::Device parsed(c10::kCPU);
    try {
        parsed = c10::Device(device);
    } catch (const std::exception&) {
        throw ModelError("unknown device \"" + device + "\": use cpu, cuda or cuda:N");
    }
    if (parsed.is_cuda()) {
        if (!torch::cuda::is_available()) {
            throw ModelError("device " + device + " is not available: this build of UIO Desk or this machine has " +
                             "no CUDA; use --device cpu");
        }
        if (parsed.has_index() && parsed.index() >= static_cast<int>(torch::cuda::device_count())) {
            throw ModelError("device " + device + " does not exist: this machine has " +
                             std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
        }
    } else if (!parsed.is_cpu()) {
        throw ModelError("unsupported device \"" + device + "\": use cpu or cuda");
    }
    return device;
}

c10::Device to_device(const std::string& device) {
    return c10::Device(check_device(device));
}

}  // namespace uio::model
