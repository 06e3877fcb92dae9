#include "adapter.h"

#include "safetensors.h"
#include "uio/common/checksum.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdio>

namespace uio::model {

namespace {

constexpr const char* kFormat = "uio-adapter";
constexpr const char* kVersion = "1";

std::string hex64(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

uint64_t mix(uint64_t hash, const void* data, size_t size) {
    return blob_checksum(static_cast<const std::byte*>(data), size) ^ (hash * 0x9e3779b97f4a7c15ull);
}

int64_t parse_int(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& file) {
    const auto it = meta.find(key);
    try {
        if (it != meta.end())
            return std::stoll(it->second);
    } catch (const std::exception&) {
    }
    throw ModelError(file + ": adapter metadata \"" + key + "\" is missing or not a number");
}

const char* origin_name(AdapterOrigin::Kind kind) {
    switch (kind) {
        case AdapterOrigin::Kind::Created:
            return "created";
        case AdapterOrigin::Kind::Imported:
            return "imported";
        case AdapterOrigin::Kind::Trained:
            return "trained";
        case AdapterOrigin::Kind::Unknown:
            break;
    }
    return "unknown";
}

}  // namespace

LoraImpl::LoraImpl(int64_t in, int64_t out, int64_t rank) {
    A = register_parameter("A", at::zeros({rank, in}));
    B = register_parameter("B", at::zeros({out, rank}));
}

at::Tensor LoraImpl::delta(const at::Tensor& x, double scale) const {
    const auto a = A.to(x.scalar_type()), b = B.to(x.scalar_type());
    return at::linear(at::linear(x, a), b) * scale;
}

AdapterLayerImpl::AdapterLayerImpl(const LlamaConfig& c, int64_t rank) {
    const int64_t d_q = c.n_head * c.head_dim(), d_kv = c.n_kv_head * c.head_dim();
    auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
    auto transfer = register_module("transfer", std::make_shared<torch::nn::Module>());
    encoder_q = encoder->register_module("q", Lora(c.n_embd, d_q, rank));
    encoder_v = encoder->register_module("v", Lora(c.n_embd, d_kv, rank));
    transfer_k = transfer->register_module("k", Lora(c.n_embd, d_kv, rank));
    transfer_v = transfer->register_module("v", Lora(c.n_embd, d_kv, rank));
}

AdapterImpl::AdapterImpl(const LlamaConfig& base, const AdapterConfig& config_) : config(config_) {
    if (config.segment_length <= 0 || config.memory_tokens <= 0 || config.segment_length % config.memory_tokens != 0) {
        throw ModelError("segment length " + std::to_string(config.segment_length) +
                         " must be a positive multiple of the memory tokens (" + std::to_string(config.memory_tokens) +
                         ")");
    }
    if (config.rank <= 0 || config.alpha <= 0) {
        throw ModelError("LoRA rank and alpha must be positive");
    }
    e_mem = register_parameter("e_mem", at::zeros({base.n_embd}));
    e_rep = register_parameter("e_rep", at::zeros({base.n_embd}));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t k = 0; k < base.n_layer; ++k) {
        layers->push_back(AdapterLayer(base, config.rank));
    }
}

std::string model_fingerprint(const LlamaConfig& c, const std::vector<std::pair<std::string, at::Tensor>>& weights) {
    c10::InferenceMode guard;
    const int64_t shape[] = {c.n_embd, c.n_ff, c.n_layer, c.n_head, c.n_kv_head, c.n_vocab};
    uint64_t hash = mix(0, shape, sizeof shape);
    // 64 evenly spaced values of every weight, rounded to bf16 so that storing the same model
    // in f32, f16 or bf16 gives the same fingerprint.
    for (const auto& [name, weight] : weights) {
        const at::Tensor flat = weight.detach().reshape({-1});
        const auto index =
            at::linspace(0, static_cast<double>(flat.numel() - 1), 64, at::kDouble).to(at::kLong).to(flat.device());
        const auto sample = flat.index_select(0, index).to(at::kCPU).to(at::kBFloat16).contiguous();
        hash = mix(hash, name.data(), name.size());
        hash = mix(hash, sample.data_ptr(), static_cast<size_t>(sample.numel()) * 2);
    }
    return "llama-" + hex64(hash);
}

std::string model_fingerprint(const LlamaImpl& model) {
    if (!model.fingerprint.empty())
        return model.fingerprint;
    std::vector<std::pair<std::string, at::Tensor>> weights;
    for (const auto& item : model.named_parameters())
        weights.emplace_back(item.key(), item.value());
    return model_fingerprint(model.config, weights);
}

Adapter make_adapter(const LlamaConfig& base, const std::string& base_fingerprint, const at::Tensor& eos_embedding,
                     const AdapterConfig& config, uint64_t seed) {
    Adapter adapter(base, config);
    adapter->base_fingerprint = base_fingerprint;
    adapter->origin.kind = AdapterOrigin::Kind::Created;
    at::Generator generator = at::detail::createCPUGenerator(seed);
    torch::NoGradGuard no_grad;
    for (auto& item : adapter->named_parameters()) {
        const std::string& name = item.key();
        at::Tensor& p = item.value();
        if (name.ends_with(".A")) {
            // Kaiming-uniform with a = sqrt(5), as PyTorch's Linear and PEFT's LoRA: U(-1/sqrt(in), 1/sqrt(in)).
            const double bound = 1.0 / std::sqrt(static_cast<double>(p.size(1)));
            p.copy_(at::rand(p.sizes(), generator) * (2 * bound) - bound);
        }
    }
    // Copies, not views, of the EOS embedding row (uio-method.md §3 fix).
    const auto eos = eos_embedding.to(at::kCPU).to(at::kFloat);
    adapter->e_mem.copy_(eos);
    adapter->e_rep.copy_(eos);
    return adapter;
}

Adapter make_adapter(const LlamaImpl& model, const AdapterConfig& config, uint64_t seed) {
    Adapter adapter = make_adapter(model.config, model_fingerprint(model),
                                   model.model->embed_tokens->weight[model.config.eos_id], config, seed);
    adapter->to(model.device());
    return adapter;
}

AdapterInfo adapter_info(const AdapterImpl& adapter, const LlamaConfig& base) {
    AdapterInfo info;
    info.config = adapter.config;
    info.base_fingerprint = adapter.base_fingerprint;
    info.origin = adapter.origin;
    info.n_layer = base.n_layer;
    info.n_embd = base.n_embd;
    uint64_t hash = 0;
    for (const auto& item : adapter.named_parameters()) {
        const auto cpu = item.value().detach().to(at::kCPU).contiguous();
        info.n_params += cpu.numel();
        hash = mix(hash, cpu.data_ptr(), static_cast<size_t>(cpu.numel()) * cpu.element_size());
    }
    info.fingerprint = "adapter-" + hex64(hash);
    return info;
}

void save_adapter(const AdapterImpl& adapter, const LlamaConfig& base, const std::filesystem::path& path) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& item : adapter.named_parameters()) {
        tensors.emplace_back(item.key(), item.value().detach().to(at::kCPU).to(at::kFloat));
    }
    const AdapterConfig& c = adapter.config;
    write_safetensors(path, tensors,
                      {{"format", kFormat},
                       {"version", kVersion},
                       {"segment_length", std::to_string(c.segment_length)},
                       {"memory_tokens", std::to_string(c.memory_tokens)},
                       {"rank", std::to_string(c.rank)},
                       {"alpha", std::to_string(c.alpha)},
                       {"base_fingerprint", adapter.base_fingerprint},
                       {"hidden_size", std::to_string(base.n_embd)},
                       {"num_layers", std::to_string(base.n_layer)},
                       {"origin", origin_name(adapter.origin.kind)},
                       {"trained_steps", std::to_string(adapter.origin.steps)},
                       {"corpus_tokens", std::to_string(adapter.origin.corpus_tokens)}});
}

AdapterInfo read_adapter_info(const std::filesystem::path& path) {
    const SafetensorsFile file(path);
    const std::string name = path.string();
    const auto& meta = file.metadata();
    if (!meta.count("format") || meta.at("format") != kFormat) {
        throw ModelError(name +
                         ": not a UIO adapter (metadata \"format\" is not \"uio-adapter\"); "
                         "import the authors' checkpoints with 'uio adapter import'");
    }
    if (meta.count("version") && meta.at("version") != kVersion) {
        throw ModelError(name + ": adapter format version " + meta.at("version") + " is newer than this program reads");
    }
    AdapterInfo info;
    info.config.segment_length = parse_int(meta, "segment_length", name);
    info.config.memory_tokens = parse_int(meta, "memory_tokens", name);
    info.config.rank = parse_int(meta, "rank", name);
    try {
        info.config.alpha = std::stod(meta.count("alpha") ? meta.at("alpha") : "0");
    } catch (const std::logic_error&) {
        throw ModelError(name + ": adapter metadata \"alpha\" is not a number");
    }
    info.base_fingerprint = meta.count("base_fingerprint") ? meta.at("base_fingerprint") : "";
    info.n_embd = parse_int(meta, "hidden_size", name);
    info.n_layer = parse_int(meta, "num_layers", name);
    if (meta.count("origin")) {
        const std::string& origin = meta.at("origin");
        info.origin.kind = origin == "created"    ? AdapterOrigin::Kind::Created
                           : origin == "imported" ? AdapterOrigin::Kind::Imported
                           : origin == "trained"  ? AdapterOrigin::Kind::Trained
                                                  : AdapterOrigin::Kind::Unknown;
        info.origin.steps = meta.count("trained_steps") ? parse_int(meta, "trained_steps", name) : 0;
        info.origin.corpus_tokens = meta.count("corpus_tokens") ? parse_int(meta, "corpus_tokens", name) : 0;
    }
    for (const auto& [tensor, entry] : file.entries()) {
        int64_t n = 1;
        for (const int64_t d : entry.shape)
            n *= d;
        info.n_params += n;
    }
    return info;
}

Adapter adapter_from_authors_list(const std::vector<at::Tensor>& tensors, const LlamaImpl& model,
                                  const AdapterConfig& config, const std::string& source) {
    const int64_t L = model.config.n_layer, d = model.config.n_embd;
    if (static_cast<int64_t>(tensors.size()) != 2 + 8 * L) {
        throw ModelError(source + ": holds " + std::to_string(tensors.size()) + " tensors; a checkpoint for this " +
                         std::to_string(L) + "-layer model has " + std::to_string(2 + 8 * L) +
                         " (e_mem, 4 per layer, e_rep, 4 per layer)");
    }
    AdapterConfig c = config;
    c.rank = tensors[1].dim() == 2 ? tensors[1].size(0) : 0;
    Adapter adapter(model.config, c);
    adapter->base_fingerprint = model_fingerprint(model);
    adapter->origin.kind = AdapterOrigin::Kind::Imported;
    // Targets in the checkpoint's order.
    std::vector<std::pair<std::string, at::Tensor*>> order{{"e_mem", &adapter->e_mem}};
    for (int64_t k = 0; k < L; ++k) {
        AdapterLayerImpl& layer = adapter->layer(k);
        const std::string p = "layers." + std::to_string(k) + ".encoder.";
        order.insert(order.end(), {{p + "q.A", &layer.encoder_q->A},
                                   {p + "q.B", &layer.encoder_q->B},
                                   {p + "v.A", &layer.encoder_v->A},
                                   {p + "v.B", &layer.encoder_v->B}});
    }
    order.emplace_back("e_rep", &adapter->e_rep);
    for (int64_t k = 0; k < L; ++k) {
        AdapterLayerImpl& layer = adapter->layer(k);
        const std::string p = "layers." + std::to_string(k) + ".transfer.";
        order.insert(order.end(), {{p + "k.A", &layer.transfer_k->A},
                                   {p + "k.B", &layer.transfer_k->B},
                                   {p + "v.A", &layer.transfer_v->A},
                                   {p + "v.B", &layer.transfer_v->B}});
    }
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < order.size(); ++i) {
        at::Tensor& target = *order[i].second;
        at::Tensor value = tensors[i].detach().to(at::kFloat);
        if (target.dim() == 1 && value.numel() == d) {
            value = value.reshape({d});  // e_mem / e_rep may be stored as (1, d)
        }
        if (value.sizes() != target.sizes()) {
            throw ModelError(source + ": tensor " + std::to_string(i) + " (" + order[i].first + ") has shape " +
                             shape_string(value.sizes()) + ", this model needs " + shape_string(target.sizes()));
        }
        target.copy_(value);
    }
    adapter->to(model.device());
    return adapter;
}

Adapter load_adapter(const std::filesystem::path& path, const LlamaImpl& model) {
    const std::string name = path.string();
    const AdapterInfo info = read_adapter_info(path);
    const LlamaConfig& c = model.config;
    if (info.n_embd != c.n_embd || info.n_layer != c.n_layer) {
        throw ModelError(name + ": this adapter is for a model with hidden size " + std::to_string(info.n_embd) +
                         " and " + std::to_string(info.n_layer) + " layers; the loaded model has " +
                         std::to_string(c.n_embd) + " and " + std::to_string(c.n_layer) +
                         ". Choose an adapter made for this model.");
    }
    const std::string fingerprint = model_fingerprint(model);
    if (info.base_fingerprint != fingerprint) {
        throw ModelError(name + ": this adapter was trained on a different base model (" + info.base_fingerprint +
                         ", loaded: " + fingerprint + "). Choose an adapter made for this model, or create a new one.");
    }
    Adapter adapter(c, info.config);
    adapter->base_fingerprint = info.base_fingerprint;
    adapter->origin = info.origin;
    const SafetensorsFile file(path);
    torch::NoGradGuard no_grad;
    auto parameters = adapter->named_parameters();
    for (const auto& [tensor, entry] : file.entries()) {
        if (!parameters.contains(tensor)) {
            throw ModelError(name + ": unexpected tensor " + tensor + " in the adapter");
        }
    }
    for (auto& item : parameters) {
        if (!file.contains(item.key())) {
            throw ModelError(name + ": tensor " + item.key() + " is missing from the adapter");
        }
        const at::Tensor stored = file.view(item.key());
        if (stored.sizes() != item.value().sizes()) {
            throw ModelError(name + ": tensor " + item.key() + " has shape " + shape_string(stored.sizes()) +
                             ", expected " + shape_string(item.value().sizes()));
        }
        item.value().copy_(stored);
    }
    adapter->to(model.device());
    return adapter;
}

}  // namespace uio::model
