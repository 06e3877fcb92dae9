// A segment's memory tensor <-> MemoryBlob bytes with dtype, shape and checksum: (L, m, C) for a
// UIO adapter, (L, 2, K, R, D) for UltraGist.
#pragma once

#include "uio/model/memory.h"

#include <ATen/core/Tensor.h>

namespace uio::model {

MemoryBlob to_blob(const at::Tensor& memory);

// Throws ModelError when the checksum fails or the bytes do not match the shape; callers check the
// shape against the model.
at::Tensor from_blob(const MemoryBlob& blob, const at::Device& device);

}  // namespace uio::model
