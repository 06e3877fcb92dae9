// Training the UIO adapters on token streams (uio-method.md §6), torch-free for the callers.
// Engine::train runs it on the engine's model and adapter; this header holds the settings and
// what a run reports.
#pragma once

#include "uio/model/config.h"
#include "uio/model/memory.h"
#include "uio/model/types.h"

#include <cstdint>
#include <optional>
#include <string>

namespace uio::model {

enum class TrainingTask {
    LanguageModelling,  // predict the stream with the memories of the segments before
    Copy,               // reconstruct a segment from its own memory, e_rep in front
    Mixed,              // the two in turn, sample by sample
};

struct TrainingConfig {
    TrainingTask task = TrainingTask::LanguageModelling;
    int64_t segments_per_sample = 8;  // T
    int64_t window = 2;               // S: encoder graphs alive at once
    bool compensate = true;           // max(1, t/S): unbiased; off reproduces the authors' trainer
    bool recompute = false;           // gradient checkpointing: keep layer inputs, rebuild in backward
    int64_t steps = 1000;             // optimiser steps
    int64_t accumulation = 1;         // samples per step
    double learning_rate = 1e-4;
    double warmup = 0.01;           // share of the steps with a linear warm-up, then cosine to 0
    double weight_decay = 0.1;      // AdamW (0.9, 0.95); not on e_mem and e_rep
    double clip = 1.0;              // global gradient norm
    double eval_share = 0.1;        // samples held out for evaluation
    int64_t eval_samples = 8;       // of those, used per evaluation
    int64_t eval_every = 100;       // steps; evaluations also run at the start and the end
    int64_t checkpoint_every = 50;  // the wizard's rule too: a twentieth of the steps
    uint64_t seed = 0;              // data order and reservoir draws
    // At the end, go back to the adapter of the evaluation with the lowest held-out perplexity
    // with memory, when a later one was worse (a small corpus learnt by heart). Evaluations since
    // the last resume only.
    bool keep_best = false;
};

std::string training_config_json(const TrainingConfig& config);
TrainingConfig training_config_from_json(const std::string& json);  // throws ModelError

struct TrainingEvent {
    enum class Kind { Step, Evaluation, Checkpoint };
    Kind kind = Kind::Step;
    int64_t step = 0;  // steps done
    int64_t steps = 0;
    // Step: token-mean loss of the step's samples, the learning rate used, speed, time left.
    double loss = 0.0;
    double learning_rate = 0.0;
    double tokens_per_second = 0.0;
    double eta_seconds = 0.0;
    int64_t memory_bytes = 0;  // RAM of the process, or GPU memory in use on CUDA
    // Evaluation: held-out perplexity with the memories, and of each segment alone.
    double perplexity_with_memory = 0.0;
    double perplexity_without_memory = 0.0;
};

struct TrainingSummary {
    int64_t steps_done = 0;
    bool finished = false;  // false: stopped; the run's checkpoint resumes it
    int64_t train_samples = 0;
    int64_t eval_samples = 0;
    std::optional<TrainingEvent> first_evaluation, last_evaluation;
};

// What a run will take, worked out from the shapes before it starts (for the wizard's warning).
struct TrainingEstimate {
    double seconds = 0.0;          // the whole run, evaluations included
    int64_t memory_bytes = 0;      // peak on the device: weights, adapter state, S + 1 graphs
    int64_t checkpoint_bytes = 0;  // on disk while a checkpoint replaces the last one
    int64_t adapter_bytes = 0;     // the trained adapter file
    double flops_per_token = 0.0;  // of the stream, forward and backward
};

// flops_per_second: the device's measured matrix-multiply rate (measure_gemm_gflops); training
// reaches about half of it in its products.
TrainingEstimate estimate_training(const LlamaConfig& base, DType dtype, const AdapterConfig& adapter,
                                   const TrainingConfig& config, double flops_per_second);

// The settings a run directory was started with, when it holds a checkpoint.
std::optional<TrainingConfig> saved_training_config(const std::string& run_dir);

}  // namespace uio::model
