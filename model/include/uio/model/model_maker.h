// Random Llama models in Hugging Face format, with a tokenizer trained on generated text, so
// that tests, benchmarks and demos need no download. The text they produce is meaningless.
#pragma once

#include "uio/model/config.h"
#include "uio/model/types.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace uio::model {

struct MakeModelOptions {
    std::string preset = "tiny";  // tiny | small | tinyllama-1b-shape | llama2-7b-shape
    uint64_t seed = 0;
    DType dtype = DType::F32;
    int64_t shard_bytes = 0;  // > 0: shards of at most this size plus model.safetensors.index.json
    // Multiplies the final norm's weight. Random N(0, 0.02) output rows under a unit norm cap every
    // logit near 0.02 * sqrt(d) (1.3 for tiny): no output can be confident. A gain of about 10
    // gives the logit range of a trained model, which experiments that train adapters on a
    // random base need.
    double output_gain = 1.0;
    // > 0: also random UltraGist tensors with the release's names (docs/ultragist.md) and this
    // window in config.json, so that the folder is shaped like the published checkpoint.
    int64_t ultragist_window = 0;
};

// tiny: 2 layers, hidden 64, 4/2 heads, vocabulary 512 (about 0.2 M parameters).
// small: 12 layers, hidden 768, vocabulary 32000, tied embeddings (about 110 M).
// tinyllama-1b-shape: the shapes of TinyLlama-1.1B (22 layers, hidden 2048, 4 key/value heads).
// llama2-7b-shape: exactly the shapes of Llama-2-7B (6.7 B).
LlamaConfig preset_config(const std::string& preset);

// Writes config.json, model.safetensors (or shards) and tokenizer.model into dir (created if
// needed). progress receives one line per step. Throws ModelError.
void make_model(const std::filesystem::path& dir, const MakeModelOptions& options,
                const std::function<void(const std::string&)>& progress = {});

}  // namespace uio::model
