// uio make-model: a random Llama in Hugging Face format, for tests, benchmarks and demos.

#include "command.h"
#include "options.h"
#include "uio/model/model_maker.h"

#include <QTextStream>

namespace uio::cli {

int runMakeModel(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Write a random Llama model (meaningless output) with a tokenizer trained on generated text.\n"
                       "Presets: tiny (a few MB), small (about 110M parameters), tinyllama-1b-shape (1.1B),\n"
                       "llama2-7b-shape (the shapes of Llama-2-7B)."));
    parser.addOptions({
        {QStringLiteral("preset"), QStringLiteral("tiny, small, tinyllama-1b-shape or llama2-7b-shape."),
         QStringLiteral("name")},
        {QStringLiteral("out"), QStringLiteral("Folder to write."), QStringLiteral("dir")},
        {QStringLiteral("seed"), QStringLiteral("Random seed (default 0)."), QStringLiteral("s")},
        {QStringLiteral("dtype"), QStringLiteral("f32, bf16 or f16 (default f32)."), QStringLiteral("dtype"),
         QStringLiteral("f32")},
        {QStringLiteral("shard-mb"), QStringLiteral("Split the weights into shards of at most this many MB."),
         QStringLiteral("mb")},
        {QStringLiteral("ultragist-window"),
         QStringLiteral("Also random UltraGist tensors (the release's names) with windows of this many tokens."),
         QStringLiteral("n")},
    });
    parse(parser, QStringLiteral("make-model"), args);

    model::MakeModelOptions options;
    options.preset = required(parser, QStringLiteral("preset")).toStdString();
    options.seed = parser.value(QStringLiteral("seed")).toULongLong();
    options.dtype = model::parse_dtype(parser.value(QStringLiteral("dtype")).toStdString());
    options.shard_bytes = static_cast<int64_t>(intValue(parser, QStringLiteral("shard-mb"), 0)) << 20;
    options.ultragist_window = intValue(parser, QStringLiteral("ultragist-window"), 0);
    QTextStream err(stderr);
    model::make_model(required(parser, QStringLiteral("out")).toStdString(), options, [&](const std::string& line) {
        err << QString::fromStdString(line) << '\n' << Qt::flush;
    });
    return 0;
}

}  // namespace uio::cli
