// The base Llama-2 model behind a torch-free facade: load a Hugging Face folder onto a device,
// tokenize, generate with streaming and cancellation, score. One Engine per thread: the object
// is not thread-safe, except that `cancel` may be set from any thread. Throws ModelError.
#pragma once

#include "uio/model/config.h"
#include "uio/model/memory.h"
#include "uio/model/sampler.h"
#include "uio/model/tokenizer.h"
#include "uio/model/training.h"
#include "uio/model/types.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace uio::model {

struct EngineOptions {
    std::string device = "cpu";  // cpu | cuda | cuda:N
    DType dtype = DType::F32;
};

struct GenerateRequest {
    std::vector<int32_t> prompt;  // with BOS, as Tokenizer::encode or llama2_chat_prompt make it
    int32_t max_new_tokens = 256;
    bool ignore_eos = false;
    SamplingParams sampling;
};

enum class StopReason { Eos, MaxTokens, Cancelled, ContextFull };

struct Generation {
    std::vector<int32_t> ids;  // generated, without the prompt and without EOS
    StopReason stop = StopReason::MaxTokens;
    int64_t prompt_tokens = 0;
    double prefill_seconds = 0.0;
    double decode_seconds = 0.0;
};

struct ScoredPosition {
    int32_t token = 0;
    std::optional<int32_t> next;                  // the following token, none at the last position
    std::optional<double> next_logprob;           // log p(next | tokens up to here)
    std::vector<std::pair<int32_t, double>> top;  // the top_k most likely next tokens
};

struct ScoreResult {
    std::vector<ScoredPosition> positions;
    double sum_logprob = 0.0;
    double perplexity = 0.0;                 // exp(-sum_logprob / number of predicted tokens)
    std::vector<double> segment_perplexity;  // with memory: per segment of l tokens
};

class MemoryChat;

class Engine {
public:
    static std::unique_ptr<Engine> load(const std::filesystem::path& model_dir, const EngineOptions& options = {});
    ~Engine();

    const LlamaConfig& config() const;
    std::string device() const;
    DType dtype() const;
    // The dtype of the memories it makes and reads: the compute dtype (f16 on a CPU computes in f32).
    DType memory_dtype() const;
    bool has_tokenizer() const;
    const Tokenizer& tokenizer() const;  // throws when the folder has no tokenizer.model
    // The same, for another thread: it stays valid after the engine is gone (thread-safe).
    std::shared_ptr<const Tokenizer> shared_tokenizer() const;

    // Streams each chosen id (EOS excluded) to on_token; stops on EOS, the token limit, a full
    // context, or `cancel` (checked before every token).
    Generation generate(const GenerateRequest& request, const std::function<void(int32_t)>& on_token = {},
                        const std::atomic<bool>* cancel = nullptr);

    ScoreResult score(const std::vector<int32_t>& ids, int top_k = 0);

    // The UIO adapter (uio-method.md §7). The engine holds at most one; each call replaces it.
    void create_adapter(const AdapterConfig& config, uint64_t seed = 0);
    void load_adapter(const std::filesystem::path& path);  // refuses one made for another model
    void save_adapter(const std::filesystem::path& path) const;
    // The authors' checkpoint (a torch.save'd list of tensors, §7), read without running any
    // pickled code; l, m and alpha are not in that file and come from `config`.
    void import_adapter(const std::filesystem::path& checkpoint, const AdapterConfig& config);
    bool has_adapter() const;
    AdapterInfo adapter_info() const;  // throws without an adapter
    std::string model_fingerprint() const;

    // Compresses full segments (each exactly segment_length tokens) in one batch: one blob
    // [L, m, d] per segment, in the model's compute dtype. Deterministic.
    std::vector<MemoryBlob> compress(const std::vector<std::vector<int32_t>>& segments);

    // A conversation with these memories (documents in order) in front. Their keys and values
    // are projected once, here, and stay on the device. The engine must outlive the chat.
    std::unique_ptr<MemoryChat> open_memory_chat(const std::vector<MemoryBlob>& memories);

    // The method's perplexity protocol: segment t of ids is scored given the memories of
    // segments 0..t-1. Throws when the text needs more positions than the model has.
    ScoreResult score_with_memory(const std::vector<int32_t>& ids, int top_k = 0);

    // Trains the loaded adapter on token streams (each a document, with BOS) with the base model
    // frozen, by unbiased incremental TBPTT (uio-method.md §6). Cuts the streams into samples of
    // segments_per_sample segments, holds some out for evaluation, and checkpoints to run_dir
    // (adapter and optimiser state; when run_dir holds a checkpoint the run resumes from it,
    // exactly). Returns when the steps are done or `stop` is set (after a checkpoint). The
    // adapter in the engine is the trained one afterwards. Throws ModelError.
    TrainingSummary train(const std::vector<std::vector<int32_t>>& streams, const TrainingConfig& config,
                          const std::filesystem::path& run_dir,
                          const std::function<void(const TrainingEvent&)>& on_event = {},
                          const std::atomic<bool>* stop = nullptr);

private:
    friend class MemoryChat;
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// What an adapter file says about itself (no base model needed). Throws ModelError.
AdapterInfo read_adapter_info_file(const std::filesystem::path& path);

struct ModelFolderInfo {
    LlamaConfig config;
    int64_t n_parameters = 0;
    bool has_tokenizer = false;
};

// Checks a Hugging Face folder the way Engine::load does (config.json, every weight's name and
// shape, tokenizer.model) without reading the weights: milliseconds, even for 7B. Throws
// ModelError with the loader's message.
ModelFolderInfo inspect_model_folder(const std::filesystem::path& model_dir);

// A fresh adapter for the model in `model_dir`, saved to `path`, without loading the model: its
// fingerprint and EOS embedding are read from the memory-mapped checkpoint. The same file as
// Engine::create_adapter then save_adapter. Throws ModelError.
void create_adapter_file(const std::filesystem::path& model_dir, const AdapterConfig& config, uint64_t seed,
                         const std::filesystem::path& path);

class MemoryChat {
public:
    ~MemoryChat();
    int64_t memory_segments() const;
    int64_t positions_free() const;  // after the memories, for the tail, the question and the answer

    // prompt: the documents' residual tail followed by the chat turn. Every call starts again
    // from the documents' memories; tokens beyond each full segment are compressed on the way.
    Generation generate(const GenerateRequest& request, const std::function<void(int32_t)>& on_token = {},
                        const std::atomic<bool>* cancel = nullptr);

private:
    friend class Engine;
    struct Impl;
    explicit MemoryChat(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace uio::model
