// Engine's UltraGist side (docs/ultragist.md): loading the release's weights, compressing a
// document window after window, and the file that carries the weights beside a user's Llama.

#include "adapter.h"
#include "checkpoint.h"
#include "engine_impl.h"
#include "generator.h"
#include "memory_blob.h"
#include "torch_errors.h"
#include "torch_types.h"
#include "ultragist.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace uio::model {

namespace {

constexpr const char* kWindowKey = "ultragist_window";
constexpr const char* kRatiosKey = "ultragist_ratio";
constexpr const char* kBaseKey = "base_fingerprint";
constexpr const char* kSettingKeys[] = {
    kWindowKey, kRatiosKey, "ultragist_stride", "ultragist_sink_size", "ultragist_attn", "ultragist_attend_prev"};

// Window and ratios from the release's config.json (or the extracted file's metadata, which
// holds the same JSON values as text). Missing ones keep the release's defaults.
void read_settings(const nlohmann::json& json, UltraGistCompressor& gist, const std::string& source) {
    try {
        if (json.contains(kWindowKey))
            gist.window = json.at(kWindowKey).get<int64_t>();
        if (json.contains(kRatiosKey)) {
            const auto& ratios = json.at(kRatiosKey);
            gist.ratios =
                ratios.is_array() ? ratios.get<std::vector<int64_t>>() : std::vector<int64_t>{ratios.get<int64_t>()};
        }
        // What this implementation computes (docs/ultragist.md): the release's settings.
        auto refuse_unless = [&](const char* key, const nlohmann::json& expected) {
            if (json.contains(key) && !json.at(key).is_null() && json.at(key) != expected)
                throw ModelError(source + ": " + key + " is " + json.at(key).dump() +
                                 "; UIO Desk runs UltraGist with " + expected.dump() + " only, as released");
        };
        refuse_unless("ultragist_sink_size", 1);
        refuse_unless("ultragist_attn", "step-expansion");
        refuse_unless("ultragist_attend_prev", true);
        if (json.contains("ultragist_stride") && !json.at("ultragist_stride").is_null() &&
            json.at("ultragist_stride").get<int64_t>() != gist.window)
            throw ModelError(source +
                             ": ultragist_stride differs from ultragist_window; UIO Desk runs UltraGist "
                             "with windows that do not overlap only, as released");
    } catch (const nlohmann::json::exception& e) {
        throw ModelError(source + ": unreadable UltraGist settings (" + e.what() + ")");
    }
    if (gist.window < 2 || gist.ratios.empty())
        throw ModelError(source + ": the UltraGist window or ratios are not usable");
}

std::vector<std::pair<std::string, at::Tensor>> named(const LlamaConfig& c, const UltraGistWeights& w) {
    const auto names = ultragist_tensor_names(c);
    std::vector<std::pair<std::string, at::Tensor>> out{{names[0], w.embed.view({1, -1})}};
    for (size_t k = 0; k < w.layers.size(); ++k)
        for (size_t j = 0; j < 4; ++j)
            out.emplace_back(names[1 + 4 * k + j], w.layers[k][j]);
    return out;
}

}  // namespace

std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> ultragist_memory_rows(const std::vector<MemoryBlob>& blobs,
                                                                                  const LlamaConfig& c,
                                                                                  const at::Device& device,
                                                                                  at::ScalarType dtype) {
    std::vector<at::Tensor> windows;
    for (const MemoryBlob& blob : blobs) {
        const auto& s = blob.shape;
        if (s.size() != 5 || s[0] != c.n_layer || s[1] != 2 || s[2] != c.n_kv_head || s[3] < 2 || s[4] != c.head_dim())
            throw ModelError("a memory segment was not made by UltraGist for this model; compress the document again");
        windows.push_back(from_blob(blob, device).to(dtype));
    }
    std::vector<at::Tensor> keys, values;
    if (windows.empty())
        return {keys, values};
    std::vector<at::Tensor> rows{windows.front().narrow(3, 0, 1)};  // the sink
    for (const at::Tensor& w : windows)
        rows.push_back(w.narrow(3, 1, w.size(3) - 1));
    const auto all = at::cat(rows, 3);  // (L, 2, K, rows, D)
    for (int64_t k = 0; k < c.n_layer; ++k) {
        keys.push_back(all[k][0].contiguous());
        values.push_back(all[k][1].contiguous());
    }
    return {keys, values};
}

bool has_ultragist_tensors(const std::filesystem::path& model_dir) {
    try {
        return Checkpoint(model_dir).contains("model.ultragist_embed_tokens.weight");
    } catch (const ModelError&) {
        return false;
    }
}

void Engine::load_ultragist(const std::filesystem::path& source, int64_t ratio) {
    if (m_impl->model->quantized())
        throw ModelError(
            "UltraGist needs the model's weights in f32 or bf16; this one is loaded in int8 "
            "(choose another precision in Settings)");
    with_model_errors("loading UltraGist", [&] {
        LlamaImpl& model = *m_impl->model;
        UltraGistCompressor gist;
        const auto find_in = [](const auto& tensors) {
            return [&tensors](const std::string& name) {
                return tensors.contains(name) ? tensors.view(name) : at::Tensor();
            };
        };
        if (std::filesystem::is_directory(source)) {
            const Checkpoint checkpoint(source);
            gist.weights = load_ultragist_weights(find_in(checkpoint), model.config, model.device(), model.dtype());
            std::ifstream in(source / "config.json");
            if (in)
                read_settings(nlohmann::json::parse(in, nullptr, false), gist, (source / "config.json").string());
        } else {
            const SafetensorsFile file(source);
            const auto& meta = file.metadata();
            if (const auto base = meta.find(kBaseKey); base != meta.end() && base->second != model_fingerprint())
                throw ModelError(source.string() + " was extracted for another base model (" + base->second +
                                 "); extract it again beside this one");
            nlohmann::json settings = nlohmann::json::object();
            for (const char* key : kSettingKeys)
                if (const auto it = meta.find(key); it != meta.end())
                    settings[key] = nlohmann::json::parse(it->second, nullptr, false);
            read_settings(settings, gist, source.string());
            gist.weights = load_ultragist_weights(find_in(file), model.config, model.device(), model.dtype());
        }
        if (ratio != 0 && (ratio < 1 || gist.window % ratio != 0))
            throw ModelError("UltraGist's ratio must divide its window of " + std::to_string(gist.window) + " tokens");
        gist.ratio = ratio;
        gist.fingerprint = "ultragist-" +
                           uio::model::model_fingerprint(model.config, named(model.config, gist.weights)).substr(6) +
                           "-w" + std::to_string(gist.window) + "-r" + (ratio ? std::to_string(ratio) : "auto");
        m_impl->ultragist = std::move(gist);
        m_impl->adapter = nullptr;
        m_impl->adapter_info.reset();
    });
}

bool Engine::has_ultragist() const {
    return m_impl->ultragist.has_value();
}

int64_t Engine::ultragist_ratio_for(int64_t document_tokens) const {
    const UltraGistCompressor& gist = m_impl->require_ultragist();
    if (gist.ratio > 0)
        return gist.ratio;
    if (gist.ratios.size() == 1)
        return gist.ratios.front();
    return adaptive_ratio(document_tokens, gist.window, m_impl->model->config.n_ctx(), gist.ratios);
}

AdapterInfo Engine::ultragist_info() const {
    const UltraGistCompressor& gist = *m_impl->ultragist;
    const LlamaConfig& c = m_impl->model->config;
    AdapterInfo info;
    info.kind = CompressorKind::UltraGist;
    info.ratio = gist.ratio;
    info.config.segment_length = gist.window;
    // Rows per window and the sink each window carries; the smallest ratio when chosen per document.
    const int64_t ratio = gist.ratio > 0 ? gist.ratio : *std::min_element(gist.ratios.begin(), gist.ratios.end());
    info.config.memory_tokens = gist.window / std::max<int64_t>(1, ratio);
    info.config.rank = 0;
    info.config.alpha = 0.0;
    info.origin.kind = AdapterOrigin::Kind::Imported;  // the published, trained release
    info.base_fingerprint = model_fingerprint();
    info.fingerprint = gist.fingerprint;
    info.n_layer = c.n_layer;
    info.n_embd = c.n_embd;
    info.n_params = gist.weights.embed.numel();
    for (const auto& layer : gist.weights.layers)
        for (const at::Tensor& w : layer)
            info.n_params += w.numel();
    return info;
}

struct CompressionStream::Impl {
    Engine::Impl& engine;
    UltraGistSession session;
    int64_t windows = 0;
};

CompressionStream::CompressionStream(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
CompressionStream::~CompressionStream() = default;

int64_t CompressionStream::ratio() const {
    return m_impl->session.ratio();
}
int64_t CompressionStream::windows_done() const {
    return m_impl->windows;
}

std::unique_ptr<CompressionStream> Engine::open_compression(const std::vector<MemoryBlob>& earlier,
                                                            int64_t document_tokens) {
    return with_model_errors("reading the memories", [&] {
        const UltraGistCompressor& gist = m_impl->require_ultragist();
        LlamaImpl& model = *m_impl->model;
        c10::InferenceMode guard;
        auto impl = std::make_unique<CompressionStream::Impl>(CompressionStream::Impl{
            *m_impl, UltraGistSession(model, gist.weights, gist.window, ultragist_ratio_for(document_tokens)),
            static_cast<int64_t>(earlier.size())});
        if (!earlier.empty()) {
            const auto [keys, values] =
                ultragist_memory_rows(earlier, model.config, model.device(), model.compute_dtype());
            impl->session.restore(keys, values, impl->windows);
        }
        return std::unique_ptr<CompressionStream>(new CompressionStream(std::move(impl)));
    });
}

MemoryBlob CompressionStream::next(const std::vector<int32_t>& window) {
    return with_model_errors("compressing", [&] {
        UltraGistSession& session = m_impl->session;
        if (static_cast<int64_t>(window.size()) != session.window())
            throw ModelError("a window has " + std::to_string(window.size()) + " tokens; UltraGist compresses " +
                             std::to_string(session.window()));
        m_impl->engine.check_tokens(window);
        c10::InferenceMode guard;
        session.feed(window, /*logits=*/false);
        ++m_impl->windows;
        return to_blob(session.last_window());
    });
}

ScoreResult Engine::score_with_ultragist(const std::vector<int32_t>& ids, int top_k) {
    const UltraGistCompressor& gist = m_impl->require_ultragist();
    LlamaImpl& model = *m_impl->model;
    m_impl->check_tokens(ids);
    c10::InferenceMode guard;
    const auto n = static_cast<int64_t>(ids.size());
    // The release decides the ratio when the first window completes, knowing the whole call.
    UltraGistSession session(model, gist.weights, gist.window, ultragist_ratio_for(n));
    ScoreResult result;
    add_scores(result, ids, 0, session.feed(ids), top_k);
    for (int64_t begin = 0; begin < n; begin += gist.window) {
        double sum = 0.0;
        int64_t predicted = 0;
        for (int64_t i = begin; i < std::min(n, begin + gist.window); ++i) {
            if (const auto& p = result.positions[static_cast<size_t>(i)].next_logprob) {
                sum += *p;
                ++predicted;
            }
        }
        result.segment_perplexity.push_back(predicted > 0 ? std::exp(-sum / static_cast<double>(predicted)) : 1.0);
    }
    finish_scores(result);
    return result;
}

void extract_ultragist(const std::filesystem::path& ultragist_dir, const std::filesystem::path& base_dir,
                       const std::filesystem::path& file) {
    with_model_errors("extracting UltraGist", [&] {
        const LlamaConfig config = LlamaConfig::load(base_dir / "config.json");
        const Checkpoint release(ultragist_dir), base(base_dir);
        const std::string theirs = model_fingerprint(config, checkpoint_weights(config, release));
        const std::string ours = model_fingerprint(config, checkpoint_weights(config, base));
        if (theirs != ours)
            throw ModelError(ultragist_dir.string() + " was trained on other base weights than " + base_dir.string() +
                             ": load the UltraGist folder itself instead");
        std::vector<std::pair<std::string, at::Tensor>> tensors;
        for (const std::string& name : ultragist_tensor_names(config)) {
            if (!release.contains(name))
                throw ModelError(ultragist_dir.string() + " has no " + name + ": not an UltraGist checkpoint");
            tensors.emplace_back(name, release.view(name));
        }
        std::map<std::string, std::string> metadata{{"format", "pt"}, {kBaseKey, ours}};
        std::ifstream in(ultragist_dir / "config.json");
        const auto settings = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
        for (const char* key : kSettingKeys)
            if (settings.is_object() && settings.contains(key))
                metadata[key] = settings[key].dump();
        write_safetensors(file, tensors, metadata);
    });
}

}  // namespace uio::model
