// uio bench memory / train: how time and memory grow.
//   memory  peak memory and time against the context length, UIO (compress the context, then
//           answer with its memories) or plain full attention (prefill the whole context), in
//           increasing lengths until the mode fails (plain: past the model's positions or out of
//           memory). One mode per process: the peak is the process's high-water mark, which for
//           growing contexts is the peak of the longest one run so far.
//   train   training tokens/s and peak memory against T, segments per sample (one process, T
//           growing, so the high-water mark shows whether memory grows with T)

#include "bench.h"
#include "command.h"
#include "options.h"
#include "uio/model/engine.h"
#include "uio/model/runtime.h"
#include "uio/model/training.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>

namespace uio::cli {

namespace {

// A stream that starts like a document: BOS, then random tokens.
std::vector<int32_t> randomStream(const model::LlamaConfig& c, size_t n, uint32_t seed) {
    std::vector<int32_t> ids = randomTokens(c, n, seed);
    if (!ids.empty())
        ids.front() = c.bos_id;
    return ids;
}

// RAM high-water mark on the CPU; on CUDA the device memory in use, which the caching allocator
// keeps at its peak.
int64_t peakBytes(const std::string& device) {
    const model::MemoryUse use = model::memory_in_use(device);
    return use.gpu_total_bytes > 0 ? use.gpu_used_bytes : use.peak_resident_bytes;
}

}  // namespace

int benchMemory(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Peak memory and time against the context length: UIO memories or full attention."));
    addModelOptions(parser);
    addAdapterOption(parser);
    parser.addOptions({
        {QStringLiteral("mode"), QStringLiteral("uio or plain (default uio)."), QStringLiteral("mode"),
         QStringLiteral("uio")},
        {QStringLiteral("contexts"),
         QStringLiteral("Context lengths in tokens, growing (default 1024,2048,4096,8192,16384,32768,65536,102400)."),
         QStringLiteral("list")},
        {QStringLiteral("new-tokens"), QStringLiteral("Tokens to decode at each length (default 16)."),
         QStringLiteral("n")},
    });
    parse(parser, QStringLiteral("bench memory"), args);
    const QString mode = parser.value(QStringLiteral("mode"));
    if (mode != QLatin1String("uio") && mode != QLatin1String("plain"))
        throw UsageError("--mode is uio or plain");
    const std::vector<int32_t> contexts =
        listValue(parser, QStringLiteral("contexts"), QStringLiteral("1024,2048,4096,8192,16384,32768,65536,102400"));
    const int n_new = intValue(parser, QStringLiteral("new-tokens"), 16);
    auto engine = openEngine(parser);
    const model::LlamaConfig& c = engine->config();
    const std::string device = engine->device();
    if (mode == QLatin1String("uio") && !loadAdapter(*engine, parser))
        engine->create_adapter(model::AdapterConfig{}, 0);
    const int64_t weights_peak = peakBytes(device);

    model::GenerateRequest request;
    request.max_new_tokens = n_new;
    request.ignore_eos = true;
    request.sampling.temperature = 0.0f;
    const std::vector<int32_t> stream = randomStream(c, static_cast<size_t>(contexts.empty() ? 0 : contexts.back()), 7);

    QJsonArray rows;
    std::vector<model::MemoryBlob> memories;  // UIO: compressed so far, grown from one length to the next
    double compress_seconds = 0.0;
    for (const int n : contexts) {
        QJsonObject row{{QStringLiteral("context"), n}};
        try {
            QElapsedTimer timer;
            timer.start();
            model::Generation g;
            if (mode == QLatin1String("plain")) {
                request.prompt.assign(stream.begin(), stream.begin() + n);
                g = engine->generate(request);
                row[QStringLiteral("seconds")] = g.prefill_seconds;
            } else {
                // Full segments into memory (batches of 4), the rest as the tail the question follows.
                const auto l = static_cast<size_t>(engine->adapter_info().config.segment_length);
                const size_t full = static_cast<size_t>(n) / l;
                std::vector<std::vector<int32_t>> batch;
                for (size_t s = memories.size(); s < full; ++s) {
                    batch.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(s * l),
                                       stream.begin() + static_cast<std::ptrdiff_t>((s + 1) * l));
                    if (batch.size() == 4 || s + 1 == full) {
                        for (auto& blob : engine->compress(batch))
                            memories.push_back(std::move(blob));
                        batch.clear();
                    }
                }
                compress_seconds += timer.nsecsElapsed() / 1e9;
                request.prompt.assign(stream.begin() + static_cast<std::ptrdiff_t>(full * l), stream.begin() + n);
                if (request.prompt.empty())
                    request.prompt.push_back(c.bos_id);
                auto chat = engine->open_memory_chat(memories);
                g = chat->generate(request);
                // Time to take in the whole context from nothing: every segment compressed, then the tail.
                row[QStringLiteral("seconds")] = compress_seconds + g.prefill_seconds;
                row[QStringLiteral("memory_segments")] = static_cast<qint64>(memories.size());
            }
            row[QStringLiteral("decode_tokens_per_s")] = static_cast<double>(g.ids.size()) / g.decode_seconds;
            row[QStringLiteral("peak_bytes")] = static_cast<qint64>(peakBytes(device));
            rows.append(row);
        } catch (const std::exception& e) {
            row[QStringLiteral("failed")] = QString::fromUtf8(e.what());
            rows.append(row);
            break;  // longer contexts fail the same way
        }
    }
    QJsonObject result = benchResult(QStringLiteral("memory"), *engine, {});
    result[QStringLiteral("mode")] = mode;
    result[QStringLiteral("weights_peak_bytes")] = static_cast<qint64>(weights_peak);
    result[QStringLiteral("results")] = rows;
    printJson(QJsonDocument(result));
    return 0;
}

int benchTrain(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Training tokens/s and peak memory against T."));
    addModelOptions(parser);
    addAdapterOption(parser);
    parser.addOptions({
        {QStringLiteral("segments"), QStringLiteral("Values of T, growing (default 2,4,8,16)."),
         QStringLiteral("list")},
        {QStringLiteral("window"), QStringLiteral("Live encoder graphs, S (default 2)."), QStringLiteral("S")},
        {QStringLiteral("steps"), QStringLiteral("Timed steps per T, after one warm-up step (default 2)."),
         QStringLiteral("n")},
        {QStringLiteral("recompute"), QStringLiteral("Recompute layers in the backward pass.")},
        {QStringLiteral("segment-length"), QStringLiteral("New adapter: l (default 1024)."), QStringLiteral("l")},
        {QStringLiteral("memory-tokens"), QStringLiteral("New adapter: m (default 32)."), QStringLiteral("m")},
        {QStringLiteral("rank"), QStringLiteral("New adapter: LoRA rank (default 128)."), QStringLiteral("r")},
    });
    parse(parser, QStringLiteral("bench train"), args);
    const std::vector<int32_t> values = listValue(parser, QStringLiteral("segments"), QStringLiteral("2,4,8,16"));
    const int steps = std::max(1, intValue(parser, QStringLiteral("steps"), 2));
    auto engine = openEngine(parser);
    if (!loadAdapter(*engine, parser)) {
        model::AdapterConfig fresh;
        fresh.segment_length = intValue(parser, QStringLiteral("segment-length"), 1024);
        fresh.memory_tokens = intValue(parser, QStringLiteral("memory-tokens"), 32);
        fresh.rank = intValue(parser, QStringLiteral("rank"), 128);
        fresh.alpha = 4.0 * static_cast<double>(fresh.rank);
        engine->create_adapter(fresh, 0);
    }
    const model::AdapterConfig shape = engine->adapter_info().config;
    const std::string device = engine->device();
    const double gemm = model::measure_gemm_gflops(device, engine->dtype(), gemmSizeFor(device), 3);

    QJsonArray rows;
    QTemporaryDir runs;
    for (const int T : values) {
        model::TrainingConfig config;
        config.segments_per_sample = T;
        config.window = intValue(parser, QStringLiteral("window"), 2);
        config.recompute = parser.isSet(QStringLiteral("recompute"));
        config.steps = steps + 1;
        config.eval_every = 0;
        config.eval_samples = 0;
        config.checkpoint_every = 0;
        // Two samples of random tokens (one is held out), the stream as long as they need.
        const auto sample_tokens = static_cast<size_t>(T * shape.segment_length);
        const std::vector<std::vector<int32_t>> streams{randomStream(engine->config(), 2 * sample_tokens, 3)};
        std::vector<double> rates;
        double last_seconds = 0.0;
        engine->train(streams, config, runs.filePath(QStringLiteral("T%1").arg(T)).toStdString(),
                      [&](const model::TrainingEvent& e) {
                          if (e.kind != model::TrainingEvent::Kind::Step)
                              return;
                          // tokens_per_second is cumulative: the time of this step from its change.
                          const double seconds = static_cast<double>(e.step * sample_tokens) / e.tokens_per_second;
                          if (e.step > 1)  // the first step warms up
                              rates.push_back(static_cast<double>(sample_tokens) / (seconds - last_seconds));
                          last_seconds = seconds;
                      });
        const double rate = median(rates);
        const double flops =
            rate * model::estimate_training(engine->config(), engine->dtype(), shape, config, 1.0).flops_per_token;
        rows.append(QJsonObject{{QStringLiteral("segments"), T},
                                {QStringLiteral("tokens_per_s"), rate},
                                {QStringLiteral("gflops"), flops / 1e9},
                                {QStringLiteral("fraction_of_gemm"), flops / 1e9 / gemm},
                                {QStringLiteral("peak_bytes"), static_cast<qint64>(peakBytes(device))}});
    }
    QJsonObject result = benchResult(QStringLiteral("train"), *engine, {});
    result[QStringLiteral("segment_length")] = static_cast<qint64>(shape.segment_length);
    result[QStringLiteral("memory_tokens")] = static_cast<qint64>(shape.memory_tokens);
    result[QStringLiteral("rank")] = static_cast<qint64>(shape.rank);
    result[QStringLiteral("window")] = intValue(parser, QStringLiteral("window"), 2);
    result[QStringLiteral("recompute")] = parser.isSet(QStringLiteral("recompute"));
    result[QStringLiteral("gemm_gflops")] = gemm;
    result[QStringLiteral("results")] = rows;
    printJson(QJsonDocument(result));
    return 0;
}

}  // namespace uio::cli
