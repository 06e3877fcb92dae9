// uio bench, run as a program on a tiny generated model: the figures are there and consistent
// (full attention fails past the model's positions where UIO goes on; compression and training
// report per size and per T), and uio-benchreport turns them into tables and plots.

#include "patience.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

namespace {

struct Run {
    int exitCode = -1;
    QByteArray out, err;
};

Run start(const QString& program, const QStringList& args) {
    QProcess process;
    process.start(program, args);
    if (!process.waitForFinished(uio::test::kPatienceMs)) {
        process.kill();
        return {-1, {}, "timed out"};
    }
    return {process.exitCode(), process.readAllStandardOutput(), process.readAllStandardError()};
}

QJsonObject benchJson(const QStringList& args, QByteArray* lines) {
    const Run run = start(QStringLiteral(UIO_BINARY), QStringList{QStringLiteral("bench")} + args);
    if (run.exitCode != 0) {
        qWarning("%s", run.err.constData());
        return {};
    }
    lines->append(run.out);
    return QJsonDocument::fromJson(run.out).object();
}

}  // namespace

class TestBench : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void memoryAgainstContextLength();
    void compressionAndTrainingScale();
    void reportTablesAndPlots();

private:
    QTemporaryDir m_dir;
    QString m_model, m_adapter;
    QByteArray m_lines;  // every bench's JSON, for the report
};

void TestBench::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("tiny"));  // 2048 positions
    m_adapter = m_dir.filePath(QStringLiteral("adapter.safetensors"));
    QCOMPARE(start(QStringLiteral(UIO_BINARY), {QStringLiteral("make-model"), QStringLiteral("--preset"),
                                                QStringLiteral("tiny"), QStringLiteral("--out"), m_model})
                 .exitCode,
             0);
    QCOMPARE(
        start(QStringLiteral(UIO_BINARY),
              {QStringLiteral("adapter"), QStringLiteral("new"), QStringLiteral("--model"), m_model,
               QStringLiteral("--out"), m_adapter, QStringLiteral("--segment-length"), QStringLiteral("64"),
               QStringLiteral("--memory-tokens"), QStringLiteral("8"), QStringLiteral("--rank"), QStringLiteral("4")})
            .exitCode,
        0);
}

void TestBench::memoryAgainstContextLength() {
    const QStringList common{QStringLiteral("memory"), QStringLiteral("--model"), m_model, QStringLiteral("--contexts"),
                             QStringLiteral("256,1024,4096")};
    const QJsonObject plain =
        benchJson(common + QStringList{QStringLiteral("--mode"), QStringLiteral("plain")}, &m_lines);
    const QJsonArray full = plain[QStringLiteral("results")].toArray();
    QCOMPARE(full.size(), 3);
    QVERIFY(full[0].toObject()[QStringLiteral("peak_bytes")].toDouble() > 0);
    QVERIFY(full[1].toObject()[QStringLiteral("seconds")].toDouble() > 0);
    // 4096 tokens do not fit 2048 positions: full attention stops there, and says why.
    const QString failed = full[2].toObject()[QStringLiteral("failed")].toString();
    QVERIFY2(failed.contains(QStringLiteral("room for")), qPrintable(failed));

    const QJsonObject uio = benchJson(
        common + QStringList{QStringLiteral("--mode"), QStringLiteral("uio"), QStringLiteral("--adapter"), m_adapter},
        &m_lines);
    const QJsonArray memory = uio[QStringLiteral("results")].toArray();
    QCOMPARE(memory.size(), 3);
    const QJsonObject longest = memory[2].toObject();
    QVERIFY2(!longest.contains(QStringLiteral("failed")), qPrintable(longest[QStringLiteral("failed")].toString()));
    QCOMPARE(longest[QStringLiteral("memory_segments")].toInt(), 4096 / 64);
    QVERIFY(longest[QStringLiteral("decode_tokens_per_s")].toDouble() > 0);
}

void TestBench::compressionAndTrainingScale() {
    const QJsonObject compress =
        benchJson({QStringLiteral("compress"), QStringLiteral("--model"), m_model, QStringLiteral("--adapter"),
                   m_adapter, QStringLiteral("--sizes"), QStringLiteral("512,2048")},
                  &m_lines);
    const QJsonArray sizes = compress[QStringLiteral("results")].toArray();
    QCOMPARE(sizes.size(), 2);
    QCOMPARE(sizes[1].toObject()[QStringLiteral("tokens")].toInt(), 2048);
    QVERIFY(sizes[1].toObject()[QStringLiteral("fraction_of_gemm")].toDouble() > 0);

    const QJsonObject train =
        benchJson({QStringLiteral("train"), QStringLiteral("--model"), m_model, QStringLiteral("--segments"),
                   QStringLiteral("2,4"), QStringLiteral("--segment-length"), QStringLiteral("32"),
                   QStringLiteral("--memory-tokens"), QStringLiteral("4"), QStringLiteral("--rank"),
                   QStringLiteral("4"), QStringLiteral("--steps"), QStringLiteral("1")},
                  &m_lines);
    const QJsonArray rows = train[QStringLiteral("results")].toArray();
    QCOMPARE(rows.size(), 2);
    for (const auto& row : rows) {
        QVERIFY(row.toObject()[QStringLiteral("tokens_per_s")].toDouble() > 0);
        QVERIFY(row.toObject()[QStringLiteral("peak_bytes")].toDouble() > 0);
    }
}

void TestBench::reportTablesAndPlots() {
#ifndef UIO_BENCHREPORT_BINARY
    QSKIP("uio-benchreport is built with the desktop application");
#else
    QVERIFY(!m_lines.isEmpty());
    const QString results = m_dir.filePath(QStringLiteral("results.jsonl"));
    QFile file(results);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(m_lines);
    file.close();
    const QString plots = m_dir.filePath(QStringLiteral("plots"));
    const Run run = start(QStringLiteral(UIO_BENCHREPORT_BINARY), {QStringLiteral("--plots"), plots, results});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    for (const char* heading : {"### Context length", "### Compression against the document length", "### Training"})
        QVERIFY2(run.out.contains(heading), heading);
    QVERIFY(run.out.contains("fails: "));
    for (const char* png : {"context-time.png", "context-memory.png", "compress-linear.png", "train-memory.png"})
        QVERIFY2(QFileInfo(plots + QLatin1Char('/') + QLatin1String(png)).size() > 1000, png);
#endif
}

QTEST_MAIN(TestBench)
#include "test_bench.moc"
