// The .safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
// names to {dtype, shape, data_offsets}, then the raw data. Reading memory-maps the file and
// validates the whole header before any tensor is touched; every defect is a ModelError naming
// the file. Views share ownership of the mapping, so they stay valid after the file object goes.
#pragma once

#include "partial_file.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace uio::model {

struct SafetensorsEntry {
    at::ScalarType dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offsets into the data section
    uint64_t end = 0;
};

class SafetensorsFile {
public:
    explicit SafetensorsFile(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return m_path; }
    const std::map<std::string, SafetensorsEntry>& entries() const { return m_entries; }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    bool contains(const std::string& name) const { return m_entries.count(name) != 0; }

    // A read-only CPU view of the tensor's bytes (no copy). Throws if the name is absent.
    at::Tensor view(const std::string& name) const;
    // Hands the pages of a tensor that has been copied elsewhere back to the kernel, so that
    // loading never holds the file and the model in memory at once. Its views read it again.
    void release(const std::string& name) const;

private:
    struct Mapping;
    std::filesystem::path m_path;
    std::shared_ptr<Mapping> m_mapping;
    const std::byte* m_data = nullptr;  // start of the data section inside the mapping
    std::map<std::string, SafetensorsEntry> m_entries;
    std::map<std::string, std::string> m_metadata;
};

// Streams a file whose header is known up front: declare every tensor, then write them in
// that order. The file appears under its name only when finish() succeeds.
class SafetensorsWriter {
public:
    struct Spec {
        std::string name;
        at::ScalarType dtype;
        std::vector<int64_t> shape;
    };
    SafetensorsWriter(const std::filesystem::path& path, const std::vector<Spec>& specs,
                      const std::map<std::string, std::string>& metadata = {});
    ~SafetensorsWriter();                  // removes the partial file unless finished
    void write(const at::Tensor& tensor);  // the next declared tensor; any device
    void finish();

private:
    std::vector<Spec> m_specs;
    size_t m_next = 0;
    std::unique_ptr<PartialFile> m_file;
};

// Writes tensors (any device, F32/F16/BF16) in the given order, with string metadata.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// "[4096,11008]", for messages.
std::string shape_string(c10::IntArrayRef shape);

// "F32" <-> at::kFloat and friends; throws ModelError for dtypes the project does not read.
std::string safetensors_dtype_name(at::ScalarType dtype);

}  // namespace uio::model
