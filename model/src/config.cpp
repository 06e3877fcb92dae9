#include "uio/model/config.h"

#include "uio/model/error.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace uio::model {

namespace {

using nlohmann::json;

int64_t positive_int(const json& j, const char* key, const std::string& source) {
    if (!j.contains(key)) {
        throw ModelError(source + ": missing \"" + key + "\"");
    }
    const json& value = j.at(key);
    if (!value.is_number_integer() || value.get<int64_t>() <= 0) {
        throw ModelError(source + ": \"" + key + "\" must be a positive integer, got " + value.dump());
    }
    return value.get<int64_t>();
}

double positive_number(const json& j, const char* key, double fallback, const std::string& source) {
    if (!j.contains(key) || j.at(key).is_null()) {
        return fallback;
    }
    const json& value = j.at(key);
    if (!value.is_number() || value.get<double>() <= 0.0) {
        throw ModelError(source + ": \"" + key + "\" must be a positive number, got " + value.dump());
    }
    return value.get<double>();
}

bool is_llama(const json& j) {
    if (j.value("model_type", "") == "llama") {
        return true;
    }
    if (j.contains("architectures") && j["architectures"].is_array()) {
        for (const json& a : j["architectures"]) {
            if (a.is_string() && a.get<std::string>() == "LlamaForCausalLM") {
                return true;
            }
        }
    }
    return false;
}

}  // namespace

int64_t LlamaConfig::n_ctx() const {
    return static_cast<int64_t>(n_ctx_train * rope_linear_factor);
}

int64_t LlamaConfig::n_params() const {
    const int64_t d_kv = n_kv_head * head_dim();
    const int64_t per_layer = 2 * n_embd             // norms
                              + n_embd * n_embd * 2  // q, o
                              + n_embd * d_kv * 2    // k, v
                              + n_embd * n_ff * 3;   // gate, up, down
    return n_vocab * n_embd * (tie_word_embeddings ? 1 : 2) + n_layer * per_layer + n_embd;
}

LlamaConfig LlamaConfig::from_json(const std::string& json_text, const std::string& source) {
    json j;
    try {
        j = json::parse(json_text);
    } catch (const json::parse_error& e) {
        throw ModelError(source + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) {
        throw ModelError(source + ": expected a JSON object");
    }
    if (!is_llama(j)) {
        throw ModelError(source + ": not a Llama model (model_type is " +
                         j.value("model_type", json("missing")).dump() +
                         "); UIO Desk needs a Hugging Face LlamaForCausalLM folder");
    }
    LlamaConfig c;
    c.n_embd = positive_int(j, "hidden_size", source);
    c.n_ff = positive_int(j, "intermediate_size", source);
    c.n_layer = positive_int(j, "num_hidden_layers", source);
    c.n_head = positive_int(j, "num_attention_heads", source);
    c.n_kv_head = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                      ? positive_int(j, "num_key_value_heads", source)
                      : c.n_head;
    c.n_vocab = positive_int(j, "vocab_size", source);
    c.n_ctx_train = positive_int(j, "max_position_embeddings", source);
    c.rms_norm_eps = positive_number(j, "rms_norm_eps", 1e-6, source);
    c.rope_theta = positive_number(j, "rope_theta", 10000.0, source);
    c.tie_word_embeddings = j.value("tie_word_embeddings", false);
    if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) {
        c.bos_id = j["bos_token_id"].get<int32_t>();
    }
    if (j.contains("eos_token_id") && j["eos_token_id"].is_number_integer()) {
        c.eos_id = j["eos_token_id"].get<int32_t>();
    }
    if (j.contains("hidden_act") && j["hidden_act"] != "silu") {
        throw ModelError(source + ": hidden_act " + j["hidden_act"].dump() + " is not supported (Llama uses \"silu\")");
    }
    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
        const json& s = j["rope_scaling"];
        const std::string type = s.is_object() ? s.value("type", s.value("rope_type", "")) : "";
        if (type == "linear") {
            c.rope_linear_factor = positive_number(s, "factor", 1.0, source);
        } else if (type == "llama3") {
            c.rope_llama3.factor = positive_number(s, "factor", 8.0, source);
            c.rope_llama3.low_freq_factor = positive_number(s, "low_freq_factor", 1.0, source);
            c.rope_llama3.high_freq_factor = positive_number(s, "high_freq_factor", 4.0, source);
            c.rope_llama3.original_positions =
                static_cast<int64_t>(positive_number(s, "original_max_position_embeddings", 8192, source));
            if (c.rope_llama3.high_freq_factor <= c.rope_llama3.low_freq_factor)
                throw ModelError(source + ": rope_scaling's high_freq_factor must be above its low_freq_factor");
        } else {
            throw ModelError(source + ": rope_scaling " + s.dump() +
                             " is not supported (only \"linear\" and \"llama3\")");
        }
    }

    if (c.n_embd % c.n_head != 0) {
        throw ModelError(source + ": num_attention_heads (" + std::to_string(c.n_head) +
                         ") does not divide hidden_size (" + std::to_string(c.n_embd) + ")");
    }
    if (c.n_head % c.n_kv_head != 0) {
        throw ModelError(source + ": num_key_value_heads (" + std::to_string(c.n_kv_head) +
                         ") does not divide num_attention_heads (" + std::to_string(c.n_head) + ")");
    }
    if (c.head_dim() % 2 != 0) {
        throw ModelError(source + ": the head dimension " + std::to_string(c.head_dim()) +
                         " is odd; rotary embeddings need an even one");
    }
    for (const int32_t id : {c.bos_id, c.eos_id}) {
        if (id < 0 || id >= c.n_vocab) {
            throw ModelError(source + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                             std::to_string(c.n_vocab));
        }
    }
    return c;
}

LlamaConfig LlamaConfig::load(const std::filesystem::path& config_json) {
    std::ifstream in(config_json);
    if (!in) {
        throw ModelError(config_json.string() + ": cannot be read (is this a Hugging Face model folder?)");
    }
    std::stringstream text;
    text << in.rdbuf();
    return from_json(text.str(), config_json.string());
}

std::string LlamaConfig::to_json() const {
    json j = {
        {"architectures", {"LlamaForCausalLM"}},
        {"model_type", "llama"},
        {"hidden_size", n_embd},
        {"intermediate_size", n_ff},
        {"num_hidden_layers", n_layer},
        {"num_attention_heads", n_head},
        {"num_key_value_heads", n_kv_head},
        {"vocab_size", n_vocab},
        {"max_position_embeddings", n_ctx_train},
        {"rms_norm_eps", rms_norm_eps},
        {"rope_theta", rope_theta},
        {"hidden_act", "silu"},
        {"tie_word_embeddings", tie_word_embeddings},
        {"bos_token_id", bos_id},
        {"eos_token_id", eos_id},
        {"torch_dtype", "float32"},
    };
    if (rope_llama3.factor > 0) {
        j["rope_scaling"] = {{"rope_type", "llama3"},
                             {"factor", rope_llama3.factor},
                             {"low_freq_factor", rope_llama3.low_freq_factor},
                             {"high_freq_factor", rope_llama3.high_freq_factor},
                             {"original_max_position_embeddings", rope_llama3.original_positions}};
    } else if (rope_linear_factor != 1.0) {
        j["rope_scaling"] = {{"type", "linear"}, {"factor", rope_linear_factor}};
    }
    return j.dump(2) + "\n";
}

}  // namespace uio::model
