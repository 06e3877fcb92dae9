// The contained reader: its output format read back exactly and hostile output refused; a batch of
// files built to hurt the reader (a decompression bomb, a million nested elements, a reader that
// crashes) where each fails alone while the good file is added and the parent's memory stays flat;
// the time limit; the command line's same path.

#include "patience.h"
#include "readerprotocol.h"
#include "testfiles.h"
#include "uio/app/libraryservice.h"
#include "uio/app/readerprocess.h"

#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::app;

namespace {

// The peak resident set of this process so far (VmHWM), in bytes.
qint64 peakResident() {
    QFile status(QStringLiteral("/proc/self/status"));
    status.open(QIODevice::ReadOnly);
    for (const QByteArray& line : status.readAll().split('\n')) {
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong() * 1024;
    }
    return -1;
}

IngestedDocument sampleDocument() {
    IngestedDocument d;
    d.title = QStringLiteral("Über «Zeit»");
    d.authors = QStringLiteral("A. Author");
    d.format = QStringLiteral("pdf");
    d.sha256 = QString(64, QLatin1Char('a'));
    d.text = QStringLiteral("Première page — 𝄞 music.\n\nSecond page.");
    d.sections = {{QStringLiteral("Kapitel 1"), 1, 0}, {QStringLiteral("Zwei"), 2, 27}};
    d.pages = {{1, 0, 25}, {2, 27, d.text.size()}};
    d.warnings = {QStringLiteral("Pages without text: 3.")};
    return d;
}

QString write(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    file.open(QIODevice::WriteOnly);
    file.write(bytes);
    return path;
}

}  // namespace

class TestReader : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void recordsReadBackExactly();
    void hostileOutputIsRefused_data();
    void hostileOutputIsRefused();
    void eachHostileFileFailsAloneInABatch();
    void timeLimitStopsTheReader();
    void commandLineUsesTheSameLimits();

private:
    QTemporaryDir m_dir;
    QString m_bomb, m_deep, m_crash, m_good;
};

void TestReader::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY2(!readerProgram().isEmpty(), "uio-reader not found (UIO_READER_PROGRAM)");
    m_bomb = m_dir.filePath(QStringLiteral("bomb.pdf"));
    testfiles::writeBombPdf(m_bomb, qint64(16) << 30);
    qInfo("decompression bomb: %lld bytes on disk, 16 GiB of content", static_cast<long long>(QFile(m_bomb).size()));
    m_deep = m_dir.filePath(QStringLiteral("deep.epub"));
    testfiles::writeDeepEpub(m_deep, 1'000'000, QStringLiteral("The bottom of the well."));
    m_crash = write(m_dir.filePath(QStringLiteral("crash.txt")), "The reader crashes on this file.");
    m_good = write(m_dir.filePath(QStringLiteral("good.md")), "# Good\n\nA document that reads.\n");
    qputenv("UIO_READER_TEST_CRASH", "crash.txt");
}

void TestReader::recordsReadBackExactly() {
    const IngestedDocument d = sampleDocument();
    const QByteArray stream = reader::helloRecord() + reader::progressRecord(1, 2) + reader::documentRecord(d);
    reader::OutputParser parser;
    for (const char c : stream)  // as a pipe may deliver it: a byte at a time
        parser.feed(QByteArray(1, c));
    QCOMPARE(parser.state(), reader::OutputParser::State::Document);
    const IngestedDocument& r = parser.document();
    QCOMPARE(r.title, d.title);
    QCOMPARE(r.authors, d.authors);
    QCOMPARE(r.text, d.text);
    QCOMPARE(r.sha256, d.sha256);
    QCOMPARE(r.sections.size(), 2);
    QCOMPARE(r.sections[1].offset, d.sections[1].offset);
    QCOMPARE(r.pages.size(), 2);
    QCOMPARE(r.pages[1].end, d.text.size());
    QCOMPARE(r.warnings, d.warnings);

    reader::OutputParser errors;
    errors.feed(reader::helloRecord() + reader::errorRecord(IngestError::Kind::NeedsPassword, QStringLiteral("ß?")));
    QCOMPARE(errors.state(), reader::OutputParser::State::Error);
    QCOMPARE(errors.errorKind(), IngestError::Kind::NeedsPassword);
    QCOMPARE(errors.errorMessage(), QStringLiteral("ß?"));
}

void TestReader::hostileOutputIsRefused_data() {
    QTest::addColumn<QByteArray>("stream");
    const QByteArray hello = reader::helloRecord();
    IngestedDocument d = sampleDocument();
    const auto documentWith = [](IngestedDocument doc) { return reader::documentRecord(doc); };
    QTest::newRow("another version") << QByteArray("uio-reader 2\n");
    QTest::newRow("no greeting") << reader::progressRecord(1, 2);
    QTest::newRow("unknown record") << hello + "run /bin/sh\n";
    QTest::newRow("endless line") << hello + QByteArray(1000, 'x');
    QTest::newRow("progress beyond its total") << hello + "progress 5 2\n";
    QTest::newRow("negative progress") << hello + "progress -1 2\n";
    QTest::newRow("a body of 1 TB") << hello + "document 10 1000000000000\n";
    QTest::newRow("an error of 100 MB") << hello + "error damaged 100000000\n";
    QTest::newRow("an unknown error kind") << hello + "error pwned 5\nhello";
    QTest::newRow("a header that is not JSON") << hello + "document 3 2\n{{{ab";
    IngestedDocument outside = d;
    outside.pages.back().end = d.text.size() + 1;
    QTest::newRow("a page beyond the text") << hello + documentWith(outside);
    IngestedDocument backwards = d;
    std::swap(backwards.pages[0], backwards.pages[1]);
    QTest::newRow("pages out of order") << hello + documentWith(backwards);
    IngestedDocument section = d;
    section.sections[0].offset = -4;
    QTest::newRow("a section before the text") << hello + documentWith(section);
    IngestedDocument format = d;
    format.format = QStringLiteral("exe");
    QTest::newRow("an unknown format") << hello + documentWith(format);
    IngestedDocument sha = d;
    sha.sha256 = QStringLiteral("../../etc/passwd");
    QTest::newRow("a checksum that is not one") << hello + documentWith(sha);
    const QByteArray header = R"({"title":"t","authors":"","format":"txt","sha256":")" + QByteArray(64, 'b') +
                              R"(","sections":[],"pages":[],"warnings":[]})";
    QTest::newRow("text that is not UTF-8")
        << hello + "document " + QByteArray::number(header.size()) + " 2\n" + header + "\xff\xfe";
}

void TestReader::hostileOutputIsRefused() {
    QFETCH(QByteArray, stream);
    reader::OutputParser parser;
    parser.feed(stream);
    QCOMPARE(parser.state(), reader::OutputParser::State::Malformed);
    qInfo("%s", qPrintable(parser.errorMessage()));
}

void TestReader::eachHostileFileFailsAloneInABatch() {
    LibraryService library(m_dir.filePath(QStringLiteral("batch.sqlite3")));
    library.setReaderLimits({qint64(512) << 20, 3600});
    QSignalSpy added(&library, &LibraryService::documentAdded);
    QSignalSpy failed(&library, &LibraryService::addFailed);
    QSignalSpy queued(&library, &LibraryService::readingQueued);
    const qint64 peakBefore = peakResident();
    library.addFiles({m_bomb, m_deep, m_crash, m_good});
    UIO_TRY_COMPARE(added.count() + failed.count(), 4);
    QCOMPARE(queued.count(), 4);
    const qint64 peakAfter = peakResident();

    QHash<QString, QString> failures;
    for (const QList<QVariant>& f : failed)
        failures.insert(f.at(0).toString(), f.at(1).toString());
    for (auto it = failures.cbegin(); it != failures.cend(); ++it)
        qInfo("%s: %s", qPrintable(QFileInfo(it.key()).fileName()), qPrintable(it.value()));
    QVERIFY2(failures.value(m_bomb).contains(QStringLiteral("memory")), qPrintable(failures.value(m_bomb)));
    QVERIFY(failures.value(m_bomb).contains(QStringLiteral("retry")));
    QVERIFY2(failures.value(m_crash).contains(QStringLiteral("stopped unexpectedly")),
             qPrintable(failures.value(m_crash)));
    // The million nested elements make a zip of extreme compression, refused before it is unpacked
    // (test_textformats reads such nesting itself).
    QVERIFY2(failures.value(m_deep).contains(QStringLiteral("zip bomb")), qPrintable(failures.value(m_deep)));
    QCOMPARE(added.count(), 1);
    QCOMPARE(added.at(0).at(2).toString(), m_good);

    // The parent's memory: the bomb and the rest took the children's, not this process's.
    qInfo("parent peak resident set: %.0f MB before the batch, %.0f MB after", peakBefore / 1e6, peakAfter / 1e6);
    QVERIFY2(peakAfter - peakBefore < (qint64(64) << 20), "the parent's memory grew with the hostile files");
}

void TestReader::timeLimitStopsTheReader() {
    // A content stream of 8 GiB of save/restore operators: no text and little memory, only time.
    const QString slow = m_dir.filePath(QStringLiteral("slow.pdf"));
    testfiles::writeBombPdf(slow, qint64(8) << 30, false);
    IngestOptions options;
    try {
        readContained(slow, options, {qint64(4) << 30, 2});
        QFAIL("the slow file was read within its time limit");
    } catch (const IngestError& e) {
        qInfo("%s", qPrintable(e.message()));
        QVERIFY2(e.kind() == IngestError::Kind::TimeLimit || e.kind() == IngestError::Kind::MemoryLimit,
                 qPrintable(e.message()));
    }
    std::atomic<bool> cancel{true};  // cancelled before it could finish
    options.cancel = &cancel;
    try {
        readContained(m_bomb, options, {qint64(512) << 20, 3600});
        QFAIL("a cancelled read returned a document");
    } catch (const IngestError& e) {
        QVERIFY2(e.kind() == IngestError::Kind::Cancelled || e.kind() == IngestError::Kind::MemoryLimit,
                 qPrintable(e.message()));
    }
}

void TestReader::commandLineUsesTheSameLimits() {
    const QString db = m_dir.filePath(QStringLiteral("cli.sqlite3"));
    QProcess process;
    process.start(QStringLiteral(UIO_BINARY),
                  {QStringLiteral("ingest"), QStringLiteral("--db"), db, QStringLiteral("--memory-limit"),
                   QStringLiteral("512"), m_bomb, m_good});
    QVERIFY(process.waitForFinished(uio::test::kPatienceMs));
    const QString err = QString::fromUtf8(process.readAllStandardError());
    qInfo("%s", qPrintable(err.trimmed()));
    QCOMPARE(process.exitCode(), 1);  // one file failed
    QVERIFY(err.contains(QStringLiteral("bomb.pdf was stopped when it needed more than")));
    QVERIFY(QString::fromUtf8(process.readAllStandardOutput()).contains(QStringLiteral("added\tGood")));
}

QTEST_GUILESS_MAIN(TestReader)
#include "test_reader.moc"
