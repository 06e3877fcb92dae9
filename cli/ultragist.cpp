// uio ultragist: the published UltraGist compressor beside a user's own Llama-2.

#include "command.h"
#include "options.h"
#include "uio/model/engine.h"

#include <QFileInfo>
#include <QJsonObject>

namespace uio::cli {

namespace {

int extract(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Write the ultragist_* tensors of a published UltraGist folder to one file, after checking that "
                       "its base weights are those of your Llama-2 folder; then load your model with "
                       "--ultragist FILE instead of the whole release (about 4.3 GB in bf16 instead of 13.5)."));
    parser.addOptions({
        {QStringLiteral("from"), QStringLiteral("The UltraGist folder (namespace-Pt/ultragist-llama2-7b-chat)."),
         QStringLiteral("dir")},
        {QStringLiteral("base"), QStringLiteral("Your Llama-2-7b-chat folder."), QStringLiteral("dir")},
        {QStringLiteral("out"), QStringLiteral("File to write (.safetensors)."), QStringLiteral("file")},
    });
    parse(parser, QStringLiteral("ultragist extract"), args);
    const QString out = required(parser, QStringLiteral("out"));
    model::extract_ultragist(required(parser, QStringLiteral("from")).toStdString(),
                             required(parser, QStringLiteral("base")).toStdString(), out.toStdString());
    printJson(
        QJsonDocument(QJsonObject{{QStringLiteral("out"), out}, {QStringLiteral("bytes"), QFileInfo(out).size()}}));
    return 0;
}

}  // namespace

int runUltraGist(const QStringList& args) {
    const QString what = args.value(0);
    if (what == QLatin1String("extract"))
        return extract(args.mid(1));
    if (what.isEmpty() || what == QLatin1String("--help") || what == QLatin1String("-h")) {
        verbHelp(
            QStringLiteral("ultragist"),
            {{QStringLiteral("extract"), QStringLiteral("keep only UltraGist's own tensors, beside your Llama-2")}});
    }
    throw UsageError("uio ultragist needs: extract");
}

}  // namespace uio::cli
