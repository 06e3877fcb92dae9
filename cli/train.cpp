// uio train: adapts the UIO adapter to a corpus (documents as files, or from the library) with
// the method's training algorithm. Checkpoints go to a run folder; Ctrl+C stops after a
// checkpoint and --resume continues exactly where it stopped.

#include "command.h"
#include "options.h"
#include "reading.h"
#include "uio/model/engine.h"
#include "uio/storage/documents.h"
#include "uio/storage/library.h"

#include <QFileInfo>
#include <QJsonObject>
#include <QTextStream>

namespace uio::cli {

namespace {

model::TrainingTask parseTask(const QString& name) {
    if (name == QLatin1String("lm"))
        return model::TrainingTask::LanguageModelling;
    if (name == QLatin1String("copy"))
        return model::TrainingTask::Copy;
    if (name == QLatin1String("mixed"))
        return model::TrainingTask::Mixed;
    throw UsageError("--task is one of lm, copy, mixed");
}

}  // namespace

int runTrain(const QStringList& args) {
    const model::TrainingConfig defaults;  // the one home of the training defaults
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Train the UIO adapter on a corpus with the base model frozen (unbiased incremental TBPTT).\n"
                       "uio train --model DIR [--adapter START] --corpus FILE... --out ADAPTER.safetensors [options]"));
    addModelOptions(parser);
    addAdapterOption(parser);
    addReadingOptions(parser);  // for --corpus files
    parser.addOptions({
        {QStringLiteral("corpus"), QStringLiteral("A document to train on (repeat for more)."), QStringLiteral("file")},
        {QStringLiteral("db"), QStringLiteral("Library file to take --doc documents from."), QStringLiteral("file")},
        {QStringLiteral("doc"), QStringLiteral("A library document id (repeat for more)."), QStringLiteral("id")},
        {QStringLiteral("out"), QStringLiteral("Where the trained adapter goes."), QStringLiteral("file")},
        {QStringLiteral("run"), QStringLiteral("Run folder for checkpoints (default OUT.run)."), QStringLiteral("dir")},
        {QStringLiteral("resume"), QStringLiteral("Continue the stopped run in this folder."), QStringLiteral("dir")},
        {QStringLiteral("segment-length"), QStringLiteral("New adapter: l (default 1024)."), QStringLiteral("l")},
        {QStringLiteral("memory-tokens"), QStringLiteral("New adapter: m (default 32)."), QStringLiteral("m")},
        {QStringLiteral("rank"), QStringLiteral("New adapter: LoRA rank (default 128)."), QStringLiteral("r")},
        {QStringLiteral("alpha"), QStringLiteral("New adapter: LoRA alpha (default 512)."), QStringLiteral("a")},
        {QStringLiteral("segments"),
         QStringLiteral("Segments per sample, T (default %1).").arg(defaults.segments_per_sample), QStringLiteral("T")},
        {QStringLiteral("window"), QStringLiteral("Live encoder graphs, S (default %1).").arg(defaults.window),
         QStringLiteral("S")},
        {QStringLiteral("no-compensation"),
         QStringLiteral("Leave out the max(1, t/S) factor (biased; as the authors' released trainer).")},
        {QStringLiteral("recompute"),
         QStringLiteral("Gradient checkpointing: rebuild each layer's graph in the backward pass (less memory, "
                        "one more forward).")},
        {QStringLiteral("task"), QStringLiteral("lm, copy or mixed (default lm)."), QStringLiteral("task")},
        {QStringLiteral("steps"), QStringLiteral("Optimiser steps (default %1).").arg(defaults.steps),
         QStringLiteral("n")},
        {QStringLiteral("accumulation"), QStringLiteral("Samples per step (default %1).").arg(defaults.accumulation),
         QStringLiteral("n")},
        {QStringLiteral("lr"), QStringLiteral("Peak learning rate (default %1).").arg(defaults.learning_rate),
         QStringLiteral("x")},
        {QStringLiteral("eval-every"),
         QStringLiteral("Steps between evaluations (default %1).").arg(defaults.eval_every), QStringLiteral("n")},
        {QStringLiteral("checkpoint-every"),
         QStringLiteral("Steps between checkpoints (default %1).").arg(defaults.checkpoint_every), QStringLiteral("n")},
        {QStringLiteral("seed"), QStringLiteral("Data order, reservoir draws, new adapter (default 0)."),
         QStringLiteral("n")},
        {QStringLiteral("json"), QStringLiteral("Progress as JSON lines on stdout.")},
    });
    parse(parser, QStringLiteral("train"), args);
    const QString out = required(parser, QStringLiteral("out"));
    const bool json = parser.isSet(QStringLiteral("json"));
    const QString resume = parser.value(QStringLiteral("resume"));
    const QString run = !resume.isEmpty()                     ? resume
                        : parser.isSet(QStringLiteral("run")) ? parser.value(QStringLiteral("run"))
                                                              : out + QStringLiteral(".run");

    model::TrainingConfig config;
    if (!resume.isEmpty()) {
        const auto saved = model::saved_training_config(resume.toStdString());
        if (!saved)
            throw UsageError(resume.toStdString() + " holds no checkpoint to resume");
        config = *saved;  // the settings the run started with, for an exact continuation
    } else {
        config.task = parseTask(parser.value(QStringLiteral("task")).isEmpty() ? QStringLiteral("lm")
                                                                               : parser.value(QStringLiteral("task")));
        config.segments_per_sample = intValue(parser, QStringLiteral("segments"), defaults.segments_per_sample);
        config.window = intValue(parser, QStringLiteral("window"), defaults.window);
        config.compensate = !parser.isSet(QStringLiteral("no-compensation"));
        config.recompute = parser.isSet(QStringLiteral("recompute"));
        config.steps = intValue(parser, QStringLiteral("steps"), defaults.steps);
        config.accumulation = intValue(parser, QStringLiteral("accumulation"), defaults.accumulation);
        config.learning_rate = doubleValue(parser, QStringLiteral("lr"), defaults.learning_rate);
        config.eval_every = intValue(parser, QStringLiteral("eval-every"), defaults.eval_every);
        config.checkpoint_every = intValue(parser, QStringLiteral("checkpoint-every"), defaults.checkpoint_every);
        config.seed = static_cast<uint64_t>(intValue(parser, QStringLiteral("seed"), 0));
    }

    auto engine = openEngine(parser);
    if (!loadAdapter(*engine, parser) && resume.isEmpty()) {
        model::AdapterConfig fresh;
        fresh.segment_length = intValue(parser, QStringLiteral("segment-length"), 1024);
        fresh.memory_tokens = intValue(parser, QStringLiteral("memory-tokens"), 32);
        fresh.rank = intValue(parser, QStringLiteral("rank"), 128);
        fresh.alpha = doubleValue(parser, QStringLiteral("alpha"), 512.0);
        engine->create_adapter(fresh, config.seed);
    }

    // The corpus: each document is one stream, BOS + its tokens.
    const InterruptFlag interrupted;
    std::vector<std::vector<int32_t>> streams;
    for (const QString& file : parser.values(QStringLiteral("corpus")))
        streams.push_back(engine->tokenizer().encode(readDocumentText(file, parser, interrupted.get())));
    if (!parser.values(QStringLiteral("doc")).isEmpty()) {
        storage::Library library(required(parser, QStringLiteral("db")).toStdString());
        storage::Documents documents(library.db());
        for (const QString& id : parser.values(QStringLiteral("doc"))) {
            const auto text = documents.text(id.toLongLong());
            if (!text)
                throw UsageError("the library has no document " + id.toStdString());
            streams.push_back(engine->tokenizer().encode(text->text));
        }
    }
    if (streams.empty())
        throw UsageError("give the documents to train on with --corpus FILE or --db F --doc ID");

    QTextStream err(stderr);
    const model::TrainingSummary summary = engine->train(
        streams, config, run.toStdString(),
        [&](const model::TrainingEvent& e) {
            using Kind = model::TrainingEvent::Kind;
            if (json) {
                QJsonObject line{{QStringLiteral("step"), static_cast<qint64>(e.step)},
                                 {QStringLiteral("steps"), static_cast<qint64>(e.steps)},
                                 {QStringLiteral("memory_bytes"), static_cast<qint64>(e.memory_bytes)}};
                if (e.kind == Kind::Step) {
                    line[QStringLiteral("event")] = QStringLiteral("step");
                    line[QStringLiteral("loss")] = e.loss;
                    line[QStringLiteral("lr")] = e.learning_rate;
                    line[QStringLiteral("tokens_per_s")] = e.tokens_per_second;
                    line[QStringLiteral("eta_s")] = e.eta_seconds;
                } else if (e.kind == Kind::Evaluation) {
                    line[QStringLiteral("event")] = QStringLiteral("eval");
                    line[QStringLiteral("ppl_memory")] = e.perplexity_with_memory;
                    line[QStringLiteral("ppl_plain")] = e.perplexity_without_memory;
                } else {
                    line[QStringLiteral("event")] = QStringLiteral("checkpoint");
                }
                printJson(QJsonDocument(line));
            } else if (e.kind == Kind::Step) {
                err << "step " << e.step << "/" << e.steps << "  loss " << e.loss << "  lr " << e.learning_rate << "  "
                    << qRound(e.tokens_per_second) << " tokens/s  " << qRound(e.eta_seconds) << " s left\n"
                    << Qt::flush;
            } else if (e.kind == Kind::Evaluation) {
                err << "evaluation at step " << e.step << ": perplexity " << e.perplexity_with_memory
                    << " with memories, " << e.perplexity_without_memory << " without\n"
                    << Qt::flush;
            }
        },
        interrupted.get());
    if (!summary.finished) {
        err << "stopped at step " << summary.steps_done << "; continue with: uio train --model "
            << parser.value(QStringLiteral("model")) << " --out " << out << " --resume " << run << " [--corpus ...]\n";
        return 130;
    }
    engine->save_adapter(out.toStdString());
    if (!json)
        err << "trained adapter written to " << out << '\n';
    return 0;
}

}  // namespace uio::cli
