// Training the UIO adapters (uio-method.md §6, §8) on a tiny model in f64: incremental TBPTT
// with a window as large as the stream equals full backpropagation; with the last-S window it
// equals naive windowed TBPTT while running T-1 encoder backwards whatever S is; the reservoir
// keeps segment s alive with probability min(1, S/t); the compensated estimator's mean converges
// to the exact gradient and the uncompensated one does not; recomputing layers in the backward
// pass changes nothing; a bf16 base trains f32 adapters; a stopped run resumes exactly.

#include "adapter.h"
#include "decoder.h"
#include "encoder.h"
#include "llama.h"
#include "reservoir.h"
#include "tbptt.h"
#include "uio/model/engine.h"
#include "uio/model/model_maker.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <QTemporaryDir>
#include <QTest>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

using namespace uio::model;

namespace {

constexpr int64_t kL = 8, kM = 2;  // segment length and memory tokens: c = 4

using Gradients = std::map<std::string, at::Tensor>;

// Whether the autograd graph behind `output` holds a node whose name contains `part`.
bool graph_holds(const at::Tensor& output, const std::string& part) {
    std::vector<torch::autograd::Node*> pending{output.grad_fn().get()};
    std::set<torch::autograd::Node*> seen;
    while (!pending.empty()) {
        torch::autograd::Node* node = pending.back();
        pending.pop_back();
        if (!node || !seen.insert(node).second)
            continue;
        if (node->name().find(part) != std::string::npos)
            return true;
        for (const auto& edge : node->next_edges())
            pending.push_back(edge.function.get());
    }
    return false;
}

Gradients gradients_of(AdapterImpl& adapter) {
    Gradients g;
    for (auto& item : adapter.named_parameters()) {
        g[item.key()] = item.value().grad().defined() ? item.value().grad().clone() : at::zeros_like(item.value());
    }
    return g;
}

void zero_gradients(AdapterImpl& adapter) {
    for (auto& p : adapter.parameters()) {
        if (p.grad().defined())
            p.mutable_grad().zero_();
    }
}

double norm(const Gradients& g) {
    double total = 0.0;
    for (const auto& [name, t] : g)
        total += t.pow(2).sum().item<double>();
    return std::sqrt(total);
}

// ||a - b|| / ||b|| over all parameters.
double relative_error(const Gradients& a, const Gradients& b) {
    double diff = 0.0;
    for (const auto& [name, t] : b)
        diff += (a.at(name) - t).pow(2).sum().item<double>();
    return std::sqrt(diff) / norm(b);
}

Gradients mean_of(const std::vector<Gradients>& runs, size_t n) {
    Gradients mean;
    for (size_t i = 0; i < n; ++i) {
        for (const auto& [name, t] : runs[i])
            mean[name] = mean.count(name) ? mean[name] + t : t.clone();
    }
    for (auto& [name, t] : mean)
        t /= static_cast<double>(n);
    return mean;
}

}  // namespace

class TestTraining : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void windowAsLongAsTheStreamIsFullBackprop();
    void incrementalEqualsNaiveWindowedTbptt();
    void reservoirKeepsSegmentsWithProbabilitySOverT();
    void compensatedEstimatorIsUnbiased();
    void copyTaskReachesTheEncoder();
    void recomputingLayersGivesTheSameGradients();
    void bf16BaseTrainsF32Adapters();
    void estimateFollowsTheShapes();
    void stoppedRunResumesExactly();
    void keepBestReturnsToTheBestEvaluation();

private:
    // The exact gradient of the token-mean loss: one backward of the summed loss, nothing detached.
    Gradients fullBackprop(const at::Tensor& segments);
    Gradients incremental(const at::Tensor& segments, const TbpttOptions& options, uint64_t seed,
                          SampleStats* stats = nullptr);

    QTemporaryDir m_dir;
    Llama m_model{nullptr};
    Adapter m_adapter{nullptr};
    at::Tensor m_segments;  // (T, l)
};

void TestTraining::initTestCase() {
    QVERIFY(m_dir.isValid());
    const std::string dir = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    make_model(dir, MakeModelOptions{"tiny", 11, DType::F32, 0});
    m_model = load_llama(dir, at::kCPU, at::kDouble);
    m_adapter = make_adapter(*m_model, AdapterConfig{kL, kM, 4, 8.0}, 3);
    m_adapter->to(at::kDouble);
    // B = 0 at creation would leave A without gradient: start from a trained-looking adapter.
    auto gen = at::detail::createCPUGenerator(5);
    torch::NoGradGuard no_grad;
    for (auto& item : m_adapter->named_parameters()) {
        item.value().add_(at::randn(item.value().sizes(), gen, at::kDouble) * 0.05);
    }
    m_segments = at::randint(3, 512, {6, kL}, at::detail::createCPUGenerator(9), at::kLong);
}

Gradients TestTraining::fullBackprop(const at::Tensor& segments) {
    zero_gradients(*m_adapter);
    const int64_t T = segments.size(0);
    std::vector<at::Tensor> memories;
    at::Tensor total = at::zeros({}, at::kDouble);
    for (int64_t t = 0; t < T; ++t) {
        int64_t n = 0;
        total = total + segment_loss(decode_with_memories(*m_model, *m_adapter, memories, segments.narrow(0, t, 1)),
                                     segments, t, &n);
        memories.push_back(encode_segments(*m_model, *m_adapter, segments.narrow(0, t, 1))[0]);
    }
    (total / static_cast<double>(T * kL - 1)).backward();
    return gradients_of(*m_adapter);
}

Gradients TestTraining::incremental(const at::Tensor& segments, const TbpttOptions& options, uint64_t seed,
                                    SampleStats* stats) {
    zero_gradients(*m_adapter);
    std::mt19937_64 rng(seed);
    const SampleStats s = language_modelling_gradients(*m_model, *m_adapter, segments, options, rng,
                                                       static_cast<double>(segments.numel() - 1));
    if (stats)
        *stats = s;
    return gradients_of(*m_adapter);
}

void TestTraining::windowAsLongAsTheStreamIsFullBackprop() {
    const Gradients exact = fullBackprop(m_segments);
    QVERIFY(norm(exact) > 0.0);
    // Every adapter tensor takes part, except the copy task's e_rep and the last layer's encoder
    // LoRA (the encoder stops at that layer's input, §3).
    for (auto& [name, g] : exact) {
        const bool unused = name == "e_rep" || name.starts_with("layers.1.encoder.");
        QVERIFY2((g.abs().max().item<double>() > 0.0) == !unused, name.c_str());
    }
    SampleStats stats;
    const Gradients tbptt = incremental(m_segments, {6, true, WindowPolicy::Reservoir}, 1, &stats);
    const double error = relative_error(tbptt, exact);
    qInfo("S = T = 6: relative error to full backpropagation %.3g", error);
    QVERIFY2(error < 1e-9, qPrintable(QString::number(error)));
    QCOMPARE(stats.encoder_backwards, int64_t(5));
    QCOMPARE(stats.n_predicted, int64_t(6 * kL - 1));
}

void TestTraining::incrementalEqualsNaiveWindowedTbptt() {
    const int64_t T = m_segments.size(0);
    for (const int64_t S : {1, 2, 3}) {
        // Naive: each J_t backpropagates through fresh encoder graphs of the last S segments.
        zero_gradients(*m_adapter);
        int64_t naive_backward_graphs = 0;
        for (int64_t t = 1; t < T; ++t) {
            std::vector<at::Tensor> memories;
            for (int64_t s = 0; s < t; ++s) {
                auto memory = encode_segments(*m_model, *m_adapter, m_segments.narrow(0, s, 1))[0];
                memories.push_back(s >= t - S ? memory : memory.detach());
                naive_backward_graphs += s >= t - S;
            }
            int64_t n = 0;
            const auto J = segment_loss(
                decode_with_memories(*m_model, *m_adapter, memories, m_segments.narrow(0, t, 1)), m_segments, t, &n);
            (J / static_cast<double>(T * kL - 1)).backward();
        }
        const Gradients naive = gradients_of(*m_adapter);

        SampleStats stats;
        const Gradients tbptt = incremental(m_segments, {S, false, WindowPolicy::Recent}, 1, &stats);
        const double error = relative_error(tbptt, naive);
        qInfo("S = %lld: incremental vs naive windowed TBPTT %.3g; encoder backwards %lld vs %lld",
              static_cast<long long>(S), error, static_cast<long long>(stats.encoder_backwards),
              static_cast<long long>(naive_backward_graphs));
        QVERIFY2(error < 1e-9, qPrintable(QString::number(error)));
        QCOMPARE(stats.encoder_backwards, T - 1);  // flat in S
        QVERIFY(stats.max_live_graphs <= S);
    }
}

void TestTraining::reservoirKeepsSegmentsWithProbabilitySOverT() {
    constexpr int64_t S = 2, T = 10, N = 20000;
    std::vector<std::vector<int64_t>> alive(T, std::vector<int64_t>(T, 0));  // [t][s]: s alive when J_t runs
    for (int64_t seed = 0; seed < N; ++seed) {
        std::mt19937_64 rng(static_cast<uint64_t>(seed));
        SegmentWindow window(S, WindowPolicy::Reservoir);
        for (int64_t t = 0; t < T; ++t) {
            for (const int64_t s : window.alive())
                ++alive[static_cast<size_t>(t)][static_cast<size_t>(s)];
            window.add(t, rng);
            QVERIFY(static_cast<int64_t>(window.alive().size()) <= S);
        }
    }
    double worst = 0.0;
    for (int64_t t = 1; t < T; ++t) {
        const double p = std::min(1.0, static_cast<double>(S) / static_cast<double>(t));
        for (int64_t s = 0; s < t; ++s) {
            const double seen = static_cast<double>(alive[static_cast<size_t>(t)][static_cast<size_t>(s)]) / N;
            const double sigma = std::sqrt(p * (1.0 - p) / N);
            QVERIFY2(std::abs(seen - p) <= 5.0 * sigma + 1e-12,
                     qPrintable(QStringLiteral("t=%1 s=%2: %3 vs %4").arg(t).arg(s).arg(seen).arg(p)));
            worst = std::max(worst, std::abs(seen - p));
        }
    }
    qInfo("reservoir, S = 2, %lld seeds: largest |P(alive) - min(1, S/t)| = %.4f", static_cast<long long>(N), worst);
}

void TestTraining::compensatedEstimatorIsUnbiased() {
    const Gradients exact = fullBackprop(m_segments);
    std::vector<Gradients> compensated, plain;
    constexpr size_t N = 256;
    for (size_t seed = 0; seed < N; ++seed) {
        compensated.push_back(incremental(m_segments, {1, true, WindowPolicy::Reservoir}, seed));
        plain.push_back(incremental(m_segments, {1, false, WindowPolicy::Reservoir}, seed));
    }
    std::map<size_t, std::pair<double, double>> errors;
    for (const size_t n : {4, 16, 64, 256}) {
        errors[n] = {relative_error(mean_of(compensated, n), exact), relative_error(mean_of(plain, n), exact)};
        qInfo("S = 1, T = 6, mean of %3zu seeds: compensated error %.4f, uncompensated %.4f", n, errors[n].first,
              errors[n].second);
    }
    // 1/sqrt(N): 64x the seeds should cut the error about 8x; ask for 3x.
    QVERIFY(errors[256].first < errors[4].first / 3.0);
    QVERIFY(errors[256].first < 0.05);
    // The uncompensated mean settles at its bias instead.
    QVERIFY(errors[256].second > 0.1);
    QVERIFY(errors[256].second > 0.5 * errors[16].second);
    QVERIFY(errors[256].second > 3.0 * errors[256].first);
}

void TestTraining::copyTaskReachesTheEncoder() {
    zero_gradients(*m_adapter);
    const SampleStats stats = copy_task_gradients(*m_model, *m_adapter, m_segments[0]);
    QCOMPARE(stats.n_predicted, kL);
    const Gradients g = gradients_of(*m_adapter);
    for (const char* name : {"e_rep", "e_mem", "layers.0.encoder.q.A", "layers.1.transfer.v.B"}) {
        QVERIFY2(g.at(name).abs().max().item<double>() > 0.0, name);
    }
    // The loss is the reconstruction's cross-entropy: compare with a direct computation.
    torch::NoGradGuard no_grad;
    const auto memory = encode_segments(*m_model, *m_adapter, m_segments.narrow(0, 0, 1))[0];
    const auto logits = decode_with_memories(*m_model, *m_adapter, {memory}, m_segments.narrow(0, 0, 1), true);
    const double expected =
        at::cross_entropy_loss(logits[0].narrow(0, 0, kL), m_segments[0], {}, at::Reduction::Sum).item<double>();
    QVERIFY(std::abs(stats.loss_sum - expected) < 1e-9 * expected);
}

void TestTraining::recomputingLayersGivesTheSameGradients() {
    // Gradient checkpointing rebuilds each layer's graph in the backward pass: the same
    // gradients, including what the compensation hooks on the memory leaves scale.
    {
        const auto memory = encode_segments(*m_model, *m_adapter, m_segments.narrow(0, 0, 1), nullptr, true)[0];
        QVERIFY(graph_holds(memory, "Recompute"));
        const auto leaf = memory.detach().requires_grad_(true);
        const auto tokens = m_segments.narrow(0, 1, 1);
        QVERIFY(graph_holds(decode_with_memories(*m_model, *m_adapter, {leaf}, tokens, false, true), "Recompute"));
        QVERIFY(!graph_holds(decode_with_memories(*m_model, *m_adapter, {leaf}, tokens), "Recompute"));
    }
    for (const bool copy : {false, true}) {
        Gradients kept, rebuilt;
        for (const bool recompute : {false, true}) {
            zero_gradients(*m_adapter);
            std::mt19937_64 rng(7);
            if (copy) {
                copy_task_gradients(*m_model, *m_adapter, m_segments[1], 1.0, recompute);
            } else {
                const TbpttOptions options{2, true, WindowPolicy::Reservoir, recompute};
                language_modelling_gradients(*m_model, *m_adapter, m_segments, options, rng,
                                             static_cast<double>(m_segments.numel() - 1));
            }
            (recompute ? rebuilt : kept) = gradients_of(*m_adapter);
        }
        QVERIFY(norm(kept) > 0.0);
        const double error = relative_error(rebuilt, kept);
        qInfo("%s: recomputed layers vs kept graphs, relative error %.3g", copy ? "copy task" : "S = 2, T = 6", error);
        QVERIFY2(error < 1e-12, qPrintable(QString::number(error)));
    }
}

void TestTraining::bf16BaseTrainsF32Adapters() {
    // §6: the base in bf16, the adapters and their gradients in f32, close to the f64 gradient.
    const Gradients exact = fullBackprop(m_segments);
    Llama base = load_llama(m_dir.filePath(QStringLiteral("tiny")).toStdString(), at::kCPU, at::kBFloat16);
    Adapter adapter = make_adapter(*base, AdapterConfig{kL, kM, 4, 8.0}, 3);
    {
        torch::NoGradGuard no_grad;
        const auto source = m_adapter->named_parameters();
        for (auto& item : adapter->named_parameters()) {
            item.value().copy_(source[item.key()]);
        }
    }
    for (auto& p : adapter->parameters()) {
        p.requires_grad_(true);
    }
    std::mt19937_64 rng(1);
    language_modelling_gradients(*base, *adapter, m_segments, {6, true, WindowPolicy::Reservoir}, rng,
                                 static_cast<double>(m_segments.numel() - 1));
    Gradients bf16;
    for (auto& item : adapter->named_parameters()) {
        QCOMPARE(item.value().scalar_type(), at::kFloat);
        const auto& g = item.value().grad();
        QVERIFY2(!g.defined() || g.scalar_type() == at::kFloat, item.key().c_str());
        bf16[item.key()] = g.defined() ? g.to(at::kDouble) : at::zeros_like(exact.at(item.key()));
    }
    const double error = relative_error(bf16, exact);
    qInfo("bf16 base, f32 adapters: relative error to the f64 gradient %.3g", error);
    QVERIFY2(error < 0.05, qPrintable(QString::number(error)));
}

void TestTraining::estimateFollowsTheShapes() {
    // The wizard's estimate: time linear in the steps, memory flat in T (S graphs + one), less
    // with recomputation, and the 7B weights in bf16 counted at 2 bytes each.
    const LlamaConfig base = preset_config("llama2-7b-shape");
    const AdapterConfig adapter{1024, 32, 128, 512.0};
    TrainingConfig config;
    config.eval_every = 0;
    config.eval_samples = 0;  // the evaluations at the start and the end are a fixed cost
    const double rate = 400e12;
    config.steps = 100;
    const TrainingEstimate short_run = estimate_training(base, DType::BF16, adapter, config, rate);
    config.steps = 200;
    const TrainingEstimate long_run = estimate_training(base, DType::BF16, adapter, config, rate);
    QVERIFY(std::abs(long_run.seconds / short_run.seconds - 2.0) < 0.05);
    config.segments_per_sample = 16;
    const TrainingEstimate longer_samples = estimate_training(base, DType::BF16, adapter, config, rate);
    QVERIFY(longer_samples.memory_bytes < 1.05 * static_cast<double>(long_run.memory_bytes));  // flat in T
    config.recompute = true;
    const TrainingEstimate recomputed = estimate_training(base, DType::BF16, adapter, config, rate);
    QVERIFY(recomputed.memory_bytes < longer_samples.memory_bytes);
    QVERIFY(recomputed.seconds > longer_samples.seconds);
    QVERIFY(static_cast<double>(recomputed.memory_bytes) > 2.0 * static_cast<double>(base.n_params()));
    // About 2 % of 7B train (§1): the adapter file in f32.
    const double share = static_cast<double>(long_run.adapter_bytes) / 4.0 / static_cast<double>(base.n_params());
    qInfo(
        "7b shape, T = 16: %.1f GB kept graphs, %.1f GB recomputed; adapter %.2f %% of the weights; %.0f tokens/s "
        "at 400 TFLOP/s",
        static_cast<double>(longer_samples.memory_bytes) / 1e9, static_cast<double>(recomputed.memory_bytes) / 1e9,
        100.0 * share, 16.0 * 1024.0 * 200.0 / longer_samples.seconds);
    QVERIFY(share > 0.01 && share < 0.03);
}

void TestTraining::stoppedRunResumesExactly() {
    const std::string dir = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    std::vector<std::vector<int32_t>> streams;
    for (int d = 0; d < 3; ++d) {
        const auto ids = at::randint(3, 512, {200}, at::detail::createCPUGenerator(20 + d), at::kInt);
        streams.emplace_back(ids.data_ptr<int32_t>(), ids.data_ptr<int32_t>() + 200);
    }
    TrainingConfig config;
    config.segments_per_sample = 3;
    config.steps = 6;
    config.accumulation = 2;
    config.learning_rate = 1e-2;
    config.eval_every = 0;
    config.checkpoint_every = 0;
    config.seed = 4;
    auto losses_of = [&](const std::string& run, std::atomic<bool>* stop, int64_t stop_after) {
        auto engine = Engine::load(dir);
        engine->create_adapter({kL, kM, 4, 8.0}, 3);
        std::vector<double> losses;
        const TrainingSummary summary = engine->train(
            streams, config, run,
            [&](const TrainingEvent& e) {
                if (e.kind != TrainingEvent::Kind::Step)
                    return;
                losses.push_back(e.loss);
                if (stop && e.step == stop_after)
                    *stop = true;
            },
            stop);
        return std::make_pair(losses, summary);
    };
    const auto [straight, done] = losses_of(m_dir.filePath(QStringLiteral("straight")).toStdString(), nullptr, 0);
    QCOMPARE(straight.size(), size_t(6));
    QVERIFY(done.finished);
    QVERIFY(done.first_evaluation && done.last_evaluation);

    const std::string run = m_dir.filePath(QStringLiteral("stopped")).toStdString();
    std::atomic<bool> stop{false};
    const auto [first, stopped] = losses_of(run, &stop, 3);
    QVERIFY(!stopped.finished);
    QCOMPARE(stopped.steps_done, int64_t(3));
    QVERIFY(saved_training_config(run).has_value());
    const auto [rest, resumed] = losses_of(run, nullptr, 0);  // a fresh adapter: replaced by the checkpoint's
    QVERIFY(resumed.finished);
    std::vector<double> joined = first;
    joined.insert(joined.end(), rest.begin(), rest.end());
    QCOMPARE(joined.size(), straight.size());
    for (size_t i = 0; i < straight.size(); ++i) {
        QCOMPARE(joined[i], straight[i]);  // bit for bit
    }
}

void TestTraining::keepBestReturnsToTheBestEvaluation() {
    // A learning rate far too high: held-out perplexity wanders, and the run must end on the
    // adapter of its best evaluation, not its last step.
    const std::string dir = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    std::vector<std::vector<int32_t>> streams;
    for (int d = 0; d < 8; ++d) {
        const auto ids = at::randint(3, 512, {200}, at::detail::createCPUGenerator(40 + d), at::kInt);
        streams.emplace_back(ids.data_ptr<int32_t>(), ids.data_ptr<int32_t>() + 200);
    }
    TrainingConfig config;
    config.segments_per_sample = 3;
    config.steps = 12;
    config.learning_rate = 0.5;
    config.warmup = 0.0;
    config.eval_share = 0.25;
    config.eval_every = 1;
    config.checkpoint_every = 0;
    config.keep_best = true;
    auto engine = Engine::load(dir);
    engine->create_adapter({kL, kM, 4, 8.0}, 3);
    std::vector<std::pair<int64_t, double>> evaluations;
    const TrainingSummary summary = engine->train(streams, config, m_dir.filePath(QStringLiteral("best")).toStdString(),
                                                  [&](const TrainingEvent& e) {
                                                      if (e.kind == TrainingEvent::Kind::Evaluation)
                                                          evaluations.emplace_back(e.step, e.perplexity_with_memory);
                                                  });
    QVERIFY(summary.finished);
    // Evaluations at steps 0..12, and one more after going back.
    QCOMPARE(evaluations.size(), size_t(14));
    double best = std::numeric_limits<double>::infinity();
    int64_t best_step = 0;
    for (size_t i = 1; i + 1 < evaluations.size(); ++i) {
        if (evaluations[i].second < best) {
            best = evaluations[i].second;
            best_step = evaluations[i].first;
        }
    }
    qInfo("best perplexity %.4f at step %lld, last step's %.4f, final %.4f", best, static_cast<long long>(best_step),
          evaluations[evaluations.size() - 2].second, evaluations.back().second);
    QVERIFY2(best < evaluations[evaluations.size() - 2].second, "the last step was the best: nothing to go back to");
    QVERIFY(std::abs(evaluations.back().second - best) < 1e-9 * best);
    QCOMPARE(summary.last_evaluation->perplexity_with_memory, evaluations.back().second);
    QCOMPARE(engine->adapter_info().origin.steps, best_step);
}

QTEST_MAIN(TestTraining)
#include "test_training.moc"
