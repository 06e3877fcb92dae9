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
class CompressionStream;

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
    // UltraGist (docs/ultragist.md) as the compressor in place of a UIO adapter. `source`: a folder
    // whose safetensors hold the ultragist_* tensors (the published checkpoint, which is also this
    // base model), or the file extract_ultragist writes. ratio: tokens per memory row (2, 4, 8, 16
    // or 32), 0 to choose it by each document's length as the release does.
    void load_ultragist(const std::filesystem::path& source, int64_t ratio = 0);
    bool has_ultragist() const;
    // The ratio a document of this many tokens is compressed at.
    int64_t ultragist_ratio_for(int64_t document_tokens) const;
    // An UltraGist document compressed window after window, each against the memory of the
    // windows before it (`earlier`, as stored). Throws without UltraGist.
    std::unique_ptr<CompressionStream> open_compression(const std::vector<MemoryBlob>& earlier,
                                                        int64_t document_tokens);

    bool has_adapter() const;          // a UIO adapter or UltraGist
    AdapterInfo adapter_info() const;  // throws without either
    std::string model_fingerprint() const;

    // Compresses full segments (each exactly segment_length tokens) in one batch: one blob
    // [L, m, d] per segment, in the model's compute dtype. Deterministic.
    std::vector<MemoryBlob> compress(const std::vector<std::vector<int32_t>>& segments);

    // A conversation with these memories (documents in order) in front. Their keys and values
    // are projected once, here, and stay on the device. The engine must outlive the chat.
    std::unique_ptr<MemoryChat> open_memory_chat(const std::vector<MemoryBlob>& memories);

    // The method's perplexity protocol: segment t of ids is scored given the memories of
    // segments 0..t-1. Throws when the text needs more positions than the model has. With
    // UltraGist, the release's protocol: the whole stream in one call, each window compressed
    // when it completes, at the ratio chosen for the whole stream.
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
    friend class CompressionStream;
    struct Impl;
    AdapterInfo ultragist_info() const;
    std::unique_ptr<MemoryChat> open_ultragist_chat(const std::vector<MemoryBlob>& memories);
    ScoreResult score_with_ultragist(const std::vector<int32_t>& ids, int top_k);
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

// UltraGist's memory of one window: (L, 2, K, 1 + window / ratio, D), keys then values before
// RoPE, the document's sink row first (so that any run of stored windows can be read alone).
class CompressionStream {
public:
    ~CompressionStream();
    int64_t ratio() const;
    int64_t windows_done() const;
    // Compresses the next window (exactly the window's length of tokens). Deterministic.
    MemoryBlob next(const std::vector<int32_t>& window);

private:
    friend class Engine;
    struct Impl;
    explicit CompressionStream(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// Writes the ultragist_* tensors of a published UltraGist folder to `file`, after checking that
// its base weights are those of the Llama in `base_dir` (so that the file can be loaded beside
// it). Throws ModelError.
void extract_ultragist(const std::filesystem::path& ultragist_dir, const std::filesystem::path& base_dir,
                       const std::filesystem::path& file);

// Whether a model folder holds UltraGist's tensors (cheap: reads the safetensors headers).
bool has_ultragist_tensors(const std::filesystem::path& model_dir);

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
