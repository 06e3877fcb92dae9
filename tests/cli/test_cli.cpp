// The `uio` command line as scripts use it: real processes, real files, JSON output.

#include "patience.h"

#include <QFile>
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

Run runUio(const QStringList& args) {
    QProcess process;
    process.start(QStringLiteral(UIO_BINARY), args);
    if (!process.waitForFinished(uio::test::kPatienceMs)) {
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
    void adapterCompressAndAnswer();
    void trainWritesAnAdapterAndResumes();
    void recallExperimentLearns();
    void errorsSayWhatToDo_data();
    void errorsSayWhatToDo();
    void everyCommandHasHelp();
    void searchAndAnswerWithSources();
    void ultragistScoresAndExtracts();
    void storiesExperimentReportsThreeWays();

private:
    QTemporaryDir m_dir;
    QString m_model;
};

void TestCli::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("tiny"));
    const Run run = runUio({QStringLiteral("make-model"), QStringLiteral("--preset"), QStringLiteral("tiny"),
                            QStringLiteral("--out"), m_model, QStringLiteral("--seed"), QStringLiteral("4")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QVERIFY(run.err.contains("done"));
}

void TestCli::tokenizeJson() {
    const Run run = runUio({QStringLiteral("tokenize"), QStringLiteral("--model"), m_model, QStringLiteral("--text"),
                            QStringLiteral("a cat"), QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = QJsonDocument::fromJson(run.out).object();
    const QJsonArray ids = json[QStringLiteral("ids")].toArray();
    QCOMPARE(ids.first().toInt(), 1);
    QCOMPARE(json[QStringLiteral("pieces")].toArray().size(), ids.size());
    QCOMPARE(json[QStringLiteral("pieces")].toArray().first().toString(), QStringLiteral("<s>"));

    const Run plain = runUio({QStringLiteral("tokenize"), QStringLiteral("--model"), m_model, QStringLiteral("--text"),
                              QStringLiteral("a cat"), QStringLiteral("--no-bos")});
    QStringList expected;
    for (int i = 1; i < ids.size(); ++i)
        expected << QString::number(ids[i].toInt());
    QCOMPARE(QString::fromUtf8(plain.out).trimmed(), expected.join(QLatin1Char(' ')));
}

void TestCli::generateIsReproducibleWithASeed() {
    auto generate = [&](const QString& seed) {
        return runUio({QStringLiteral("generate"), QStringLiteral("--model"), m_model, QStringLiteral("--prompt-ids"),
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
    const Run run = runUio({QStringLiteral("generate"), QStringLiteral("--model"), m_model, QStringLiteral("--prompt"),
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
    const Run run = runUio({QStringLiteral("score"), QStringLiteral("--model"), m_model, QStringLiteral("--ids"),
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

void TestCli::trainWritesAnAdapterAndResumes() {
    const QString text = m_dir.filePath(QStringLiteral("corpus.txt"));
    QFile file(text);
    QVERIFY(file.open(QIODevice::WriteOnly));
    for (int i = 0; i < 80; ++i)
        file.write(QByteArray("Chapter ") + QByteArray::number(i) + " of the voyage: the sea was calm and grey. ");
    file.close();
    const QString out = m_dir.filePath(QStringLiteral("trained.safetensors"));
    const QStringList common{QStringLiteral("train"),
                             QStringLiteral("--model"),
                             m_model,
                             QStringLiteral("--corpus"),
                             text,
                             QStringLiteral("--out"),
                             out,
                             QStringLiteral("--json")};
    Run run =
        runUio(common + QStringList{QStringLiteral("--segment-length"), QStringLiteral("16"),
                                    QStringLiteral("--memory-tokens"), QStringLiteral("4"), QStringLiteral("--rank"),
                                    QStringLiteral("4"), QStringLiteral("--alpha"), QStringLiteral("8"),
                                    QStringLiteral("--segments"), QStringLiteral("3"), QStringLiteral("--steps"),
                                    QStringLiteral("4"), QStringLiteral("--lr"), QStringLiteral("0.01")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    int steps = 0, evaluations = 0;
    for (const QByteArray& line : run.out.split('\n')) {
        const QJsonObject event = QJsonDocument::fromJson(line).object();
        if (event[QStringLiteral("event")] == QLatin1String("step")) {
            ++steps;
            QVERIFY(event[QStringLiteral("loss")].toDouble() > 0.0);
            QVERIFY(event[QStringLiteral("tokens_per_s")].toDouble() > 0.0);
            QVERIFY(event[QStringLiteral("memory_bytes")].toDouble() > 0.0);
        } else if (event[QStringLiteral("event")] == QLatin1String("eval")) {
            ++evaluations;
            QVERIFY(event[QStringLiteral("ppl_memory")].toDouble() > 1.0);
        }
    }
    QCOMPARE(steps, 4);
    QCOMPARE(evaluations, 2);  // at the start and the end
    run = runUio({QStringLiteral("adapter"), QStringLiteral("info"), out});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QJsonObject info = QJsonDocument::fromJson(run.out).object();
    QCOMPARE(info[QStringLiteral("segment_length")].toInt(), 16);
    // The file says how it was made: a chat trusts its memories only when it was trained.
    QCOMPARE(info[QStringLiteral("origin")].toString(), QStringLiteral("trained"));
    QCOMPARE(info[QStringLiteral("trained_steps")].toInt(), 4);
    QVERIFY(info[QStringLiteral("corpus_tokens")].toInt() > 100);

    // The finished run resumes to its end at once; a run folder of other settings is refused.
    run = runUio(common + QStringList{QStringLiteral("--resume"), out + QStringLiteral(".run")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    run = runUio(common + QStringList{QStringLiteral("--resume"), m_dir.filePath(QStringLiteral("nothing"))});
    QCOMPARE(run.exitCode, 2);
    QVERIFY(run.err.contains("holds no checkpoint"));
}

void TestCli::recallExperimentLearns() {
    // The fact sits in segment 0 of 3 and is asked at the end of segment 2; the base stays
    // frozen, so only the memories can carry it. About 10 s on two cores.
    const Run run = runUio({QStringLiteral("experiment"), QStringLiteral("recall"), QStringLiteral("--json")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QJsonObject result = QJsonDocument::fromJson(run.out.trimmed().split('\n').last()).object();
    QCOMPARE(result[QStringLiteral("experiment")].toString(), QStringLiteral("recall"));
    QCOMPARE(result[QStringLiteral("chance")].toDouble(), 1.0 / 16);
    const double with = result[QStringLiteral("accuracy_with_memory")].toDouble(-1.0);
    const double without = result[QStringLiteral("accuracy_without_memory")].toDouble(-1.0);
    qInfo("recall after %d steps: %.3f with memories, %.3f without (chance %.4f)",
          result[QStringLiteral("steps")].toInt(), with, without, 1.0 / 16);
    QVERIFY2(with >= 0.6, qPrintable(QString::number(with)));
    QVERIFY2(without >= 0.0 && without <= 0.2, qPrintable(QString::number(without)));
}

void TestCli::adapterCompressAndAnswer() {
    const QString adapter = m_dir.filePath(QStringLiteral("adapter.safetensors"));
    Run run = runUio({QStringLiteral("adapter"), QStringLiteral("new"), QStringLiteral("--model"), m_model,
                      QStringLiteral("--out"), adapter, QStringLiteral("--segment-length"), QStringLiteral("32"),
                      QStringLiteral("--memory-tokens"), QStringLiteral("4"), QStringLiteral("--rank"),
                      QStringLiteral("4"), QStringLiteral("--alpha"), QStringLiteral("8")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    run = runUio({QStringLiteral("adapter"), QStringLiteral("info"), adapter});
    const QJsonObject info = QJsonDocument::fromJson(run.out).object();
    QCOMPARE(info[QStringLiteral("compression")].toInt(), 8);
    QCOMPARE(info[QStringLiteral("num_layers")].toInt(), 2);
    QCOMPARE(info[QStringLiteral("origin")].toString(), QStringLiteral("created"));
    QCOMPARE(info[QStringLiteral("trained")].toBool(), false);

    const QString text = m_dir.filePath(QStringLiteral("doc.txt"));
    QFile file(text);
    QVERIFY(file.open(QIODevice::WriteOnly));
    for (int i = 0; i < 60; ++i)
        file.write("The whale swam past the ship at dawn, and the sailors sang. ");
    file.close();
    const QString memory = m_dir.filePath(QStringLiteral("doc.memory.safetensors"));
    run = runUio({QStringLiteral("compress"), QStringLiteral("--model"), m_model, QStringLiteral("--adapter"), adapter,
                  QStringLiteral("--text-file"), text, QStringLiteral("--out"), memory});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QJsonObject compressed = QJsonDocument::fromJson(run.out).object();
    const int tokens = compressed[QStringLiteral("tokens")].toInt();
    QCOMPARE(compressed[QStringLiteral("segments")].toInt(), tokens / 32);
    QCOMPARE(compressed[QStringLiteral("residual_tokens")].toInt(), tokens % 32);

    run = runUio({QStringLiteral("generate"), QStringLiteral("--model"), m_model, QStringLiteral("--adapter"), adapter,
                  QStringLiteral("--memory"), memory, QStringLiteral("--prompt"), QStringLiteral("Who sang?"),
                  QStringLiteral("--chat"), QStringLiteral("--max-new-tokens"), QStringLiteral("40"),
                  QStringLiteral("--ignore-eos"), QStringLiteral("--json")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QJsonObject summary = QJsonDocument::fromJson(run.out.trimmed().split('\n').last()).object();
    QCOMPARE(summary[QStringLiteral("generated_tokens")].toInt(), 40);

    run = runUio({QStringLiteral("score"), QStringLiteral("--model"), m_model, QStringLiteral("--adapter"), adapter,
                  QStringLiteral("--segment-length"), QStringLiteral("32"), QStringLiteral("--text-file"), text,
                  QStringLiteral("--json")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QJsonObject score = QJsonDocument::fromJson(run.out).object();
    QCOMPARE(score[QStringLiteral("positions")].toArray().size(), tokens);
    QCOMPARE(score[QStringLiteral("segment_perplexity")].toArray().size(), (tokens + 31) / 32);

    // A memory file made with another adapter is refused.
    const QString other = m_dir.filePath(QStringLiteral("other.safetensors"));
    runUio({QStringLiteral("adapter"), QStringLiteral("new"), QStringLiteral("--model"), m_model,
            QStringLiteral("--out"), other, QStringLiteral("--segment-length"), QStringLiteral("32"),
            QStringLiteral("--memory-tokens"), QStringLiteral("4"), QStringLiteral("--rank"), QStringLiteral("4"),
            QStringLiteral("--seed"), QStringLiteral("9")});
    run = runUio({QStringLiteral("generate"), QStringLiteral("--model"), m_model, QStringLiteral("--adapter"), other,
                  QStringLiteral("--memory"), memory, QStringLiteral("--prompt"), QStringLiteral("x")});
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.contains("compressed with another adapter"), run.err.constData());
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
                                    << 1 << QStringLiteral("use tiny, small, tinyllama-1b-shape or llama2-7b-shape");
    QTest::newRow("export to an unknown type")
        << QStringList{QStringLiteral("export"),         QStringLiteral("--model"), QStringLiteral("/x"),
                       QStringLiteral("--type"),         QStringLiteral("q4_0"),    QStringLiteral("--out"),
                       QStringLiteral("/tmp/never.gguf")}
        << 1 << QStringLiteral("use f32, f16, bf16 or q8_0");
    QTest::newRow("import of a file that is not a checkpoint")
        << QStringList{QStringLiteral("adapter"),      QStringLiteral("import"),
                       QStringLiteral("--model"),      QStringLiteral(UIO_SOURCE_DIR),
                       QStringLiteral("--checkpoint"), QStringLiteral(UIO_SOURCE_DIR "/README.md"),
                       QStringLiteral("--out"),        QStringLiteral("/tmp/never.safetensors")}
        << 1 << QStringLiteral("config.json: cannot be read");
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
    const Run run = runUio(args);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(QString::fromUtf8(run.err).contains(message), run.err.constData());
}

namespace {

// The names listed under a help text's heading ("Commands:"), two spaces in, one per line.
QStringList listedNames(const QByteArray& help) {
    QStringList names;
    for (const QByteArray& line : help.split('\n')) {
        if (line.startsWith("  ") && !line.startsWith("   "))
            names << QString::fromUtf8(line.trimmed().split(' ').first());
    }
    return names;
}

}  // namespace

// `uio X --help` and `uio X Y --help` print help and succeed for every command and verb, also
// for those that need arguments; `uio bench` alone lists its verbs.
void TestCli::searchAndAnswerWithSources() {
    // A book in Markdown whose chapter "The Drawer" holds one sentence with non-ASCII words.
    const QString book = m_dir.filePath(QStringLiteral("café.md"));
    QFile file(book);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("# Café stories\n\n");
    for (int chapter = 1; chapter <= 12; ++chapter) {
        file.write(chapter == 7 ? "## The Drawer\n\n" : "## Chapter\n\n");
        for (int i = 0; i < 40; ++i)
            file.write("The whale swam past the ship at dawn, and the sailors sang. ");
        if (chapter == 7)
            file.write("\n\nThe café owner Zoë kept the golden compass in the third drawer.\n\n");
        file.write("\n\n");
    }
    file.close();
    const QString db = m_dir.filePath(QStringLiteral("search.sqlite3"));
    Run run = runUio({QStringLiteral("ingest"), QStringLiteral("--db"), db, book});
    QVERIFY2(run.exitCode == 0, run.err.constData());

    run = runUio({QStringLiteral("search"), QStringLiteral("--db"), db, QStringLiteral("--json"),
                  QStringLiteral("Where is the golden compass of Zoë?")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QJsonArray hits = QJsonDocument::fromJson(run.out).array();
    QVERIFY2(!hits.isEmpty(), run.out.constData());
    const QJsonObject best = hits.first().toObject();
    QCOMPARE(best[QStringLiteral("section")].toString(), QStringLiteral("The Drawer"));
    QVERIFY2(best[QStringLiteral("snippet")].toString().contains(QStringLiteral("[golden] [compass]")),
             run.out.constData());
    run = runUio({QStringLiteral("search"), QStringLiteral("--db"), db, QStringLiteral("Zoë")});
    QVERIFY2(run.out.contains("The Drawer") && run.out.contains("[Zoë]"), run.out.constData());

    const QString adapter = m_dir.filePath(QStringLiteral("search-adapter.safetensors"));
    run =
        runUio({QStringLiteral("adapter"), QStringLiteral("new"), QStringLiteral("--model"), m_model,
                QStringLiteral("--out"), adapter, QStringLiteral("--segment-length"), QStringLiteral("256"),
                QStringLiteral("--memory-tokens"), QStringLiteral("8"), QStringLiteral("--rank"), QStringLiteral("4")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QStringList chat{QStringLiteral("chat"),
                           QStringLiteral("--db"),
                           db,
                           QStringLiteral("--doc"),
                           QStringLiteral("1"),
                           QStringLiteral("--model"),
                           m_model,
                           QStringLiteral("--adapter"),
                           adapter,
                           QStringLiteral("--max-new-tokens"),
                           QStringLiteral("4"),
                           QStringLiteral("Who kept the golden compass?")};
    run = runUio(chat + QStringList{QStringLiteral("--json")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QJsonObject answer = QJsonDocument::fromJson(run.out).object();
    const QJsonObject source = answer[QStringLiteral("sources")].toArray().first().toObject();
    QCOMPARE(source[QStringLiteral("kind")].toString(), QStringLiteral("passage"));
    QVERIFY2(source[QStringLiteral("text")].toString().contains(QStringLiteral("Zoë kept the golden compass")),
             run.out.constData());
    QCOMPARE(source[QStringLiteral("label")].toString(), QStringLiteral("Café stories § The Drawer"));
    QVERIFY(answer[QStringLiteral("notices")].toArray().at(1).toString().contains(QStringLiteral("never trained")));
    run = runUio(chat);
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QVERIFY2(run.out.contains("Sources:\n  Café stories § The Drawer: \""), run.out.constData());
}

void TestCli::everyCommandHasHelp() {
    const Run top = runUio({QStringLiteral("--help")});
    QCOMPARE(top.exitCode, 0);
    const QStringList commands = listedNames(top.out.mid(top.out.indexOf("Commands:")));
    QVERIFY2(commands.size() >= 14, top.out.constData());
    int checked = 0;
    for (const QString& command : commands) {
        const Run help = runUio({command, QStringLiteral("--help")});
        QVERIFY2(help.exitCode == 0, qPrintable(command + QStringLiteral(": ") + QString::fromUtf8(help.err)));
        QVERIFY2(help.out.contains("Usage: uio " + command.toUtf8()),
                 qPrintable(command + QLatin1Char('\n') + QString::fromUtf8(help.out)));
        QVERIFY2(help.err.isEmpty(), help.err.constData());
        ++checked;
        if (!help.out.contains("<what>"))
            continue;
        const QStringList verbs = listedNames(help.out.mid(help.out.indexOf('\n')));
        QVERIFY2(!verbs.isEmpty(), help.out.constData());
        for (const QString& verb : verbs) {
            const Run verbHelp = runUio({command, verb, QStringLiteral("--help")});
            QVERIFY2(verbHelp.exitCode == 0, qPrintable(command + QLatin1Char(' ') + verb));
            QVERIFY2(verbHelp.out.contains("Usage: uio " + command.toUtf8() + ' ' + verb.toUtf8()),
                     verbHelp.out.constData());
            ++checked;
        }
    }
    qInfo("%d commands and verbs print their help", checked);
    const Run ingest = runUio({QStringLiteral("ingest"), QStringLiteral("--help")});
    // The reader's limits, or, in a build without ingest/, why there are none.
    QVERIFY2(ingest.out.contains("--memory-limit") != ingest.out.contains("UIO_BUILD_DESKTOP=OFF"),
             ingest.out.constData());
    QVERIFY(!ingest.err.contains("give at least one file"));
}

void TestCli::ultragistScoresAndExtracts() {
    const QString release = m_dir.filePath(QStringLiteral("release")), plain = m_dir.filePath(QStringLiteral("plain"));
    const QString file = m_dir.filePath(QStringLiteral("ultragist.safetensors"));
    for (const QStringList& extra :
         {QStringList{QStringLiteral("--ultragist-window"), QStringLiteral("64")}, QStringList{}}) {
        const Run made = runUio(QStringList{QStringLiteral("make-model"), QStringLiteral("--preset"),
                                            QStringLiteral("tiny"), QStringLiteral("--seed"), QStringLiteral("6"),
                                            QStringLiteral("--out"), extra.isEmpty() ? plain : release} +
                                extra);
        QVERIFY2(made.exitCode == 0, made.err.constData());
    }
    QStringList ids;
    for (int i = 0; i < 150; ++i)
        ids << QString::number(i == 0 ? 1 : 3 + (i * 37) % 500);
    auto score = [&](const QStringList& args) {
        const Run run = runUio(QStringList{QStringLiteral("score"), QStringLiteral("--ids"), ids.join(QLatin1Char(',')),
                                           QStringLiteral("--json")} +
                               args);
        if (run.exitCode != 0)
            qWarning("%s", run.err.constData());
        return QJsonDocument::fromJson(run.out).object();
    };
    // An UltraGist folder is scored with the release's protocol: two windows of 64 and the tail.
    const QJsonObject gist = score({QStringLiteral("--model"), release});
    QCOMPARE(gist[QStringLiteral("segment_perplexity")].toArray().size(), 3);
    const QJsonObject base = score({QStringLiteral("--model"), release, QStringLiteral("--plain")});
    QVERIFY(base[QStringLiteral("segment_perplexity")].isUndefined());
    QVERIFY(std::abs(gist[QStringLiteral("sum_logprob")].toDouble() - base[QStringLiteral("sum_logprob")].toDouble()) >
            1e-3);
    QCOMPARE(score({QStringLiteral("--model"), plain})[QStringLiteral("sum_logprob")].toDouble(),
             base[QStringLiteral("sum_logprob")].toDouble());

    // Its tensors beside the plain copy of the base score the same.
    const Run extracted = runUio({QStringLiteral("ultragist"), QStringLiteral("extract"), QStringLiteral("--from"),
                                  release, QStringLiteral("--base"), plain, QStringLiteral("--out"), file});
    QVERIFY2(extracted.exitCode == 0, extracted.err.constData());
    const QJsonObject beside = score({QStringLiteral("--model"), plain, QStringLiteral("--ultragist"), file});
    QCOMPARE(beside[QStringLiteral("sum_logprob")].toDouble(), gist[QStringLiteral("sum_logprob")].toDouble());
    const Run wrong =
        runUio({QStringLiteral("score"), QStringLiteral("--model"), plain, QStringLiteral("--ids"),
                QStringLiteral("1,5"), QStringLiteral("--ultragist"), file, QStringLiteral("--adapter"), file});
    QCOMPARE(wrong.exitCode, 2);
    QVERIFY2(wrong.err.contains("not both"), wrong.err.constData());
}

void TestCli::storiesExperimentReportsThreeWays() {
    const Run run = runUio({QStringLiteral("experiment"),
                            QStringLiteral("stories"),
                            QStringLiteral("--model"),
                            m_model,
                            QStringLiteral("--stories"),
                            QStringLiteral("8"),
                            QStringLiteral("--heldout"),
                            QStringLiteral("3"),
                            QStringLiteral("--segment-length"),
                            QStringLiteral("16"),
                            QStringLiteral("--memory-tokens"),
                            QStringLiteral("4"),
                            QStringLiteral("--segments"),
                            QStringLiteral("3"),
                            QStringLiteral("--rank"),
                            QStringLiteral("4"),
                            QStringLiteral("--steps"),
                            QStringLiteral("3"),
                            QStringLiteral("--seeds"),
                            QStringLiteral("2"),
                            QStringLiteral("--corpus"),
                            m_dir.filePath(QStringLiteral("stories-corpus.txt")),
                            QStringLiteral("--save-adapter"),
                            m_dir.filePath(QStringLiteral("stories.safetensors")),
                            QStringLiteral("--json")});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QList<QByteArray> lines = run.out.trimmed().split('\n');
    QCOMPARE(lines.size(), 4);  // untrained, two seeds, the summary
    const QJsonObject summary = QJsonDocument::fromJson(lines.last()).object();
    QCOMPARE(summary[QStringLiteral("train_streams")].toInt(), 8);
    QCOMPARE(summary[QStringLiteral("heldout_streams")].toInt(), 3);
    const QJsonArray trained = summary[QStringLiteral("trained")].toArray();
    QCOMPARE(trained.size(), 2);
    for (const QJsonValue& v : trained) {
        const QJsonObject r = v.toObject();
        // The share of the gap follows from the three perplexities it reports.
        const double alone = std::log(r[QStringLiteral("ppl_alone")].toDouble());
        const double memory = std::log(r[QStringLiteral("ppl_memory")].toDouble());
        const double full = std::log(r[QStringLiteral("ppl_full")].toDouble());
        QVERIFY(std::isfinite(alone) && std::isfinite(memory) && std::isfinite(full) && alone != full);
        QVERIFY(std::abs(r[QStringLiteral("gap_closed")].toDouble() - (alone - memory) / (alone - full)) < 1e-9);
        const QJsonArray interval = r[QStringLiteral("gap_closed_95")].toArray();
        QVERIFY(interval[0].toDouble() <= interval[1].toDouble());
        // Baselines do not depend on the adapter.
        QCOMPARE(r[QStringLiteral("ppl_alone")].toDouble(),
                 summary[QStringLiteral("untrained")].toObject()[QStringLiteral("ppl_alone")].toDouble());
    }

    // The sampled corpus was kept: a second run reads it back and scores the same held-out streams.
    QFile corpus(m_dir.filePath(QStringLiteral("stories-corpus.txt")));
    QVERIFY(corpus.open(QIODevice::ReadOnly));
    QCOMPARE(corpus.readAll().count('\n'), 11);
    const Run again =
        runUio({QStringLiteral("experiment"), QStringLiteral("stories"), QStringLiteral("--model"), m_model,
                QStringLiteral("--stories"), QStringLiteral("8"), QStringLiteral("--heldout"), QStringLiteral("3"),
                QStringLiteral("--segment-length"), QStringLiteral("16"), QStringLiteral("--memory-tokens"),
                QStringLiteral("4"), QStringLiteral("--segments"), QStringLiteral("3"), QStringLiteral("--steps"),
                QStringLiteral("1"), QStringLiteral("--corpus"), m_dir.filePath(QStringLiteral("stories-corpus.txt")),
                QStringLiteral("--json")});
    QVERIFY2(again.exitCode == 0, again.err.constData());
    QVERIFY(!again.err.contains("sampled"));
    const QJsonObject second = QJsonDocument::fromJson(again.out.trimmed().split('\n').last()).object();
    QCOMPARE(second[QStringLiteral("untrained")].toObject()[QStringLiteral("ppl_alone")].toDouble(),
             summary[QStringLiteral("untrained")].toObject()[QStringLiteral("ppl_alone")].toDouble());
    // The last seed's adapter was saved, trained.
    const Run info = runUio(
        {QStringLiteral("adapter"), QStringLiteral("info"), m_dir.filePath(QStringLiteral("stories.safetensors"))});
    QVERIFY2(info.exitCode == 0, info.err.constData());
    QVERIFY2(info.out.contains("\"trained\":true"), info.out.constData());
}

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
