// uio download: a model repository from the Hugging Face hub into the models folder (or --out),
// with progress, resumed where an earlier run stopped, every file checked against the listing.
//   uio download namespace-Pt/ultragist-llama2-7b-chat [--token-file F] [--out DIR]

#include "command.h"
#include "options.h"
#include "uio/download/modeldownload.h"
#include "uio/download/tokenstore.h"
#include "uio/services/librarypaths.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonObject>
#include <QTextStream>
#include <QTimer>

#include <cstdio>

namespace uio::cli {

int runDownload(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Download a model repository: uio download owner/name. Ctrl+C pauses; run it again to "
                       "resume. Gated repositories need an access token (--token-file, or one saved by uio-desk)."));
    parser.addOptions(
        {{QStringLiteral("out"), QStringLiteral("Folder to fill (default: the models folder, owner--name)."),
          QStringLiteral("dir")},
         {QStringLiteral("token-file"), QStringLiteral("File holding a Hugging Face access token."),
          QStringLiteral("file")},
         {QStringLiteral("endpoint"), QStringLiteral("Hub address (default https://huggingface.co)."),
          QStringLiteral("url")},
         {QStringLiteral("revision"), QStringLiteral("Branch, tag or commit (default main)."), QStringLiteral("rev")},
         {QStringLiteral("json"), QStringLiteral("Print progress as JSON lines.")}});
    parser.addPositionalArgument(QStringLiteral("repository"), QStringLiteral("owner/name"));
    parseWithArguments(parser, QStringLiteral("download"), args);
    if (parser.positionalArguments().size() != 1)
        throw UsageError("give one repository, as owner/name");

    download::HubRepository repository;
    repository.id = parser.positionalArguments().front();
    if (const QString problem = download::checkRepositoryId(repository.id); !problem.isEmpty())
        throw UsageError(problem.toStdString());
    if (parser.isSet(QStringLiteral("endpoint")))
        repository.endpoint = parser.value(QStringLiteral("endpoint"));
    if (parser.isSet(QStringLiteral("revision")))
        repository.revision = parser.value(QStringLiteral("revision"));
    const QString token = parser.isSet(QStringLiteral("token-file"))
                              ? download::readToken(parser.value(QStringLiteral("token-file")))
                              : download::loadTokenNow();  // the keyring, else the file uio-desk keeps
    if (parser.isSet(QStringLiteral("token-file")) && token.isEmpty())
        throw UsageError("the token file is missing or empty");
    const QString folder =
        parser.isSet(QStringLiteral("out"))
            ? parser.value(QStringLiteral("out"))
            : download::folderFor(services::dataFolderInUse() + QStringLiteral("/models"), repository.id);
    const bool json = parser.isSet(QStringLiteral("json"));

    download::ModelDownload job(repository, folder, token);
    QTextStream err(stderr);
    int exitCode = 1;
    QObject::connect(&job, &download::ModelDownload::listed, [&](const QList<download::RepoFile>& files, qint64 total) {
        if (json) {
            printJson(QJsonDocument(QJsonObject{{QStringLiteral("event"), QStringLiteral("listed")},
                                                {QStringLiteral("files"), static_cast<qint64>(files.size())},
                                                {QStringLiteral("bytes"), total}}));
        } else {
            err << repository.id << ": " << files.size() << " files, " << QString::number(total / 1e9, 'f', 2)
                << " GB, into " << folder << '\n';
            err.flush();
        }
    });
    qint64 lastPercent = -1;
    QObject::connect(&job, &download::ModelDownload::progress, [&](const download::DownloadProgress& p) {
        const qint64 percent = p.total > 0 ? p.done * 1000 / p.total : 0;
        if (percent == lastPercent)
            return;  // at most a thousand lines or updates
        lastPercent = percent;
        if (json) {
            printJson(QJsonDocument(QJsonObject{{QStringLiteral("event"), QStringLiteral("progress")},
                                                {QStringLiteral("file"), p.file},
                                                {QStringLiteral("done"), p.done},
                                                {QStringLiteral("total"), p.total},
                                                {QStringLiteral("bytes_per_s"), p.bytesPerSecond},
                                                {QStringLiteral("eta_s"), p.etaSeconds}}));
        } else {
            std::fprintf(stderr, "\r%5.1f %%  %.1f MB/s  %.0f s left  %s        ", percent / 10.0,
                         p.bytesPerSecond / 1e6, p.etaSeconds, qPrintable(p.file));
        }
    });
    QObject::connect(&job, &download::ModelDownload::finished, [&](const QString& where) {
        if (json)
            printJson(QJsonDocument(
                QJsonObject{{QStringLiteral("event"), QStringLiteral("done")}, {QStringLiteral("folder"), where}}));
        else
            err << "\ndone: " << where << '\n';
        exitCode = 0;
        QCoreApplication::quit();
    });
    QObject::connect(&job, &download::ModelDownload::failed, [&](const QString& message) {
        err << (json ? "" : "\n") << "uio download: " << message << '\n';
        exitCode = 1;
        QCoreApplication::quit();
    });
    QObject::connect(&job, &download::ModelDownload::paused, [&] {
        err << "\npaused: run the same command again to resume\n";
        exitCode = 130;
        QCoreApplication::quit();
    });
    const InterruptFlag interrupted;
    QTimer watch;
    QObject::connect(&watch, &QTimer::timeout, [&] {
        if (interrupted.raised()) {
            watch.stop();
            job.pause();
        }
    });
    watch.start(100);
    QTimer::singleShot(0, &job, &download::ModelDownload::start);
    QCoreApplication::exec();
    return exitCode;
}

}  // namespace uio::cli
