// Reads a list of tensors saved by Python's torch.save (a zip holding data.pkl and data/N
// storages) without running any pickled code: a small pickle interpreter that knows lists,
// tuples, numbers, strings and the few torch functions that rebuild tensors, and refuses every
// other global. For importing the authors' adapter checkpoints (uio-method.md §7).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <vector>

namespace uio::model {

// Throws ModelError naming the file when it is not such a zip, when the pickle names anything
// but tensor rebuilders, or when the top-level object is not a list of tensors.
std::vector<at::Tensor> read_torch_tensor_list(const std::filesystem::path& path);

}  // namespace uio::model
