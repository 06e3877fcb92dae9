// A segment's memory tensor (L, m, C) <-> MemoryBlob bytes with dtype, shape and checksum.
#pragma once

#include "uio/model/memory.h"

#include <ATen/core/Tensor.h>

namespace uio::model {

MemoryBlob to_blob(const at::Tensor& memory);

// Throws ModelError when the checksum fails or the shape is not (expected_layers, m, C).
at::Tensor from_blob(const MemoryBlob& blob, const at::Device& device);

}  // namespace uio::model
