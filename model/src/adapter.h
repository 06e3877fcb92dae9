// The UIO adapter (uio-method.md §3, §4, §7): e_mem and e_rep, the encoder LoRA on q_proj and
// v_proj and the transfer-head LoRA on k_proj and v_proj of every layer. Small, f32, and
// swappable: the base model's weights are shared and never change.
//
// File (safetensors, F32): "e_mem" [d], "e_rep" [d], and per layer k
//   "layers.k.encoder.q.A" [r, d]  "layers.k.encoder.q.B" [H*D, r]
//   "layers.k.encoder.v.A" [r, d]  "layers.k.encoder.v.B" [K*D, r]
//   "layers.k.transfer.k.A" [r, d] "layers.k.transfer.k.B" [K*D, r]
//   "layers.k.transfer.v.A" [r, d] "layers.k.transfer.v.B" [K*D, r]
// with metadata format "uio-adapter", version "1", segment_length, memory_tokens, rank, alpha,
// base_fingerprint, hidden_size, num_layers, and (since origins are recorded) origin ("created",
// "imported", "trained"), trained_steps, corpus_tokens.
#pragma once

#include "llama.h"
#include "uio/model/memory.h"

#include <filesystem>

namespace uio::model {

// W' x = W x + scale * B (A x). A Kaiming-uniform, B zero at creation.
class LoraImpl : public torch::nn::Module {
public:
    LoraImpl(int64_t in, int64_t out, int64_t rank);
    at::Tensor delta(const at::Tensor& x, double scale) const;  // (..., in) -> (..., out)
    at::Tensor A;                                               // (r, in)
    at::Tensor B;                                               // (out, r)
};
TORCH_MODULE(Lora);

class AdapterLayerImpl : public torch::nn::Module {
public:
    AdapterLayerImpl(const LlamaConfig& c, int64_t rank);
    Lora encoder_q{nullptr}, encoder_v{nullptr}, transfer_k{nullptr}, transfer_v{nullptr};
};
TORCH_MODULE(AdapterLayer);

class AdapterImpl : public torch::nn::Module {
public:
    AdapterImpl(const LlamaConfig& base, const AdapterConfig& config);
    double scale() const { return config.alpha / static_cast<double>(config.rank); }
    AdapterLayerImpl& layer(int64_t k) { return layers->at<AdapterLayerImpl>(static_cast<size_t>(k)); }

    AdapterConfig config;
    std::string base_fingerprint;
    AdapterOrigin origin;
    at::Tensor e_mem;  // (C)
    at::Tensor e_rep;  // (C)
    torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(Adapter);

// A fingerprint of the base model's shape and weights, stable across sharding and storage dtype:
// of the loaded model, or of its weights in a checkpoint (in the model's parameter order).
std::string model_fingerprint(const LlamaImpl& model);
std::string model_fingerprint(const LlamaConfig& config,
                              const std::vector<std::pair<std::string, at::Tensor>>& weights);

// A fresh adapter for `model`: A Kaiming-uniform from `seed`, B zero, e_mem/e_rep copies of the
// EOS embedding. On the model's device, in f32.
Adapter make_adapter(const LlamaImpl& model, const AdapterConfig& config, uint64_t seed);
// The same from what it needs of the model: its config, fingerprint and EOS embedding row. On the CPU.
Adapter make_adapter(const LlamaConfig& base, const std::string& base_fingerprint, const at::Tensor& eos_embedding,
                     const AdapterConfig& config, uint64_t seed);

void save_adapter(const AdapterImpl& adapter, const LlamaConfig& base, const std::filesystem::path& path);

// Reads an adapter file and checks it belongs to `model` (fingerprint, hidden size, layers).
Adapter load_adapter(const std::filesystem::path& path, const LlamaImpl& model);

AdapterInfo adapter_info(const AdapterImpl& adapter, const LlamaConfig& base);

// The authors' checkpoint as a list of tensors in the order of uio-method.md §7:
// [e_mem, (q.A, q.B, v.A, v.B) x L, e_rep, (k.A, k.B, v.A, v.B) x L]. The rank comes from the
// tensors; l, m and alpha from `config`. Throws ModelError naming the first tensor that does not fit.
Adapter adapter_from_authors_list(const std::vector<at::Tensor>& tensors, const LlamaImpl& model,
                                  const AdapterConfig& config, const std::string& source);

// What an adapter file says about itself, without a base model. Throws ModelError.
AdapterInfo read_adapter_info(const std::filesystem::path& path);

}  // namespace uio::model
