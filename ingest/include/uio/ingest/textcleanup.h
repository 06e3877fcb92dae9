// Turns the raw text of pages (one string per page, lines separated by '\n') into the reading text
// good PDF-to-text tools produce: running headers, footers and page numbers dropped, words
// hyphenated across line ends joined, lines of a paragraph joined, paragraphs separated by one
// blank line, whitespace and ligatures normalised. Keeps a map from pages to text ranges.
#pragma once

#include "uio/ingest/document.h"

#include <QStringList>

namespace uio::ingest {

struct CleanText {
    QString text;
    QList<PageSpan> pages;
};

CleanText cleanPages(const QStringList& pages);

// Whitespace and ligatures only: for formats that come as one flowing text.
QString normaliseText(const QString& text);

}  // namespace uio::ingest
