// uio export --format gguf: the file is read back here by a reader written from the GGUF
// specification (not the exporter's code), and its tensors are checked against the checkpoint:
// exact in f32, within rounding in f16, bf16 and q8_0, and with the query and key rows reordered
// so that llama.cpp's rotation of neighbouring pairs gives the same attention scores as Hugging
// Face's rotation of halves (checked in float64).

#include "checkpoint.h"
#include "uio/model/config.h"
#include "uio/model/error.h"
#include "uio/model/gguf_export.h"
#include "uio/model/model_maker.h"

#include <ATen/ATen.h>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstring>
#include <map>
#include <variant>

using namespace uio::model;

namespace {

struct GgufTensor {
    std::vector<uint64_t> dims;  // fastest first
    uint32_t type = 0;
    uint64_t offset = 0;
};

struct GgufFile {
    uint32_t version = 0;
    std::map<std::string, std::variant<uint64_t, double, std::string, bool>> scalars;
    std::map<std::string, uint64_t> array_lengths;
    std::vector<std::string> tokens;
    std::map<std::string, GgufTensor> tensors;
    QByteArray bytes;
    uint64_t data_start = 0;
};

class Reader {
public:
    explicit Reader(const QByteArray& bytes) : m_bytes(bytes) {}
    template <typename T>
    T get() {
        if (m_at + sizeof(T) > static_cast<uint64_t>(m_bytes.size()))
            throw std::runtime_error("GGUF read past the end");
        T value;
        std::memcpy(&value, m_bytes.constData() + m_at, sizeof(T));
        m_at += sizeof(T);
        return value;
    }
    std::string string() {
        const auto n = get<uint64_t>();
        if (m_at + n > static_cast<uint64_t>(m_bytes.size()))
            throw std::runtime_error("GGUF string past the end");
        std::string s(m_bytes.constData() + m_at, n);
        m_at += n;
        return s;
    }
    // One value of GGUF type `type`, as a number, string or bool.
    std::variant<uint64_t, double, std::string, bool> value(uint32_t type) {
        switch (type) {
            case 0:
                return uint64_t(get<uint8_t>());
            case 1:
                return uint64_t(int64_t(get<int8_t>()));
            case 2:
                return uint64_t(get<uint16_t>());
            case 3:
                return uint64_t(int64_t(get<int16_t>()));
            case 4:
                return uint64_t(get<uint32_t>());
            case 5:
                return uint64_t(int64_t(get<int32_t>()));
            case 6:
                return double(get<float>());
            case 7:
                return get<uint8_t>() != 0;
            case 8:
                return string();
            case 10:
                return get<uint64_t>();
            case 11:
                return uint64_t(get<int64_t>());
            case 12:
                return get<double>();
        }
        throw std::runtime_error("GGUF value type " + std::to_string(type));
    }
    uint64_t at() const { return m_at; }

private:
    const QByteArray& m_bytes;
    uint64_t m_at = 0;
};

GgufFile readGguf(const QString& path) {
    GgufFile f;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw std::runtime_error("cannot open " + path.toStdString());
    f.bytes = file.readAll();
    Reader r(f.bytes);
    if (r.get<uint32_t>() != 0x46554747)
        throw std::runtime_error("no GGUF magic");
    f.version = r.get<uint32_t>();
    const auto n_tensors = r.get<uint64_t>();
    const auto n_kv = r.get<uint64_t>();
    for (uint64_t i = 0; i < n_kv; ++i) {
        const std::string key = r.string();
        const auto type = r.get<uint32_t>();
        if (type == 9) {
            const auto element = r.get<uint32_t>();
            const auto n = r.get<uint64_t>();
            f.array_lengths[key] = n;
            for (uint64_t j = 0; j < n; ++j) {
                auto v = r.value(element);
                if (key == "tokenizer.ggml.tokens")
                    f.tokens.push_back(std::get<std::string>(v));
            }
        } else {
            f.scalars[key] = r.value(type);
        }
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
        const std::string name = r.string();
        GgufTensor t;
        const auto n_dims = r.get<uint32_t>();
        for (uint32_t d = 0; d < n_dims; ++d)
            t.dims.push_back(r.get<uint64_t>());
        t.type = r.get<uint32_t>();
        t.offset = r.get<uint64_t>();
        f.tensors[name] = t;
    }
    const uint64_t alignment =
        f.scalars.count("general.alignment") ? std::get<uint64_t>(f.scalars.at("general.alignment")) : 32;
    f.data_start = (r.at() + alignment - 1) / alignment * alignment;
    return f;
}

// The tensor as float64 (out, in), dequantised from its GGUF type.
at::Tensor tensorOf(const GgufFile& f, const std::string& name) {
    const GgufTensor& t = f.tensors.at(name);
    const int64_t cols = static_cast<int64_t>(t.dims[0]);
    const int64_t rows = t.dims.size() > 1 ? static_cast<int64_t>(t.dims[1]) : 1;
    const char* data = f.bytes.constData() + f.data_start + t.offset;
    const auto n = rows * cols;
    auto out = at::empty({rows, cols}, at::kDouble);
    double* o = out.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) {
        if (t.type == 0) {  // f32
            float v;
            std::memcpy(&v, data + 4 * i, 4);
            o[i] = v;
        } else if (t.type == 1 || t.type == 30) {  // f16, bf16
            uint16_t bits;
            std::memcpy(&bits, data + 2 * i, 2);
            if (t.type == 30) {
                const uint32_t wide = uint32_t(bits) << 16;
                float v;
                std::memcpy(&v, &wide, 4);
                o[i] = v;
            } else {
                // IEEE half: sign, 5-bit exponent, 10-bit fraction.
                const int exponent = (bits >> 10) & 0x1f, fraction = bits & 0x3ff;
                const double magnitude =
                    exponent == 0 ? std::ldexp(fraction, -24) : std::ldexp(1024 + fraction, exponent - 25);
                o[i] = (bits & 0x8000) ? -magnitude : magnitude;
            }
        } else if (t.type == 8) {  // q8_0: per 32 weights, an f16 scale then 32 int8
            const char* block = data + (i / 32) * 34;
            uint16_t bits;
            std::memcpy(&bits, block, 2);
            const int exponent = (bits >> 10) & 0x1f, fraction = bits & 0x3ff;
            const double scale = exponent == 0 ? std::ldexp(fraction, -24) : std::ldexp(1024 + fraction, exponent - 25);
            o[i] = scale * static_cast<int8_t>(block[2 + i % 32]);
        } else {
            throw std::runtime_error("tensor type " + std::to_string(t.type));
        }
    }
    return out;
}

// Rotation of halves (Hugging Face) and of neighbouring pairs (llama.cpp), angle by angle.
at::Tensor rotateHalves(const at::Tensor& x, int64_t position, double theta) {
    const int64_t D = x.size(0), half = D / 2;
    auto y = x.clone();
    for (int64_t j = 0; j < half; ++j) {
        const double angle = position * std::pow(theta, -2.0 * j / D);
        const double a = x[j].item<double>(), b = x[j + half].item<double>();
        y[j] = a * std::cos(angle) - b * std::sin(angle);
        y[j + half] = b * std::cos(angle) + a * std::sin(angle);
    }
    return y;
}

at::Tensor rotatePairs(const at::Tensor& x, int64_t position, double theta) {
    const int64_t D = x.size(0);
    auto y = x.clone();
    for (int64_t j = 0; j < D / 2; ++j) {
        const double angle = position * std::pow(theta, -2.0 * j / D);
        const double a = x[2 * j].item<double>(), b = x[2 * j + 1].item<double>();
        y[2 * j] = a * std::cos(angle) - b * std::sin(angle);
        y[2 * j + 1] = b * std::cos(angle) + a * std::sin(angle);
    }
    return y;
}

}  // namespace

class TestGgufExport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void headerDescribesTheModel();
    void f32IsExactAndRotationsAgree();
    void narrowTypesRoundOnce_data();
    void narrowTypesRoundOnce();
    void refusesWhatItCannotWrite();

private:
    QString exportAs(GgufType type);
    QTemporaryDir m_dir;
    QString m_model;
    LlamaConfig m_config;
};

void TestGgufExport::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("gguf-model"));
    make_model(m_model.toStdString(), MakeModelOptions{"tiny", 3, DType::F32, 0});
    m_config = LlamaConfig::load(m_model.toStdString() + "/config.json");
}

QString TestGgufExport::exportAs(GgufType type) {
    const QString out =
        m_dir.filePath(QStringLiteral("model-%1.gguf").arg(QString::fromStdString(gguf_type_name(type))));
    export_gguf(m_model.toStdString(), out.toStdString(), type);
    return out;
}

void TestGgufExport::headerDescribesTheModel() {
    const GgufFile f = readGguf(exportAs(GgufType::F32));
    QCOMPARE(f.version, 3u);
    QCOMPARE(std::get<std::string>(f.scalars.at("general.architecture")), std::string("llama"));
    QCOMPARE(std::get<uint64_t>(f.scalars.at("llama.block_count")), uint64_t(m_config.n_layer));
    QCOMPARE(std::get<uint64_t>(f.scalars.at("llama.embedding_length")), uint64_t(m_config.n_embd));
    QCOMPARE(std::get<uint64_t>(f.scalars.at("llama.feed_forward_length")), uint64_t(m_config.n_ff));
    QCOMPARE(std::get<uint64_t>(f.scalars.at("llama.attention.head_count")), uint64_t(m_config.n_head));
    QCOMPARE(std::get<uint64_t>(f.scalars.at("llama.attention.head_count_kv")), uint64_t(m_config.n_kv_head));
    QCOMPARE(std::get<double>(f.scalars.at("llama.rope.freq_base")), m_config.rope_theta);
    QCOMPARE(std::get<uint64_t>(f.scalars.at("tokenizer.ggml.bos_token_id")), uint64_t(m_config.bos_id));
    QCOMPARE(f.tokens.size(), size_t(m_config.n_vocab));
    QCOMPARE(f.array_lengths.at("tokenizer.ggml.scores"), uint64_t(m_config.n_vocab));
    // Every layer's nine tensors, the embedding and the final norm; an untied head when there is one.
    const size_t expected = 9 * m_config.n_layer + 2 + (m_config.tie_word_embeddings ? 0 : 1);
    QCOMPARE(f.tensors.size(), expected);
    const GgufTensor& q = f.tensors.at("blk.1.attn_q.weight");
    QCOMPARE(q.dims,
             (std::vector<uint64_t>{uint64_t(m_config.n_embd), uint64_t(m_config.n_head * m_config.head_dim())}));
    for (const auto& [name, t] : f.tensors)
        QVERIFY2(t.offset % 32 == 0 && f.data_start + t.offset <= uint64_t(f.bytes.size()), name.c_str());
}

void TestGgufExport::f32IsExactAndRotationsAgree() {
    const GgufFile f = readGguf(m_dir.filePath(QStringLiteral("model-f32.gguf")));
    const Checkpoint checkpoint(m_model.toStdString());
    const auto w = [&](const std::string& name) { return checkpoint.view(name).to(at::kDouble); };
    QVERIFY(at::equal(tensorOf(f, "blk.0.ffn_down.weight"), w("model.layers.0.mlp.down_proj.weight")));
    QVERIFY(at::equal(tensorOf(f, "token_embd.weight"), w("model.embed_tokens.weight")));
    QVERIFY(at::equal(tensorOf(f, "output_norm.weight").view({-1}), w("model.norm.weight")));

    // Scores of one query head against its key head at two positions, both ways.
    const int64_t D = m_config.head_dim(), group = m_config.n_head / m_config.n_kv_head;
    const auto x = at::randn({m_config.n_embd}, at::kDouble), y = at::randn({m_config.n_embd}, at::kDouble);
    const auto hfQ = w("model.layers.1.self_attn.q_proj.weight").matmul(x);
    const auto hfK = w("model.layers.1.self_attn.k_proj.weight").matmul(y);
    const auto ggQ = tensorOf(f, "blk.1.attn_q.weight").matmul(x);
    const auto ggK = tensorOf(f, "blk.1.attn_k.weight").matmul(y);
    double worst = 0.0;
    for (int64_t h = 0; h < m_config.n_head; ++h) {
        const int64_t kv = h / group;
        const double hf = rotateHalves(hfQ.narrow(0, h * D, D), 7, m_config.rope_theta)
                              .dot(rotateHalves(hfK.narrow(0, kv * D, D), 3, m_config.rope_theta))
                              .item<double>();
        const double gg = rotatePairs(ggQ.narrow(0, h * D, D), 7, m_config.rope_theta)
                              .dot(rotatePairs(ggK.narrow(0, kv * D, D), 3, m_config.rope_theta))
                              .item<double>();
        worst = std::max(worst, std::fabs(hf - gg));
    }
    qInfo("attention scores, rotation of halves against pairs: max |difference| %.3g (tolerance 1e-9)", worst);
    QVERIFY(worst < 1e-9);
}

void TestGgufExport::narrowTypesRoundOnce_data() {
    QTest::addColumn<int>("type");
    QTest::addColumn<uint32_t>("code");
    QTest::newRow("f16") << int(GgufType::F16) << 1u;
    QTest::newRow("bf16") << int(GgufType::BF16) << 30u;
    QTest::newRow("q8_0") << int(GgufType::Q8_0) << 8u;
}

void TestGgufExport::narrowTypesRoundOnce() {
    QFETCH(int, type);
    QFETCH(uint32_t, code);
    const GgufFile f = readGguf(exportAs(static_cast<GgufType>(type)));
    const Checkpoint checkpoint(m_model.toStdString());
    const auto reference = checkpoint.view("model.layers.0.mlp.up_proj.weight").to(at::kDouble);  // rows of 64
    QCOMPARE(f.tensors.at("blk.0.ffn_up.weight").type, code);
    QCOMPARE(f.tensors.at("blk.0.attn_norm.weight").type, 0u);  // norms stay f32
    const auto got = tensorOf(f, "blk.0.ffn_up.weight");
    const double worst = (got - reference).abs().max().item<double>();
    // f16: 11 significant bits; bf16: 8; q8_0: half a step of amax/127 per block of 32 (plus the
    // f16 rounding of the step).
    double tolerance = 0.0;
    if (code == 8) {
        const double amax = reference.abs().max().item<double>();
        tolerance = amax / 127.0 * (0.5 + 1e-3) + 1e-12;
    } else {
        tolerance = reference.abs().max().item<double>() * (code == 1 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8));
    }
    qInfo("%s: max |difference| %.3g (tolerance %.3g)", QTest::currentDataTag(), worst, tolerance);
    QVERIFY(worst <= tolerance);
    QVERIFY(worst > 0.0);  // it was rounded, not copied
    if (code == 8) {
        // The tiny model's 172-wide rows do not split into blocks of 32: they are kept in f16.
        QCOMPARE(f.tensors.at("blk.0.ffn_down.weight").type, 1u);
    }
}

void TestGgufExport::refusesWhatItCannotWrite() {
    // No tokenizer.model: the message names it.
    const QString bare = m_dir.filePath(QStringLiteral("no-tokenizer"));
    make_model(bare.toStdString(), MakeModelOptions{"tiny", 4, DType::F32, 0});
    QVERIFY(QFile::remove(bare + QStringLiteral("/tokenizer.model")));
    try {
        export_gguf(bare.toStdString(), m_dir.filePath(QStringLiteral("never.gguf")).toStdString(), GgufType::F16);
        QFAIL("exported without a tokenizer");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("tokenizer.model")), e.what());
    }
    QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("never.gguf"))));

    // A folder that cannot be written: a clear error and no partial file left behind.
    const QString unwritable = m_dir.filePath(QStringLiteral("missing-folder/model.gguf"));
    QVERIFY_THROWS_EXCEPTION(ModelError, export_gguf(m_model.toStdString(), unwritable.toStdString(), GgufType::F16));
    QVERIFY(!QFile::exists(unwritable + QStringLiteral(".partial")));

    QVERIFY_THROWS_EXCEPTION(ModelError, parse_gguf_type("q4_0"));
}

QTEST_GUILESS_MAIN(TestGgufExport)
#include "test_gguf_export.moc"
