// Where answers come from, and the document pane's view of a document: the rows ui/ sees, made
// from the library by the library's worker thread.
#pragma once

#include "uio/ingest/document.h"

#include <QList>
#include <QMetaType>
#include <QRectF>
#include <QString>

namespace uio::app {

// A passage an answer was given (or a search found), or a run of segments whose memories it had.
struct SourceRow {
    enum class Kind { Passage, Memory };
    Kind kind = Kind::Passage;
    qint64 documentId = 0;
    QString title;
    QString place;  // "p. 12", "§ Loomings", "§ 3 pp. 5-6"; empty when nothing is known
    int page = 0;   // first page, 0 for documents without pages
    qint64 begin = 0;
    qint64 end = 0;  // bytes of the document's text
    QString text;    // the passage as placed, or a search's snippet ([matches] in brackets)
    QString label() const { return place.isEmpty() ? title : title + QLatin1Char(' ') + place; }
};

// A document opened in the pane at a place. The text is always there; for a PDF whose file is
// still where it was added, the page follows drawn (LibraryService::pageRendered).
struct DocumentView {
    qint64 id = 0;
    QString title;
    QString format;
    QString text;
    int highlightBegin = 0;  // the place, in `text` (UTF-16 code units)
    int highlightEnd = 0;
    int page = 0;  // the place's page; 0 for documents without pages
    int pageCount = 0;
    QString passage;     // the place's text, to find on a drawn page
    QString sourcePath;  // of the original file, for drawing pages
};

// The boxes of a drawn page's words that belong to `passage`: the longest runs of consecutive
// words that the passage has (case and punctuation aside), so that a few common words elsewhere
// on the page stay unmarked.
QList<QRectF> passageBoxes(const QList<ingest::WordBox>& words, const QString& passage);

}  // namespace uio::app

Q_DECLARE_METATYPE(uio::app::DocumentView)
