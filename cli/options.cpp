#include "options.h"

#include "uio/model/types.h"

#include <QFile>
#include <QTextStream>

#include <csignal>
#include <cstdio>

namespace uio::cli {

namespace {
std::atomic<bool> g_interrupted{false};
void onInterrupt(int) {
    g_interrupted.store(true);
}
}  // namespace

InterruptFlag::InterruptFlag() {
    g_interrupted = false;
    std::signal(SIGINT, onInterrupt);
}

InterruptFlag::~InterruptFlag() {
    std::signal(SIGINT, SIG_DFL);
}

const std::atomic<bool>* InterruptFlag::get() const {
    return &g_interrupted;
}

void parseWithArguments(QCommandLineParser& parser, const QString& name, const QStringList& args) {
    parser.addHelpOption();
    const bool parsed = parser.parse(QStringList{QStringLiteral("uio ") + name} + args);
    // Help wins over every other problem, so that `uio ingest --help` explains instead of refusing.
    if (args.contains(QLatin1String("--help")) || args.contains(QLatin1String("-h")) ||
        (parsed && parser.isSet(QStringLiteral("help")))) {
        // Qt names the program by its path; the usage line names the command.
        QString text = parser.helpText();
        const qsizetype options = text.indexOf(QLatin1String(" [options]"));
        if (text.startsWith(QLatin1String("Usage: ")) && options > 0 && options < text.indexOf(QLatin1Char('\n')))
            text.replace(0, options, QStringLiteral("Usage: uio ") + name);
        throw HelpRequested(text);
    }
    if (!parsed)
        throw UsageError(parser.errorText().toStdString());
}

void parse(QCommandLineParser& parser, const QString& name, const QStringList& args) {
    parseWithArguments(parser, name, args);
    if (!parser.positionalArguments().isEmpty()) {
        throw UsageError("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");
    }
}

void verbHelp(const QString& name, const QList<std::pair<QString, QString>>& verbs) {
    QString text;
    QTextStream out(&text);
    out << "Usage: uio " << name << " <what> [options]\n\n";
    for (const auto& [verb, summary] : verbs)
        out << "  " << verb.leftJustified(14) << summary << '\n';
    out << "\nRun 'uio " << name << " <what> --help' for the options of each.\n";
    throw HelpRequested(text);
}

QString required(const QCommandLineParser& parser, const QString& option) {
    if (!parser.isSet(option)) {
        throw UsageError("--" + option.toStdString() + " is required");
    }
    return parser.value(option);
}

int intValue(const QCommandLineParser& parser, const QString& option, int fallback) {
    if (!parser.isSet(option))
        return fallback;
    bool ok = false;
    const int value = parser.value(option).toInt(&ok);
    if (!ok)
        throw UsageError("--" + option.toStdString() + " needs a whole number, got '" +
                         parser.value(option).toStdString() + "'");
    return value;
}

double doubleValue(const QCommandLineParser& parser, const QString& option, double fallback) {
    if (!parser.isSet(option))
        return fallback;
    bool ok = false;
    const double value = parser.value(option).toDouble(&ok);
    if (!ok)
        throw UsageError("--" + option.toStdString() + " needs a number, got '" + parser.value(option).toStdString() +
                         "'");
    return value;
}

std::vector<int32_t> parseIds(const QString& text) {
    std::vector<int32_t> ids;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int id = part.trimmed().toInt(&ok);
        if (!ok)
            throw UsageError("'" + part.toStdString() + "' is not a token id (expected 1,2,3)");
        ids.push_back(id);
    }
    if (ids.empty())
        throw UsageError("no token ids given");
    return ids;
}

void addModelOptions(QCommandLineParser& parser) {
    parser.addOption({QStringLiteral("model"), QStringLiteral("Hugging Face Llama folder."), QStringLiteral("dir")});
    parser.addOption({QStringLiteral("device"), QStringLiteral("cpu, cuda or cuda:N (default cpu)."),
                      QStringLiteral("device"), QStringLiteral("cpu")});
    parser.addOption({QStringLiteral("dtype"), QStringLiteral("f32, bf16, f16 or int8 (CPU) (default f32)."),
                      QStringLiteral("dtype"), QStringLiteral("f32")});
}

std::unique_ptr<model::Engine> openEngine(const QCommandLineParser& parser) {
    model::EngineOptions options;
    options.device = parser.value(QStringLiteral("device")).toStdString();
    options.dtype = model::parse_dtype(parser.value(QStringLiteral("dtype")).toStdString());
    return model::Engine::load(required(parser, QStringLiteral("model")).toStdString(), options);
}

void addAdapterOption(QCommandLineParser& parser) {
    parser.addOptions({
        {QStringLiteral("adapter"), QStringLiteral("UIO adapter file (.safetensors)."), QStringLiteral("file")},
        {QStringLiteral("ultragist"),
         QStringLiteral("Compress with UltraGist instead: its published folder (which is also --model), or the file "
                        "'uio ultragist extract' wrote beside your Llama-2."),
         QStringLiteral("source")},
        {QStringLiteral("ultragist-ratio"),
         QStringLiteral("UltraGist's tokens per memory row: 2, 4, 8, 16, 32 or auto (by each document's length)."),
         QStringLiteral("r"), QStringLiteral("auto")},
    });
}

int64_t ultragistRatio(const QCommandLineParser& parser) {
    const QString value = parser.value(QStringLiteral("ultragist-ratio"));
    if (value == QLatin1String("auto"))
        return 0;
    bool ok = false;
    const int ratio = value.toInt(&ok);
    if (!ok || ratio < 1)
        throw UsageError("--ultragist-ratio takes a whole number (2, 4, 8, 16, 32) or auto");
    return ratio;
}

bool loadAdapter(model::Engine& engine, const QCommandLineParser& parser) {
    const bool adapter = parser.isSet(QStringLiteral("adapter")), ultragist = parser.isSet(QStringLiteral("ultragist"));
    if (adapter && ultragist)
        throw UsageError("give --adapter or --ultragist, not both");
    if (ultragist) {
        engine.load_ultragist(parser.value(QStringLiteral("ultragist")).toStdString(), ultragistRatio(parser));
        return true;
    }
    if (!adapter)
        return false;
    engine.load_adapter(parser.value(QStringLiteral("adapter")).toStdString());
    return true;
}

void requireCompressor(const QCommandLineParser& parser) {
    if (!parser.isSet(QStringLiteral("adapter")) && !parser.isSet(QStringLiteral("ultragist")))
        throw UsageError("give a compressor: --adapter FILE (UIO) or --ultragist SOURCE");
}

QString readTextFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        throw std::runtime_error(path.toStdString() + ": cannot be read (" + file.errorString().toStdString() + ")");
    }
    return QString::fromUtf8(file.readAll());
}

void printJson(const QJsonDocument& document) {
    const QByteArray line = document.toJson(QJsonDocument::Compact);
    std::fwrite(line.constData(), 1, static_cast<size_t>(line.size()), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

}  // namespace uio::cli
