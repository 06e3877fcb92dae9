// Reading without ingest/: UTF-8 text files only (see reading.h).
#include "options.h"
#include "reading.h"

#include <stdexcept>

namespace uio::cli {

void addReadingOptions(QCommandLineParser& parser) {
    parser.setApplicationDescription(parser.applicationDescription() +
                                     QStringLiteral("\nThis build reads UTF-8 text only and cannot add documents to "
                                                    "a library (built with UIO_BUILD_DESKTOP=OFF)."));
}

std::string readDocumentText(const QString& path, const QCommandLineParser&, const std::atomic<bool>*) {
    return readTextFile(path).toStdString();
}

int addDocuments(storage::Documents&, const QStringList&, const QCommandLineParser&) {
    throw std::runtime_error("this build has no document ingestion (built with UIO_BUILD_DESKTOP=OFF)");
}

}  // namespace uio::cli
