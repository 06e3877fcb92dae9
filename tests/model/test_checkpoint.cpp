// Every malformed model folder gives a ModelError that names the file and the problem, and
// nothing crashes or allocates absurd memory.

#include "checkpoint.h"
#include "llama.h"
#include "safetensors.h"
#include "uio/model/config.h"
#include "uio/model/error.h"
#include "uio/model/model_maker.h"

#include <ATen/ATen.h>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::model;

namespace {

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void writeAll(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(bytes);
}

// A safetensors file from a raw header and data, for the cases no writer would produce.
QByteArray rawSafetensors(const QByteArray& header, const QByteArray& data, quint64 declaredLength = 0) {
    QByteArray out(8, '\0');
    const quint64 length = declaredLength ? declaredLength : static_cast<quint64>(header.size());
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<char>((length >> (8 * i)) & 0xff);
    return out + header + data;
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void malformedModelFolder_data();
    void malformedModelFolder();
    void malformedSafetensors_data();
    void malformedSafetensors();
    void malformedConfig_data();
    void malformedConfig();
    void writerRoundTripsEveryDtype();

private:
    QTemporaryDir m_dir;
    QString m_pristine;
    QString m_work;
};

void TestCheckpoint::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_pristine = m_dir.filePath(QStringLiteral("pristine"));
    make_model(m_pristine.toStdString(), MakeModelOptions{"tiny", 1, DType::F32, 0});
}

void TestCheckpoint::init() {
    m_work = m_dir.filePath(QStringLiteral("work"));
    QDir(m_work).removeRecursively();
    QDir().mkpath(m_work);
    for (const QString& name : QDir(m_pristine).entryList(QDir::Files)) {
        QVERIFY(QFile::copy(m_pristine + QLatin1Char('/') + name, m_work + QLatin1Char('/') + name));
    }
}

// Rewrites the work model's weights through `edit` (name -> tensor), keeping the rest.
static void rewriteWeights(const QString& dir,
                           const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    {
        const SafetensorsFile file((dir + QStringLiteral("/model.safetensors")).toStdString());
        for (const auto& [name, entry] : file.entries())
            tensors.emplace_back(name, file.view(name).clone());
    }
    edit(tensors);
    write_safetensors((dir + QStringLiteral("/model.safetensors")).toStdString(), tensors);
}

void TestCheckpoint::malformedModelFolder_data() {
    QTest::addColumn<QString>("defect");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing weights") << "missing-weights"
                                     << "neither model.safetensors nor model.safetensors.index.json";
    QTest::newRow("missing config") << "missing-config"
                                    << "config.json: cannot be read";
    QTest::newRow("missing tensor") << "missing-tensor"
                                    << "has no tensor model.norm.weight";
    QTest::newRow("extra tensor") << "extra-tensor"
                                  << "model.safetensors: unexpected tensor model.layers.9.mlp.up_proj.weight";
    QTest::newRow("wrong shape")
        << "wrong-shape"
        << "model.safetensors: tensor model.layers.1.mlp.up_proj.weight has shape [64,172], config.json says [172,64]";
    QTest::newRow("missing shard") << "missing-shard"
                                   << "of-00005.safetensors: cannot be opened";
    QTest::newRow("shard not in index") << "unlisted-tensor"
                                        << "is not listed in the index";
}

void TestCheckpoint::malformedModelFolder() {
    QFETCH(QString, defect);
    QFETCH(QString, message);
    if (defect == QLatin1String("missing-weights")) {
        QVERIFY(QFile::remove(m_work + QStringLiteral("/model.safetensors")));
    } else if (defect == QLatin1String("missing-config")) {
        QVERIFY(QFile::remove(m_work + QStringLiteral("/config.json")));
    } else if (defect == QLatin1String("missing-tensor")) {
        rewriteWeights(m_work,
                       [](auto& t) { std::erase_if(t, [](auto& p) { return p.first == "model.norm.weight"; }); });
    } else if (defect == QLatin1String("extra-tensor")) {
        rewriteWeights(m_work, [](auto& t) { t.emplace_back("model.layers.9.mlp.up_proj.weight", at::zeros({2, 2})); });
    } else if (defect == QLatin1String("wrong-shape")) {
        rewriteWeights(m_work, [](auto& t) {
            for (auto& [name, tensor] : t) {
                if (name == "model.layers.1.mlp.up_proj.weight")
                    tensor = tensor.t().contiguous();
            }
        });
    } else if (defect == QLatin1String("missing-shard") || defect == QLatin1String("unlisted-tensor")) {
        QDir(m_work).removeRecursively();
        make_model(m_work.toStdString(), MakeModelOptions{"tiny", 1, DType::F32, 150'000});
        const QString index = m_work + QStringLiteral("/model.safetensors.index.json");
        QJsonObject json = QJsonDocument::fromJson(readAll(index)).object();
        QStringList shards = QDir(m_work).entryList({QStringLiteral("model-*.safetensors")});
        QCOMPARE(shards.size(), 5);
        if (defect == QLatin1String("missing-shard")) {
            QVERIFY(QFile::remove(m_work + QLatin1Char('/') + shards.last()));
        } else {
            QJsonObject map = json[QStringLiteral("weight_map")].toObject();
            map.remove(QStringLiteral("model.norm.weight"));
            json[QStringLiteral("weight_map")] = map;
            writeAll(index, QJsonDocument(json).toJson());
        }
    }
    try {
        load_llama(m_work.toStdString(), at::kCPU, at::kFloat);
        QFAIL("expected a ModelError");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
    }
}

void TestCheckpoint::malformedSafetensors_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");
    const QByteArray eight(8, 'x');
    const QByteArray ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    QTest::newRow("valid (control)") << rawSafetensors(ok, eight) << QString();
    QTest::newRow("empty file") << QByteArray() << "too short to be a safetensors file";
    QTest::newRow("header longer than file") << rawSafetensors(ok, eight, 1ull << 40) << "is larger than the file";
    QTest::newRow("header not JSON") << rawSafetensors("{not json at all", eight) << "the header is not valid JSON";
    QTest::newRow("header not an object") << rawSafetensors("[1,2,3]", eight) << "not a JSON object";
    QTest::newRow("unsupported dtype") << rawSafetensors(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})",
                                                         eight)
                                       << "has dtype I64, which UIO Desk does not read";
    QTest::newRow("offsets out of range")
        << rawSafetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight)
        << "outside the 8 bytes of data";
    QTest::newRow("truncated data") << rawSafetensors(ok, QByteArray(5, 'x')) << "truncated or damaged";
    QTest::newRow("offsets reversed") << rawSafetensors(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})",
                                                        eight)
                                      << "data offsets [8, 0]";
    QTest::newRow("size disagrees with shape")
        << rawSafetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight)
        << "needs 12 bytes but its offsets span 8";
    QTest::newRow("overlapping tensors")
        << rawSafetensors(
               R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
               eight)
        << "tensors overlap";
    QTest::newRow("absurd shape")
        << rawSafetensors(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", eight)
        << "shape larger than the file";
    // fuzz_safetensors' finding: a number too large for a double is JSON, but not one nlohmann reads.
    QTest::newRow("number beyond a double")
        << rawSafetensors(R"({"a":{"dtype":"F32","shape":[1E99999],"data_offsets":[0,8]}})", eight)
        << "the header is not valid JSON";
    QTest::newRow("negative dimension") << rawSafetensors(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
                                                          eight)
                                        << "not a non-negative integer";
    QTest::newRow("missing fields") << rawSafetensors(R"({"a":{"dtype":"F32"}})", eight)
                                    << "needs \"dtype\", \"shape\"";
    QTest::newRow("metadata not strings")
        << rawSafetensors(R"({"__metadata__":{"x":1}})", QByteArray()) << "is not a string";
}

void TestCheckpoint::malformedSafetensors() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    const QString path = m_dir.filePath(QStringLiteral("bad.safetensors"));
    writeAll(path, bytes);
    try {
        const SafetensorsFile file(path.toStdString());
        QVERIFY2(message.isEmpty(), "expected a ModelError");
        QCOMPARE(file.view("a").size(0), int64_t(2));
    } catch (const ModelError& e) {
        QVERIFY2(!message.isEmpty() && QString::fromUtf8(e.what()).contains(message), e.what());
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("bad.safetensors")), e.what());
    }
}

void TestCheckpoint::malformedConfig_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("message");
    const QString base = QStringLiteral(
        R"({"model_type":"llama","hidden_size":64,"intermediate_size":172,"num_hidden_layers":2,)"
        R"("num_attention_heads":%1,"num_key_value_heads":%2,"vocab_size":512,"max_position_embeddings":256%3})");
    QTest::newRow("not JSON") << "{hidden_size: 64"
                              << "not valid JSON";
    QTest::newRow("not Llama") << R"({"model_type":"gpt2","hidden_size":64})"
                               << "not a Llama model";
    QTest::newRow("heads do not divide hidden") << base.arg(5).arg(5).arg(QString()) << "does not divide hidden_size";
    QTest::newRow("kv heads do not divide heads")
        << base.arg(4).arg(3).arg(QString()) << "does not divide num_attention_heads";
    QTest::newRow("missing size") << R"({"model_type":"llama"})"
                                  << "missing \"hidden_size\"";
    QTest::newRow("negative layers") << base.arg(4).arg(2).arg(QStringLiteral(R"(,"num_hidden_layers":-1)"))
                                     << "must be a positive integer";
    QTest::newRow("dynamic rope scaling")
        << base.arg(4).arg(2).arg(QStringLiteral(R"(,"rope_scaling":{"type":"dynamic","factor":2})")) << "rope_scaling";
    QTest::newRow("eos outside vocabulary")
        << base.arg(4).arg(2).arg(QStringLiteral(R"(,"eos_token_id":9999)")) << "outside the vocabulary";
}

void TestCheckpoint::malformedConfig() {
    QFETCH(QString, json);
    QFETCH(QString, message);
    try {
        LlamaConfig::from_json(json.toStdString(), "some/config.json");
        QFAIL("expected a ModelError");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
        QVERIFY2(QString::fromUtf8(e.what()).startsWith(QStringLiteral("some/config.json")), e.what());
    }
}

void TestCheckpoint::writerRoundTripsEveryDtype() {
    const QString path = m_dir.filePath(QStringLiteral("round.safetensors"));
    const auto base = at::randn({3, 5});
    const std::vector<std::pair<std::string, at::Tensor>> tensors{
        {"f32", base}, {"f16", base.to(at::kHalf)}, {"bf16", base.to(at::kBFloat16)}, {"empty", at::zeros({0, 4})}};
    write_safetensors(path.toStdString(), tensors, {{"purpose", "test"}});
    const SafetensorsFile file(path.toStdString());
    QCOMPARE(file.metadata().at("purpose"), std::string("test"));
    for (const auto& [name, tensor] : tensors) {
        QVERIFY2(at::equal(file.view(name), tensor), name.c_str());
        QCOMPARE(file.view(name).scalar_type(), tensor.scalar_type());
    }
    QVERIFY(!QFile::exists(path + QStringLiteral(".partial")));
}

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
