// uio adapter new|info: create a fresh UIO adapter for a base model, or describe one.

#include "command.h"
#include "options.h"

#include <QJsonObject>
#include <QTextStream>

namespace uio::cli {

namespace {

QString originName(model::AdapterOrigin::Kind kind) {
    switch (kind) {
        case model::AdapterOrigin::Kind::Created:
            return QStringLiteral("created");
        case model::AdapterOrigin::Kind::Imported:
            return QStringLiteral("imported");
        case model::AdapterOrigin::Kind::Trained:
            return QStringLiteral("trained");
        case model::AdapterOrigin::Kind::Unknown:
            break;
    }
    return QStringLiteral("unknown");
}

QJsonObject infoJson(const model::AdapterInfo& info) {
    return QJsonObject{
        {QStringLiteral("segment_length"), static_cast<qint64>(info.config.segment_length)},
        {QStringLiteral("memory_tokens"), static_cast<qint64>(info.config.memory_tokens)},
        {QStringLiteral("compression"), static_cast<qint64>(info.config.segment_length / info.config.memory_tokens)},
        {QStringLiteral("rank"), static_cast<qint64>(info.config.rank)},
        {QStringLiteral("alpha"), info.config.alpha},
        {QStringLiteral("base_fingerprint"), QString::fromStdString(info.base_fingerprint)},
        {QStringLiteral("hidden_size"), static_cast<qint64>(info.n_embd)},
        {QStringLiteral("num_layers"), static_cast<qint64>(info.n_layer)},
        {QStringLiteral("parameters"), static_cast<qint64>(info.n_params)},
        {QStringLiteral("origin"), originName(info.origin.kind)},
        {QStringLiteral("trained_steps"), static_cast<qint64>(info.origin.steps)},
        {QStringLiteral("corpus_tokens"), static_cast<qint64>(info.origin.corpus_tokens)},
        {QStringLiteral("trained"), info.origin.trained()}};
}

int adapterNew(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Create a fresh adapter for a base model: LoRA A Kaiming-uniform, B zero, e_mem and e_rep copied from the EOS "
        "embedding. Untrained, it compresses nothing useful; train it with 'uio train'."));
    addModelOptions(parser);
    parser.addOptions({
        {QStringLiteral("out"), QStringLiteral("Adapter file to write (.safetensors)."), QStringLiteral("file")},
        {QStringLiteral("segment-length"), QStringLiteral("Tokens per segment, l (default 1024)."),
         QStringLiteral("l")},
        {QStringLiteral("memory-tokens"), QStringLiteral("Memory tokens per segment, m (default 32)."),
         QStringLiteral("m")},
        {QStringLiteral("rank"), QStringLiteral("LoRA rank (default 128)."), QStringLiteral("r")},
        {QStringLiteral("alpha"), QStringLiteral("LoRA alpha; the scale is alpha / rank (default 512)."),
         QStringLiteral("a")},
        {QStringLiteral("seed"), QStringLiteral("Random seed of the LoRA A matrices (default 0)."),
         QStringLiteral("s")},
    });
    parse(parser, QStringLiteral("adapter new"), args);
    const QString out = required(parser, QStringLiteral("out"));
    model::AdapterConfig config;
    config.segment_length = intValue(parser, QStringLiteral("segment-length"), 1024);
    config.memory_tokens = intValue(parser, QStringLiteral("memory-tokens"), 32);
    config.rank = intValue(parser, QStringLiteral("rank"), 128);
    config.alpha = doubleValue(parser, QStringLiteral("alpha"), 512.0);
    auto engine = openEngine(parser);
    engine->create_adapter(config, parser.value(QStringLiteral("seed")).toULongLong());
    engine->save_adapter(out.toStdString());
    printJson(QJsonDocument(infoJson(engine->adapter_info())));
    return 0;
}

int adapterInfo(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Describe an adapter file: uio adapter info FILE"));
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("Adapter file."));
    parseWithArguments(parser, QStringLiteral("adapter info"), args);
    if (parser.positionalArguments().size() != 1)
        throw UsageError("give one adapter file");
    printJson(
        QJsonDocument(infoJson(model::read_adapter_info_file(parser.positionalArguments().first().toStdString()))));
    return 0;
}

int adapterImport(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Convert the authors' checkpoint (a torch.save'd list of tensors: e_mem, 4 encoder LoRA tensors per layer, "
        "e_rep, 4 transfer-head tensors per layer) into an adapter file. No pickled code is run: anything but "
        "tensors and lists is refused."));
    addModelOptions(parser);
    parser.addOptions({
        {QStringLiteral("checkpoint"), QStringLiteral("The authors' .pt / .bin file."), QStringLiteral("file")},
        {QStringLiteral("out"), QStringLiteral("Adapter file to write (.safetensors)."), QStringLiteral("file")},
        {QStringLiteral("segment-length"), QStringLiteral("Tokens per segment it was trained with (default 1024)."),
         QStringLiteral("l")},
        {QStringLiteral("memory-tokens"), QStringLiteral("Memory tokens per segment (default 32)."),
         QStringLiteral("m")},
        {QStringLiteral("alpha"), QStringLiteral("LoRA alpha it was trained with (default 512)."), QStringLiteral("a")},
    });
    parse(parser, QStringLiteral("adapter import"), args);
    const QString checkpoint = required(parser, QStringLiteral("checkpoint"));
    const QString out = required(parser, QStringLiteral("out"));
    model::AdapterConfig config;
    config.segment_length = intValue(parser, QStringLiteral("segment-length"), 1024);
    config.memory_tokens = intValue(parser, QStringLiteral("memory-tokens"), 32);
    config.alpha = doubleValue(parser, QStringLiteral("alpha"), 512.0);
    auto engine = openEngine(parser);
    engine->import_adapter(checkpoint.toStdString(), config);
    engine->save_adapter(out.toStdString());
    printJson(QJsonDocument(infoJson(engine->adapter_info())));
    return 0;
}

}  // namespace

int runAdapter(const QStringList& args) {
    const QString what = args.value(0);
    if (what == QLatin1String("new")) {
        return adapterNew(args.mid(1));
    }
    if (what == QLatin1String("info")) {
        return adapterInfo(args.mid(1));
    }
    if (what == QLatin1String("import")) {
        return adapterImport(args.mid(1));
    }
    if (what.isEmpty() || what == QLatin1String("--help") || what == QLatin1String("-h")) {
        verbHelp(QStringLiteral("adapter"),
                 {{QStringLiteral("new"), QStringLiteral("write a new, untrained adapter for a model")},
                  {QStringLiteral("info"), QStringLiteral("describe an adapter file (JSON)")},
                  {QStringLiteral("import"), QStringLiteral("convert the authors' pickled checkpoint")}});
    }
    throw UsageError("uio adapter needs one of: new, info, import");
}

}  // namespace uio::cli
