#include "uio/app/pdfextractor.h"

#include <QFileInfo>
#include <poppler-qt6.h>

namespace uio::app {

namespace {

// PDF fonts often draw "fi", "fl", "ffi"... as one ligature glyph (U+FB00..U+FB06); spell them out.
QString expandLigatures(QString text) {
    for (qsizetype i = text.size() - 1; i >= 0; --i) {
        const char16_t c = text.at(i).unicode();
        if (c >= 0xFB00 && c <= 0xFB06) {
            text.replace(i, 1, QString(QChar(c)).normalized(QString::NormalizationForm_KC));
        }
    }
    return text;
}

}  // namespace

PdfText extractPdfText(const QString& path, const QByteArray& password) {
    const QString name = QFileInfo(path).fileName();
    if (!QFileInfo(path).isReadable()) {
        throw IngestError(
            IngestError::Kind::Unreadable,
            QStringLiteral("%1 cannot be read: check that the file exists and that you may open it.").arg(path));
    }
    std::unique_ptr<Poppler::Document> document = Poppler::Document::load(path, password, password);
    if (!document) {
        throw IngestError(IngestError::Kind::Damaged,
                          QStringLiteral("%1 is not a PDF that can be opened (damaged or not a PDF). "
                                         "Try opening it in a PDF viewer and saving a new copy.")
                              .arg(name));
    }
    if (document->isLocked()) {
        if (password.isEmpty()) {
            throw IngestError(IngestError::Kind::NeedsPassword,
                              QStringLiteral("%1 is protected by a password. Enter the password to add it.").arg(name));
        }
        throw IngestError(IngestError::Kind::WrongPassword,
                          QStringLiteral("The password for %1 is not correct. Try again.").arg(name));
    }

    PdfText result;
    result.title = document->info(QStringLiteral("Title"));
    result.author = document->info(QStringLiteral("Author"));
    const int n_pages = document->numPages();
    result.pages.reserve(n_pages);
    for (int i = 0; i < n_pages; ++i) {
        std::unique_ptr<Poppler::Page> page = document->page(i);
        result.pages.append(page ? expandLigatures(page->text(QRectF())) : QString());
    }
    return result;
}

}  // namespace uio::app
