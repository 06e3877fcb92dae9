// The memory blob reader: a stored segment's dtype, shape, bytes and checksum, as they come back
// from the library, become a tensor or a ModelError. The input's first byte picks the dtype and
// whether the checksum is right (so that both paths are reached), the next six its shape.
#include "memory_blob.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 7)
        return 0;
    uio::model::MemoryBlob blob;
    blob.dtype = static_cast<uio::model::DType>(data[0] % 3);
    for (int i = 0; i < 3; ++i)
        blob.shape.push_back(static_cast<int8_t>(data[1 + 2 * i]) * static_cast<int64_t>(data[2 + 2 * i]));
    if (data[0] & 0x80)
        blob.shape.pop_back();
    blob.bytes.assign(reinterpret_cast<const std::byte*>(data + 7), reinterpret_cast<const std::byte*>(data + size));
    blob.checksum = (data[0] & 0x40) ? 0x1234 : uio::blob_checksum(blob.bytes);
    try {
        const at::Tensor t = uio::model::from_blob(blob, at::kCPU);
        (void)t.to(at::kFloat).sum().item<float>();
    } catch (const uio::model::ModelError&) {
    }
    return 0;
}
