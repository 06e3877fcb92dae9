#include "llama.h"

#include "attention.h"
#include "checkpoint.h"
#include "decode_step.h"
#include "matmul.h"
#include "rms_norm.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace uio::model {

namespace {

at::Tensor frozen(const at::Tensor& t) {
    return t.requires_grad_(false);
}

// Tensors that Hugging Face checkpoints may carry but that are recomputed here.
bool is_derived_buffer(const std::string& name) {
    return std::string_view(name).ends_with(".rotary_emb.inv_freq");
}

// A published UltraGist folder holds its compressor's weights beside the base model's.
bool is_ultragist_tensor(const std::string& name) {
    return name.find(".ultragist_") != std::string::npos;
}

}  // namespace

LinearImpl::LinearImpl(int64_t in, int64_t out, const at::TensorOptions& options) {
    weight = register_parameter("weight", frozen(at::empty({out, in}, options)), false);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
    return quantized.q.defined() ? dense_int8(x, quantized).to(x.scalar_type()) : dense(x, weight);
}

void LinearImpl::quantize() {
    quantized = quantize_int8(weight);
    weight.set_();  // the registered parameter shares this tensor: its storage goes too
}

RMSNormImpl::RMSNormImpl(int64_t n, double eps_, const at::TensorOptions& options) : eps(eps_) {
    weight = register_parameter("weight", frozen(at::ones({n}, options)), false);
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
    return rms_norm(x, weight, eps);
}

EmbeddingImpl::EmbeddingImpl(int64_t n_vocab, int64_t n_embd, const at::TensorOptions& options) {
    weight = register_parameter("weight", frozen(at::empty({n_vocab, n_embd}, options)), false);
}

AttentionImpl::AttentionImpl(const LlamaConfig& c, const at::TensorOptions& options)
    : n_head(c.n_head), n_kv_head(c.n_kv_head), head_dim(c.head_dim()) {
    q_proj = register_module("q_proj", Linear(c.n_embd, n_head * head_dim, options));
    k_proj = register_module("k_proj", Linear(c.n_embd, n_kv_head * head_dim, options));
    v_proj = register_module("v_proj", Linear(c.n_embd, n_kv_head * head_dim, options));
    o_proj = register_module("o_proj", Linear(n_head * head_dim, c.n_embd, options));
}

AttentionImpl::Projected AttentionImpl::project(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                                const at::Tensor& q_delta, const at::Tensor& v_delta) {
    const int64_t B = x.size(0), T = x.size(1);
    auto q = q_proj(x);  // (B, T, H*D)
    auto v = v_proj(x);  // (B, T, K*D)
    if (q_delta.defined())
        q = q + q_delta;
    if (v_delta.defined())
        v = v + v_delta;
    q = q.view({B, T, n_head, head_dim}).transpose(1, 2);                  // (B, H, T, D)
    auto k = k_proj(x).view({B, T, n_kv_head, head_dim}).transpose(1, 2);  // (B, K, T, D)
    v = v.view({B, T, n_kv_head, head_dim}).transpose(1, 2);               // (B, K, T, D)
    return {apply_rope(q, cos, sin), apply_rope(k, cos, sin), v};
}

at::Tensor AttentionImpl::output(const at::Tensor& y) {
    const int64_t B = y.size(0), T = y.size(2);
    return o_proj(y.transpose(1, 2).reshape({B, T, n_head * head_dim}));  // (B, T, C)
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, KVCache& cache,
                                  int64_t layer) {
    const auto [q, k, v] = project(x, cos, sin);
    const auto [keys, values] = cache.append(layer, k, v);  // (B, K, S, D)
    return output(attention_causal(q, keys, values));
}

MLPImpl::MLPImpl(const LlamaConfig& c, const at::TensorOptions& options) {
    gate_proj = register_module("gate_proj", Linear(c.n_embd, c.n_ff, options));
    up_proj = register_module("up_proj", Linear(c.n_embd, c.n_ff, options));
    down_proj = register_module("down_proj", Linear(c.n_ff, c.n_embd, options));
}

at::Tensor MLPImpl::forward(const at::Tensor& x) {
    return down_proj(at::silu(gate_proj(x)) * up_proj(x));
}

DecoderLayerImpl::DecoderLayerImpl(const LlamaConfig& c, const at::TensorOptions& options) {
    input_layernorm = register_module("input_layernorm", RMSNorm(c.n_embd, c.rms_norm_eps, options));
    self_attn = register_module("self_attn", Attention(c, options));
    post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.n_embd, c.rms_norm_eps, options));
    mlp = register_module("mlp", MLP(c, options));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, KVCache& cache,
                                     int64_t layer) {
    const auto h = x + self_attn(input_layernorm(x), cos, sin, cache, layer);
    return h + mlp(post_attention_layernorm(h));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c, const at::TensorOptions& options) {
    embed_tokens = register_module("embed_tokens", Embedding(c.n_vocab, c.n_embd, options));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.n_layer; ++i) {
        layers->push_back(DecoderLayer(c, options));
    }
    norm = register_module("norm", RMSNorm(c.n_embd, c.rms_norm_eps, options));
}

LlamaImpl::LlamaImpl(const LlamaConfig& c, const at::TensorOptions& options)
    : config(c), rope(c, c.n_ctx(), options.device()) {
    model = register_module("model", LlamaModel(c, options));
    if (!c.tie_word_embeddings) {
        lm_head = register_module("lm_head", Linear(c.n_embd, c.n_vocab, options));
    }
}

at::Tensor LlamaImpl::hidden(const at::Tensor& tokens, KVCache& cache) {
    const int64_t T = tokens.size(1);
    const int64_t start = cache.size();
    if (start + T > rope.n_positions()) {
        throw ModelError("the context is full: " + std::to_string(start + T) + " positions needed, the model has " +
                         std::to_string(rope.n_positions()));
    }
    if (!plain && decode_step_applies(*this, tokens))
        return decode_step(*this, tokens, cache);
    const auto positions = at::arange(start, start + T, at::TensorOptions().dtype(at::kLong).device(device()));
    const auto cos = rope.cos(positions, compute_dtype());     // (T, D)
    const auto sin = rope.sin(positions, compute_dtype());     // (T, D)
    auto x = model->embed_tokens(tokens).to(compute_dtype());  // (B, T, C)
    for (size_t i = 0; i < model->layers->size(); ++i) {
        x = model->layers->at<DecoderLayerImpl>(i).forward(x, cos, sin, cache, static_cast<int64_t>(i));
    }
    cache.commit(T);
    return model->norm(x);
}

at::ScalarType LlamaImpl::compute_dtype() const {
    return uio::model::compute_dtype(dtype(), device());
}

at::Tensor LlamaImpl::logits(const at::Tensor& hidden) {
    if (quantized_head)
        return quantized_head(hidden).to(at::kFloat);
    if (lm_head)
        return lm_head(hidden).to(at::kFloat);
    return dense(hidden, model->embed_tokens->weight).to(at::kFloat);  // (B, T, V)
}

void LlamaImpl::quantize() {
    c10::InferenceMode guard;
    for (auto& module : modules(/*include_self=*/false)) {
        if (auto* linear = dynamic_cast<LinearImpl*>(module.get()); linear && !linear->quantized.q.defined())
            linear->quantize();
    }
    if (!lm_head) {
        const auto& table = model->embed_tokens->weight;
        quantized_head = Linear(table.size(1), table.size(0), at::TensorOptions().device(at::kMeta));
        quantized_head->quantized = quantize_int8(table);
    }
}

at::Tensor LlamaImpl::forward(const at::Tensor& tokens, KVCache& cache) {
    return logits(hidden(tokens, cache));
}

std::string stored_name(const LlamaConfig& config, const Checkpoint& checkpoint, const std::string& name) {
    // Tied embeddings are saved under either name (TinyStories-656K keeps only lm_head.weight).
    if (config.tie_word_embeddings && name == "model.embed_tokens.weight" && !checkpoint.contains(name) &&
        checkpoint.contains("lm_head.weight"))
        return "lm_head.weight";
    return name;
}

void check_weights(LlamaImpl& model, const Checkpoint& checkpoint) {
    auto parameters = model.named_parameters(/*recurse=*/true);
    for (const std::string& name : checkpoint.names()) {
        const bool tied_copy = model.config.tie_word_embeddings && name == "lm_head.weight";
        if (!parameters.contains(name) && !is_derived_buffer(name) && !is_ultragist_tensor(name) && !tied_copy) {
            throw ModelError(checkpoint.file_of(name) + ": unexpected tensor " + name +
                             " (not part of a Llama with this config.json)");
        }
    }
    for (auto& item : parameters) {
        const std::string name = stored_name(model.config, checkpoint, item.key());
        at::Tensor& target = item.value();
        if (!checkpoint.contains(name)) {
            throw ModelError("the checkpoint has no tensor " + name + " (is config.json for these weights?)");
        }
        const SafetensorsEntry& entry = checkpoint.entry(name);
        if (c10::IntArrayRef(entry.shape) != target.sizes()) {
            throw ModelError(checkpoint.file_of(name) + ": tensor " + name + " has shape " + shape_string(entry.shape) +
                             ", config.json says " + shape_string(target.sizes()));
        }
    }
}

void check_and_copy_weights(LlamaImpl& model, const Checkpoint& checkpoint) {
    c10::InferenceMode guard;
    check_weights(model, checkpoint);
    for (auto& item : model.named_parameters(/*recurse=*/true)) {
        const std::string name = stored_name(model.config, checkpoint, item.key());
        item.value().copy_(checkpoint.view(name));  // converts dtype and moves to the device
        checkpoint.release(name);
    }
}

int64_t inspect_llama(const std::filesystem::path& model_dir) {
    const LlamaConfig config = LlamaConfig::load(model_dir / "config.json");
    const Checkpoint checkpoint(model_dir);
    // The meta device gives every tensor its shape and no storage: a 7B model costs nothing.
    Llama model(config, at::TensorOptions().dtype(at::kFloat).device(at::kMeta));
    check_weights(*model, checkpoint);
    int64_t n = 0;
    for (const auto& parameter : model->parameters()) {
        n += parameter.numel();
    }
    return n;
}

std::vector<std::pair<std::string, at::Tensor>> checkpoint_weights(const LlamaConfig& config,
                                                                   const Checkpoint& checkpoint) {
    Llama model(config, at::TensorOptions().dtype(at::kFloat).device(at::kMeta));  // names and order only
    check_weights(*model, checkpoint);
    std::vector<std::pair<std::string, at::Tensor>> weights;
    for (const auto& item : model->named_parameters())
        weights.emplace_back(item.key(), checkpoint.view(stored_name(config, checkpoint, item.key())));
    return weights;
}

Llama load_llama(const std::filesystem::path& model_dir, const at::Device& device, at::ScalarType dtype) {
    const LlamaConfig config = LlamaConfig::load(model_dir / "config.json");
    const Checkpoint checkpoint(model_dir);
    Llama model(config, at::TensorOptions().dtype(dtype).device(device));
    check_and_copy_weights(*model, checkpoint);
    return model;
}

}  // namespace uio::model
