// The contained reader: its output format read back exactly and hostile output refused; files
// built to hurt the reader (a decompression bomb, a million nested elements, a reader that
// crashes) each fail with their own clear error while a good file reads; the time limit; cancel.
// (test_libraryservice reads the same files as one batch in the library.)

#include "patience.h"
#include "readerprotocol.h"
#include "testfiles.h"
#include "uio/ingest/readerprocess.h"

#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::ingest;

namespace {

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

}  // namespace

class TestReader : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void recordsReadBackExactly();
    void hostileOutputIsRefused_data();
    void hostileOutputIsRefused();
    void hostileFilesFailWithTheirOwnError();
    void timeLimitStopsTheReader();

private:
    QTemporaryDir m_dir;
    testfiles::HostileFiles m_files;
};

void TestReader::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY2(!readerProgram().isEmpty(), "uio-reader not found (UIO_READER_PROGRAM)");
    m_files = testfiles::writeHostileFiles(m_dir.path());
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

    // A text that begins with a byte-order mark keeps it: every offset after it stays right.
    IngestedDocument bom = d;
    bom.text.prepend(QChar(0xFEFF));
    bom.pages.back().end = bom.text.size();
    reader::OutputParser withBom;
    withBom.feed(reader::helloRecord() + reader::documentRecord(bom));
    QCOMPARE(withBom.state(), reader::OutputParser::State::Document);
    QCOMPARE(withBom.document().text, bom.text);

    // A text longer than the reader's memory could hold is not believed, nor buffered.
    reader::OutputParser bounded(100);
    bounded.feed(reader::helloRecord() + "document 10 101\n");
    QCOMPARE(bounded.state(), reader::OutputParser::State::Malformed);

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
    QTest::newRow("a reader claiming it was cancelled") << hello + "error cancelled 5\nhello";
    QTest::newRow("a reader claiming its time ran out") << hello + "error time-limit 5\nhello";
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

void TestReader::hostileFilesFailWithTheirOwnError() {
    const ReaderLimits limits{qint64(512) << 20, 3600};
    const auto failure = [&](const QString& path) {
        try {
            readContained(path, {}, limits);
        } catch (const IngestError& e) {
            qInfo("%s: %s", qPrintable(QFileInfo(path).fileName()), qPrintable(e.message()));
            return std::make_pair(e.kind(), e.message());
        }
        return std::make_pair(IngestError::Kind::Cancelled, QStringLiteral("read without an error"));
    };
    const auto bomb = failure(m_files.bomb);
    QCOMPARE(bomb.first, IngestError::Kind::MemoryLimit);
    QVERIFY(bomb.second.contains(QStringLiteral("retry with a larger memory limit")));
    // The million nested elements make a zip of extreme compression, refused before it is unpacked
    // (test_textformats reads such nesting itself).
    const auto deep = failure(m_files.deep);
    QCOMPARE(deep.first, IngestError::Kind::TooLarge);
    QVERIFY(deep.second.contains(QStringLiteral("zip bomb")));
    const auto crash = failure(m_files.crash);
    QCOMPARE(crash.first, IngestError::Kind::ReaderFailed);
    QVERIFY(crash.second.contains(QStringLiteral("stopped unexpectedly")));
    const IngestedDocument good = readContained(m_files.good, {}, limits);
    QCOMPARE(good.text, QStringLiteral("# Good\n\nA document that reads."));
    QCOMPARE(good.sections.size(), 1);
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
        readContained(m_files.bomb, options, {qint64(512) << 20, 3600});
        QFAIL("a cancelled read returned a document");
    } catch (const IngestError& e) {
        QVERIFY2(e.kind() == IngestError::Kind::Cancelled || e.kind() == IngestError::Kind::MemoryLimit,
                 qPrintable(e.message()));
    }
}

QTEST_GUILESS_MAIN(TestReader)
#include "test_reader.moc"
