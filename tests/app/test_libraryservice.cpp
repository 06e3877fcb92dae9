// Adding files to the library, as the desktop program and `uio ingest` do: a batch of files built to
// hurt the reader (a decompression bomb, a million nested elements, a reader that crashes) beside a
// good one; each hostile file fails alone with its reason, the good one is added, the library
// answers while a file is read, and this process's memory stays flat.

#include "patience.h"
#include "testfiles.h"
#include "uio/app/libraryservice.h"
#include "uio/app/modelservice.h"
#include "uio/common/units.h"

#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <optional>

using namespace uio::app;
using namespace uio::ingest;
using uio::byteSize;
using uio::kMegabyte;

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

}  // namespace

class TestLibraryService : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void eachHostileFileFailsAloneInABatch();
    void commandLineUsesTheSameLimits();
    void fineTuningCorpusUsesTheSameLimits();

private:
    QTemporaryDir m_dir;
    testfiles::HostileFiles m_files;
    QString m_model;
};

void TestLibraryService::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY2(!readerProgram().isEmpty(), "uio-reader not found (UIO_READER_PROGRAM)");
    m_files = testfiles::writeHostileFiles(m_dir.path());
    m_model = m_dir.filePath(QStringLiteral("tiny"));
    QProcess make;
    make.start(QStringLiteral(UIO_BINARY), {QStringLiteral("make-model"), QStringLiteral("--preset"),
                                            QStringLiteral("tiny"), QStringLiteral("--out"), m_model});
    QVERIFY(make.waitForFinished(uio::test::kPatienceMs));
    QVERIFY2(make.exitCode() == 0, make.readAllStandardError().constData());
}

void TestLibraryService::eachHostileFileFailsAloneInABatch() {
    LibraryService library(m_dir.filePath(QStringLiteral("batch.sqlite3")));
    library.setReaderLimits({512 * kMegabyte, 3600});
    QSignalSpy added(&library, &LibraryService::documentAdded);
    QSignalSpy failed(&library, &LibraryService::addFailed);
    QSignalSpy queued(&library, &LibraryService::readingQueued);
    QSignalSpy progress(&library, &LibraryService::readingProgress);
    QSignalSpy chats(&library, &LibraryService::chatCreated);
    const qint64 peakBefore = peakResident();
    library.addFiles({m_files.bomb, m_files.deep, m_files.crash, m_files.good});
    // While the first file (the bomb, in name order) is read, the library thread answers.
    UIO_TRY_VERIFY(!progress.isEmpty());
    library.createChat(QStringLiteral("Asked while a file is read"), {});
    UIO_TRY_COMPARE(chats.count(), 1);
    qInfo("a chat was created %s the bomb's reader ended", failed.isEmpty() ? "before" : "after");
    UIO_TRY_COMPARE(added.count() + failed.count(), 4);
    QCOMPARE(queued.count(), 4);
    const qint64 peakAfter = peakResident();

    QHash<QString, QString> failures;
    for (const QList<QVariant>& f : failed) {
        failures.insert(f.at(0).toString(), f.at(1).toString());
        qInfo("%s: %s", qPrintable(QFileInfo(f.at(0).toString()).fileName()), qPrintable(f.at(1).toString()));
    }
    QVERIFY2(failures.value(m_files.bomb).contains(QStringLiteral("memory")), qPrintable(failures.value(m_files.bomb)));
    QVERIFY(failures.value(m_files.deep).contains(QStringLiteral("zip bomb")));
    QVERIFY(failures.value(m_files.crash).contains(QStringLiteral("stopped unexpectedly")));
    QCOMPARE(added.count(), 1);
    QCOMPARE(added.at(0).at(2).toString(), m_files.good);

    // The bomb took its reader's memory, not this process's.
    qInfo("this process's peak resident set: %.0f MB before the batch, %.0f MB after", peakBefore / 1e6,
          peakAfter / 1e6);
    QVERIFY2(peakAfter - peakBefore < 64 * kMegabyte, "the parent's memory grew with the hostile files");
}

void TestLibraryService::commandLineUsesTheSameLimits() {
    const QString db = m_dir.filePath(QStringLiteral("cli.sqlite3"));
    QProcess process;
    process.start(QStringLiteral(UIO_BINARY),
                  {QStringLiteral("ingest"), QStringLiteral("--db"), db, QStringLiteral("--memory-limit"),
                   QStringLiteral("512"), m_files.bomb, m_files.good});
    QVERIFY(process.waitForFinished(uio::test::kPatienceMs));
    const QString err = QString::fromUtf8(process.readAllStandardError());
    qInfo("%s", qPrintable(err.trimmed()));
    QCOMPARE(process.exitCode(), 1);  // one file failed
    QVERIFY(err.contains(QStringLiteral("bomb.pdf was stopped when it needed more than")));
    QVERIFY(QString::fromUtf8(process.readAllStandardOutput()).contains(QStringLiteral("added\tGood")));

    // uio train reads its --corpus files the same way.
    process.start(QStringLiteral(UIO_BINARY),
                  {QStringLiteral("train"), QStringLiteral("--model"), m_model, QStringLiteral("--corpus"),
                   m_files.bomb, QStringLiteral("--memory-limit"), QStringLiteral("320"), QStringLiteral("--out"),
                   m_dir.filePath(QStringLiteral("never.safetensors"))});
    QVERIFY(process.waitForFinished(uio::test::kPatienceMs));
    const QString trainErr = QString::fromUtf8(process.readAllStandardError());
    qInfo("%s", qPrintable(trainErr.trimmed()));
    QCOMPARE(process.exitCode(), 1);
    QVERIFY(trainErr.contains(
        QStringLiteral("bomb.pdf was stopped when it needed more than %1").arg(byteSize(double(320 * kMegabyte)))));
}

void TestLibraryService::fineTuningCorpusUsesTheSameLimits() {
    // The wizard counts its corpus on the model thread, with the limits of Settings.
    ModelService service;
    const qint64 limit = 320 * kMegabyte;
    service.setReaderLimits({limit, 3600});
    QSignalSpy ready(&service, &ModelService::modelReady);
    QSignalSpy modelFailed(&service, &ModelService::modelFailed);
    std::optional<CorpusCount> count;
    connect(&service, &ModelService::corpusCounted, this, [&](const CorpusCount& c) { count = c; });
    ModelSettings settings;
    settings.modelDir = m_model;
    settings.adapterPath = m_dir.filePath(QStringLiteral("adapter.safetensors"));
    settings.databasePath = m_dir.filePath(QStringLiteral("finetune.sqlite3"));
    service.createAdapter(settings);
    UIO_TRY_VERIFY(ready.count() + modelFailed.count() > 0);
    QCOMPARE(modelFailed.count(), 0);

    FineTuneSettings corpus;
    corpus.files << m_files.bomb << m_files.good;
    service.countCorpus(corpus);
    UIO_TRY_VERIFY(count.has_value());
    qInfo("%s", qPrintable(count->problems.join(QLatin1Char('\n'))));
    QCOMPARE(count->streamTokens.size(), 1);  // the good file
    QCOMPARE(count->problems.size(), 1);
    QVERIFY(count->problems.front().contains(QStringLiteral("when it needed more than %1").arg(byteSize(limit))));
}

QTEST_GUILESS_MAIN(TestLibraryService)
#include "test_libraryservice.moc"
