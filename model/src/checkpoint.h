// The weights of a Hugging Face model folder: model.safetensors, or the shards named by
// model.safetensors.index.json. Validates that every shard exists and agrees with the index.
#pragma once

#include "safetensors.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace uio::model {

class Checkpoint {
public:
    explicit Checkpoint(const std::filesystem::path& model_dir);

    std::vector<std::string> names() const;
    bool contains(const std::string& name) const { return m_owner.count(name) != 0; }
    const SafetensorsEntry& entry(const std::string& name) const;
    at::Tensor view(const std::string& name) const;  // CPU, read-only, no copy
    void release(const std::string& name) const;     // see SafetensorsFile::release
    std::string file_of(const std::string& name) const;

private:
    const SafetensorsFile& owner(const std::string& name) const;
    std::vector<std::unique_ptr<SafetensorsFile>> m_files;
    std::map<std::string, const SafetensorsFile*> m_owner;
};

}  // namespace uio::model
