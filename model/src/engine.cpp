#include "uio/model/engine.h"

#include "adapter.h"
#include "engine_impl.h"
#include "generator.h"
#include "llama.h"
#include "matmul.h"
#include "torch_errors.h"
#include "torch_types.h"
#include "uio/model/error.h"
#include "uio/model/runtime.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>

namespace uio::model {

Engine::Engine(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const std::filesystem::path& model_dir, const EngineOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->dir = model_dir;
    const c10::Device device = to_device(options.device);
    if (device.is_cpu())
        use_cpu_threads_for(compute_dtype(to_scalar_type(options.dtype), device) == at::kFloat ? DType::F32
                                                                                               : options.dtype);
    if (options.dtype == DType::Int8 && !device.is_cpu())
        throw ModelError("int8 runs on the CPU; on " + options.device + " choose bf16");
    try {
        impl->model = load_llama(model_dir, device, to_scalar_type(options.dtype));
        if (options.dtype == DType::Int8) {
            const std::string fingerprint = uio::model::model_fingerprint(*impl->model);  // as stored
            impl->model->quantize();
            impl->model->fingerprint = fingerprint;
        }
    } catch (const c10::OutOfMemoryError&) {
        throw OutOfMemory("not enough memory on " + options.device + " for " + model_dir.string() + " in " +
                          dtype_name(options.dtype) + ": try bf16, the CPU or a smaller model");
    } catch (const c10::Error& e) {
        throw ModelError(model_dir.string() + ": cannot load the model on " + options.device + " (" +
                         e.what_without_backtrace() + ")");
    }
    if (const auto found = Tokenizer::find_in(model_dir); !found.empty()) {
        impl->tokenizer = std::make_shared<const Tokenizer>(Tokenizer::load(found));
    }
    return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

ModelFolderInfo inspect_model_folder(const std::filesystem::path& model_dir) {
    if (!std::filesystem::is_directory(model_dir)) {
        throw ModelError(model_dir.string() + " is not a folder");
    }
    ModelFolderInfo info;
    info.n_parameters = inspect_llama(model_dir);
    info.config = LlamaConfig::load(model_dir / "config.json");
    if (const auto found = Tokenizer::find_in(model_dir); !found.empty()) {
        Tokenizer::load(found);  // small; a damaged one throws here
        info.has_tokenizer = true;
    }
    return info;
}

const LlamaConfig& Engine::config() const {
    return m_impl->model->config;
}
std::string Engine::device() const {
    return m_impl->options.device;
}
DType Engine::dtype() const {
    return m_impl->options.dtype;
}
DType Engine::memory_dtype() const {
    const DType stored = m_impl->options.dtype;
    return compute_dtype(to_scalar_type(stored), to_device(m_impl->options.device)) == at::kFloat ? DType::F32 : stored;
}
bool Engine::has_tokenizer() const {
    return m_impl->tokenizer != nullptr;
}

const Tokenizer& Engine::tokenizer() const {
    if (!m_impl->tokenizer) {
        throw ModelError(m_impl->dir.string() +
                         " has neither tokenizer.model nor tokenizer.json: give token ids instead of text");
    }
    return *m_impl->tokenizer;
}

std::shared_ptr<const Tokenizer> Engine::shared_tokenizer() const {
    tokenizer();  // the same refusal without one
    return m_impl->tokenizer;
}

Generation Engine::generate(const GenerateRequest& request, const std::function<void(int32_t)>& on_token,
                            const std::atomic<bool>* cancel) {
    return with_model_errors("generating", [&] {
        if (request.prompt.empty()) {
            throw ModelError("the prompt is empty: it needs at least the BOS token");
        }
        m_impl->check_tokens(request.prompt);
        LlamaImpl& model = *m_impl->model;
        const auto n_prompt = static_cast<int64_t>(request.prompt.size());
        if (n_prompt >= model.rope.n_positions()) {
            throw ModelError("the prompt has " + std::to_string(n_prompt) + " tokens; this model has room for " +
                             std::to_string(model.rope.n_positions() - 1) + " plus the answer");
        }
        c10::InferenceMode guard;
        KVCache cache = model.new_cache();
        const auto start = std::chrono::steady_clock::now();
        at::Tensor logits;
        try {
            logits = prefill(model, cache, request.prompt, cancel);
        } catch (const Cancelled&) {
            Generation stopped;
            stopped.stop = StopReason::Cancelled;
            stopped.prompt_tokens = n_prompt;
            return stopped;
        }
        const double prefill_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const DecodeStep step = [&](int32_t id) {
            if (cache.size() >= model.rope.n_positions()) {
                return at::Tensor();
            }
            const auto input = at::tensor({static_cast<int64_t>(id)}, at::kLong).view({1, 1}).to(model.device());
            return model.forward(input, cache).view({-1}).to(at::kCPU);
        };
        Generation result = decode(model.config.eos_id, step, logits, request.prompt, request, on_token, cancel);
        result.prompt_tokens = n_prompt;
        result.prefill_seconds = prefill_seconds;
        return result;
    });
}

ScoreResult Engine::score(const std::vector<int32_t>& ids, int top_k) {
    return with_model_errors("scoring", [&] {
        m_impl->check_tokens(ids);
        LlamaImpl& model = *m_impl->model;
        if (static_cast<int64_t>(ids.size()) > model.rope.n_positions()) {
            throw ModelError("the text has " + std::to_string(ids.size()) + " tokens; this model reads at most " +
                             std::to_string(model.rope.n_positions()) + " at once");
        }
        c10::InferenceMode guard;
        KVCache cache = model.new_cache();
        return score_tokens(model, cache, ids, top_k);
    });
}

}  // namespace uio::model
