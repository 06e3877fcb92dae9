// PDFs through Poppler and the clean-up: reading order, headers and page numbers dropped,
// hyphenation joined, page map, outline-free sections, passwords, scans, damage, progress, cancel.

#include "patience.h"
#include "testfiles.h"
#include "uio/ingest/ingest.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::ingest;
using testfiles::PdfPage;

namespace {

PdfPage bookPage(int number, const QStringList& body) {
    PdfPage page{{QStringLiteral("The Whale Book — Herman Melville"), 9}};
    for (const QString& line : body)
        page << testfiles::PdfLine{line, 12};
    page << testfiles::PdfLine{QString::number(number), 9};
    return page;
}

}  // namespace

class TestPdf : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanTextWithPageMap();
    void scannedPagesAreReported();
    void passwordProtected();
    void damagedAndForeignFiles_data();
    void damagedAndForeignFiles();
    void longPdfReportsProgressAndCancels();
    void damagedStructureReadsAsPdftotextDoes_data();
    void damagedStructureReadsAsPdftotextDoes();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestPdf::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestPdf::cleanTextWithPageMap() {
    const QString path = m_dir->filePath(QStringLiteral("book.pdf"));
    testfiles::writePdf(path,
                        {bookPage(1, {QStringLiteral("Call me Ishmael. Some years ago I had a remark-"),
                                      QStringLiteral("able voyage across the sea, and the ﬁsh were many."),
                                      QStringLiteral("Grüße, naïve café, Ελληνικά."), QString(),
                                      QStringLiteral("A second paragraph starts here.")}),
                         bookPage(2, {QStringLiteral("Whenever I find myself growing grim about the mouth,"),
                                      QStringLiteral("I account it high time to get to sea.")}),
                         bookPage(3, {QStringLiteral("The third page speaks of harpoons.")})},
                        QStringLiteral("Moby-Dick"));
    const IngestedDocument doc = ingestFile(path);
    QCOMPARE(doc.format, QStringLiteral("pdf"));
    QCOMPARE(doc.title, QStringLiteral("Moby-Dick"));
    QCOMPARE(doc.sha256.size(), 64);
    QVERIFY2(!doc.text.contains(QStringLiteral("The Whale Book")), qPrintable(doc.text));    // running header
    QVERIFY2(doc.text.contains(QStringLiteral("remarkable voyage")), qPrintable(doc.text));  // hyphenation
    QVERIFY(doc.text.contains(QStringLiteral("the fish were many")));                        // ligature
    QVERIFY(doc.text.contains(QStringLiteral("Grüße, naïve café, Ελληνικά.")));
    QCOMPARE(doc.pages.size(), 3);
    QVERIFY(doc.warnings.isEmpty());
    const QString page2 = doc.text.mid(doc.pages[1].begin, doc.pages[1].end - doc.pages[1].begin);
    QVERIFY2(page2.startsWith(QStringLiteral("Whenever I find")), qPrintable(page2));
    QVERIFY2(page2.endsWith(QStringLiteral("get to sea.")), qPrintable(page2));
    const QString page3 = doc.text.mid(doc.pages[2].begin, doc.pages[2].end - doc.pages[2].begin);
    QCOMPARE(page3, QStringLiteral("The third page speaks of harpoons."));
    for (const PageSpan& span : doc.pages)
        QVERIFY(!doc.text.mid(span.begin, span.end - span.begin)
                     .contains(QLatin1Char('\n') + QString::number(span.page) + QLatin1Char('\n')));
    QVERIFY(!doc.text.contains(QStringLiteral("\n3\n")));
}

void TestPdf::scannedPagesAreReported() {
    const QString mixed = m_dir->filePath(QStringLiteral("mixed.pdf"));
    testfiles::writePdf(mixed, {{{QStringLiteral("Text on the first page."), 12}}, PdfPage{}});
    const IngestedDocument doc = ingestFile(mixed);
    QCOMPARE(doc.warnings.size(), 1);
    QVERIFY(doc.warnings.front().contains(QStringLiteral("Pages without text (scanned images?): 2")));
    const QString scan = m_dir->filePath(QStringLiteral("scan.pdf"));
    testfiles::writePdf(scan, {PdfPage{}, PdfPage{}});
    try {
        ingestFile(scan);
        QFAIL("expected an IngestError");
    } catch (const IngestError& e) {
        QCOMPARE(e.kind(), IngestError::Kind::NoText);
        QVERIFY(e.message().contains(QStringLiteral("OCR")));
    }
}

void TestPdf::passwordProtected() {
    const QString path = m_dir->filePath(QStringLiteral("secret.pdf"));
    testfiles::writeEncryptedPdf(path, QStringLiteral("The treasure is under the old oak."), "open sesame");
    try {
        ingestFile(path);
        QFAIL("expected an IngestError");
    } catch (const IngestError& e) {
        QCOMPARE(e.kind(), IngestError::Kind::NeedsPassword);
    }
    IngestOptions wrong;
    wrong.password = "guess";
    QVERIFY_THROWS_EXCEPTION(IngestError, ingestFile(path, wrong));
    try {
        ingestFile(path, wrong);
    } catch (const IngestError& e) {
        QCOMPARE(e.kind(), IngestError::Kind::WrongPassword);
    }
    IngestOptions right;
    right.password = "open sesame";
    QCOMPARE(ingestFile(path, right).text, QStringLiteral("The treasure is under the old oak."));
}

void TestPdf::damagedAndForeignFiles_data() {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<int>("kind");
    QTest::newRow("truncated") << "truncated" << static_cast<int>(IngestError::Kind::Damaged);
    QTest::newRow("random bytes named .pdf") << "random" << static_cast<int>(IngestError::Kind::Damaged);
    QTest::newRow("PDF header then garbage") << "garbage" << static_cast<int>(IngestError::Kind::Damaged);
    QTest::newRow("missing file") << "missing" << static_cast<int>(IngestError::Kind::Unreadable);
}

void TestPdf::damagedAndForeignFiles() {
    QFETCH(QString, damage);
    QFETCH(int, kind);
    const QString path = m_dir->filePath(QStringLiteral("bad.pdf"));
    if (damage == QLatin1String("truncated")) {
        testfiles::writePdf(path, {{{QStringLiteral("Some text"), 12}}});
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadWrite));
        f.resize(f.size() / 3);
    } else if (damage == QLatin1String("random") || damage == QLatin1String("garbage")) {
        QByteArray bytes = testfiles::randomBytes(20000, 7);
        if (damage == QLatin1String("garbage"))
            bytes.prepend("%PDF-1.7\n");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(bytes);
    }
    try {
        ingestFile(path);
        QFAIL("expected an IngestError");
    } catch (const IngestError& e) {
        QCOMPARE(static_cast<int>(e.kind()), kind);
    }
}

void TestPdf::longPdfReportsProgressAndCancels() {
    const QString path = m_dir->filePath(QStringLiteral("long.pdf"));
    // Pages of a real book's density: 30 lines of about 70 characters, each page its own words.
    auto word = [](int n) {
        QString w;
        for (; n > 0; n /= 26)
            w += QChar(u'a' + n % 26);
        return w;
    };
    QList<PdfPage> pages;
    for (int p = 1; p <= 1000; ++p) {
        QStringList body;
        for (int l = 0; l < 30; ++l) {
            body << QStringLiteral("The %1 %2 sailed past the %3 while the crew sang of %4 and %5.")
                        .arg(word(p * 31 + l), word(p * 17 + l + 5), word(p + l * 7), word(p * 3 + l), word(l + 11));
        }
        body << QStringLiteral("End of page %1.").arg(word(p));
        pages << bookPage(p, body);
    }
    testfiles::writePdf(path, pages);
    std::atomic<bool> cancel{false};
    int calls = 0, lastTotal = 0;
    IngestOptions options;
    options.cancel = &cancel;
    options.progress = [&](int done, int total) {
        ++calls;
        lastTotal = total;
        if (done == 100)
            cancel = true;
    };
    try {
        ingestFile(path, options);
        QFAIL("expected the ingestion to stop");
    } catch (const IngestError& e) {
        QCOMPARE(e.kind(), IngestError::Kind::Cancelled);
    }
    QCOMPARE(lastTotal, 1000);
    QCOMPARE(calls, 101);  // stopped right after the page it was cancelled on

    QElapsedTimer timer;
    timer.start();
    const IngestedDocument doc = ingestFile(path);
    qInfo("1000-page PDF: %.0f pages/s", 1000.0 / (timer.elapsed() / 1000.0));
    QCOMPARE(doc.pages.size(), 1000);
    QVERIFY(doc.text.contains(QStringLiteral("End of page %1.").arg(word(1000))));
    const PageSpan last = doc.pages.back();
    QVERIFY(
        doc.text.mid(last.begin, last.end - last.begin).endsWith(QStringLiteral("End of page %1.").arg(word(1000))));
    QVERIFY(!doc.text.contains(QStringLiteral("Herman Melville")));
}

// Damaged variants of a plain two-page PDF, each read as Poppler's own pdftotext reads it (the
// independent reference): the same words, or, where pdftotext finds nothing, a clear error.
void TestPdf::damagedStructureReadsAsPdftotextDoes_data() {
    QTest::addColumn<QByteArray>("bytes");
    const QList<QByteArray> objects =
        testfiles::textPdfObjects({QStringLiteral("The lighthouse keeper counted 217 ships.\nNone of them stopped."),
                                   QStringLiteral("On the second page the fog lifts.")});
    QList<qsizetype> offsets;
    const QByteArray pdf = testfiles::pdfFromObjects(objects, &offsets);
    const qsizetype xref = pdf.indexOf("xref\n");
    QTest::newRow("intact") << pdf;

    QByteArray shifted = pdf;  // every offset in the table points 7 bytes too far
    for (int i = 0; i < offsets.size(); ++i) {
        const QByteArray entry = QByteArray::number(offsets[i]).rightJustified(10, '0') + " 00000 n";
        shifted.replace(entry, QByteArray::number(offsets[i] + 7).rightJustified(10, '0') + " 00000 n");
    }
    QTest::newRow("broken xref offsets") << shifted;

    QByteArray length = pdf;
    length.replace("<< /Length ", "<< /Length 9");  // 9 followed by the true length: far too long
    QTest::newRow("wrong stream length") << length;

    QByteArray noTrailer = pdf;
    const qsizetype trailer = noTrailer.indexOf("trailer");
    noTrailer.remove(trailer, noTrailer.indexOf(">>", trailer) + 2 - trailer);
    QTest::newRow("missing trailer") << noTrailer;

    QTest::newRow("truncated tail") << pdf.left(xref - 20);
    QTest::newRow("truncated in the second page") << pdf.left(offsets[6] + 60);

    // An incremental update whose table and /Prev point into nothing.
    QTest::newRow("incremental update breaks the xref")
        << pdf +
               "8 0 obj\n<< /Producer (an editor) >>\nendobj\nxref\n0 1\n0000000000 65535 f \n8 1\n0000099999 00000 n "
               "\ntrailer\n<< /Size 9 /Root 1 0 R /Prev 424242 >>\nstartxref\n" +
               QByteArray::number(pdf.size() + 46) + "\n%%EOF\n";

    // Objects written last to first, the table still right.
    const QByteArray reversed = testfiles::pdfFromObjects(objects, nullptr, {}, true);
    const qsizetype table = reversed.indexOf("xref\n");
    QTest::newRow("objects out of order") << reversed;
    QTest::newRow("out of order, no table") << reversed.left(table);
    QTest::newRow("header only") << pdf.left(200);

    // Text outside the crop box: Poppler's Qt interface reads within it and finds nothing, pdftotext
    // reads the media box; the fallback takes pdftotext's words.
    QList<QByteArray> cropped = objects;
    cropped[3].replace("/MediaBox [0 0 612 792]", "/MediaBox [0 0 612 792] /CropBox [300 0 612 400]");
    cropped[5].replace("/MediaBox [0 0 612 792]", "/MediaBox [0 0 612 792] /CropBox [300 0 612 400]");
    QTest::newRow("text outside the crop box") << testfiles::pdfFromObjects(cropped);
}

void TestPdf::damagedStructureReadsAsPdftotextDoes() {
    QFETCH(QByteArray, bytes);
    const QString pdftotext = QStandardPaths::findExecutable(QStringLiteral("pdftotext"));
    if (pdftotext.isEmpty())
        QSKIP("pdftotext (poppler-utils) is not installed; scripts/setup.sh installs it");
    const QString path = m_dir->filePath(QStringLiteral("damaged.pdf"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(bytes);
    file.close();

    QProcess reference;
    reference.start(pdftotext,
                    {QStringLiteral("-q"), QStringLiteral("-enc"), QStringLiteral("UTF-8"), path, QStringLiteral("-")});
    QVERIFY(reference.waitForFinished(uio::test::kPatienceMs));
    const auto words = [](const QString& text) {
        return text.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts);
    };
    const QStringList expected =
        reference.exitCode() == 0 ? words(QString::fromUtf8(reference.readAllStandardOutput())) : QStringList();
    try {
        const IngestedDocument doc = ingestFile(path);
        qInfo("read %lld words (pdftotext: %lld)%s", static_cast<long long>(words(doc.text).size()),
              static_cast<long long>(expected.size()),
              doc.warnings.isEmpty() ? "" : qPrintable(QStringLiteral("; ") + doc.warnings.join(QLatin1Char(' '))));
        QCOMPARE(words(doc.text), expected);
        QCOMPARE(doc.warnings.join(QLatin1Char(' ')).contains(QStringLiteral("pdftotext")),
                 QByteArray(QTest::currentDataTag()) == "text outside the crop box");
    } catch (const IngestError& e) {
        qInfo("refused: %s", qPrintable(e.message()));
        QVERIFY2(expected.isEmpty(), qPrintable(QStringLiteral("pdftotext reads: ") + expected.join(QLatin1Char(' '))));
        QVERIFY(e.kind() == IngestError::Kind::Damaged || e.kind() == IngestError::Kind::NoText);
        QVERIFY(e.message().contains(QStringLiteral("damaged.pdf")));
    }
}

QTEST_MAIN(TestPdf)
#include "test_pdf.moc"
