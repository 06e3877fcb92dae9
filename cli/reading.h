// Reading documents: the files of `uio ingest` and the --corpus files of `uio train`. A build
// with ingest/ reads PDF, EPUB, text, Markdown and HTML, each in a contained reader process with
// limits (reading_documents.cpp); a build without it (UIO_BUILD_DESKTOP=OFF) reads UTF-8 text
// only and cannot add documents to a library (reading_text.cpp).
#pragma once

#include "uio/storage/documents.h"

#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <atomic>
#include <string>

namespace uio::cli {

// --memory-limit MB and --time-limit S, where files are read by a reader process.
void addReadingOptions(QCommandLineParser& parser);

// The text of one file; `cancel` (Ctrl+C) stops the reading. Throws on a file that cannot be read.
std::string readDocumentText(const QString& path, const QCommandLineParser& parser, const std::atomic<bool>* cancel);

// Adds each file to the library, one at a time; a file that fails is reported on stderr and the
// others go on. Returns the exit code: 0 when every file was added.
int addDocuments(storage::Documents& documents, const QStringList& files, const QCommandLineParser& parser);

}  // namespace uio::cli
