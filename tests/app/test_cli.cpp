// The `uio` command line as scripts use it: real processes, real files, JSON output.

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

namespace {

struct Run {
    int exitCode;
    QByteArray out;
    QByteArray err;
};

Run uio(const QStringList& args) {
    QProcess process;
    process.start(QStringLiteral(UIO_BINARY), args);
    if (!process.waitForFinished(120000)) {
        process.kill();
        return {-1, {}, "timed out"};
    }
    return {process.exitCode(), process.readAllStandardOutput(), process.readAllStandardError()};
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void tokenizeJson();
    void generateIsReproducibleWithASeed();
    void generateStreamsText();
    void scoreJson();
    void errorsSayWhatToDo_data();
    void errorsSayWhatToDo();

private:
    QTemporaryDir m_dir;
    QString m_model;
};

void TestCli::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("tiny"));
    const Run run = uio({QStringLiteral("make-model"), QStringLiteral("--preset"), QStringLiteral("tiny"),
                         QStringLiteral("--out"), m_model, QStringLiteral("--seed"), QStringLiteral("4")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QVERIFY(run.err.contains("done"));
}

void TestCli::tokenizeJson() {
    const Run run = uio({QStringLiteral("tokenize"), QStringLiteral("--model"), m_model, QStringLiteral("--text"),
                         QStringLiteral("a cat"), QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = QJsonDocument::fromJson(run.out).object();
    const QJsonArray ids = json[QStringLiteral("ids")].toArray();
    QCOMPARE(ids.first().toInt(), 1);
    QCOMPARE(json[QStringLiteral("pieces")].toArray().size(), ids.size());
    QCOMPARE(json[QStringLiteral("pieces")].toArray().first().toString(), QStringLiteral("<s>"));

    const Run plain = uio({QStringLiteral("tokenize"), QStringLiteral("--model"), m_model, QStringLiteral("--text"),
                           QStringLiteral("a cat"), QStringLiteral("--no-bos")});
    QStringList expected;
    for (int i = 1; i < ids.size(); ++i)
        expected << QString::number(ids[i].toInt());
    QCOMPARE(QString::fromUtf8(plain.out).trimmed(), expected.join(QLatin1Char(' ')));
}

void TestCli::generateIsReproducibleWithASeed() {
    auto generate = [&](const QString& seed) {
        return uio({QStringLiteral("generate"), QStringLiteral("--model"), m_model, QStringLiteral("--prompt-ids"),
                    QStringLiteral("1,20,30"), QStringLiteral("--max-new-tokens"), QStringLiteral("12"),
                    QStringLiteral("--ignore-eos"), QStringLiteral("--seed"), seed, QStringLiteral("--ids")});
    };
    const Run a = generate(QStringLiteral("5")), b = generate(QStringLiteral("5")), c = generate(QStringLiteral("6"));
    QCOMPARE(a.exitCode, 0);
    QCOMPARE(a.out.trimmed().split(' ').size(), 12);
    QCOMPARE(a.out, b.out);
    QVERIFY(a.out != c.out);
}

void TestCli::generateStreamsText() {
    const Run run = uio({QStringLiteral("generate"), QStringLiteral("--model"), m_model, QStringLiteral("--prompt"),
                         QStringLiteral("Once"), QStringLiteral("--chat"), QStringLiteral("--max-new-tokens"),
                         QStringLiteral("8"), QStringLiteral("--ignore-eos"), QStringLiteral("--json"),
                         QStringLiteral("--temperature"), QStringLiteral("0")});
    QCOMPARE(run.exitCode, 0);
    const QList<QByteArray> lines = run.out.trimmed().split('\n');
    QCOMPARE(lines.size(), 9);  // eight tokens and the summary
    const QJsonObject summary = QJsonDocument::fromJson(lines.last()).object();
    QCOMPARE(summary[QStringLiteral("generated_tokens")].toInt(), 8);
    QCOMPARE(summary[QStringLiteral("stop")].toString(), QStringLiteral("max_tokens"));
    QVERIFY(summary[QStringLiteral("decode_tokens_per_s")].toDouble() > 0);
    for (int i = 0; i < 8; ++i) {
        QCOMPARE(QJsonDocument::fromJson(lines[i]).object()[QStringLiteral("id")].toInt(),
                 summary[QStringLiteral("ids")].toArray()[i].toInt());
    }
}

void TestCli::scoreJson() {
    const Run run = uio({QStringLiteral("score"), QStringLiteral("--model"), m_model, QStringLiteral("--ids"),
                         QStringLiteral("1,40,41,42,43"), QStringLiteral("--top-k"), QStringLiteral("2"),
                         QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = QJsonDocument::fromJson(run.out).object();
    const QJsonArray positions = json[QStringLiteral("positions")].toArray();
    QCOMPARE(positions.size(), 5);
    double sum = 0;
    for (int i = 0; i < 4; ++i) {
        const QJsonObject p = positions[i].toObject();
        QCOMPARE(p[QStringLiteral("index")].toInt(), i);
        QCOMPARE(p[QStringLiteral("next")].toInt(), 40 + i);
        QCOMPARE(p[QStringLiteral("top")].toArray().size(), 2);
        sum += p[QStringLiteral("next_logprob")].toDouble();
    }
    QVERIFY(positions[4].toObject()[QStringLiteral("next")].isNull());
    QVERIFY(positions[4].toObject()[QStringLiteral("next_logprob")].isNull());
    QVERIFY(std::abs(json[QStringLiteral("sum_logprob")].toDouble() - sum) < 1e-9);
    QVERIFY(std::abs(json[QStringLiteral("perplexity")].toDouble() - std::exp(-sum / 4)) < 1e-6);
}

void TestCli::errorsSayWhatToDo_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    QTest::newRow("no such model") << QStringList{QStringLiteral("generate"), QStringLiteral("--model"),
                                                  QStringLiteral("/nonexistent"), QStringLiteral("--prompt"),
                                                  QStringLiteral("hi")}
                                   << 1 << QStringLiteral("is this a Hugging Face model folder?");
    QTest::newRow("two prompts") << QStringList{QStringLiteral("generate"), QStringLiteral("--prompt"),
                                                QStringLiteral("a"), QStringLiteral("--prompt-ids"),
                                                QStringLiteral("1")}
                                 << 2 << QStringLiteral("exactly one of --prompt and --prompt-ids");
    QTest::newRow("bad ids") << QStringList{QStringLiteral("score"), QStringLiteral("--model"), QStringLiteral("/x"),
                                            QStringLiteral("--ids"), QStringLiteral("1,x")}
                             << 2 << QStringLiteral("'x' is not a token id");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("tokenize"), QStringLiteral("--bogus")} << 2
                                    << QStringLiteral("Unknown option 'bogus'");
    QTest::newRow("unknown preset") << QStringList{QStringLiteral("make-model"), QStringLiteral("--preset"),
                                                   QStringLiteral("huge"), QStringLiteral("--out"),
                                                   QStringLiteral("/tmp/never")}
                                    << 1 << QStringLiteral("use tiny, small or llama2-7b-shape");
    QTest::newRow("no cuda here") << QStringList{QStringLiteral("generate"), QStringLiteral("--model"),
                                                 QStringLiteral("/x"),       QStringLiteral("--prompt"),
                                                 QStringLiteral("hi"),       QStringLiteral("--device"),
                                                 QStringLiteral("tpu")}
                                  << 1 << QStringLiteral("unknown device");
}

void TestCli::errorsSayWhatToDo() {
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const Run run = uio(args);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(QString::fromUtf8(run.err).contains(message), run.err.constData());
}

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
