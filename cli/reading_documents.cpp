// Reading with ingest/: every file in its own contained reader process (see reading.h).
#include "options.h"
#include "reading.h"
#include "uio/common/units.h"
#include "uio/ingest/readerprocess.h"
#include "uio/services/libraryrow.h"

#include <QJsonObject>
#include <QTextStream>

namespace uio::cli {

namespace {

ingest::ReaderLimits readerLimits(const QCommandLineParser& parser) {
    ingest::ReaderLimits limits = ingest::ReaderLimits::defaults();
    limits.memoryBytes =
        intValue(parser, QStringLiteral("memory-limit"), static_cast<int>(limits.memoryBytes / kMegabyte)) * kMegabyte;
    limits.seconds = intValue(parser, QStringLiteral("time-limit"), limits.seconds);
    if (limits.memoryBytes < 256 * kMegabyte || limits.seconds < 1)
        throw UsageError("give at least 256 MB and 1 second");
    return limits;
}

}  // namespace

void addReadingOptions(QCommandLineParser& parser) {
    const ingest::ReaderLimits defaults = ingest::ReaderLimits::defaults();
    parser.addOptions(
        {{QStringLiteral("memory-limit"),
          QStringLiteral("Memory one file's reader may use, in MB (default %1).").arg(defaults.memoryBytes / kMegabyte),
          QStringLiteral("MB")},
         {QStringLiteral("time-limit"),
          QStringLiteral("Time one file's reader may take, in seconds (default %1).").arg(defaults.seconds),
          QStringLiteral("s")}});
}

std::string readDocumentText(const QString& path, const QCommandLineParser& parser, const std::atomic<bool>* cancel) {
    ingest::IngestOptions options;
    options.cancel = cancel;
    return ingest::readContained(path, options, readerLimits(parser)).text.toStdString();
}

int addDocuments(storage::Documents& documents, const QStringList& files, const QCommandLineParser& parser) {
    const ingest::ReaderLimits limits = readerLimits(parser);
    QTextStream out(stdout), err(stderr);
    const InterruptFlag interrupted;
    ingest::IngestOptions options;
    options.cancel = interrupted.get();
    int failures = 0;
    for (const QString& file : files) {
        if (interrupted.raised())
            break;
        try {
            const ingest::IngestedDocument doc = ingest::readContained(file, options, limits);
            const auto added = documents.add(services::libraryRow(doc, file));
            for (const QString& warning : doc.warnings)
                err << file << ": " << warning << '\n';
            if (parser.isSet(QStringLiteral("json"))) {
                printJson(
                    QJsonDocument(QJsonObject{{QStringLiteral("file"), file},
                                              {QStringLiteral("id"), static_cast<qint64>(added.id)},
                                              {QStringLiteral("new"), added.is_new},
                                              {QStringLiteral("pages"), static_cast<qint64>(doc.pages.size())},
                                              {QStringLiteral("characters"), static_cast<qint64>(doc.text.size())}}));
            } else {
                out << added.id << '\t' << (added.is_new ? "added" : "already in the library") << '\t' << doc.title
                    << '\n';
            }
        } catch (const ingest::IngestError& e) {
            err << "uio ingest: " << e.message() << '\n';
            err.flush();
            ++failures;
        }
        out.flush();
    }
    return failures == 0 && !interrupted.raised() ? 0 : 1;
}

}  // namespace uio::cli
