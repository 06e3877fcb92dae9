// Text of an HTML or XHTML document with paragraphs and headings kept, scripts, styles and the
// head dropped, entities decoded. Tolerant of the malformed markup real files contain.
#pragma once

#include "uio/ingest/document.h"

#include <QHash>
#include <QString>

namespace uio::ingest {

struct HtmlText {
    QString title;                      // <title>
    QString text;                       // paragraphs separated by a blank line
    QList<Section> headings;            // h1..h6 with their offsets in text
    QHash<QString, qsizetype> anchors;  // id attribute -> offset in text
};

HtmlText htmlToText(const QString& html);

}  // namespace uio::ingest
