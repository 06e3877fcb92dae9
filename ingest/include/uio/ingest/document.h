// What ingestion makes of a file: clean text with a map back to pages and chapters; and a page of
// a PDF drawn for the document pane.
#pragma once

#include <QImage>
#include <QList>
#include <QRectF>
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

// A page of a PDF drawn for the screen, and where its words are (in the image's pixels).
struct WordBox {
    QRectF box;
    QString text;
};

struct RenderedPage {
    int page = 0;  // 1-based
    int pageCount = 0;
    QImage image;  // ARGB32
    QList<WordBox> words;
};

}  // namespace uio::ingest
