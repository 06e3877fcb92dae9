// Gradients of the UIO adapters for one training sample (uio-method.md §6).
// language_modelling_gradients: unbiased incremental truncated backpropagation through time over a
// stream of T segments. The decoder on segment t reads detached leaf copies of the earlier
// memories; each leaf collects dJ_t/dm_s while its encoder graph is alive; at most `window`
// encoder graphs are alive (a reservoir); evicting one runs its encoder backward once. The base
// model is frozen; gradients accumulate in the adapter's .grad, scaled by `loss_scale`.
// Legend: T segments, l segment length, m memory tokens, L layers, C hidden size.
#pragma once

#include "adapter.h"
#include "llama.h"
#include "reservoir.h"

#include <ATen/Tensor.h>

#include <cstdint>
#include <random>

namespace uio::model {

struct TbpttOptions {
    int64_t window = 2;      // S: live encoder graphs
    bool compensate = true;  // scale J_t's part of a leaf's gradient by max(1, t/S): unbiased
    WindowPolicy policy = WindowPolicy::Reservoir;
    bool recompute = false;  // gradient checkpointing of every encoder and decoder layer
};

struct SampleStats {
    double loss_sum = 0.0;    // summed cross-entropy (nats) over the predicted tokens
    int64_t n_predicted = 0;  // tokens with a label
    int64_t encoder_backwards = 0;
    int64_t max_live_graphs = 0;  // encoder graphs alive at once, at most the window
};

// segments: (T, l) int64 on the model's device; the last token of segment t predicts the first
// of t + 1. Each J_t is divided by loss_denominator (the token count of the mean) and multiplied
// by loss_scale (1 / accumulation steps) before its backward.
SampleStats language_modelling_gradients(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& segments,
                                         const TbpttOptions& options, std::mt19937_64& rng, double loss_denominator,
                                         double loss_scale = 1.0);

// The copy task: encode one segment (l) and reconstruct it from its memory with e_rep in front,
// teacher-forced; token-mean cross-entropy times loss_scale, backward through decoder and encoder.
SampleStats copy_task_gradients(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& segment,
                                double loss_scale = 1.0, bool recompute = false);

// Evaluation without gradients: summed cross-entropy of the stream with memories (as in
// training) and without (each segment alone, as the base model would see it).
struct StreamLoss {
    double with_memory = 0.0;
    double without_memory = 0.0;
    int64_t n_predicted = 0;
};
StreamLoss evaluate_stream(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& segments);

// Cross-entropy (summed, nats) of logits (1, l, V) for segment t of `segments`: labels shifted
// by one, the last row labelled with the next segment's first token when there is one.
at::Tensor segment_loss(const at::Tensor& logits, const at::Tensor& segments, int64_t t, int64_t* n_predicted);

}  // namespace uio::model
