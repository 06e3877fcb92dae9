// Text of a PDF file, page by page, through Poppler. Reentrant: one call per thread at a time
// is safe, each opens its own document. Throws IngestError with a message that says what to do.
#pragma once

#include "uio/app/ingesterror.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace uio::app {

struct PdfText {
    QString title;
    QString author;
    QStringList pages;  // plain text of each page, in reading order
};

// password: tried as both owner and user password; used for this call only, never kept.
PdfText extractPdfText(const QString& path, const QByteArray& password = {});

}  // namespace uio::app
