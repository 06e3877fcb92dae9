// uio experiment stories: what UIO memory buys a real model on real text. A corpus of stories
// sampled from the model itself (or a text given), split into training and held-out streams of
// T segments; adapters trained with the project's trainer, one per seed; every held-out segment
// after the first scored three ways: alone, with the memories of the segments before it, and with
// those segments in full in the context. The same tokens are scored each way (a segment's first
// token, which alone has no context, is left out). Also a recall probe: the probability of a name
// where it comes back in a later segment than the one that introduced it.

#include "command.h"
#include "options.h"
#include "uio/model/engine.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QSaveFile>
#include <QTemporaryDir>
#include <QTextStream>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

namespace uio::cli {

namespace {

struct Scores {
    std::vector<double> alone, memory, full;                    // per stream: summed log-probabilities
    std::vector<double> probe_alone, probe_memory, probe_full;  // per reappearing name
    int64_t tokens_per_stream = 0;
};

// Where a name comes back: a token that starts a capitalised word (not a common sentence opener),
// seen in an earlier segment, at a position a segment alone could predict. Tokenizers differ in
// where they put the space ("▁Lily", or "Lily▁and▁" after a lone "▁"), so a word starts after a
// space on either side of the boundary.
std::vector<size_t> nameReturns(const model::Tokenizer& tokenizer, const std::vector<int32_t>& ids, int64_t l) {
    static const std::set<std::string> kCommon{"The",  "One", "She", "He",  "They", "It",    "But",  "When",
                                               "Then", "So",  "A",   "I",   "We",   "You",   "This", "That",
                                               "Once", "In",  "At",  "His", "Her",  "After", "And"};
    std::map<int32_t, int64_t> first_segment;
    std::vector<size_t> returns;
    std::string previous;
    for (size_t i = 1; i < ids.size(); ++i) {
        std::string piece = tokenizer.token_bytes(ids[i], false);
        const bool word_start = (!piece.empty() && piece.front() == ' ') ||
                                (!previous.empty() && (previous.back() == ' ' || previous.back() == '\n'));
        previous = piece;
        piece.erase(0, piece.find_first_not_of(' '));
        const std::string word = piece.substr(0, piece.find_first_of(" .,!?;:\"'\n"));
        if (!word_start || word.size() < 2 || !std::isupper(static_cast<unsigned char>(word[0])) || kCommon.count(word))
            continue;
        const int64_t segment = static_cast<int64_t>(i) / l;
        const auto [seen, fresh] = first_segment.emplace(ids[i], segment);
        if (!fresh && seen->second < segment && static_cast<int64_t>(i) % l != 0)
            returns.push_back(i);
    }
    return returns;
}

Scores score(model::Engine& engine, const std::vector<std::vector<int32_t>>& streams, int64_t l, bool baselines,
             const Scores* previous) {
    Scores s;
    for (const auto& ids : streams) {
        const auto T = static_cast<int64_t>(ids.size()) / l;
        const model::ScoreResult memory = engine.score_with_memory(ids);
        model::ScoreResult full;
        if (baselines)
            full = engine.score(ids);
        double a = 0, m = 0, f = 0;
        std::vector<double> alone_at(ids.size(), 0.0);
        for (int64_t t = 1; t < T; ++t) {
            // Tokens t*l + 1 .. (t+1)*l - 1, predicted from positions t*l .. (t+1)*l - 2.
            if (baselines) {
                const std::vector<int32_t> segment(ids.begin() + t * l, ids.begin() + (t + 1) * l);
                const model::ScoreResult alone = engine.score(segment);
                for (int64_t j = 0; j + 1 < l; ++j) {
                    alone_at[static_cast<size_t>(t * l + j + 1)] =
                        *alone.positions[static_cast<size_t>(j)].next_logprob;
                    a += *alone.positions[static_cast<size_t>(j)].next_logprob;
                }
            }
            for (int64_t j = 0; j + 1 < l; ++j) {
                const auto p = static_cast<size_t>(t * l + j);
                m += *memory.positions[p].next_logprob;
                if (baselines)
                    f += *full.positions[p].next_logprob;
            }
        }
        s.memory.push_back(m);
        if (baselines) {
            s.alone.push_back(a);
            s.full.push_back(f);
        }
        s.tokens_per_stream = (T - 1) * (l - 1);
        for (const size_t i : nameReturns(engine.tokenizer(), ids, l)) {
            s.probe_memory.push_back(*memory.positions[i - 1].next_logprob);
            if (baselines) {
                s.probe_alone.push_back(alone_at[i]);
                s.probe_full.push_back(*full.positions[i - 1].next_logprob);
            }
        }
    }
    if (!baselines && previous) {
        s.alone = previous->alone;
        s.full = previous->full;
        s.probe_alone = previous->probe_alone;
        s.probe_full = previous->probe_full;
    }
    return s;
}

double mean(const std::vector<double>& v) {
    double sum = 0;
    for (const double x : v)
        sum += x;
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
}

// The share of the log-perplexity gap between alone and full context that memory closes, with a
// 95 % bootstrap interval over the held-out streams.
struct Closed {
    double value = 0, low = 0, high = 0;
};
Closed gapClosed(const Scores& s, uint64_t seed) {
    auto closed = [&](const std::vector<size_t>& pick) {
        double a = 0, m = 0, f = 0;
        for (const size_t i : pick) {
            a += s.alone[i];
            m += s.memory[i];
            f += s.full[i];
        }
        return (m - a) / (f - a);  // log-probabilities: higher is better
    };
    std::vector<size_t> all(s.alone.size());
    std::iota(all.begin(), all.end(), size_t(0));
    Closed c;
    c.value = closed(all);
    std::mt19937_64 rng(seed);
    std::vector<double> draws;
    for (int b = 0; b < 2000; ++b) {
        std::vector<size_t> pick(all.size());
        for (size_t& i : pick)
            i = rng() % all.size();
        draws.push_back(closed(pick));
    }
    std::sort(draws.begin(), draws.end());
    c.low = draws[draws.size() * 25 / 1000];
    c.high = draws[draws.size() * 975 / 1000];
    return c;
}

// The geometric mean probability of the probes; null when the streams have none.
QJsonValue probability(const std::vector<double>& logprobs) {
    return logprobs.empty() ? QJsonValue() : QJsonValue(std::exp(mean(logprobs)));
}

QJsonObject report(const Scores& s, uint64_t seed) {
    const double n = static_cast<double>(s.tokens_per_stream);
    auto ppl = [&](const std::vector<double>& v) { return std::exp(-mean(v) / n); };
    const Closed c = gapClosed(s, seed);
    return QJsonObject{
        {QStringLiteral("ppl_alone"), ppl(s.alone)},
        {QStringLiteral("ppl_memory"), ppl(s.memory)},
        {QStringLiteral("ppl_full"), ppl(s.full)},
        {QStringLiteral("gap_closed"), c.value},
        {QStringLiteral("gap_closed_95"), QJsonArray{c.low, c.high}},
        {QStringLiteral("name_probes"), static_cast<qint64>(s.probe_memory.size())},
        {QStringLiteral("name_p_alone"), probability(s.probe_alone)},
        {QStringLiteral("name_p_memory"), probability(s.probe_memory)},
        {QStringLiteral("name_p_full"), probability(s.probe_full)},
    };
}

// The sampled corpus, kept so that runs compare on the same streams: token ids, a stream per line.
void writeCorpus(const QString& path, const std::vector<std::vector<int32_t>>& streams) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        throw std::runtime_error("cannot write " + path.toStdString() + ": " + file.errorString().toStdString());
    for (const auto& ids : streams) {
        QByteArray line;
        for (const int32_t id : ids)
            line += QByteArray::number(id) + ' ';
        line.back() = '\n';
        file.write(line);
    }
    if (!file.commit())
        throw std::runtime_error("cannot write " + path.toStdString() + ": " + file.errorString().toStdString());
}

std::vector<std::vector<int32_t>> readCorpus(const QString& path, size_t length, int64_t vocab_size) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw std::runtime_error("cannot read " + path.toStdString() + ": " + file.errorString().toStdString());
    std::vector<std::vector<int32_t>> streams;
    while (!file.atEnd()) {
        const QList<QByteArray> words = file.readLine().simplified().split(' ');
        std::vector<int32_t> ids;
        for (const QByteArray& word : words) {
            bool ok = false;
            const int id = word.toInt(&ok);
            if (!ok || id < 0 || id >= vocab_size)
                throw std::runtime_error(path.toStdString() + " line " + std::to_string(streams.size() + 1) +
                                         ": not token ids of this model; delete the file to sample a new corpus");
            ids.push_back(id);
        }
        if (ids.size() != length)
            throw std::runtime_error(path.toStdString() + " line " + std::to_string(streams.size() + 1) + " has " +
                                     std::to_string(ids.size()) + " tokens where the streams have " +
                                     std::to_string(length) + "; delete the file to sample a new corpus");
        streams.push_back(std::move(ids));
    }
    return streams;
}

}  // namespace

int experimentStories(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "uio experiment stories: train UIO adapters on stories a real model writes (or on --text) and score "
        "held-out segments alone, with memories and in full context. Perplexities are per token; gap_closed is "
        "the share of the log-perplexity gap between alone and full context that memory closes (95 % bootstrap "
        "interval over held-out streams); name_p_* the geometric mean probability of a name where it comes back "
        "in a later segment."));
    addModelOptions(parser);
    parser.addOptions({
        {QStringLiteral("text"), QStringLiteral("Use this UTF-8 text instead of sampled stories."),
         QStringLiteral("file")},
        {QStringLiteral("stories"), QStringLiteral("Streams to train on (default 240)."), QStringLiteral("n")},
        {QStringLiteral("heldout"), QStringLiteral("Streams to score, never trained on (default 25)."),
         QStringLiteral("n")},
        {QStringLiteral("segment-length"), QStringLiteral("l (default 64)."), QStringLiteral("n")},
        {QStringLiteral("memory-tokens"), QStringLiteral("m (default 8)."), QStringLiteral("n")},
        {QStringLiteral("segments"), QStringLiteral("Segments per stream, T (default 4)."), QStringLiteral("n")},
        {QStringLiteral("window"), QStringLiteral("Live encoder graphs, S (default 2)."), QStringLiteral("n")},
        {QStringLiteral("rank"), QStringLiteral("LoRA rank (default 16)."), QStringLiteral("n")},
        {QStringLiteral("alpha"), QStringLiteral("LoRA alpha (default four times the rank, as the method's 512/128)."),
         QStringLiteral("x")},
        {QStringLiteral("accumulation"), QStringLiteral("Samples per step (default 4)."), QStringLiteral("n")},
        {QStringLiteral("steps"), QStringLiteral("Optimiser steps (default 1600)."), QStringLiteral("n")},
        {QStringLiteral("lr"), QStringLiteral("Peak learning rate (default 0.003)."), QStringLiteral("x")},
        {QStringLiteral("seeds"), QStringLiteral("Adapters trained, one per seed (default 1)."), QStringLiteral("n")},
        {QStringLiteral("no-compensation"), QStringLiteral("Leave out the max(1, t/S) factor (biased).")},
        {QStringLiteral("temperature"), QStringLiteral("Sampling temperature (default 1)."), QStringLiteral("x")},
        {QStringLiteral("corpus"),
         QStringLiteral("Keep the sampled streams in this file (token ids, a stream per line) and read them back from "
                        "it when it exists."),
         QStringLiteral("file")},
        {QStringLiteral("save-adapter"), QStringLiteral("Save the trained adapter (the last seed's) to this file."),
         QStringLiteral("file")},
        {QStringLiteral("trace"), QStringLiteral("Print the training loss every n steps."), QStringLiteral("n")},
        {QStringLiteral("json"), QStringLiteral("Results as JSON lines.")},
    });
    parse(parser, QStringLiteral("experiment stories"), args);
    const int64_t l = intValue(parser, QStringLiteral("segment-length"), 64);
    const int64_t T = intValue(parser, QStringLiteral("segments"), 4);
    const int n_train = intValue(parser, QStringLiteral("stories"), 240);
    const int n_heldout = intValue(parser, QStringLiteral("heldout"), 25);
    const int seeds = intValue(parser, QStringLiteral("seeds"), 1);
    const int rank = intValue(parser, QStringLiteral("rank"), 16);
    const model::AdapterConfig shape{l, intValue(parser, QStringLiteral("memory-tokens"), 8), rank,
                                     doubleValue(parser, QStringLiteral("alpha"), 4.0 * rank)};
    if (T < 2 || l < 4 || shape.memory_tokens < 1 || n_train < 4 || n_heldout < 2 || seeds < 1)
        throw UsageError(
            "need --segments >= 2, --segment-length >= 4, --memory-tokens >= 1, --stories >= 4, "
            "--heldout >= 2, --seeds >= 1");
    const bool json = parser.isSet(QStringLiteral("json"));
    const int trace = intValue(parser, QStringLiteral("trace"), 0);
    auto engine = openEngine(parser);
    if (T * l > engine->config().n_ctx())
        throw UsageError("T x l must fit the model's " + std::to_string(engine->config().n_ctx()) +
                         " positions, for the full-context score");
    QTextStream err(stderr);
    QElapsedTimer timer;
    timer.start();

    // The corpus: streams of exactly T * l tokens.
    std::vector<std::vector<int32_t>> streams;
    const auto length = static_cast<size_t>(T * l);
    if (parser.isSet(QStringLiteral("text"))) {
        const auto ids = engine->tokenizer().encode(readTextFile(parser.value(QStringLiteral("text"))).toStdString());
        for (size_t at = 0; at + length <= ids.size(); at += length)
            streams.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(at),
                                 ids.begin() + static_cast<std::ptrdiff_t>(at + length));
        if (streams.size() < static_cast<size_t>(n_heldout + 4))
            throw std::runtime_error("the text gives " + std::to_string(streams.size()) + " streams of " +
                                     std::to_string(length) + " tokens; it needs " + std::to_string(n_heldout + 4));
    } else if (parser.isSet(QStringLiteral("corpus")) && QFileInfo::exists(parser.value(QStringLiteral("corpus")))) {
        streams = readCorpus(parser.value(QStringLiteral("corpus")), length, engine->config().n_vocab);
        if (streams.size() < static_cast<size_t>(n_train + n_heldout))
            throw std::runtime_error(parser.value(QStringLiteral("corpus")).toStdString() + " holds " +
                                     std::to_string(streams.size()) + " streams; --stories and --heldout ask for " +
                                     std::to_string(n_train + n_heldout));
        streams.resize(static_cast<size_t>(n_train + n_heldout));
    } else {
        for (int i = 0; i < n_train + n_heldout; ++i) {
            model::GenerateRequest request;
            request.prompt = {engine->config().bos_id};
            request.max_new_tokens = static_cast<int32_t>(length - 1);
            request.ignore_eos = true;  // a story that ends runs on into the next one
            request.sampling.temperature = static_cast<float>(doubleValue(parser, QStringLiteral("temperature"), 1.0));
            request.sampling.top_k = 0;
            request.sampling.top_p = 1.0f;
            request.sampling.seed = static_cast<uint64_t>(1000 + i);
            std::vector<int32_t> ids = request.prompt;
            const model::Generation g = engine->generate(request);
            ids.insert(ids.end(), g.ids.begin(), g.ids.end());
            ids.resize(length, engine->config().eos_id);
            streams.push_back(std::move(ids));
        }
        err << "sampled " << streams.size() << " streams of " << length << " tokens in " << timer.elapsed() / 1000.0
            << " s\n"
            << Qt::flush;
        if (parser.isSet(QStringLiteral("corpus")))
            writeCorpus(parser.value(QStringLiteral("corpus")), streams);
    }
    // The first streams are held out, so that runs with more training streams score the same ones.
    const std::vector<std::vector<int32_t>> heldout(streams.begin(), streams.begin() + n_heldout);
    streams.erase(streams.begin(), streams.begin() + n_heldout);

    const std::vector<std::vector<int32_t>> seen(
        streams.begin(), streams.begin() + static_cast<std::ptrdiff_t>(std::min(streams.size(), heldout.size())));
    engine->create_adapter(shape, 0);
    const Scores untrained = score(*engine, heldout, l, true, nullptr);
    QJsonObject first = report(untrained, 0);
    first[QStringLiteral("adapter")] = QStringLiteral("untrained");
    if (json)
        printJson(QJsonDocument(first));
    else
        err << "untrained: ppl alone " << first[QStringLiteral("ppl_alone")].toDouble() << ", memory "
            << first[QStringLiteral("ppl_memory")].toDouble() << ", full "
            << first[QStringLiteral("ppl_full")].toDouble() << '\n'
            << Qt::flush;

    QJsonArray trained;
    std::vector<double> closed, train_closed;
    // The recipe, the same for every seed.
    model::TrainingConfig recipe;
    recipe.segments_per_sample = T;
    recipe.window = intValue(parser, QStringLiteral("window"), 2);
    recipe.compensate = !parser.isSet(QStringLiteral("no-compensation"));
    recipe.steps = intValue(parser, QStringLiteral("steps"), 1600);
    recipe.accumulation = intValue(parser, QStringLiteral("accumulation"), 4);
    recipe.learning_rate = doubleValue(parser, QStringLiteral("lr"), 3e-3);
    recipe.warmup = 0.05;
    // The trainer's own check, on a share of the training streams (the held-out streams stay
    // apart); the run ends on the adapter of its best check.
    recipe.eval_share = 0.05;
    recipe.eval_samples = 16;
    recipe.eval_every = std::max<int64_t>(1, recipe.steps / 8);
    recipe.keep_best = true;
    recipe.checkpoint_every = 0;
    for (int seed = 0; seed < seeds; ++seed) {
        engine->create_adapter(shape, static_cast<uint64_t>(seed));
        model::TrainingConfig config = recipe;
        config.seed = static_cast<uint64_t>(seed);
        QTemporaryDir run;
        QElapsedTimer trainTimer;
        trainTimer.start();
        engine->train(streams, config, run.path().toStdString(), [&](const model::TrainingEvent& e) {
            if (e.kind == model::TrainingEvent::Kind::Step && trace > 0 && e.step % trace == 0)
                err << "seed " << seed << ", step " << e.step << "/" << e.steps << ": loss " << e.loss << '\n'
                    << Qt::flush;
            if (e.kind == model::TrainingEvent::Kind::Evaluation && !json)
                err << "seed " << seed << ", step " << e.step << "/" << e.steps << ": perplexity "
                    << e.perplexity_with_memory << " with memory, " << e.perplexity_without_memory << " alone\n"
                    << Qt::flush;
        });
        QJsonObject r = report(score(*engine, heldout, l, false, &untrained), static_cast<uint64_t>(seed));
        // The same measure on streams it trained on: how far the gap closes where data is not the limit.
        r[QStringLiteral("train_gap_closed")] =
            report(score(*engine, seen, l, true, nullptr), static_cast<uint64_t>(seed))[QStringLiteral("gap_closed")];
        if (parser.isSet(QStringLiteral("save-adapter")))
            engine->save_adapter(parser.value(QStringLiteral("save-adapter")).toStdString());
        r[QStringLiteral("adapter")] = QStringLiteral("trained");
        r[QStringLiteral("seed")] = seed;
        r[QStringLiteral("train_seconds")] = trainTimer.elapsed() / 1000.0;
        closed.push_back(r[QStringLiteral("gap_closed")].toDouble());
        train_closed.push_back(r[QStringLiteral("train_gap_closed")].toDouble());
        trained.append(r);
        if (json)
            printJson(QJsonDocument(r));
        else
            err << "seed " << seed << ": ppl alone " << r[QStringLiteral("ppl_alone")].toDouble() << ", memory "
                << r[QStringLiteral("ppl_memory")].toDouble() << ", full " << r[QStringLiteral("ppl_full")].toDouble()
                << "; gap closed " << r[QStringLiteral("gap_closed")].toDouble() << " (on training streams "
                << r[QStringLiteral("train_gap_closed")].toDouble() << ")\n"
                << Qt::flush;
    }
    double sd = 0;
    for (const double c : closed)
        sd += (c - mean(closed)) * (c - mean(closed));
    sd = closed.size() > 1 ? std::sqrt(sd / static_cast<double>(closed.size() - 1)) : 0.0;
    printJson(QJsonDocument(QJsonObject{
        {QStringLiteral("experiment"), QStringLiteral("stories")},
        {QStringLiteral("model"), QFileInfo(parser.value(QStringLiteral("model"))).fileName()},
        {QStringLiteral("segment_length"), static_cast<qint64>(l)},
        {QStringLiteral("memory_tokens"), static_cast<qint64>(shape.memory_tokens)},
        {QStringLiteral("segments"), static_cast<qint64>(T)},
        {QStringLiteral("rank"), rank},
        {QStringLiteral("alpha"), shape.alpha},
        {QStringLiteral("steps"), static_cast<qint64>(recipe.steps)},
        {QStringLiteral("accumulation"), static_cast<qint64>(recipe.accumulation)},
        {QStringLiteral("learning_rate"), recipe.learning_rate},
        {QStringLiteral("window"), static_cast<qint64>(recipe.window)},
        {QStringLiteral("compensate"), recipe.compensate},
        {QStringLiteral("keep_best"), recipe.keep_best},
        {QStringLiteral("train_streams"), static_cast<qint64>(streams.size())},
        {QStringLiteral("heldout_streams"), static_cast<qint64>(heldout.size())},
        {QStringLiteral("untrained"), first},
        {QStringLiteral("trained"), trained},
        {QStringLiteral("gap_closed_mean"), mean(closed)},
        {QStringLiteral("gap_closed_sd_over_seeds"), sd},
        {QStringLiteral("train_gap_closed_mean"), mean(train_closed)},
        {QStringLiteral("seconds"), timer.elapsed() / 1000.0},
    }));
    return 0;
}

}  // namespace uio::cli
