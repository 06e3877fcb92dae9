// Ingestion: any file people have (PDF, EPUB, plain text, Markdown, HTML) into an
// IngestedDocument. Runs on any thread (one call per thread at a time); long work reports progress
// and stops between pages or chapters when cancelled. Throws IngestError with a message that says
// what to do. The programs run it inside the reader process (readerprocess.h), never on an
// untrusted file in their own process.
#pragma once

#include "uio/ingest/document.h"
#include "uio/ingest/ingesterror.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <atomic>
#include <functional>

namespace uio::ingest {

struct IngestOptions {
    QByteArray password;                                // for protected PDFs; used, never stored
    std::function<void(int done, int total)> progress;  // pages or chapters
    const std::atomic<bool>* cancel = nullptr;          // checked between pages or chapters
};

// The format from the file's content (magic bytes) or, for text formats, its extension.
QString detectFormat(const QString& path);
// The extensions read as documents, as name filters ("*.pdf", ...): for file dialogs and folder walks.
QStringList readableNameFilters();

IngestedDocument ingestFile(const QString& path, const IngestOptions& options = {});

// Per format; ingestFile dispatches to these.
IngestedDocument readPdf(const QString& path, const IngestOptions& options);
IngestedDocument readEpub(const QString& path, const IngestOptions& options);
IngestedDocument readTextFile(const QString& path, const QString& format);

// Draws page `page` (1-based) of a PDF at `dpi`, with its words' boxes. Throws IngestError. Like
// reading, it runs in the reader process (ReaderProcess::startRender).
RenderedPage renderPdfPage(const QString& path, int page, double dpi, const QByteArray& password = {});

// Bytes of a text file as Unicode: a UTF-8 or UTF-16 byte-order mark wins, then valid UTF-8,
// then Latin-1.
QString decodeText(const QByteArray& bytes);

}  // namespace uio::ingest
