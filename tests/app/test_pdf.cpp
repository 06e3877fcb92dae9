// PDFs through Poppler and the clean-up: reading order, headers and page numbers dropped,
// hyphenation joined, page map, outline-free sections, passwords, scans, damage, progress, cancel.

#include "testfiles.h"
#include "uio/app/ingest.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFutureWatcher>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::app;
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
    void asyncWithFuture();

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

void TestPdf::asyncWithFuture() {
    const QString path = m_dir->filePath(QStringLiteral("async.pdf"));
    testfiles::writePdf(path, {{{QStringLiteral("Read off the GUI thread."), 12}}, {{QStringLiteral("Second."), 12}}});
    QFutureWatcher<IngestedDocument> watcher;
    QSignalSpy finished(&watcher, &QFutureWatcher<IngestedDocument>::finished);
    QSignalSpy progress(&watcher, &QFutureWatcher<IngestedDocument>::progressValueChanged);
    watcher.setFuture(ingestFileAsync(path));
    QTRY_COMPARE(finished.count(), 1);
    QVERIFY(watcher.result().text.startsWith(QStringLiteral("Read off the GUI thread.")));
    QVERIFY(progress.count() >= 1);
}

QTEST_MAIN(TestPdf)
#include "test_pdf.moc"
