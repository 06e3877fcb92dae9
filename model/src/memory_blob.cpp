#include "memory_blob.h"

#include "torch_types.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>

#include <cstring>

namespace uio::model {

namespace {

DType blob_dtype(at::ScalarType type) {
    switch (type) {
        case at::kFloat:
            return DType::F32;
        case at::kHalf:
            return DType::F16;
        case at::kBFloat16:
            return DType::BF16;
        default:
            throw ModelError(std::string("memories of dtype ") + c10::toString(type) + " cannot be stored");
    }
}

}  // namespace

MemoryBlob to_blob(const at::Tensor& memory) {
    TORCH_CHECK(memory.dim() == 3 || memory.dim() == 5, "to_blob: expected (L, m, C) or (L, 2, K, R, D), got ",
                memory.sizes());
    const at::Tensor cpu = memory.detach().to(at::kCPU).contiguous();
    MemoryBlob blob;
    blob.dtype = blob_dtype(cpu.scalar_type());
    blob.shape = cpu.sizes().vec();
    blob.bytes.resize(static_cast<size_t>(cpu.numel()) * cpu.element_size());
    std::memcpy(blob.bytes.data(), cpu.data_ptr(), blob.bytes.size());
    blob.checksum = blob_checksum(blob.bytes);
    return blob;
}

at::Tensor from_blob(const MemoryBlob& blob, const at::Device& device) {
    if (!blob.intact()) {
        throw ModelError("a stored memory segment is damaged (checksum mismatch); it will be compressed again");
    }
    // The shape comes from the library file: every dimension checked, the product without overflow.
    int64_t n = 1;
    bool valid = blob.shape.size() == 3 || blob.shape.size() == 5;
    for (const int64_t d : blob.shape)
        valid = valid && d >= 0 && !__builtin_mul_overflow(n, d, &n);
    const auto type = to_scalar_type(blob.dtype);
    int64_t n_bytes = 0;
    valid = valid && !__builtin_mul_overflow(n, static_cast<int64_t>(c10::elementSize(type)), &n_bytes);
    if (!valid || static_cast<uint64_t>(n_bytes) != blob.bytes.size()) {
        throw ModelError("a stored memory segment has " + std::to_string(blob.bytes.size()) +
                         " bytes, which does not match its shape and dtype");
    }
    auto tensor = at::empty(blob.shape, at::TensorOptions().dtype(type));
    if (!blob.bytes.empty())  // an empty tensor has no data pointer to copy to
        std::memcpy(tensor.data_ptr(), blob.bytes.data(), blob.bytes.size());
    return tensor.to(device);
}

}  // namespace uio::model
