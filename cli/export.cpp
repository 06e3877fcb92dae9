// uio export: a model folder written in another program's format (GGUF, for llama.cpp).

#include "command.h"
#include "options.h"
#include "uio/model/gguf_export.h"

#include <QTextStream>

namespace uio::cli {

int runExport(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Write a Hugging Face Llama folder as one GGUF file, which llama.cpp and the programs\n"
                       "built on it run. Norms stay f32; --type sets the matrices."));
    parser.addOptions({
        {QStringLiteral("model"), QStringLiteral("Model folder (config.json, weights, tokenizer.model)."),
         QStringLiteral("dir")},
        {QStringLiteral("format"), QStringLiteral("gguf (the only format so far)."), QStringLiteral("format"),
         QStringLiteral("gguf")},
        {QStringLiteral("type"), QStringLiteral("f32, f16, bf16 or q8_0 (default f16)."), QStringLiteral("type"),
         QStringLiteral("f16")},
        {QStringLiteral("out"), QStringLiteral("File to write."), QStringLiteral("file")},
    });
    parse(parser, QStringLiteral("export"), args);
    if (parser.value(QStringLiteral("format")) != QLatin1String("gguf"))
        throw UsageError("--format: only gguf can be written");
    const auto type = model::parse_gguf_type(parser.value(QStringLiteral("type")).toStdString());
    QTextStream err(stderr);
    model::export_gguf(required(parser, QStringLiteral("model")).toStdString(),
                       required(parser, QStringLiteral("out")).toStdString(), type, [&](const std::string& line) {
                           err << QString::fromStdString(line) << '\n' << Qt::flush;
                       });
    return 0;
}

}  // namespace uio::cli
