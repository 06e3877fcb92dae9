#include "tbptt.h"

#include "decoder.h"
#include "encoder.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <memory>

namespace uio::model {

at::Tensor segment_loss(const at::Tensor& logits, const at::Tensor& segments, int64_t t, int64_t* n_predicted) {
    const int64_t T = segments.size(0), l = segments.size(1);
    auto labels = segments[t].narrow(0, 1, l - 1);  // (l - 1)
    auto rows = logits[0];                          // (l, V)
    if (t + 1 < T) {
        labels = at::cat({labels, segments[t + 1].narrow(0, 0, 1)});
    } else {
        rows = rows.narrow(0, 0, l - 1);  // the stream's last token predicts nothing
    }
    *n_predicted = labels.size(0);
    return at::cross_entropy_loss(rows, labels, {}, at::Reduction::Sum);
}

SampleStats language_modelling_gradients(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& segments,
                                         const TbpttOptions& options, std::mt19937_64& rng, double loss_denominator,
                                         double loss_scale) {
    const int64_t T = segments.size(0);
    SampleStats stats;
    SegmentWindow window(options.window, options.policy);
    // Per earlier segment: its memory, as a leaf collecting gradient while its encoder graph
    // (graph[s]) is alive, as a plain tensor after. The hook scales what J_t adds by `factor`.
    std::vector<at::Tensor> leaf(static_cast<size_t>(T)), graph(static_cast<size_t>(T));
    auto factor = std::make_shared<double>(1.0);

    auto evict = [&](int64_t e) {
        auto& m = graph[static_cast<size_t>(e)];
        auto& x = leaf[static_cast<size_t>(e)];
        const auto upstream = x.grad().defined() ? x.grad() : at::zeros_like(m);
        torch::autograd::backward({m}, {upstream});  // step 4: one encoder backward, graph freed
        ++stats.encoder_backwards;
        m = at::Tensor();
        x = x.detach();  // collects nothing more
    };

    for (int64_t t = 0; t < T; ++t) {
        // Step 1: decoder on segment t with the earlier memories; J_t's backward fills the
        // transfer head's and e_rep's gradients and, through the hooks, the live leaves'.
        const std::vector<at::Tensor> memories(leaf.begin(), leaf.begin() + t);
        int64_t n = 0;
        if (t == 0) {
            torch::NoGradGuard no_grad;  // no memory, hence no trainable path (§6)
            stats.loss_sum +=
                segment_loss(decode_with_memories(model, adapter, {}, segments.narrow(0, 0, 1)), segments, 0, &n)
                    .item<double>();
        } else {
            const auto logits =
                decode_with_memories(model, adapter, memories, segments.narrow(0, t, 1), false, options.recompute);
            const auto J = segment_loss(logits, segments, t, &n);
            stats.loss_sum += J.item<double>();
            *factor = options.compensate ? std::max(1.0, static_cast<double>(t) / options.window) : 1.0;
            (J * (loss_scale / loss_denominator)).backward();
        }
        stats.n_predicted += n;
        if (t == T - 1) {
            break;  // the last memory would be read by no one
        }
        // Step 2: encoder on segment t, its graph kept; the decoder reads a leaf copy.
        graph[static_cast<size_t>(t)] =
            encode_segments(model, adapter, segments.narrow(0, t, 1), nullptr, options.recompute)[0];  // (L, m, C)
        auto& x = leaf[static_cast<size_t>(t)];
        x = graph[static_cast<size_t>(t)].detach().requires_grad_(true);
        x.register_hook([factor](const at::Tensor& grad) { return grad * *factor; });
        // Step 3: the window decides which graph goes; step 4 evicts it.
        if (const auto evicted = window.add(t, rng)) {
            evict(*evicted);
        }
        stats.max_live_graphs = std::max<int64_t>(stats.max_live_graphs, static_cast<int64_t>(window.alive().size()));
    }
    // Step 5: the rest of the reservoir.
    for (const int64_t s : window.alive()) {
        if (graph[static_cast<size_t>(s)].defined()) {
            evict(s);
        }
    }
    return stats;
}

SampleStats copy_task_gradients(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& segment, double loss_scale,
                                bool recompute) {
    const int64_t l = segment.size(0);
    const auto memory = encode_segments(model, adapter, segment.view({1, l}), nullptr, recompute)[0];  // (L, m, C)
    const auto logits =
        decode_with_memories(model, adapter, {memory}, segment.view({1, l}), true, recompute);  // (1, l+1, V)
    // e_rep predicts x_0, x_i predicts x_{i+1}; the last row has nothing to predict.
    const auto loss = at::cross_entropy_loss(logits[0].narrow(0, 0, l), segment, {}, at::Reduction::Sum);
    (loss * (loss_scale / static_cast<double>(l))).backward();
    SampleStats stats;
    stats.loss_sum = loss.item<double>();
    stats.n_predicted = l;
    stats.encoder_backwards = 1;
    stats.max_live_graphs = 1;
    return stats;
}

StreamLoss evaluate_stream(LlamaImpl& model, AdapterImpl& adapter, const at::Tensor& segments) {
    torch::NoGradGuard no_grad;
    const int64_t T = segments.size(0);
    StreamLoss result;
    std::vector<at::Tensor> memories;
    for (int64_t t = 0; t < T; ++t) {
        int64_t n = 0;
        const auto tokens = segments.narrow(0, t, 1);
        result.with_memory +=
            segment_loss(decode_with_memories(model, adapter, memories, tokens), segments, t, &n).item<double>();
        result.without_memory +=
            segment_loss(decode_with_memories(model, adapter, {}, tokens), segments, t, &n).item<double>();
        result.n_predicted += n;
        if (t + 1 < T) {
            memories.push_back(encode_segments(model, adapter, tokens)[0]);
        }
    }
    return result;
}

}  // namespace uio::model
