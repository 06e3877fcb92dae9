// uio experiment recall: does training the adapters teach the model to carry a fact across
// segments? A tiny random model reads streams whose first segment states a value after a key
// mark and whose last segment asks for it after a query mark; everything else is filler. The
// adapters are trained with incremental TBPTT (the base stays frozen), then the model predicts
// the value at the query on fresh streams, with the memories of the earlier segments and without
// them (the no-memory baseline, at chance).

#include "command.h"
#include "options.h"
#include "uio/model/engine.h"
#include "uio/model/model_maker.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTextStream>

#include <random>

namespace uio::cli {

namespace {

constexpr int kVocabulary = 512;  // the tiny preset
constexpr int32_t kBos = 1, kFiller = 10, kKeyMark = 20, kQueryMark = 21, kFirstValue = 100;

struct RecallStream {
    std::vector<int32_t> ids;
    int32_t value = 0;
    size_t query = 0;  // the position whose next token is the value
};

// T segments of l tokens: BOS and the value after a key mark, three times, in segment 0;
// filler; the value asked after a query mark four times at the end of the last segment (the
// first asking is the one measured: nothing in its own segment gives the value away).
RecallStream recallStream(int64_t T, int64_t l, int values, std::mt19937_64& rng) {
    RecallStream s;
    s.ids.assign(static_cast<size_t>(T * l), kFiller);
    s.ids[0] = kBos;
    s.value = kFirstValue + static_cast<int32_t>(rng() % static_cast<uint64_t>(values));
    const auto at = 1 + static_cast<size_t>(rng() % static_cast<uint64_t>(l - 7));
    for (size_t i = 0; i < 3; ++i) {
        s.ids[at + 2 * i] = kKeyMark;
        s.ids[at + 2 * i + 1] = s.value;
    }
    s.query = s.ids.size() - 8;
    for (size_t i = 0; i < 4; ++i) {
        s.ids[s.query + 2 * i] = kQueryMark;
        s.ids[s.query + 2 * i + 1] = s.value;
    }
    return s;
}

// The most likely of the values at `position` (the base model's preference for other tokens,
// random in a random model, is not what is measured).
int32_t predictedValue(const model::ScoreResult& result, size_t position, int values) {
    for (const auto& [id, logprob] : result.positions.at(position).top) {
        if (id >= kFirstValue && id < kFirstValue + values)
            return id;
    }
    return -1;
}

}  // namespace

int runExperiment(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("uio experiment recall: train the adapters of a tiny model to recall a value stated in the "
                       "first segment when asked in the last; report accuracy with and without memories."));
    parser.addOptions({
        {QStringLiteral("steps"), QStringLiteral("Optimiser steps (default 300)."), QStringLiteral("n")},
        {QStringLiteral("segments"), QStringLiteral("Segments per stream, T (default 3)."), QStringLiteral("n")},
        {QStringLiteral("values"), QStringLiteral("Distinct values to recall (default 16)."), QStringLiteral("n")},
        {QStringLiteral("window"), QStringLiteral("Live encoder graphs, S (default 2)."), QStringLiteral("n")},
        {QStringLiteral("no-compensation"), QStringLiteral("Leave out the max(1, t/S) factor (biased).")},
        {QStringLiteral("lr"), QStringLiteral("Peak learning rate (default 0.003)."), QStringLiteral("x")},
        {QStringLiteral("streams"), QStringLiteral("Training streams (default 512)."), QStringLiteral("n")},
        {QStringLiteral("seed"), QStringLiteral("Seed of data, model and draws (default 0)."), QStringLiteral("n")},
        {QStringLiteral("json"), QStringLiteral("Progress and result as JSON lines.")},
    });
    if (args.value(0) == QLatin1String("stories"))
        return experimentStories(args.mid(1));
    if (args.value(0) != QLatin1String("recall") && args.value(0) != QLatin1String("--help"))
        throw UsageError("the experiments are 'recall' and 'stories': uio experiment recall|stories [options]");
    parse(parser, QStringLiteral("experiment recall"), args.mid(args.value(0) == QLatin1String("recall") ? 1 : 0));
    const int64_t T = intValue(parser, QStringLiteral("segments"), 3);
    const int values = intValue(parser, QStringLiteral("values"), 16);
    const int n_streams = intValue(parser, QStringLiteral("streams"), 512);
    const auto seed = static_cast<uint64_t>(intValue(parser, QStringLiteral("seed"), 0));
    const bool json = parser.isSet(QStringLiteral("json"));
    if (T < 2 || values < 2 || values > 300 || n_streams < 4)
        throw UsageError("need --segments >= 2, 2 <= --values <= 300, --streams >= 4");
    const model::AdapterConfig adapter{16, 4, 32, 64.0};  // l = 16, 4x

    QTemporaryDir dir;
    const std::string model_dir = dir.filePath(QStringLiteral("tiny")).toStdString();
    // The output gain gives the random base a trained model's logit range (see MakeModelOptions).
    model::MakeModelOptions tiny;
    tiny.seed = seed;
    tiny.output_gain = 10.0;
    model::make_model(model_dir, tiny);
    auto engine = model::Engine::load(model_dir);
    engine->create_adapter(adapter, seed);

    std::mt19937_64 rng(seed);
    std::vector<std::vector<int32_t>> streams;
    for (int i = 0; i < n_streams; ++i)
        streams.push_back(recallStream(T, adapter.segment_length, values, rng).ids);
    model::TrainingConfig config;
    config.segments_per_sample = T;
    config.window = intValue(parser, QStringLiteral("window"), 2);
    config.compensate = !parser.isSet(QStringLiteral("no-compensation"));
    config.steps = intValue(parser, QStringLiteral("steps"), 300);
    config.accumulation = 4;
    config.learning_rate = doubleValue(parser, QStringLiteral("lr"), 3e-3);
    config.warmup = 0.05;
    config.eval_share = 0.05;
    config.eval_every = std::max<int64_t>(1, config.steps / 5);
    config.checkpoint_every = 0;
    config.seed = seed;

    QTextStream out(stdout), err(stderr);
    QElapsedTimer timer;
    timer.start();
    engine->train(
        streams, config, dir.filePath(QStringLiteral("run")).toStdString(), [&](const model::TrainingEvent& e) {
            if (e.kind == model::TrainingEvent::Kind::Evaluation) {
                if (json) {
                    printJson(QJsonDocument(QJsonObject{{QStringLiteral("step"), static_cast<qint64>(e.step)},
                                                        {QStringLiteral("ppl_memory"), e.perplexity_with_memory},
                                                        {QStringLiteral("ppl_plain"), e.perplexity_without_memory}}));
                } else {
                    err << "step " << e.step << "/" << e.steps << ": perplexity " << e.perplexity_with_memory
                        << " with memory, " << e.perplexity_without_memory << " without\n"
                        << Qt::flush;
                }
            }
        });
    const double trainSeconds = timer.elapsed() / 1000.0;

    // Fresh streams: the value predicted at the query mark, with the memories and without.
    const int n_test = 200;
    int withMemory = 0, withoutMemory = 0;
    for (int i = 0; i < n_test; ++i) {
        const RecallStream s = recallStream(T, adapter.segment_length, values, rng);
        withMemory += predictedValue(engine->score_with_memory(s.ids, kVocabulary), s.query, values) == s.value;
        const std::vector<int32_t> last(s.ids.end() - adapter.segment_length, s.ids.end());
        withoutMemory += predictedValue(engine->score(last, kVocabulary), last.size() - 2, values) == s.value;
    }
    const QJsonObject result{
        {QStringLiteral("experiment"), QStringLiteral("recall")},
        {QStringLiteral("segments"), static_cast<qint64>(T)},
        {QStringLiteral("segment_length"), static_cast<qint64>(adapter.segment_length)},
        {QStringLiteral("memory_tokens"), static_cast<qint64>(adapter.memory_tokens)},
        {QStringLiteral("values"), values},
        {QStringLiteral("window"), static_cast<qint64>(config.window)},
        {QStringLiteral("compensation"), config.compensate},
        {QStringLiteral("steps"), static_cast<qint64>(config.steps)},
        {QStringLiteral("seed"), static_cast<qint64>(seed)},
        {QStringLiteral("train_seconds"), trainSeconds},
        {QStringLiteral("accuracy_with_memory"), double(withMemory) / n_test},
        {QStringLiteral("accuracy_without_memory"), double(withoutMemory) / n_test},
        {QStringLiteral("chance"), 1.0 / values},
    };
    printJson(QJsonDocument(result));
    return 0;
}

}  // namespace uio::cli
