// The shape of a Llama model, read from a Hugging Face config.json. Plain data; no torch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace uio::model {

struct LlamaConfig {
    int64_t n_embd = 0;       // hidden_size
    int64_t n_ff = 0;         // intermediate_size
    int64_t n_layer = 0;      // num_hidden_layers
    int64_t n_head = 0;       // num_attention_heads
    int64_t n_kv_head = 0;    // num_key_value_heads (== n_head without grouped-query attention)
    int64_t n_vocab = 0;      // vocab_size
    int64_t n_ctx_train = 0;  // max_position_embeddings
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    double rope_linear_factor = 1.0;  // rope_scaling {"type": "linear", "factor": f}
    // rope_scaling {"rope_type": "llama3", ...}: low frequencies divided by factor, high ones kept,
    // a smooth blend between (factor 0: none).
    struct Llama3Rope {
        double factor = 0.0;
        double low_freq_factor = 1.0;
        double high_freq_factor = 4.0;
        int64_t original_positions = 8192;
    } rope_llama3;
    bool tie_word_embeddings = false;
    int32_t bos_id = 1;
    int32_t eos_id = 2;

    int64_t head_dim() const { return n_embd / n_head; }
    int64_t n_ctx() const;  // positions the model can address, n_ctx_train * rope_linear_factor
    int64_t n_params() const;

    // Throws ModelError naming `source` when the config is not a usable Llama.
    static LlamaConfig from_json(const std::string& json_text, const std::string& source);
    static LlamaConfig load(const std::filesystem::path& config_json);
    std::string to_json() const;
};

}  // namespace uio::model
