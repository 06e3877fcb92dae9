// What ingestion makes of a file: clean text with a map back to pages and chapters.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace uio::ingest {

struct Section {
    QString title;
    int level = 1;         // 1 = chapter, 2 = section, ...
    qsizetype offset = 0;  // character offset in the document's text
};

struct PageSpan {
    int page = 0;  // 1-based
    qsizetype begin = 0;
    qsizetype end = 0;  // [begin, end) in the document's text
};

struct IngestedDocument {
    QString title;
    QString authors;
    QString format;  // "pdf", "epub", "txt", "md", "html"
    QString sha256;  // of the file's bytes, lowercase hex
    QString text;
    QList<Section> sections;
    QList<PageSpan> pages;  // paged formats only
    QStringList warnings;   // things the user should know (skipped items, pages without text)
};

}  // namespace uio::ingest
