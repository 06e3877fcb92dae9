// A writer killed with SIGKILL at random moments never leaves a damaged library or a partial
// segment, and never loses a committed one. Also: readers and a writer on separate connections.

#include "patience.h"
#include "uio/common/checksum.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"

#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <thread>

using namespace uio::storage;

std::vector<std::byte> segment_bytes(int64_t index);  // segment_bytes.cpp

class TestCrash : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void killedWriterLosesNothingCommitted();
    void readersDoNotWaitForTheWriter();
};

void TestCrash::killedWriterLosesNothingCommitted() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("uio.sqlite3"));
    const MemoryKey key{"doc", "model", "adapter", 64, 8, "f32"};
    QRandomGenerator random(20261126);
    int64_t next = 0;
    for (int round = 0; round < 20; ++round) {
        QProcess writer;
        writer.start(QStringLiteral(CRASH_WRITER), {db, QString::number(next)});
        QVERIFY(writer.waitForStarted(uio::test::kPatienceMs));
        // Killed right after its k-th report (k random), so the kill lands mid-write on any machine.
        const int k = static_cast<int>(random.bounded(1, 40));
        int64_t last_reported = next - 1;
        const auto readReports = [&] {
            while (writer.canReadLine()) {
                const QByteArray line = writer.readLine();
                if (line.startsWith("committed "))
                    last_reported = line.mid(10).trimmed().toLongLong();
            }
        };
        while (last_reported - next + 1 < k) {
            QVERIFY2(writer.canReadLine() || writer.waitForReadyRead(uio::test::kPatienceMs),
                     writer.readAllStandardError().constData());
            readReports();
        }
        writer.kill();  // SIGKILL
        QVERIFY(writer.waitForFinished(uio::test::kPatienceMs));
        readReports();

        Library library(db.toStdString());
        QCOMPARE(library.integrity_check(), std::string("ok"));
        MemoryCache cache(library.db());
        const auto indices = cache.find_key(key) ? cache.indices(*cache.find_key(key)) : std::vector<int64_t>{};
        // Every segment reported committed is there; at most one more (committed, not yet reported).
        QVERIFY2(static_cast<int64_t>(indices.size()) >= last_reported + 1, qPrintable(QString::number(round)));
        QVERIFY(static_cast<int64_t>(indices.size()) <= last_reported + 2);
        for (size_t i = 0; i < indices.size(); ++i) {
            QCOMPARE(indices[i], static_cast<int64_t>(i));
            const auto segment = cache.get(*cache.find_key(key), indices[i]);
            QVERIFY2(segment.has_value(), "a stored segment fails its checksum");
            QVERIFY(segment->bytes == segment_bytes(indices[i]));
        }
        qInfo("round %d: %zu segments after the kill", round, indices.size());
        next = static_cast<int64_t>(indices.size());
    }
    QVERIFY(next > 20);
}

void TestCrash::readersDoNotWaitForTheWriter() {
    QTemporaryDir dir;
    const std::string db = dir.filePath(QStringLiteral("uio.sqlite3")).toStdString();
    const MemoryKey key{"doc", "model", "adapter", 64, 8, "f32"};
    {
        Library library(db);
        MemoryCache(library.db()).key_id(key);
    }
    std::atomic<bool> writing{true};
    std::atomic<int> reads{0}, bad{0};
    std::thread writer([&] {
        Library library(db);
        MemoryCache cache(library.db());
        const int64_t id = cache.key_id(key);
        for (int64_t i = 0; i < 40; ++i) {
            const auto bytes = segment_bytes(i);
            cache.put(id, {i, 0, 64, {static_cast<int64_t>(bytes.size())}, "u8", uio::blob_checksum(bytes)}, bytes);
            // The rest only once a reader has read a segment, so that reads and writes overlap
            // on any machine (a reader blocked by the writer would hold this up for good).
            while (i == 0 && reads.load() == 0)
                std::this_thread::yield();
        }
        writing = false;
    });
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r) {
        readers.emplace_back([&] {
            Library library(db);
            MemoryCache cache(library.db());
            const int64_t id = *cache.find_key(key);
            while (writing) {
                for (const int64_t i : cache.indices(id)) {
                    const auto segment = cache.get(id, i);
                    if (!segment || segment->bytes != segment_bytes(i))
                        ++bad;
                    ++reads;
                }
            }
        });
    }
    writer.join();
    for (auto& r : readers)
        r.join();
    qInfo("%d segment reads while the writer ran", reads.load());
    QCOMPARE(bad.load(), 0);
    QVERIFY(reads.load() > 0);
}

QTEST_GUILESS_MAIN(TestCrash)
#include "test_crash.moc"
