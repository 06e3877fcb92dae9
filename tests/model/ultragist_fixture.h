// Turns a generated Llama folder into one shaped like the published UltraGist checkpoint: random
// ultragist_* tensors with the release's names in a second shard, both shards named by an index,
// and the window in config.json. Also what the tests feed it.
#pragma once

#include "checkpoint.h"
#include "llama.h"
#include "safetensors.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace uio::model::test {

// The window and ratio the tests compress with, and a stream of n random ids with BOS first.
constexpr int64_t kWindow = 16;
constexpr int64_t kRatio = 4;

inline std::vector<int32_t> tokens(int64_t n, int64_t n_vocab, uint64_t seed) {
    at::Generator g = at::detail::createCPUGenerator(seed);
    const auto t = at::randint(3, n_vocab, {n}, g, at::kLong);
    std::vector<int32_t> ids{1};  // BOS first, as documents start
    for (int64_t i = 1; i < n; ++i)
        ids.push_back(static_cast<int32_t>(t[i].item<int64_t>()));
    return ids;
}

inline std::vector<std::pair<std::string, at::Tensor>> add_ultragist_tensors(const std::filesystem::path& dir,
                                                                             const LlamaConfig& c, uint64_t seed,
                                                                             int64_t window) {
    at::Generator g = at::detail::createCPUGenerator(seed);
    std::vector<std::pair<std::string, at::Tensor>> extra{
        {"model.ultragist_embed_tokens.weight", at::randn({1, c.n_embd}, g)}};
    const int64_t D = c.head_dim();
    for (int64_t k = 0; k < c.n_layer; ++k) {
        const std::string p = "model.layers." + std::to_string(k) + ".self_attn.ultragist_";
        extra.emplace_back(p + "q_proj.weight", at::randn({c.n_head * D, c.n_embd}, g) * 0.1);
        extra.emplace_back(p + "k_proj.weight", at::randn({c.n_kv_head * D, c.n_embd}, g) * 0.1);
        extra.emplace_back(p + "v_proj.weight", at::randn({c.n_kv_head * D, c.n_embd}, g) * 0.1);
        extra.emplace_back(p + "o_proj.weight", at::randn({c.n_embd, c.n_head * D}, g) * 0.1);
    }
    write_safetensors(dir / "model-00002-of-00002.safetensors", extra, {{"format", "pt"}});
    nlohmann::json index{{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
    for (const auto& name : Checkpoint(dir).names())
        index["weight_map"][name] = "model-00001-of-00002.safetensors";
    for (const auto& [name, t] : extra)
        index["weight_map"][name] = "model-00002-of-00002.safetensors";
    std::filesystem::rename(dir / "model.safetensors", dir / "model-00001-of-00002.safetensors");
    std::ofstream(dir / "model.safetensors.index.json") << index.dump();

    nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    config["ultragist_window"] = window;
    config["ultragist_ratio"] = {2, 4, 8, 16, 32};
    std::ofstream(dir / "config.json") << config.dump(2);
    return extra;
}

}  // namespace uio::model::test
