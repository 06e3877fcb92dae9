// Llama-2 (LlamaForCausalLM) in libtorch, written once and plainly. Parameter names are the
// Hugging Face ones ("model.layers.0.self_attn.q_proj.weight"), so loading is by name.
// Legend: B batch, T new tokens, S cached + new tokens, C n_embd, H n_head, K n_kv_head,
// D head_dim, F n_ff, V n_vocab.
#pragma once

#include "kv_cache.h"
#include "matmul.h"
#include "rope.h"
#include "uio/model/config.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace uio::model {

// A bias-free linear layer whose weight (out, in) is allocated but not initialised.
class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(int64_t in, int64_t out, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x);
    // Keeps the weight as int8 (matmul.h) and releases the f32 one, whose parameter becomes empty.
    void quantize();
    at::Tensor weight;     // (out, in)
    Int8Weight quantized;  // defined after quantize()
};
TORCH_MODULE(Linear);

class RMSNormImpl : public torch::nn::Module {
public:
    RMSNormImpl(int64_t n, double eps, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x);
    at::Tensor weight;  // (C)
    double eps;
};
TORCH_MODULE(RMSNorm);

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(const LlamaConfig& c, const at::TensorOptions& options);
    // x: (B, T, C); cos, sin: (T, D) for the new tokens' positions. Appends to `cache` at `layer`.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, KVCache& cache,
                       int64_t layer);

    // The pieces of forward(), for the UIO encoder and transfer head. q: (B, H, T, D) and
    // k: (B, K, T, D) rotated; v: (B, K, T, D). q_delta (B, T, H*D) and v_delta (B, T, K*D) are
    // added to the projections when defined (LoRA).
    struct Projected {
        at::Tensor q, k, v;
    };
    Projected project(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& q_delta = {},
                      const at::Tensor& v_delta = {});
    at::Tensor output(const at::Tensor& y);  // (B, H, T, D) -> (B, T, C)

    int64_t n_head, n_kv_head, head_dim;
    Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
};
TORCH_MODULE(Attention);

class MLPImpl : public torch::nn::Module {
public:
    MLPImpl(const LlamaConfig& c, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x);  // (B, T, C) -> (B, T, C)
    Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(MLP);

class DecoderLayerImpl : public torch::nn::Module {
public:
    DecoderLayerImpl(const LlamaConfig& c, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, KVCache& cache,
                       int64_t layer);
    RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
    Attention self_attn{nullptr};
    MLP mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

class EmbeddingImpl : public torch::nn::Module {
public:
    EmbeddingImpl(int64_t n_vocab, int64_t n_embd, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& tokens) {
        return weight.index_select(0, tokens.flatten()).view({tokens.size(0), tokens.size(1), -1});
    }
    at::Tensor weight;  // (V, C)
};
TORCH_MODULE(Embedding);

class LlamaModelImpl : public torch::nn::Module {
public:
    LlamaModelImpl(const LlamaConfig& c, const at::TensorOptions& options);
    Embedding embed_tokens{nullptr};
    torch::nn::ModuleList layers{nullptr};
    RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

class LlamaImpl : public torch::nn::Module {
public:
    LlamaImpl(const LlamaConfig& config, const at::TensorOptions& options);

    // tokens: (B, T) int64 at positions cache.size() .. cache.size()+T-1. Returns logits
    // (B, T, V) in f32 and appends the tokens to the cache.
    at::Tensor forward(const at::Tensor& tokens, KVCache& cache);
    // Final hidden states (B, T, C) after the last norm; forward() is lm_head of these.
    at::Tensor hidden(const at::Tensor& tokens, KVCache& cache);
    at::Tensor logits(const at::Tensor& hidden);

    KVCache new_cache() const { return KVCache(config.n_layer); }
    DecoderLayerImpl& layer(int64_t i) { return model->layers->at<DecoderLayerImpl>(static_cast<size_t>(i)); }
    at::ScalarType dtype() const { return model->norm->weight.scalar_type(); }  // of the weights
    at::ScalarType compute_dtype() const;                                       // of the activations
    at::Device device() const { return model->norm->weight.device(); }

    // Quantizes every projection and the output head to int8 (the embedding stays as loaded).
    void quantize();
    bool quantized() const {
        return model->layers->size() > 0 && model->layers->at<DecoderLayerImpl>(0).mlp->up_proj->quantized.q.defined();
    }

    LlamaConfig config;
    // Set when the weights were quantized: model_fingerprint (adapter.h) of the weights as loaded,
    // so that adapters made for this model still match it.
    std::string fingerprint;
    // Runs every step through libtorch operators, as the reference the fused CPU decoding step
    // (decode_step.h) is tested against.
    bool plain = false;
    RopeTable rope;
    LlamaModel model{nullptr};
    Linear lm_head{nullptr};         // null when tie_word_embeddings
    Linear quantized_head{nullptr};  // tied embeddings quantized for the logits; not a parameter
};
TORCH_MODULE(Llama);

// Builds the model for config.json in model_dir and fills it from the checkpoint there,
// converting to dtype on device one tensor at a time. Throws ModelError naming the file on
// a missing, extra or mis-shaped tensor.
Llama load_llama(const std::filesystem::path& model_dir, const at::Device& device, at::ScalarType dtype);

// Checks config.json and the weights' names and shapes without reading the weights; returns the
// number of parameters. Throws ModelError saying what is wrong.
int64_t inspect_llama(const std::filesystem::path& model_dir);

// The weights in the checkpoint, unread (memory-mapped views in its dtype), in the order of the
// model's parameters; same checks as inspect_llama.
std::vector<std::pair<std::string, at::Tensor>> checkpoint_weights(const LlamaConfig& config,
                                                                   const class Checkpoint& checkpoint);

// Copies `tensors` (by Hugging Face name) into the model; same checks as load_llama.
void check_and_copy_weights(LlamaImpl& model, const class Checkpoint& checkpoint);

}  // namespace uio::model
