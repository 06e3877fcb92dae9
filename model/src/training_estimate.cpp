// estimate_training: the cost of a run from the shapes alone. FLOPs: the decoder's and the
// encoder's forward and backward passes where the method runs them (the base is frozen, so a
// backward computes input gradients only: about one forward), attention over the keys a token
// sees, a second forward where layers are recomputed, and the evaluations. Memory: weights, the
// adapter with its gradient and two moments in f32, and S encoder graphs plus one decoder graph
// with the per-layer activation count of Korthikanti et al. (2022), or only each layer's input
// when recomputing.

#include "uio/model/training.h"

#include <algorithm>

namespace uio::model {

namespace {

double element_bytes(DType dtype) {
    return bytes_per_weight(dtype);
}

int64_t adapter_parameters(const LlamaConfig& c, int64_t rank) {
    const int64_t d = c.n_embd, q = c.n_head * c.head_dim(), kv = c.n_kv_head * c.head_dim();
    const int64_t per_layer = (rank * d + q * rank) + 3 * (rank * d + kv * rank);  // encoder q, v; transfer k, v
    return 2 * d + c.n_layer * per_layer;
}

// Bytes an autograd graph keeps for `rows` rows attending to `keys` keys, per layer.
double graph_bytes(const LlamaConfig& c, double rows, double keys, double act, bool recompute) {
    const double d = static_cast<double>(c.n_embd), layers = static_cast<double>(c.n_layer);
    const double full = rows * (34.0 * d + 5.0 * static_cast<double>(c.n_head) * keys) * act / 2.0;
    return recompute ? layers * rows * d * act + full : layers * full;  // inputs, and one layer rebuilt
}

}  // namespace

TrainingEstimate estimate_training(const LlamaConfig& base, DType dtype, const AdapterConfig& adapter,
                                   const TrainingConfig& config, double flops_per_second) {
    const double T = static_cast<double>(config.segments_per_sample), l = static_cast<double>(adapter.segment_length),
                 m = static_cast<double>(adapter.memory_tokens), d = static_cast<double>(base.n_embd),
                 L = static_cast<double>(base.n_layer);
    const double embeddings = static_cast<double>(base.n_vocab) * d;
    const double body = static_cast<double>(base.n_params()) - embeddings * (base.tie_word_embeddings ? 1.0 : 2.0);
    const double decoder_forward = 2.0 * (body + embeddings);  // lm_head included
    const double encoder_forward = 2.0 * body * (l + m) / l;   // per stream token
    const double decoder_keys = (T - 1.0) / 2.0 * m + l / 2.0, encoder_keys = (l + m) / 2.0;
    const double decoder = decoder_forward + 4.0 * L * d * decoder_keys;
    const double encoder = encoder_forward + 4.0 * L * d * encoder_keys * (l + m) / l;
    // Per sample: the decoder runs forward on T segments and backward on T-1 (segment 0 has no
    // trainable path); the encoder forward and backward on T-1 (the last memory is read by no
    // one); recomputing runs the T-1 forwards once more.
    const double again = config.recompute ? 1.0 : 0.0;
    TrainingEstimate e;
    e.flops_per_token = (decoder * (T + (T - 1.0) * (1.0 + again)) + encoder * (T - 1.0) * (2.0 + again)) / T;
    const double tokens = static_cast<double>(config.steps * config.accumulation) * T * l;
    const double evaluations =
        2.0 + (config.eval_every > 0 ? static_cast<double>(config.steps / config.eval_every) : 0.0);
    const double eval_tokens = evaluations * static_cast<double>(config.eval_samples) * T * l;
    const double useful_rate = std::max(1.0, flops_per_second * 0.5);
    e.seconds = (tokens * e.flops_per_token + eval_tokens * (2.0 * decoder_forward + encoder_forward)) / useful_rate;

    const double act = element_bytes(dtype), n_adapter = static_cast<double>(adapter_parameters(base, adapter.rank));
    const double weights = static_cast<double>(base.n_params()) * act;
    const double adapter_state = n_adapter * 16.0;  // f32 value, gradient, two moments
    const double graphs = static_cast<double>(config.window) * graph_bytes(base, l + m, l + m, act, config.recompute) +
                          graph_bytes(base, l, (T - 1.0) * m + l, act, config.recompute) +
                          3.0 * l * static_cast<double>(base.n_vocab) * 4.0;  // logits, softmax, their gradient
    e.memory_bytes = static_cast<int64_t>(weights + adapter_state + graphs);
    e.adapter_bytes = static_cast<int64_t>(n_adapter * 4.0);
    e.checkpoint_bytes = static_cast<int64_t>(2.0 * n_adapter * 12.0);  // adapter + moments, old and new
    return e;
}

}  // namespace uio::model
