// The .safetensors header and tensor table: any bytes either open with every tensor readable, or
// throw ModelError.
#include "fuzz_file.h"
#include "safetensors.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = uio::fuzz::writeInput("model.safetensors", data, size);
    try {
        const uio::model::SafetensorsFile file(path);
        for (const auto& [name, entry] : file.entries()) {
            const at::Tensor t = file.view(name);
            if (t.numel() > 0)
                (void)t.to(at::kFloat).sum().item<float>();  // every byte of every tensor is touched
        }
    } catch (const uio::model::ModelError&) {
    }
    return 0;
}
