#include "uio/model/memory_file.h"

#include "memory_blob.h"
#include "safetensors.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>

#include <sstream>

namespace uio::model {

namespace {
constexpr const char* kFormat = "uio-memory";
}

void write_memory_file(const std::filesystem::path& path, const MemoryFile& file) {
    std::vector<at::Tensor> segments;
    for (const MemoryBlob& blob : file.segments) {
        segments.push_back(from_blob(blob, at::kCPU));
    }
    const at::Tensor memories = segments.empty() ? at::zeros({0, 0, 0, 0}) : at::stack(segments);
    std::string residual;
    for (const int32_t id : file.residual) {
        residual += (residual.empty() ? "" : ",");
        residual += std::to_string(id);
    }
    write_safetensors(path, {{"memories", memories}},
                      {{"format", kFormat},
                       {"version", "1"},
                       {"segment_length", std::to_string(file.segment_length)},
                       {"memory_tokens", std::to_string(file.memory_tokens)},
                       {"n_tokens", std::to_string(file.n_tokens)},
                       {"adapter_fingerprint", file.adapter_fingerprint},
                       {"base_fingerprint", file.base_fingerprint},
                       {"residual_tokens", residual}});
}

MemoryFile read_memory_file(const std::filesystem::path& path) {
    const SafetensorsFile stored(path);
    const auto& meta = stored.metadata();
    const std::string name = path.string();
    auto get = [&](const char* key) {
        const auto it = meta.find(key);
        if (it == meta.end())
            throw ModelError(name + ": memory file metadata \"" + key + "\" is missing");
        return it->second;
    };
    if (!meta.count("format") || meta.at("format") != kFormat) {
        throw ModelError(name + ": not a memory file made by 'uio compress'");
    }
    MemoryFile file;
    try {
        file.segment_length = std::stoll(get("segment_length"));
        file.memory_tokens = std::stoll(get("memory_tokens"));
        file.n_tokens = std::stoll(get("n_tokens"));
        std::stringstream residual(get("residual_tokens"));
        for (std::string id; std::getline(residual, id, ',');)
            file.residual.push_back(std::stoi(id));
    } catch (const std::logic_error&) {
        throw ModelError(name + ": memory file metadata is not numeric where it should be");
    }
    file.adapter_fingerprint = get("adapter_fingerprint");
    file.base_fingerprint = get("base_fingerprint");
    const at::Tensor memories = stored.view("memories");
    if (memories.dim() != 4 && memories.dim() != 6) {
        throw ModelError(name +
                         ": \"memories\" must be [segments, layers, m, d] (UIO) or "
                         "[windows, layers, 2, kv heads, rows, head dim] (UltraGist)");
    }
    for (int64_t s = 0; s < memories.size(0); ++s) {
        file.segments.push_back(to_blob(memories[s]));
    }
    return file;
}

}  // namespace uio::model
