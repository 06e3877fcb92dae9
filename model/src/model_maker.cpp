#include "uio/model/model_maker.h"

#include "bpe_trainer.h"
#include "safetensors.h"
#include "torch_types.h"
#include "uio/model/error.h"
#include "uio/model/synthetic_text.h"
#include "ultragist.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace uio::model {

namespace {

struct TensorShape {
    std::string name;
    std::vector<int64_t> shape;
    bool is_norm;
};

// Hugging Face names and shapes, in the order Hugging Face writes them.
std::vector<TensorShape> llama_tensor_shapes(const LlamaConfig& c) {
    const int64_t d = c.n_embd, d_kv = c.n_kv_head * c.head_dim();
    std::vector<TensorShape> shapes{{"model.embed_tokens.weight", {c.n_vocab, d}, false}};
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        shapes.push_back({p + "self_attn.q_proj.weight", {d, d}, false});
        shapes.push_back({p + "self_attn.k_proj.weight", {d_kv, d}, false});
        shapes.push_back({p + "self_attn.v_proj.weight", {d_kv, d}, false});
        shapes.push_back({p + "self_attn.o_proj.weight", {d, d}, false});
        shapes.push_back({p + "mlp.gate_proj.weight", {c.n_ff, d}, false});
        shapes.push_back({p + "mlp.up_proj.weight", {c.n_ff, d}, false});
        shapes.push_back({p + "mlp.down_proj.weight", {d, c.n_ff}, false});
        shapes.push_back({p + "input_layernorm.weight", {d}, true});
        shapes.push_back({p + "post_attention_layernorm.weight", {d}, true});
    }
    shapes.push_back({"model.norm.weight", {d}, true});
    if (!c.tie_word_embeddings) {
        shapes.push_back({"lm_head.weight", {c.n_vocab, d}, false});
    }
    return shapes;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
        throw ModelError(path.string() + ": cannot be written (is the disk full?)");
    }
}

}  // namespace

LlamaConfig preset_config(const std::string& preset) {
    LlamaConfig c;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 10000.0;
    if (preset == "tiny") {
        c.n_embd = 64, c.n_ff = 172, c.n_layer = 2, c.n_head = 4, c.n_kv_head = 2;
        c.n_vocab = 512, c.n_ctx_train = 2048;
    } else if (preset == "small") {
        c.n_embd = 768, c.n_ff = 2048, c.n_layer = 12, c.n_head = 12, c.n_kv_head = 12;
        c.n_vocab = 32000, c.n_ctx_train = 4096, c.tie_word_embeddings = true;
    } else if (preset == "tinyllama-1b-shape") {  // TinyLlama-1.1B's shapes: grouped-query, 4 key/value heads
        c.n_embd = 2048, c.n_ff = 5632, c.n_layer = 22, c.n_head = 32, c.n_kv_head = 4;
        c.n_vocab = 32000, c.n_ctx_train = 2048;
    } else if (preset == "llama2-7b-shape") {
        c.n_embd = 4096, c.n_ff = 11008, c.n_layer = 32, c.n_head = 32, c.n_kv_head = 32;
        c.n_vocab = 32000, c.n_ctx_train = 4096, c.rms_norm_eps = 1e-6;
    } else {
        throw ModelError("unknown preset \"" + preset + "\": use tiny, small, tinyllama-1b-shape or llama2-7b-shape");
    }
    return c;
}

void make_model(const std::filesystem::path& dir, const MakeModelOptions& options,
                const std::function<void(const std::string&)>& progress) {
    const LlamaConfig config = preset_config(options.preset);
    auto say = [&](const std::string& line) {
        if (progress)
            progress(line);
    };
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
        throw ModelError(dir.string() + ": cannot create the folder (" + error.message() + ")");
    }

    say("training a " + std::to_string(config.n_vocab) + "-piece tokenizer on generated text");
    const bool large_vocab = config.n_vocab > 4096;
    const std::string corpus =
        synthetic_text(options.seed, large_vocab ? 1'500'000 : 60'000, large_vocab ? 60'000 : 2'000);
    const SpmModel tokenizer = train_bpe(corpus, static_cast<int32_t>(config.n_vocab));
    if (tokenizer.pieces.size() != static_cast<size_t>(config.n_vocab)) {
        throw ModelError("the generated text yielded only " + std::to_string(tokenizer.pieces.size()) +
                         " tokenizer pieces, " + std::to_string(config.n_vocab) + " needed");
    }
    write_text(dir / "tokenizer.model", tokenizer.serialize());
    if (options.ultragist_window > 0) {
        auto json = nlohmann::json::parse(config.to_json());
        json["ultragist_window"] = options.ultragist_window;
        json["ultragist_ratio"] = {2, 4, 8, 16, 32};
        write_text(dir / "config.json", json.dump(2) + "\n");
    } else {
        write_text(dir / "config.json", config.to_json());
    }

    // Weights ~ N(0, 0.02) like Hugging Face's initialiser; norms near 1 but not equal to it, so
    // that a norm weight used wrongly shows in the outputs.
    const auto dtype = to_scalar_type(options.dtype);
    auto shapes = llama_tensor_shapes(config);
    if (options.ultragist_window > 0) {
        const auto names = ultragist_tensor_names(config);
        const int64_t C = config.n_embd, D = config.head_dim();
        shapes.push_back({names[0], {1, C}, false});
        for (size_t i = 1; i < names.size(); ++i) {
            const size_t which = (i - 1) % 4;  // q, k, v, o
            const int64_t out = which == 0 ? config.n_head * D : which == 3 ? C : config.n_kv_head * D;
            const int64_t in = which == 3 ? config.n_head * D : C;
            shapes.push_back({names[i], {out, in}, false});
        }
    }
    std::vector<std::vector<SafetensorsWriter::Spec>> shards(1);
    int64_t shard_size = 0;
    for (const TensorShape& t : shapes) {
        const int64_t n_bytes = at::detail::computeStorageNbytesContiguous(t.shape, c10::elementSize(dtype));
        if (options.shard_bytes > 0 && shard_size > 0 && shard_size + n_bytes > options.shard_bytes) {
            shards.emplace_back();
            shard_size = 0;
        }
        shards.back().push_back({t.name, dtype, t.shape});
        shard_size += n_bytes;
    }
    at::Generator generator = at::detail::createCPUGenerator(options.seed);
    nlohmann::json weight_map = nlohmann::json::object();
    int64_t total_size = 0;
    size_t next = 0;
    for (size_t s = 0; s < shards.size(); ++s) {
        char name[64];
        std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
        const std::string file = options.shard_bytes > 0 ? name : "model.safetensors";
        say("writing " + file);
        SafetensorsWriter writer(dir / file, shards[s], {{"format", "pt"}});
        for (const SafetensorsWriter::Spec& spec : shards[s]) {
            const TensorShape& t = shapes[next++];
            at::Tensor value =
                t.is_norm ? at::rand(t.shape, generator) * 0.4 + 0.8 : at::randn(t.shape, generator) * 0.02;
            if (spec.name == "model.norm.weight") {
                value *= options.output_gain;
            }
            writer.write(value.to(dtype));
            weight_map[spec.name] = file;
            total_size += value.numel() * static_cast<int64_t>(c10::elementSize(dtype));
        }
        writer.finish();
    }
    if (options.shard_bytes > 0) {
        const nlohmann::json index = {{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}};
        write_text(dir / "model.safetensors.index.json", index.dump(2) + "\n");
    }
    say("done: " + std::to_string(config.n_params()) + " parameters in " + dir.string());
}

}  // namespace uio::model
