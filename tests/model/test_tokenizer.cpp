// The SentencePiece BPE tokenizer against the sentencepiece command-line tools (spm_encode,
// spm_decode, a separate process) on a tokenizer trained here and, when ../shared is present,
// on the real Llama-2 tokenizer.

#include "bpe_trainer.h"
#include "patience.h"
#include "sentencepiece_model.h"
#include "uio/model/error.h"
#include "uio/model/synthetic_text.h"
#include "uio/model/tokenizer.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using uio::model::ModelError;
using uio::model::Tokenizer;

namespace {

const char* const kTrickyTexts[] = {
    "Hello world, this is a test.",
    "  two leading spaces and  double  spaces ",
    "Grüße aus Köln: ünïcödé, 日本語のテキスト, emoji 🎉🚀 and a stray ½.",
    "Numbers 1234567 and 3.14159, symbols <s> </s> [INST] <<SYS>> as plain text.",
    "tabs\tand\tthings; wait—an em dash… and “quotes”.",
    "x",
    "▁already▁has▁the▁marker",
};

std::vector<int32_t> spmEncode(const QString& model, const QString& text) {
    QProcess process;
    process.start(QStringLiteral("spm_encode"),
                  {QStringLiteral("--model=") + model, QStringLiteral("--output_format=id")});
    process.write(text.toUtf8() + '\n');
    process.closeWriteChannel();
    if (!process.waitForFinished(uio::test::kPatienceMs) || process.exitCode() != 0) {
        qWarning("spm_encode failed: %s", process.readAllStandardError().constData());
        return {};
    }
    std::vector<int32_t> ids;
    for (const QByteArray& id : process.readAllStandardOutput().trimmed().split(' ')) {
        if (!id.isEmpty())
            ids.push_back(id.toInt());
    }
    return ids;
}

QString spmDecode(const QString& model, const std::vector<int32_t>& ids) {
    QProcess process;
    process.start(QStringLiteral("spm_decode"),
                  {QStringLiteral("--model=") + model, QStringLiteral("--input_format=id")});
    QByteArray line;
    for (const int32_t id : ids)
        line += QByteArray::number(id) + ' ';
    process.write(line.trimmed() + '\n');
    process.closeWriteChannel();
    process.waitForFinished(uio::test::kPatienceMs);
    QByteArray out = process.readAllStandardOutput();
    out.chop(1);  // the newline spm_decode adds
    return QString::fromUtf8(out);
}

QString idsString(const std::vector<int32_t>& ids) {
    QStringList parts;
    for (const int32_t id : ids)
        parts << QString::number(id);
    return parts.join(QLatin1Char(' '));
}

}  // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void modelFileRoundTrip();
    void matchesSentencepiece_data();
    void matchesSentencepiece();
    void decodeInvertsEncode_data();
    void decodeInvertsEncode();
    void streamingEqualsFullDecode();
    void llama2Tokenizer();
    void malformedFilesAreErrors_data();
    void malformedFilesAreErrors();
    void signedBytePieceIsNotAByte();

private:
    QTemporaryDir m_dir;
    QString m_modelPath;
    bool m_haveSpm = false;
};

void TestTokenizer::initTestCase() {
    QVERIFY(m_dir.isValid());
    const auto model = uio::model::train_bpe(uio::model::synthetic_text(3, 30000, 1500), 600);
    QCOMPARE(model.pieces.size(), size_t(600));
    m_modelPath = m_dir.filePath(QStringLiteral("tokenizer.model"));
    QFile file(m_modelPath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    const std::string bytes = model.serialize();
    file.write(bytes.data(), static_cast<qint64>(bytes.size()));
    file.close();
    m_haveSpm = !QStandardPaths::findExecutable(QStringLiteral("spm_encode")).isEmpty();
}

void TestTokenizer::modelFileRoundTrip() {
    const auto model = uio::model::train_bpe(uio::model::synthetic_text(5, 5000, 300), 400);
    const auto again = uio::model::SpmModel::parse(model.serialize(), "memory");
    QCOMPARE(again.pieces.size(), model.pieces.size());
    for (size_t i = 0; i < model.pieces.size(); ++i) {
        QCOMPARE(again.pieces[i].piece, model.pieces[i].piece);
        QCOMPARE(again.pieces[i].score, model.pieces[i].score);
        QCOMPARE(again.pieces[i].type, model.pieces[i].type);
    }
    QCOMPARE(again.model_type, uio::model::SpmModel::Bpe);
    QVERIFY(again.byte_fallback);
    QVERIFY(!again.remove_extra_whitespaces);
    QCOMPARE(again.serialize(), model.serialize());
}

void TestTokenizer::matchesSentencepiece_data() {
    QTest::addColumn<QString>("text");
    for (const char* text : kTrickyTexts)
        QTest::newRow(text) << QString::fromUtf8(text);
    const std::string synthetic = uio::model::synthetic_text(11, 400, 1500);
    QTest::newRow("synthetic paragraph") << QString::fromStdString(synthetic).replace(QLatin1Char('\n'),
                                                                                      QLatin1Char(' '));
}

void TestTokenizer::matchesSentencepiece() {
    QFETCH(QString, text);
    if (!m_haveSpm)
        QSKIP("spm_encode (Debian package sentencepiece) is not installed");
    const Tokenizer tokenizer = Tokenizer::load(m_modelPath.toStdString());
    const auto ours = tokenizer.encode(text.toStdString(), /*add_bos=*/false);
    QCOMPARE(idsString(ours), idsString(spmEncode(m_modelPath, text)));
    QCOMPARE(QString::fromStdString(tokenizer.decode(ours)), spmDecode(m_modelPath, ours));
}

void TestTokenizer::decodeInvertsEncode_data() {
    matchesSentencepiece_data();
}

void TestTokenizer::decodeInvertsEncode() {
    QFETCH(QString, text);
    if (text.contains(QChar(0x2581)))
        QSKIP("a literal U+2581 decodes as a space");
    const Tokenizer tokenizer = Tokenizer::load(m_modelPath.toStdString());
    const auto ids = tokenizer.encode(text.toStdString());
    QCOMPARE(ids.front(), tokenizer.bos_id());
    QCOMPARE(QString::fromStdString(tokenizer.decode(ids)), text);
}

void TestTokenizer::streamingEqualsFullDecode() {
    const Tokenizer tokenizer = Tokenizer::load(m_modelPath.toStdString());
    for (const char* text : kTrickyTexts) {
        const auto ids = tokenizer.encode(text, false);
        uio::model::StreamDecoder stream(tokenizer);
        std::string streamed;
        for (const int32_t id : ids) {
            const std::string piece = stream.push(id);
            QVERIFY2(QString::fromUtf8(piece.data(), static_cast<int>(piece.size())).toUtf8().size() ==
                         static_cast<int>(piece.size()),
                     "a streamed piece splits a UTF-8 character");
            streamed += piece;
        }
        streamed += stream.flush();
        QCOMPARE(QString::fromStdString(streamed), QString::fromStdString(tokenizer.decode(ids)));
    }
}

void TestTokenizer::llama2Tokenizer() {
    const QString path = QStringLiteral(UIO_SOURCE_DIR "/../shared/models/tiny-random-llama/tokenizer.model");
    if (!QFile::exists(path))
        QSKIP("../shared/models is not present");
    const Tokenizer tokenizer = Tokenizer::load(path.toStdString());
    QCOMPARE(tokenizer.n_vocab(), 32000);
    QCOMPARE(tokenizer.piece(29871), std::string("\xE2\x96\x81"));
    const std::vector<int32_t> expected{1, 15043, 3186, 29892, 445, 338, 263, 1243, 29889};
    QCOMPARE(idsString(tokenizer.encode("Hello world, this is a test.")), idsString(expected));
    if (!m_haveSpm)
        return;
    for (const char* text : kTrickyTexts) {
        const QString t = QString::fromUtf8(text);
        QCOMPARE(idsString(tokenizer.encode(text, false)), idsString(spmEncode(path, t)));
    }
}

void TestTokenizer::malformedFilesAreErrors_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty") << QByteArray() << QStringLiteral("no pieces");
    QTest::newRow("truncated varint") << QByteArray("\x0a\xff", 2) << QStringLiteral("not a valid SentencePiece model");
    QTest::newRow("field past the end") << QByteArray("\x0a\x50\x0a", 3) << QStringLiteral("past the end");
    QTest::newRow("text file") << QByteArray("this is not a tokenizer\n") << QStringLiteral("tokenizer.model");
}

// A byte piece "<0x-A>" once passed sscanf's %X as a negative number and indexed out of range
// (fuzz_tokenizer_model's first finding): now it is not a byte piece, and byte fallback, which
// needs all 256, is refused.
void TestTokenizer::signedBytePieceIsNotAByte() {
    uio::model::SpmModel model;
    model.model_type = uio::model::SpmModel::Bpe;
    model.byte_fallback = true;
    model.pieces = {{"<unk>", 0, uio::model::SpmPiece::Unknown},
                    {"<s>", 0, uio::model::SpmPiece::Control},
                    {"</s>", 0, uio::model::SpmPiece::Control},
                    {"<0x-A>", 0, uio::model::SpmPiece::Byte}};
    try {
        Tokenizer::from_model(model, "hostile");
        QFAIL("expected a ModelError");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("byte_fallback")), e.what());
    }
}

void TestTokenizer::malformedFilesAreErrors() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    const QString path = m_dir.filePath(QStringLiteral("broken/tokenizer.model"));
    QDir().mkpath(QFileInfo(path).path());
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(bytes);
    file.close();
    try {
        Tokenizer::load(path.toStdString());
        QFAIL("expected a ModelError");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("tokenizer.model")), e.what());
    }
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
