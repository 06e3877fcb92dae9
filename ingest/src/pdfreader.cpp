// PDF through Poppler: text in reading order page by page, then the clean-up of textcleanup.h.
// When Poppler's Qt interface cannot open a file or finds no text in it, Poppler's own pdftotext
// (poppler-utils) gets its turn before the file is refused: it recovers text from files whose
// structure is damaged in ways the Qt interface gives up on.

#include "uio/ingest/ingest.h"
#include "uio/ingest/textcleanup.h"

#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <poppler-qt6.h>

#include <sys/prctl.h>

#include <csignal>

namespace uio::ingest {

namespace {

// The pages pdftotext reads (it ends each page with a form feed); empty when it is not installed,
// fails, or finds no text. It runs inside the reader process's limits, and dies with it.
QStringList pdftotextPages(const QString& path) {
    const QString program = QStandardPaths::findExecutable(QStringLiteral("pdftotext"));
    if (program.isEmpty())
        return {};
    QProcess process;
    process.setChildProcessModifier([] { prctl(PR_SET_PDEATHSIG, SIGKILL); });
    process.start(program, {QStringLiteral("-q"), QStringLiteral("-enc"), QStringLiteral("UTF-8"),
                            QStringLiteral("-eol"), QStringLiteral("unix"), path, QStringLiteral("-")});
    if (!process.waitForFinished(-1) || process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0)
        return {};
    QStringList pages = QString::fromUtf8(process.readAllStandardOutput()).split(QLatin1Char('\f'));
    if (!pages.isEmpty() && pages.back().trimmed().isEmpty())
        pages.removeLast();  // after the last page's form feed
    for (const QString& page : pages) {
        if (!page.trimmed().isEmpty())
            return pages;
    }
    return {};
}

IngestedDocument recovered(const QString& path, const QStringList& pages) {
    IngestedDocument doc;
    doc.format = QStringLiteral("pdf");
    const CleanText clean = cleanPages(pages);
    doc.text = clean.text;
    doc.pages = clean.pages;
    doc.title = QFileInfo(path).completeBaseName();
    doc.warnings << QStringLiteral(
        "The text was recovered with pdftotext (the file's structure is damaged or "
        "unusual), without its title and chapters.");
    return doc;
}

}  // namespace

IngestedDocument readPdf(const QString& path, const IngestOptions& options) {
    const QString name = QFileInfo(path).fileName();
    std::unique_ptr<Poppler::Document> pdf = Poppler::Document::load(path, options.password, options.password);
    if (!pdf) {
        if (const QStringList pages = pdftotextPages(path); !pages.isEmpty())
            return recovered(path, pages);
        throw IngestError(IngestError::Kind::Damaged,
                          QStringLiteral("%1 is not a PDF that can be opened (damaged or not a PDF). "
                                         "Try opening it in a PDF viewer and saving a new copy.")
                              .arg(name));
    }
    if (pdf->isLocked()) {
        if (options.password.isEmpty()) {
            throw IngestError(IngestError::Kind::NeedsPassword,
                              QStringLiteral("%1 is protected by a password. Enter the password to add it.").arg(name));
        }
        throw IngestError(IngestError::Kind::WrongPassword,
                          QStringLiteral("The password for %1 is not correct. Try again.").arg(name));
    }

    IngestedDocument doc;
    doc.format = QStringLiteral("pdf");
    doc.title = pdf->info(QStringLiteral("Title")).simplified();
    doc.authors = pdf->info(QStringLiteral("Author")).simplified();
    const int n = pdf->numPages();
    QStringList pages;
    QList<int> empty;
    for (int i = 0; i < n; ++i) {
        if (options.cancel && options.cancel->load()) {
            throw IngestError(IngestError::Kind::Cancelled, QStringLiteral("cancelled"));
        }
        if (options.progress)
            options.progress(i, n);
        std::unique_ptr<Poppler::Page> page = pdf->page(i);
        const QString text = page ? page->text(QRectF()) : QString();
        if (text.trimmed().isEmpty())
            empty << i + 1;
        pages << text;
    }
    if (options.progress)
        options.progress(n, n);
    if (n == 0 || empty.size() == n) {
        if (const QStringList recoveredPages = pdftotextPages(path); !recoveredPages.isEmpty())
            return recovered(path, recoveredPages);
        throw IngestError(
            IngestError::Kind::NoText,
            QStringLiteral("%1 has no text layer (a scan?). Run it through OCR software first, then add it again.")
                .arg(name));
    }
    if (!empty.isEmpty()) {
        QStringList numbers;
        for (const int p : empty)
            numbers << QString::number(p);
        doc.warnings
            << QStringLiteral("Pages without text (scanned images?): %1.").arg(numbers.join(QStringLiteral(", ")));
    }

    const CleanText clean = cleanPages(pages);
    doc.text = clean.text;
    doc.pages = clean.pages;
    // Chapters from the PDF's outline, placed at the start of their page.
    const QList<Poppler::OutlineItem> outline = pdf->outline();
    std::function<void(const QList<Poppler::OutlineItem>&, int)> walk = [&](const QList<Poppler::OutlineItem>& items,
                                                                            int level) {
        for (const Poppler::OutlineItem& item : items) {
            const auto destination = item.destination();
            const int page = destination ? destination->pageNumber() : 0;
            if (page >= 1 && page <= doc.pages.size() && !item.name().trimmed().isEmpty()) {
                doc.sections << Section{item.name().simplified(), level, doc.pages[page - 1].begin};
            }
            walk(item.children(), level + 1);
        }
    };
    walk(outline, 1);
    if (doc.title.isEmpty())
        doc.title = QFileInfo(path).completeBaseName();
    return doc;
}

RenderedPage renderPdfPage(const QString& path, int page, double dpi, const QByteArray& password) {
    const QString name = QFileInfo(path).fileName();
    std::unique_ptr<Poppler::Document> pdf = Poppler::Document::load(path, password, password);
    if (!pdf || pdf->isLocked()) {
        throw IngestError(pdf ? IngestError::Kind::NeedsPassword : IngestError::Kind::Damaged,
                          QStringLiteral("%1 cannot be opened to show its page.").arg(name));
    }
    if (page < 1 || page > pdf->numPages()) {
        throw IngestError(IngestError::Kind::Damaged,
                          QStringLiteral("%1 has no page %2 (it has %3): was the file replaced?")
                              .arg(name)
                              .arg(page)
                              .arg(pdf->numPages()));
    }
    pdf->setRenderHint(Poppler::Document::Antialiasing);
    pdf->setRenderHint(Poppler::Document::TextAntialiasing);
    const std::unique_ptr<Poppler::Page> drawn = pdf->page(page - 1);
    RenderedPage rendered;
    rendered.page = page;
    rendered.pageCount = pdf->numPages();
    if (!drawn)
        throw IngestError(IngestError::Kind::Damaged, QStringLiteral("Page %1 of %2 is damaged.").arg(page).arg(name));
    rendered.image = drawn->renderToImage(dpi, dpi).convertToFormat(QImage::Format_ARGB32);
    const double scale = dpi / 72.0;  // Poppler's boxes are in points
    for (const auto& box : drawn->textList()) {
        const QRectF b = box->boundingBox();
        rendered.words.append(
            {QRectF(b.x() * scale, b.y() * scale, b.width() * scale, b.height() * scale), box->text()});
    }
    return rendered;
}

}  // namespace uio::ingest
