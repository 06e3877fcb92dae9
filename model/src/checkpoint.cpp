#include "checkpoint.h"

#include "uio/model/error.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace uio::model {

Checkpoint::Checkpoint(const std::filesystem::path& model_dir) {
    const auto single = model_dir / "model.safetensors";
    const auto index = model_dir / "model.safetensors.index.json";
    if (std::filesystem::exists(single)) {
        m_files.push_back(std::make_unique<SafetensorsFile>(single));
        for (const auto& [name, entry] : m_files.back()->entries()) {
            m_owner[name] = m_files.back().get();
        }
        return;
    }
    if (!std::filesystem::exists(index)) {
        throw ModelError(model_dir.string() + ": neither model.safetensors nor model.safetensors.index.json found " +
                         "(UIO Desk reads Hugging Face models in safetensors format)");
    }

    nlohmann::json json;
    try {
        std::ifstream in(index);
        json = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw ModelError(index.string() + ": not valid JSON (" + e.what() + ")");
    }
    if (!json.contains("weight_map") || !json["weight_map"].is_object()) {
        throw ModelError(index.string() + ": missing the \"weight_map\" object");
    }
    std::map<std::string, SafetensorsFile*> shards;
    for (const auto& [name, file] : json["weight_map"].items()) {
        if (!file.is_string()) {
            throw ModelError(index.string() + ": the shard of " + name + " is not a file name");
        }
        const std::string shard_name = file.get<std::string>();
        if (shard_name.find('/') != std::string::npos || shard_name.find("..") != std::string::npos) {
            throw ModelError(index.string() + ": shard name \"" + shard_name + "\" must be a file in the model folder");
        }
        auto& shard = shards[shard_name];
        if (!shard) {
            m_files.push_back(std::make_unique<SafetensorsFile>(model_dir / shard_name));
            shard = m_files.back().get();
        }
        if (!shard->contains(name)) {
            throw ModelError(shard->path().string() + ": tensor " + name + " is missing (the index places it here)");
        }
        m_owner[name] = shard;
    }
    for (const auto& file : m_files) {
        for (const auto& [name, entry] : file->entries()) {
            const auto it = m_owner.find(name);
            if (it == m_owner.end() || it->second != file.get()) {
                throw ModelError(file->path().string() + ": tensor " + name + " is not listed in the index");
            }
        }
    }
}

std::vector<std::string> Checkpoint::names() const {
    std::vector<std::string> result;
    for (const auto& [name, file] : m_owner) {
        result.push_back(name);
    }
    return result;
}

const SafetensorsFile& Checkpoint::owner(const std::string& name) const {
    const auto it = m_owner.find(name);
    if (it == m_owner.end()) {
        throw ModelError("the checkpoint has no tensor " + name);
    }
    return *it->second;
}

const SafetensorsEntry& Checkpoint::entry(const std::string& name) const {
    return owner(name).entries().at(name);
}

at::Tensor Checkpoint::view(const std::string& name) const {
    return owner(name).view(name);
}

void Checkpoint::release(const std::string& name) const {
    owner(name).release(name);
}

std::string Checkpoint::file_of(const std::string& name) const {
    return owner(name).path().filename().string();
}

}  // namespace uio::model
