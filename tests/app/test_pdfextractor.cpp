// PDF text extraction through Poppler on PDFs the test writes with Qt's own PDF writer.

#include "uio/app/pdfextractor.h"

#include <QFile>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QTemporaryDir>
#include <QTest>

using uio::app::IngestError;

class TestPdfExtractor : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void extractsTextPageByPage();
    void damagedFileIsAnError();
    void missingFileIsAnError();

private:
    QString writePdf(const QStringList& pages);
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestPdfExtractor::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QString TestPdfExtractor::writePdf(const QStringList& pages) {
    const QString path = m_dir->filePath(QStringLiteral("generated.pdf"));
    QPdfWriter writer(path);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setTitle(QStringLiteral("A Generated Book"));
    writer.setCreator(QStringLiteral("test_pdfextractor"));
    QPainter painter(&writer);
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPointSize(14);
    painter.setFont(font);
    for (int i = 0; i < pages.size(); ++i) {
        if (i > 0) {
            writer.newPage();
        }
        painter.drawText(QPointF(200, 400), pages[i]);
    }
    painter.end();
    return path;
}

void TestPdfExtractor::extractsTextPageByPage() {
    const QString path = writePdf(
        {QStringLiteral("The first page speaks of whales."), QStringLiteral("The second page speaks of ships.")});
    const uio::app::PdfText pdf = uio::app::extractPdfText(path);
    QCOMPARE(pdf.title, QStringLiteral("A Generated Book"));
    QCOMPARE(pdf.pages.size(), 2);
    QCOMPARE(pdf.pages[0].trimmed(), QStringLiteral("The first page speaks of whales."));
    QCOMPARE(pdf.pages[1].trimmed(), QStringLiteral("The second page speaks of ships."));
}

void TestPdfExtractor::damagedFileIsAnError() {
    const QString path = writePdf({QStringLiteral("Some text")});
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadWrite));
    file.resize(40);  // keep the "%PDF-1.4" header, lose everything else
    file.close();
    try {
        uio::app::extractPdfText(path);
        QFAIL("expected an IngestError");
    } catch (const IngestError& e) {
        QCOMPARE(e.kind(), IngestError::Kind::Damaged);
        QVERIFY2(e.message().contains(QStringLiteral("generated.pdf")), e.what());
    }
}

void TestPdfExtractor::missingFileIsAnError() {
    try {
        uio::app::extractPdfText(m_dir->filePath(QStringLiteral("nowhere.pdf")));
        QFAIL("expected an IngestError");
    } catch (const IngestError& e) {
        QCOMPARE(e.kind(), IngestError::Kind::Unreadable);
    }
}

QTEST_MAIN(TestPdfExtractor)
#include "test_pdfextractor.moc"
