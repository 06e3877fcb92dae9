// Engine's UIO side: adapters, compression, memory-conditioned generation and scoring.

#include "checkpoint.h"
#include "encoder.h"
#include "engine_impl.h"
#include "generator.h"
#include "llama.h"
#include "memory_blob.h"
#include "memory_session.h"
#include "torch_checkpoint.h"
#include "torch_errors.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cmath>

namespace uio::model {

AdapterInfo read_adapter_info_file(const std::filesystem::path& path) {
    return read_adapter_info(path);
}

void Engine::create_adapter(const AdapterConfig& config, uint64_t seed) {
    m_impl->adapter = make_adapter(*m_impl->model, config, seed);
    m_impl->ultragist.reset();
    m_impl->adapter_info.reset();
}

void create_adapter_file(const std::filesystem::path& model_dir, const AdapterConfig& config, uint64_t seed,
                         const std::filesystem::path& path) {
    with_model_errors("creating an adapter", [&] {
        const LlamaConfig base = LlamaConfig::load(model_dir / "config.json");
        const Checkpoint checkpoint(model_dir);
        const auto weights = checkpoint_weights(base, checkpoint);
        at::Tensor embedding;
        for (const auto& [name, weight] : weights)
            if (name == "model.embed_tokens.weight")
                embedding = weight;
        const Adapter adapter =
            make_adapter(base, model_fingerprint(base, weights), embedding[base.eos_id], config, seed);
        save_adapter(*adapter, base, path);
    });
}

void Engine::load_adapter(const std::filesystem::path& path) {
    m_impl->adapter = uio::model::load_adapter(path, *m_impl->model);
    m_impl->ultragist.reset();
    m_impl->adapter_info.reset();
}

void Engine::save_adapter(const std::filesystem::path& path) const {
    uio::model::save_adapter(m_impl->require_adapter(), m_impl->model->config, path);
}

void Engine::import_adapter(const std::filesystem::path& checkpoint, const AdapterConfig& config) {
    m_impl->adapter =
        adapter_from_authors_list(read_torch_tensor_list(checkpoint), *m_impl->model, config, checkpoint.string());
    m_impl->ultragist.reset();
    m_impl->adapter_info.reset();
}

bool Engine::has_adapter() const {
    return static_cast<bool>(m_impl->adapter) || m_impl->ultragist.has_value();
}

AdapterInfo Engine::adapter_info() const {
    if (m_impl->ultragist)
        return ultragist_info();
    if (!m_impl->adapter_info) {
        m_impl->adapter_info = uio::model::adapter_info(m_impl->require_adapter(), m_impl->model->config);
    }
    return *m_impl->adapter_info;
}

std::string Engine::model_fingerprint() const {
    if (!m_impl->model_fingerprint)
        m_impl->model_fingerprint = uio::model::model_fingerprint(*m_impl->model);
    return *m_impl->model_fingerprint;
}

std::vector<MemoryBlob> Engine::compress(const std::vector<std::vector<int32_t>>& segments) {
    AdapterImpl& adapter = m_impl->require_adapter();
    const int64_t l = adapter.config.segment_length;
    if (segments.empty()) {
        return {};
    }
    std::vector<int64_t> flat;
    for (const auto& segment : segments) {
        if (static_cast<int64_t>(segment.size()) != l) {
            throw ModelError("a segment has " + std::to_string(segment.size()) + " tokens; this adapter compresses " +
                             std::to_string(l));
        }
        m_impl->check_tokens(segment);
        flat.insert(flat.end(), segment.begin(), segment.end());
    }
    c10::InferenceMode guard;
    LlamaImpl& model = *m_impl->model;
    const auto tokens = at::tensor(flat, at::kLong).view({static_cast<int64_t>(segments.size()), l}).to(model.device());
    at::Tensor memories;  // (B, L, m, C)
    try {
        memories = encode_segments(model, adapter, tokens);
    } catch (const c10::OutOfMemoryError&) {
        throw OutOfMemory("out of memory compressing " + std::to_string(segments.size()) +
                          " segments at once: lower the compression batch in the settings");
    } catch (const c10::Error& e) {
        throw ModelError(std::string("the model failed while compressing: ") + e.what_without_backtrace());
    }
    std::vector<MemoryBlob> blobs;
    for (int64_t b = 0; b < memories.size(0); ++b) {
        blobs.push_back(to_blob(memories[b]));
    }
    return blobs;
}

// A chat holds a UIO session or an UltraGist one; each answer starts again from the documents.
struct MemoryChat::Impl {
    Engine::Impl& engine;
    std::optional<MemorySession> uio;
    std::optional<UltraGistSession> gist;
    UltraGistSession::State gist_start;
    int64_t gist_windows = 0;

    void rewind() {
        if (gist)
            gist->set_state(gist_start);
        else
            uio->rewind();
    }
    int64_t positions_free() const {
        return gist ? engine.model->config.n_ctx() - gist->cached_rows() : uio->positions_free();
    }
    at::Tensor feed(const std::vector<int32_t>& ids, const std::atomic<bool>* cancel = nullptr) {
        if (!gist)
            return uio->feed(ids, cancel, /*all_logits=*/false);
        if (cancel && cancel->load())
            throw Cancelled();
        return gist->feed(ids);
    }
};

MemoryChat::MemoryChat(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
MemoryChat::~MemoryChat() = default;

std::unique_ptr<MemoryChat> Engine::open_memory_chat(const std::vector<MemoryBlob>& memories) {
    return with_model_errors("reading the memories", [&] {
        if (m_impl->ultragist)
            return open_ultragist_chat(memories);
        AdapterImpl& adapter = m_impl->require_adapter();
        LlamaImpl& model = *m_impl->model;
        c10::InferenceMode guard;
        const std::vector<int64_t> expected{model.config.n_layer, adapter.config.memory_tokens, model.config.n_embd};
        std::vector<at::Tensor> tensors;
        for (const MemoryBlob& blob : memories) {
            if (blob.shape != expected) {
                throw ModelError(
                    "a memory segment has the wrong shape for this model and adapter; compress the document again");
            }
            tensors.push_back(from_blob(blob, model.device()).to(model.compute_dtype()));
        }
        const auto stacked = tensors.empty() ? at::empty({0, expected[0], expected[1], expected[2]},
                                                         at::TensorOptions().device(model.device()))
                                             : at::stack(tensors);
        auto impl = std::make_unique<MemoryChat::Impl>(MemoryChat::Impl{*m_impl, {}, {}, {}, 0});
        impl->uio.emplace(model, m_impl->adapter, stacked);
        return std::unique_ptr<MemoryChat>(new MemoryChat(std::move(impl)));
    });
}

std::unique_ptr<MemoryChat> Engine::open_ultragist_chat(const std::vector<MemoryBlob>& memories) {
    const UltraGistCompressor& gist = *m_impl->ultragist;
    LlamaImpl& model = *m_impl->model;
    c10::InferenceMode guard;
    auto impl = std::make_unique<MemoryChat::Impl>(MemoryChat::Impl{*m_impl, {}, {}, {}, 0});
    // A window the question completes is compressed at the documents' ratio.
    const int64_t rows = memories.empty() || memories.front().shape.size() != 5 ? 0 : memories.front().shape[3] - 1;
    const int64_t ratio = rows > 0 && gist.window % rows == 0 ? gist.window / rows : ultragist_ratio_for(gist.window);
    impl->gist.emplace(model, gist.weights, gist.window, ratio);
    if (!memories.empty()) {
        const auto [keys, values] =
            ultragist_memory_rows(memories, model.config, model.device(), model.compute_dtype());
        impl->gist->restore(keys, values, static_cast<int64_t>(memories.size()));
    }
    impl->gist_start = impl->gist->state();
    impl->gist_windows = static_cast<int64_t>(memories.size());
    return std::unique_ptr<MemoryChat>(new MemoryChat(std::move(impl)));
}

int64_t MemoryChat::memory_segments() const {
    return m_impl->gist ? m_impl->gist_windows : m_impl->uio->memory_segments();
}
int64_t MemoryChat::positions_free() const {
    return m_impl->gist ? m_impl->engine.model->config.n_ctx() - m_impl->gist_start.rows
                        : m_impl->uio->positions_after_documents();
}

Generation MemoryChat::generate(const GenerateRequest& request, const std::function<void(int32_t)>& on_token,
                                const std::atomic<bool>* cancel) {
    return with_model_errors("answering", [&] {
        if (request.prompt.empty()) {
            throw ModelError("the prompt is empty");
        }
        m_impl->engine.check_tokens(request.prompt);
        Impl& session = *m_impl;
        c10::InferenceMode guard;
        session.rewind();
        if (static_cast<int64_t>(request.prompt.size()) >= session.positions_free()) {
            throw ModelError("the question and the documents' last " + std::to_string(request.prompt.size()) +
                             " tokens need more than the " + std::to_string(session.positions_free()) +
                             " positions left after the memories; remove a document or shorten the question");
        }
        Generation result;
        result.prompt_tokens = static_cast<int64_t>(request.prompt.size());
        const auto start = std::chrono::steady_clock::now();
        at::Tensor logits;
        try {
            logits = session.feed(request.prompt, cancel);
        } catch (const Cancelled&) {
            result.stop = StopReason::Cancelled;
            return result;
        }
        logits = logits[-1].to(at::kCPU);
        const double prefill_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const DecodeStep step = [&](int32_t id) {
            return session.positions_free() > 0 ? session.feed({id})[-1].to(at::kCPU) : at::Tensor();
        };
        const int32_t eos = m_impl->engine.model->config.eos_id;
        Generation generated = decode(eos, step, logits, request.prompt, request, on_token, cancel);
        generated.prompt_tokens = result.prompt_tokens;
        generated.prefill_seconds = prefill_seconds;
        return generated;
    });
}

ScoreResult Engine::score_with_memory(const std::vector<int32_t>& ids, int top_k) {
    return with_model_errors("scoring with memory", [&] {
        if (m_impl->ultragist)
            return score_with_ultragist(ids, top_k);
        AdapterImpl& adapter = m_impl->require_adapter();
        LlamaImpl& model = *m_impl->model;
        m_impl->check_tokens(ids);
        const int64_t l = adapter.config.segment_length, m = adapter.config.memory_tokens, P = model.rope.n_positions();
        const auto n = static_cast<int64_t>(ids.size());
        const int64_t n_segments = (n + l - 1) / l;
        if (n_segments > 0 && (n_segments - 1) * m + std::min(n, l) > P) {
            const int64_t fit = (P - l) / m + 1;
            throw ModelError("the text has " + std::to_string(n) + " tokens (" + std::to_string(n_segments) +
                             " segments of " + std::to_string(l) + "); at " + std::to_string(l / m) +
                             "x compression this model scores at most " + std::to_string(fit * l) + " tokens");
        }
        c10::InferenceMode guard;
        MemorySession session(model, m_impl->adapter, at::empty({0, model.config.n_layer, m, model.config.n_embd}));
        ScoreResult result;
        for (int64_t t = 0; t < n_segments; ++t) {
            const int64_t begin = t * l, len = std::min(l, n - begin);
            const std::vector<int32_t> segment(ids.begin() + begin, ids.begin() + begin + len);
            const double before = result.sum_logprob;
            add_scores(result, ids, begin, session.feed(segment), top_k);  // compresses segment t as it fills
            const int64_t predicted = std::min(len, n - 1 - begin);
            result.segment_perplexity.push_back(predicted > 0 ? std::exp(-(result.sum_logprob - before) / predicted)
                                                              : 1.0);
        }
        finish_scores(result);
        return result;
    });
}

}  // namespace uio::model
