// Engine::train: the run around tbptt.h's per-sample gradients. Data order, reservoir draws and
// the task of each sample are functions of (seed, sample number), so a resumed run needs only
// the step, the adapter and the optimiser moments to continue exactly as if never stopped.

#include "engine_impl.h"
#include "safetensors.h"
#include "tbptt.h"
#include "torch_errors.h"
#include "torch_types.h"
#include "uio/model/engine.h"
#include "uio/model/error.h"
#include "uio/model/runtime.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <type_traits>

namespace uio::model {

namespace {

constexpr double kBeta1 = 0.9, kBeta2 = 0.95, kEpsilon = 1e-8;

const char* task_name(TrainingTask task) {
    switch (task) {
        case TrainingTask::Copy:
            return "copy";
        case TrainingTask::Mixed:
            return "mixed";
        default:
            return "lm";
    }
}

std::mt19937_64 rng_for(uint64_t seed, uint64_t stream, uint64_t index) {
    std::seed_seq sequence{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                           static_cast<uint32_t>(stream), static_cast<uint32_t>(index),
                           static_cast<uint32_t>(index >> 32)};
    return std::mt19937_64(sequence);
}

// A permutation of 0..n-1 from rng (Fisher-Yates with SegmentWindow's portable draw).
std::vector<int64_t> shuffled(int64_t n, std::mt19937_64 rng) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<int64_t>(SegmentWindow::uniform_below(rng, static_cast<uint64_t>(i) + 1));
        std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
    }
    return order;
}

double learning_rate_at(const TrainingConfig& c, int64_t step) {
    const int64_t warmup = std::max<int64_t>(1, std::llround(c.warmup * static_cast<double>(c.steps)));
    if (step < warmup) {
        return c.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup);
    }
    const double progress =
        static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, c.steps - warmup));
    return c.learning_rate * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

// The state of one parameter in torch::optim's map: keyed by its TensorImpl, as a string before
// libtorch 2.1 and as the pointer since.
template <typename Key>
Key state_key(const at::Tensor& parameter) {
    if constexpr (std::is_same_v<Key, std::string>) {
        std::ostringstream key;  // as c10::guts::to_string writes it
        key << parameter.unsafeGetTensorImpl();
        return key.str();
    } else {
        return static_cast<Key>(parameter.unsafeGetTensorImpl());
    }
}

// torch::optim::AdamW (decoupled weight decay) in two groups, e_mem and e_rep without decay (§6,
// fix), with the moments by parameter name for the checkpoint, and one global gradient-norm clip.
class Optimiser {
public:
    Optimiser(AdapterImpl& adapter, const TrainingConfig& config) : m_adam(groups(adapter, config), options(config)) {}

    // Scales the gradients to a global norm of at most `clip`.
    void clip_gradients(double clip) { torch::nn::utils::clip_grad_norm_(m_parameters, clip); }

    void step(double lr) {
        for (auto& group : m_adam.param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        m_adam.step();
    }

    void zero_gradients() {
        for (auto& p : m_parameters) {
            if (p.grad().defined())
                p.mutable_grad().zero_();
        }
    }

    // The first and second moments of each parameter, by name (zeros before its first step).
    std::vector<std::pair<std::string, at::Tensor>> moments() const {
        std::vector<std::pair<std::string, at::Tensor>> result;
        for (size_t i = 0; i < m_names.size(); ++i) {
            const at::Tensor& p = m_parameters[i];
            const auto found = m_adam.state().find(key(p));
            const auto* state = found == m_adam.state().end()
                                    ? nullptr
                                    : static_cast<const torch::optim::AdamWParamState*>(found->second.get());
            result.emplace_back("exp_avg." + m_names[i], state ? state->exp_avg().to(at::kCPU) : at::zeros_like(p));
            result.emplace_back("exp_avg_sq." + m_names[i],
                                state ? state->exp_avg_sq().to(at::kCPU) : at::zeros_like(p));
        }
        return result;
    }

    // The moments of a checkpoint, `steps` steps into the run.
    void restore(const SafetensorsFile& moments, int64_t steps) {
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < m_names.size(); ++i) {
            const at::Tensor& p = m_parameters[i];
            auto state = std::make_unique<torch::optim::AdamWParamState>();
            state->step(steps);
            state->exp_avg(moments.view("exp_avg." + m_names[i]).to(p.options()).clone());
            state->exp_avg_sq(moments.view("exp_avg_sq." + m_names[i]).to(p.options()).clone());
            m_adam.state()[key(p)] = std::move(state);
        }
    }

private:
    using Key = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
    static Key key(const at::Tensor& p) { return state_key<Key>(p); }

    static torch::optim::AdamWOptions options(const TrainingConfig& config) {
        return torch::optim::AdamWOptions(config.learning_rate)
            .betas({kBeta1, kBeta2})
            .eps(kEpsilon)
            .weight_decay(config.weight_decay);
    }

    std::vector<torch::optim::OptimizerParamGroup> groups(AdapterImpl& adapter, const TrainingConfig& config) {
        std::vector<at::Tensor> decaying, kept;
        for (auto& item : adapter.named_parameters()) {
            m_names.push_back(item.key());
            m_parameters.push_back(item.value());
            (item.key() == "e_mem" || item.key() == "e_rep" ? kept : decaying).push_back(item.value());
        }
        std::vector<torch::optim::OptimizerParamGroup> result;
        result.emplace_back(decaying, std::make_unique<torch::optim::AdamWOptions>(options(config)));
        result.emplace_back(kept, std::make_unique<torch::optim::AdamWOptions>(options(config).weight_decay(0.0)));
        return result;
    }

    std::vector<std::string> m_names;
    std::vector<at::Tensor> m_parameters;
    torch::optim::AdamW m_adam;
};

std::filesystem::path checkpoint_dir(const std::filesystem::path& run_dir) {
    // A checkpoint replaced by a newer one is renamed to .old first: a crash in between leaves one.
    if (!std::filesystem::exists(run_dir / "checkpoint") && std::filesystem::exists(run_dir / "checkpoint.old")) {
        return run_dir / "checkpoint.old";
    }
    return run_dir / "checkpoint";
}

void save_checkpoint(const std::filesystem::path& run_dir, AdapterImpl& adapter, const LlamaConfig& base,
                     const Optimiser& optimiser, const TrainingConfig& config, int64_t step) {
    const auto fresh = run_dir / "checkpoint.new";
    std::filesystem::remove_all(fresh);
    std::filesystem::create_directories(fresh);
    save_adapter(adapter, base, fresh / "adapter.safetensors");
    write_safetensors(fresh / "optimiser.safetensors", optimiser.moments(),
                      {{"step", std::to_string(step)}, {"config", training_config_json(config)}});
    const auto current = run_dir / "checkpoint", old = run_dir / "checkpoint.old";
    std::filesystem::remove_all(old);
    if (std::filesystem::exists(current))
        std::filesystem::rename(current, old);
    std::filesystem::rename(fresh, current);
    std::filesystem::remove_all(old);
}

struct Samples {
    std::vector<at::Tensor> train, eval;  // (T, l) int64 each, on the device
};

Samples cut_samples(const std::vector<std::vector<int32_t>>& streams, int64_t T, int64_t l, double eval_share,
                    uint64_t seed, const c10::Device& device) {
    std::vector<at::Tensor> all;
    int64_t tokens = 0;
    for (const auto& stream : streams) {
        tokens += static_cast<int64_t>(stream.size());
        for (size_t begin = 0; begin + static_cast<size_t>(T * l) <= stream.size();
             begin += static_cast<size_t>(T * l)) {
            std::vector<int64_t> ids(stream.begin() + static_cast<std::ptrdiff_t>(begin),
                                     stream.begin() + static_cast<std::ptrdiff_t>(begin + static_cast<size_t>(T * l)));
            all.push_back(at::tensor(ids, at::kLong).view({T, l}).to(device));
        }
    }
    const auto n = static_cast<int64_t>(all.size());
    if (n < 2) {
        throw ModelError("the corpus has " + std::to_string(tokens) + " tokens in " + std::to_string(streams.size()) +
                         " documents, enough for " + std::to_string(n) + " samples of " + std::to_string(T) +
                         " segments of " + std::to_string(l) +
                         " tokens; training needs at least 2 (one held out). "
                         "Add documents or use fewer segments per sample.");
    }
    const int64_t n_eval = std::clamp<int64_t>(std::llround(eval_share * static_cast<double>(n)), 1, n - 1);
    Samples samples;
    const auto order = shuffled(n, rng_for(seed, 0, 0));
    for (int64_t i = 0; i < n; ++i) {
        (i < n_eval ? samples.eval : samples.train).push_back(all[static_cast<size_t>(order[static_cast<size_t>(i)])]);
    }
    return samples;
}

}  // namespace

std::string training_config_json(const TrainingConfig& c) {
    return nlohmann::json{{"task", task_name(c.task)},
                          {"segments_per_sample", c.segments_per_sample},
                          {"window", c.window},
                          {"compensate", c.compensate},
                          {"recompute", c.recompute},
                          {"steps", c.steps},
                          {"accumulation", c.accumulation},
                          {"learning_rate", c.learning_rate},
                          {"warmup", c.warmup},
                          {"weight_decay", c.weight_decay},
                          {"clip", c.clip},
                          {"eval_share", c.eval_share},
                          {"eval_samples", c.eval_samples},
                          {"eval_every", c.eval_every},
                          {"checkpoint_every", c.checkpoint_every},
                          {"seed", c.seed},
                          {"keep_best", c.keep_best}}
        .dump();
}

TrainingConfig training_config_from_json(const std::string& text) {
    try {
        const auto j = nlohmann::json::parse(text);
        TrainingConfig c;
        const std::string task = j.at("task");
        c.task = task == "copy"    ? TrainingTask::Copy
                 : task == "mixed" ? TrainingTask::Mixed
                                   : TrainingTask::LanguageModelling;
        c.segments_per_sample = j.at("segments_per_sample");
        c.window = j.at("window");
        c.compensate = j.at("compensate");
        c.recompute = j.value("recompute", false);  // absent in runs saved before it existed
        c.steps = j.at("steps");
        c.accumulation = j.at("accumulation");
        c.learning_rate = j.at("learning_rate");
        c.warmup = j.at("warmup");
        c.weight_decay = j.at("weight_decay");
        c.clip = j.at("clip");
        c.eval_share = j.at("eval_share");
        c.eval_samples = j.at("eval_samples");
        c.eval_every = j.at("eval_every");
        c.checkpoint_every = j.at("checkpoint_every");
        c.seed = j.at("seed");
        c.keep_best = j.value("keep_best", false);  // absent in runs saved before it existed
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw ModelError(std::string("training settings are damaged: ") + e.what());
    }
}

std::optional<TrainingConfig> saved_training_config(const std::string& run_dir) {
    const auto file = checkpoint_dir(run_dir) / "optimiser.safetensors";
    if (!std::filesystem::exists(file)) {
        return std::nullopt;
    }
    return training_config_from_json(SafetensorsFile(file).metadata().at("config"));
}

TrainingSummary Engine::train(const std::vector<std::vector<int32_t>>& streams, const TrainingConfig& config,
                              const std::filesystem::path& run_dir,
                              const std::function<void(const TrainingEvent&)>& on_event,
                              const std::atomic<bool>* stop) {
    return with_model_errors("training", [&] {
        LlamaImpl& model = *m_impl->model;
        // Products with gradients run in OpenBLAS on the CPU (runtime.h).
        std::optional<CpuThreadsFor> threads;
        if (model.device().is_cpu())
            threads.emplace(memory_dtype(), /*autograd=*/true);
        if (config.steps < 1 || config.segments_per_sample < 2 || config.window < 1 || config.accumulation < 1) {
            throw ModelError(
                "training needs at least 1 step, 2 segments per sample, a window of 1 and 1 sample per step");
        }
        const int64_t T = config.segments_per_sample;
        std::filesystem::create_directories(run_dir);

        // Resume: the checkpoint's adapter replaces the engine's, its moments the fresh ones.
        int64_t step = 0;
        const auto saved = checkpoint_dir(run_dir);
        if (std::filesystem::exists(saved / "optimiser.safetensors")) {
            const SafetensorsFile moments(saved / "optimiser.safetensors");
            const std::string started_with =
                training_config_json(training_config_from_json(moments.metadata().at("config")));
            if (started_with != training_config_json(config)) {
                throw ModelError(run_dir.string() + " holds a run started with other settings: resume it with those (" +
                                 started_with + ") or start a new run in another folder");
            }
            m_impl->adapter = uio::model::load_adapter(saved / "adapter.safetensors", model);
            step = std::stoll(moments.metadata().at("step"));
        }
        AdapterImpl& adapter = m_impl->require_adapter();
        m_impl->adapter_info.reset();  // its fingerprint changes with every step
        const int64_t l = adapter.config.segment_length, m = adapter.config.memory_tokens;
        if ((T - 1) * m + l > model.rope.n_positions()) {
            throw ModelError(std::to_string(T) + " segments per sample need " + std::to_string((T - 1) * m + l) +
                             " positions; the model has " + std::to_string(model.rope.n_positions()));
        }
        for (auto& p : adapter.parameters()) {
            p.requires_grad_(true);
        }
        Optimiser optimiser(adapter, config);
        if (step > 0)
            optimiser.restore(SafetensorsFile(saved / "optimiser.safetensors"), step);

        int64_t corpus_tokens = 0;
        for (const auto& stream : streams)
            corpus_tokens += static_cast<int64_t>(stream.size());
        const Samples samples = cut_samples(streams, T, l, config.eval_share, config.seed, model.device());
        const auto n_train = static_cast<int64_t>(samples.train.size());
        TrainingSummary summary;
        summary.train_samples = n_train;
        summary.eval_samples = static_cast<int64_t>(samples.eval.size());
        auto emit = [&](TrainingEvent event) {
            event.step = step;
            event.steps = config.steps;
            event.memory_bytes = [&] {
                const MemoryUse use = memory_in_use(m_impl->options.device);
                return use.gpu_total_bytes > 0 ? use.gpu_used_bytes : use.resident_bytes;
            }();
            if (on_event)
                on_event(event);
            return event;
        };
        double best_perplexity = std::numeric_limits<double>::infinity();
        std::vector<at::Tensor> best;  // the parameters at that evaluation
        int64_t best_steps = 0;
        auto evaluate = [&] {
            double with = 0.0, without = 0.0;
            int64_t n = 0;
            const auto count = std::min<int64_t>(config.eval_samples, static_cast<int64_t>(samples.eval.size()));
            for (int64_t i = 0; i < count; ++i) {
                const StreamLoss loss = evaluate_stream(model, adapter, samples.eval[static_cast<size_t>(i)]);
                with += loss.with_memory;
                without += loss.without_memory;
                n += loss.n_predicted;
            }
            TrainingEvent event;
            event.kind = TrainingEvent::Kind::Evaluation;
            event.perplexity_with_memory = std::exp(with / static_cast<double>(n));
            event.perplexity_without_memory = std::exp(without / static_cast<double>(n));
            if (config.keep_best && step > 0 && event.perplexity_with_memory < best_perplexity) {
                torch::NoGradGuard no_grad;
                best_perplexity = event.perplexity_with_memory;
                best.clear();
                for (const auto& p : adapter.parameters())
                    best.push_back(p.detach().clone());
                best_steps = adapter.origin.steps;
            }
            return emit(event);
        };
        summary.first_evaluation = evaluate();

        std::vector<int64_t> order;
        int64_t order_epoch = -1;
        const auto started = std::chrono::steady_clock::now();
        const int64_t first_step = step;
        int64_t tokens = 0;
        const TbpttOptions tbptt{config.window, config.compensate, WindowPolicy::Reservoir, config.recompute};
        while (step < config.steps) {
            if (stop && stop->load()) {
                save_checkpoint(run_dir, adapter, model.config, optimiser, config, step);
                emit({TrainingEvent::Kind::Checkpoint});
                summary.steps_done = step;
                return summary;
            }
            optimiser.zero_gradients();
            double loss_sum = 0.0;
            int64_t predicted = 0;
            for (int64_t i = 0; i < config.accumulation; ++i) {
                // Sample number c: its place in the epoch's shuffled order, its task and its draws.
                const int64_t c = step * config.accumulation + i;
                if (c / n_train != order_epoch) {
                    order_epoch = c / n_train;
                    order = shuffled(n_train, rng_for(config.seed, 1, static_cast<uint64_t>(order_epoch)));
                }
                const at::Tensor& sample = samples.train[static_cast<size_t>(order[static_cast<size_t>(c % n_train)])];
                const double scale = 1.0 / static_cast<double>(config.accumulation);
                const bool copy =
                    config.task == TrainingTask::Copy || (config.task == TrainingTask::Mixed && c % 2 == 1);
                SampleStats stats;
                if (copy) {
                    stats = copy_task_gradients(model, adapter, sample[(c / 2) % T], scale, config.recompute);
                } else {
                    auto rng = rng_for(config.seed, 2, static_cast<uint64_t>(c));
                    stats = language_modelling_gradients(model, adapter, sample, tbptt, rng,
                                                         static_cast<double>(T * l - 1), scale);
                }
                loss_sum += stats.loss_sum;
                predicted += stats.n_predicted;
                tokens += copy ? l : T * l;
            }
            optimiser.clip_gradients(config.clip);
            const double lr = learning_rate_at(config, step);
            optimiser.step(lr);
            ++step;
            adapter.origin.kind = AdapterOrigin::Kind::Trained;
            ++adapter.origin.steps;
            adapter.origin.corpus_tokens = corpus_tokens;

            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            TrainingEvent event;
            event.loss = loss_sum / static_cast<double>(predicted);
            event.learning_rate = lr;
            event.tokens_per_second = static_cast<double>(tokens) / seconds;
            event.eta_seconds =
                seconds / static_cast<double>(step - first_step) * static_cast<double>(config.steps - step);
            emit(event);
            if (config.eval_every > 0 && step % config.eval_every == 0 && step < config.steps) {
                summary.last_evaluation = evaluate();
            }
            if (config.checkpoint_every > 0 && step % config.checkpoint_every == 0 && step < config.steps) {
                save_checkpoint(run_dir, adapter, model.config, optimiser, config, step);
                emit({TrainingEvent::Kind::Checkpoint});
            }
        }
        summary.last_evaluation = evaluate();
        if (!best.empty() && best_perplexity < summary.last_evaluation->perplexity_with_memory) {
            torch::NoGradGuard no_grad;
            const auto parameters = adapter.parameters();
            for (size_t i = 0; i < parameters.size(); ++i)
                parameters[i].copy_(best[i]);
            adapter.origin.steps = best_steps;
            summary.last_evaluation = evaluate();
        }
        save_checkpoint(run_dir, adapter, model.config, optimiser, config, step);
        emit({TrainingEvent::Kind::Checkpoint});
        summary.steps_done = step;
        summary.finished = true;
        for (auto& p : adapter.parameters()) {
            p.mutable_grad() = at::Tensor();
        }
        return summary;
    });
}

}  // namespace uio::model
