// The restricted pickle reader of `uio adapter import`: the input is data.pkl inside a torch.save
// zip that also holds four 256-byte storages; the reader either returns tensors or throws
// ModelError, and never calls anything the pickle names.
#include "fuzz_file.h"
#include "torch_checkpoint.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>

#include <caffe2/serialize/inline_container.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = uio::fuzz::writeInput("checkpoint.pt", nullptr, 0);
    {
        caffe2::serialize::PyTorchStreamWriter writer(path.string());
        writer.writeRecord("data.pkl", data, size);
        const std::string storage(256, '\x3f');
        for (int i = 0; i < 4; ++i)
            writer.writeRecord("data/" + std::to_string(i), storage.data(), storage.size());
        writer.writeEndOfFile();
    }
    try {
        for (const at::Tensor& t : uio::model::read_torch_tensor_list(path)) {
            if (t.numel() > 0)
                (void)t.to(at::kFloat).sum().item<float>();
        }
    } catch (const uio::model::ModelError&) {
    }
    return 0;
}
