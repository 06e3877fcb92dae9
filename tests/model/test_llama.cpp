// The Llama engine against a naive float64 reference written here, and against itself:
// cached decoding == one full forward, sharded == single-file checkpoints, f16/bf16 ~ f32.

#include "checkpoint.h"
#include "llama.h"
#include "reference.h"
#include "rope.h"
#include "uio/model/error.h"
#include "uio/model/model_maker.h"

#include <ATen/ATen.h>
#include <QDir>
#include <QTemporaryDir>
#include <QTest>
#include <c10/core/InferenceMode.h>

#include <cmath>

using namespace uio::model;

namespace {

at::Tensor tokens_tensor(const std::vector<int64_t>& ids) {
    return at::tensor(ids).unsqueeze(0);
}

std::vector<int64_t> random_tokens(int64_t n, int64_t n_vocab, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    const auto t = at::randint(3, n_vocab, {n}, gen, at::kLong);
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace

class TestLlama : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void matchesNaiveReference();
    void cachedDecodingEqualsFullForward();
    void batchRowsAreIndependent();
    void shardedEqualsSingleFile();
    void lowPrecisionStaysNearF32_data();
    void lowPrecisionStaysNearF32();
    void sharedModelsMatchReference_data();
    void sharedModelsMatchReference();
    void contextOverflowIsAnError();
    void llama3RopeScaling();
    void cudaMatchesCpu_data();
    void cudaMatchesCpu();

private:
    QTemporaryDir m_dir;
    std::string m_model;
};

void TestLlama::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    make_model(m_model, MakeModelOptions{"tiny", 42, DType::F32, 0});
}

void TestLlama::matchesNaiveReference() {
    c10::InferenceMode guard;
    Llama model = load_llama(m_model, at::kCPU, at::kFloat);
    const auto tokens = random_tokens(12, model->config.n_vocab, 1);
    KVCache cache = model->new_cache();
    const auto logits = model->forward(tokens_tensor(tokens), cache)[0];
    const auto expected = reference::causal_logits(Checkpoint(m_model), model->config, tokens);
    const double diff = max_abs_diff(logits, expected);
    qInfo("max |engine f32 - reference f64| = %.3g over %lld logits", diff, static_cast<long long>(expected.numel()));
    QVERIFY(diff < 1e-4);
}

void TestLlama::cachedDecodingEqualsFullForward() {
    c10::InferenceMode guard;
    Llama model = load_llama(m_model, at::kCPU, at::kFloat);
    const auto tokens = random_tokens(40, model->config.n_vocab, 2);
    KVCache full_cache = model->new_cache();
    const auto full = model->forward(tokens_tensor(tokens), full_cache)[0];  // (T, V)

    // Prefill 9 tokens, then chunks of various sizes, then one at a time.
    KVCache cache = model->new_cache();
    std::vector<at::Tensor> pieces;
    size_t start = 0;
    for (const size_t chunk : {9, 1, 5, 1, 1, 7, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}) {
        const std::vector<int64_t> part(tokens.begin() + start, tokens.begin() + start + chunk);
        pieces.push_back(model->forward(tokens_tensor(part), cache)[0]);
        start += chunk;
    }
    QCOMPARE(start, tokens.size());
    QCOMPARE(cache.size(), int64_t(40));
    const double diff = max_abs_diff(at::cat(pieces, 0), full);
    qInfo("max |cached - full| = %.3g", diff);
    QVERIFY(diff < 1e-5);
}

void TestLlama::batchRowsAreIndependent() {
    c10::InferenceMode guard;
    Llama model = load_llama(m_model, at::kCPU, at::kFloat);
    const auto a = random_tokens(8, model->config.n_vocab, 3), b = random_tokens(8, model->config.n_vocab, 4);
    KVCache batch_cache = model->new_cache(), cache_a = model->new_cache(), cache_b = model->new_cache();
    const auto both = model->forward(at::stack({at::tensor(a), at::tensor(b)}), batch_cache);
    QVERIFY(max_abs_diff(both[0], model->forward(tokens_tensor(a), cache_a)[0]) < 1e-5);
    QVERIFY(max_abs_diff(both[1], model->forward(tokens_tensor(b), cache_b)[0]) < 1e-5);
}

void TestLlama::shardedEqualsSingleFile() {
    c10::InferenceMode guard;
    const std::string sharded = m_dir.filePath(QStringLiteral("tiny-sharded")).toStdString();
    make_model(sharded, MakeModelOptions{"tiny", 42, DType::F32, 60'000});
    const QStringList shards = QDir(QString::fromStdString(sharded)).entryList({QStringLiteral("model-*.safetensors")});
    QVERIFY2(shards.size() > 2, qPrintable(shards.join(QLatin1Char(','))));

    Llama single = load_llama(m_model, at::kCPU, at::kFloat);
    Llama split = load_llama(sharded, at::kCPU, at::kFloat);
    const auto tokens = tokens_tensor(random_tokens(16, single->config.n_vocab, 5));
    KVCache c1 = single->new_cache(), c2 = split->new_cache();
    QVERIFY(at::equal(single->forward(tokens, c1), split->forward(tokens, c2)));
}

void TestLlama::lowPrecisionStaysNearF32_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<double>("tolerance");  // max |logit difference| / max |f32 logit|
    QTest::newRow("bf16") << static_cast<int>(at::kBFloat16) << 5e-2;
    QTest::newRow("f16") << static_cast<int>(at::kHalf) << 1e-2;
}

void TestLlama::lowPrecisionStaysNearF32() {
    QFETCH(int, dtype);
    QFETCH(double, tolerance);
    c10::InferenceMode guard;
    Llama reference = load_llama(m_model, at::kCPU, at::kFloat);
    Llama low = load_llama(m_model, at::kCPU, static_cast<at::ScalarType>(dtype));
    const auto tokens = random_tokens(24, reference->config.n_vocab, 6);
    KVCache c1 = reference->new_cache(), c2 = low->new_cache();
    const auto expected = reference->forward(tokens_tensor(tokens), c1);
    // Prefill then decode, so that the cached path runs in low precision too.
    const std::vector<int64_t> head(tokens.begin(), tokens.begin() + 16), tail(tokens.begin() + 16, tokens.end());
    auto got = low->forward(tokens_tensor(head), c2);
    for (const int64_t t : tail)
        got = at::cat({got, low->forward(tokens_tensor({t}), c2)}, 1);
    const double relative = max_abs_diff(got, expected) / expected.abs().max().item<double>();
    qInfo("max |difference| / max |logit| = %.3g (tolerance %.0e)", relative, tolerance);
    QVERIFY(relative < tolerance);
}

void TestLlama::sharedModelsMatchReference_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("tiny-random-llama (GQA, real vocabulary)") << QStringLiteral("tiny-random-llama");
    QTest::newRow("stories260K (trained, GQA)") << QStringLiteral("stories260K-hf");
    QTest::newRow("TinyStories-656K (tied, kept as lm_head.weight)") << QStringLiteral("tinystories-656k");
}

void TestLlama::sharedModelsMatchReference() {
    QFETCH(QString, name);
    const QString dir = QStringLiteral(UIO_SOURCE_DIR "/../shared/models/") + name;
    if (!QDir(dir).exists())
        QSKIP("../shared/models is not present");
    c10::InferenceMode guard;
    Llama model = load_llama(dir.toStdString(), at::kCPU, at::kFloat);
    const auto tokens = random_tokens(20, model->config.n_vocab, 7);
    KVCache cache = model->new_cache();
    const auto logits = model->forward(tokens_tensor(tokens), cache)[0];
    const double diff =
        max_abs_diff(logits, reference::causal_logits(Checkpoint(dir.toStdString()), model->config, tokens));
    qInfo("%s: max |engine - reference| = %.3g", qPrintable(name), diff);
    QVERIFY(diff < 1e-4);
}

void TestLlama::contextOverflowIsAnError() {
    c10::InferenceMode guard;
    Llama model = load_llama(m_model, at::kCPU, at::kFloat);
    KVCache cache = model->new_cache();
    const int64_t n_ctx = model->config.n_ctx();
    model->forward(at::ones({1, n_ctx - 1}, at::kLong), cache);
    model->forward(at::ones({1, 1}, at::kLong), cache);
    QVERIFY_THROWS_EXCEPTION(ModelError, model->forward(at::ones({1, 1}, at::kLong), cache));
    QCOMPARE(cache.size(), n_ctx);
}

void TestLlama::cudaMatchesCpu_data() {
    lowPrecisionStaysNearF32_data();
    QTest::newRow("f32") << static_cast<int>(at::kFloat) << 1e-5;
}

void TestLlama::cudaMatchesCpu() {
    QFETCH(int, dtype);
    QFETCH(double, tolerance);
    if (!at::hasCUDA())
        QSKIP("no CUDA device");
    c10::InferenceMode guard;
    Llama cpu = load_llama(m_model, at::kCPU, at::kFloat);
    Llama gpu = load_llama(m_model, at::Device(at::kCUDA, 0), static_cast<at::ScalarType>(dtype));
    const auto tokens = random_tokens(40, cpu->config.n_vocab, 8);
    KVCache c1 = cpu->new_cache(), c2 = gpu->new_cache();
    const auto expected = cpu->forward(tokens_tensor(tokens), c1);
    const std::vector<int64_t> head(tokens.begin(), tokens.begin() + 30), tail(tokens.begin() + 30, tokens.end());
    auto got = gpu->forward(tokens_tensor(head).cuda(), c2);
    for (const int64_t t : tail)
        got = at::cat({got, gpu->forward(tokens_tensor({t}).cuda(), c2)}, 1);
    const double relative = max_abs_diff(got.cpu(), expected) / expected.abs().max().item<double>();
    qInfo("cuda vs cpu f32: max |difference| / max |logit| = %.3g (tolerance %.0e)", relative, tolerance);
    QVERIFY(relative < tolerance);
}

void TestLlama::llama3RopeScaling() {
    // Llama 3.1's numbers on a small head: theta 500000, factor 8, low 1, high 4, 8192 original.
    const LlamaConfig c = LlamaConfig::from_json(
        R"({"model_type": "llama", "hidden_size": 256, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
            "vocab_size": 16, "max_position_embeddings": 131072, "rope_theta": 500000.0,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})",
        "llama3");
    QCOMPARE(c.n_ctx(), int64_t(131072));  // positions are not multiplied
    const RopeTable table(c, 20000, at::kCPU);
    // The rule in float64, frequency by frequency.
    const int64_t D = c.head_dim();
    std::vector<double> freq;
    for (int64_t i = 0; i < D / 2; ++i) {
        const double f = 1.0 / std::pow(500000.0, 2.0 * static_cast<double>(i) / static_cast<double>(D));
        const double wavelength = 2 * M_PI / f;
        if (wavelength < 8192.0 / 4)
            freq.push_back(f);
        else if (wavelength > 8192.0 / 1)
            freq.push_back(f / 8);
        else {
            const double smooth = (8192.0 / wavelength - 1) / (4 - 1);
            freq.push_back((1 - smooth) * f / 8 + smooth * f);
        }
    }
    const auto positions = at::tensor(std::vector<int64_t>{0, 1, 37, 1000, 4999});
    const auto cos = table.cos(positions, at::kDouble);
    double worst = 0.0;
    int scaled = 0, blended = 0;
    for (int64_t i = 0; i < D / 2; ++i) {
        const double f = 1.0 / std::pow(500000.0, 2.0 * static_cast<double>(i) / static_cast<double>(D));
        scaled += freq[static_cast<size_t>(i)] < f * 0.99 ? 1 : 0;
        blended += freq[static_cast<size_t>(i)] < f * 0.99 && freq[static_cast<size_t>(i)] > f / 8 * 1.01 ? 1 : 0;
        for (int64_t p = 0; p < positions.size(0); ++p) {
            const double angle = static_cast<double>(positions[p].item<int64_t>()) * freq[static_cast<size_t>(i)];
            worst = std::max({worst, std::abs(cos[p][i].item<double>() - std::cos(angle)),
                              std::abs(cos[p][i + D / 2].item<double>() - std::cos(angle))});
        }
    }
    qInfo("max |cos - float64 rule| = %.3g over %lld frequencies (%d slowed, %d of them blended)", worst,
          static_cast<long long>(D / 2), scaled, blended);
    QVERIFY(scaled > 0 && blended > 0);  // all three regimes are exercised
    QVERIFY(worst < 1e-3);               // float32 angles up to 5000 radians
    QVERIFY_THROWS_EXCEPTION(ModelError,
                             LlamaConfig::from_json(R"({"model_type": "llama", "hidden_size": 8, "intermediate_size": 8,
        "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "max_position_embeddings": 16,
        "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})",
                                                    "yarn"));
}

QTEST_APPLESS_MAIN(TestLlama)
#include "test_llama.moc"
