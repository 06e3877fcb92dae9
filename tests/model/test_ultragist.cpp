// UltraGist on a tiny random Llama whose checkpoint carries the release's tensor names (written
// here): loading by name; with no window complete it is the plain model; ordinary tokens never
// see the memory tokens appended after them; a window fed token by token compresses to what one
// pass makes; and the tokens after a compressed window match a float64 reference (reference.h)
// that builds the window's memory rows and then attends to [sink | memory | tail].

#include "checkpoint.h"
#include "llama.h"
#include "reference.h"
#include "safetensors.h"
#include "uio/model/model_maker.h"
#include "ultragist.h"
#include "ultragist_fixture.h"

#include <ATen/ATen.h>
#include <QTemporaryDir>
#include <QTest>
#include <c10/core/InferenceMode.h>

using namespace uio::model;

namespace {

using test::kRatio;
using test::kWindow;
using test::tokens;

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace

class TestUltraGist : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void adaptiveRatioFollowsTheRelease_data();
    void adaptiveRatioFollowsTheRelease();
    void withoutACompleteWindowItIsThePlainModel();
    void ordinaryTokensIgnoreMemoryTokensAfterThem();
    void tokenByTokenEqualsOnePass();
    void tailMatchesTheFloat64Reference();

private:
    at::Tensor plainLogits(const std::vector<int32_t>& ids);
    QTemporaryDir m_dir;
    std::string m_modelDir;
    Llama m_model{nullptr};
    UltraGistWeights m_weights;
};

void TestUltraGist::initTestCase() {
    QVERIFY(m_dir.isValid());
    c10::InferenceMode guard;
    m_modelDir = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    make_model(m_modelDir, MakeModelOptions{"tiny", 7, DType::F32, 0});  // GQA: 4 heads, 2 kv heads
    m_model = load_llama(m_modelDir, at::kCPU, at::kFloat);
    const LlamaConfig& c = m_model->config;
    const auto extra = test::add_ultragist_tensors(m_modelDir, c, 11, kWindow);
    const std::filesystem::path dir(m_modelDir);
    m_weights = load_ultragist_weights(Checkpoint(dir), c, at::kCPU, at::kFloat);
    QCOMPARE(static_cast<int64_t>(m_weights.layers.size()), c.n_layer);
    QVERIFY(at::equal(m_weights.layers[1][3], extra.back().second));
}

at::Tensor TestUltraGist::plainLogits(const std::vector<int32_t>& ids) {
    auto cache = m_model->new_cache();
    const auto t = at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong).view({1, -1});
    return m_model->forward(t, cache)[0];
}

void TestUltraGist::adaptiveRatioFollowsTheRelease_data() {
    QTest::addColumn<qint64>("tokens");
    QTest::addColumn<qint64>("ratio");
    // Llama-2: 4096 positions, windows of 1024; reaches 7168, 13312, 25600, 50176, 99328.
    QTest::newRow("short") << qint64(1024) << qint64(2);
    QTest::newRow("6144") << qint64(6144) << qint64(2);
    QTest::newRow("6145") << qint64(6145) << qint64(4);
    QTest::newRow("24576") << qint64(24576) << qint64(8);
    QTest::newRow("49152") << qint64(49152) << qint64(16);
    QTest::newRow("book") << qint64(300000) << qint64(32);
}

void TestUltraGist::adaptiveRatioFollowsTheRelease() {
    QFETCH(qint64, tokens);
    QFETCH(qint64, ratio);
    QCOMPARE(adaptive_ratio(tokens, 1024, 4096, {2, 4, 8, 16, 32}), ratio);
}

void TestUltraGist::withoutACompleteWindowItIsThePlainModel() {
    c10::InferenceMode guard;
    const auto ids = tokens(40, m_model->config.n_vocab, 1);
    UltraGistSession session(*m_model, m_weights, 64, kRatio);  // the window never completes
    std::vector<at::Tensor> pieces;
    size_t at = 0;
    for (const size_t n : {7, 13, 20}) {
        pieces.push_back(session.feed(
            {ids.begin() + static_cast<std::ptrdiff_t>(at), ids.begin() + static_cast<std::ptrdiff_t>(at + n)}));
        at += n;
    }
    const double diff = max_abs_diff(at::cat(pieces, 0), plainLogits(ids));
    qInfo("max |logits - plain model| = %.3g", diff);
    QVERIFY(diff < 1e-4);
    QCOMPARE(session.memory_rows(), int64_t(0));
}

void TestUltraGist::ordinaryTokensIgnoreMemoryTokensAfterThem() {
    c10::InferenceMode guard;
    const auto ids = tokens(kWindow, m_model->config.n_vocab, 2);
    UltraGistSession session(*m_model, m_weights, kWindow, kRatio);
    const auto logits = session.feed(ids);  // compresses the window in the same forward
    QCOMPARE(session.memory_rows(), kWindow / kRatio);
    QCOMPARE(session.cached_rows(), 1 + kWindow / kRatio);  // the sink and the memory
    const double diff = max_abs_diff(logits, plainLogits(ids));
    qInfo("max |window logits - plain model| = %.3g", diff);
    QVERIFY(diff < 1e-4);
}

void TestUltraGist::tokenByTokenEqualsOnePass() {
    c10::InferenceMode guard;
    const auto ids = tokens(2 * kWindow + 5, m_model->config.n_vocab, 3);
    UltraGistSession whole(*m_model, m_weights, kWindow, kRatio);
    UltraGistSession stepped(*m_model, m_weights, kWindow, kRatio);
    const auto a = whole.feed(ids);
    std::vector<at::Tensor> b;
    for (const int32_t id : ids)
        b.push_back(stepped.feed({id}));
    const double diff = max_abs_diff(a, at::cat(b, 0));
    qInfo("max |one pass - token by token| = %.3g over %zu tokens, two windows compressed", diff, ids.size());
    QVERIFY(diff < 1e-4);
    QCOMPARE(stepped.cached_rows(), whole.cached_rows());
}

void TestUltraGist::tailMatchesTheFloat64Reference() {
    c10::InferenceMode guard;
    const LlamaConfig& c = m_model->config;
    const Checkpoint checkpoint(m_modelDir);
    const int64_t U = kWindow / kRatio, n = 6;
    const auto ids = tokens(kWindow + n, c.n_vocab, 4);
    UltraGistSession session(*m_model, m_weights, kWindow, kRatio);
    const auto logits = session.feed(ids);  // (W + n, V)

    // Pass 1: the window, then its memory tokens at (r + 1)(i + 1) - 1, each seeing the window's
    // first (i + 1) r tokens and memory tokens 0..i; the release's projections for memory rows.
    auto ug = [&](int64_t k, const char* p) {
        return reference::weight(checkpoint,
                                 "model.layers." + std::to_string(k) + ".self_attn.ultragist_" + p + "_proj.weight");
    };
    auto base = [&](int64_t k, const char* p) {
        return reference::weight(checkpoint, "model.layers." + std::to_string(k) + ".self_attn." + p + "_proj.weight");
    };
    const auto memory_only = [&](int64_t first) {
        return [&, first](int64_t k, const std::string& proj, const at::Tensor& h) {
            // For memory rows, W_ultragist h = W h + (W_ultragist - W) h.
            const auto d = at::matmul(h, (ug(k, proj.c_str()) - base(k, proj.c_str())).t());
            auto rows = at::zeros_like(d);
            rows.narrow(0, first, d.size(0) - first).copy_(d.narrow(0, first, d.size(0) - first));
            return rows;
        };
    };
    const auto embed = reference::weight(checkpoint, "model.embed_tokens.weight");
    const auto token_rows = [&](int64_t from, int64_t count) {
        std::vector<int64_t> t(ids.begin() + from, ids.begin() + from + count);
        return embed.index_select(0, at::tensor(t));
    };
    const auto memory_embedding = reference::weight(checkpoint, "model.ultragist_embed_tokens.weight");
    const auto x1 = at::cat({token_rows(0, kWindow), memory_embedding.expand({U, c.n_embd})}, 0);
    std::vector<int64_t> positions1;
    for (int64_t j = 0; j < kWindow; ++j)
        positions1.push_back(j);
    for (int64_t i = 0; i < U; ++i)
        positions1.push_back((kRatio + 1) * (i + 1) - 1);
    const auto pass1 = reference::forward(
        checkpoint, c, x1, positions1,
        [&](int64_t i, int64_t j) {
            if (i < kWindow)
                return j <= i;
            const int64_t m = i - kWindow;
            return j < kWindow ? j < (m + 1) * kRatio : j - kWindow <= m;
        },
        memory_only(kWindow));
    QVERIFY(max_abs_diff(pass1.logits.narrow(0, 0, kWindow), logits.narrow(0, 0, kWindow)) < 1e-4);

    // Pass 2: [token 0 (the sink) | U memory rows | the tail] at slots 0, 1..U, U+1..; the memory
    // rows' keys and values are pass 1's, before rotation.
    const auto x2 = at::cat({token_rows(0, 1), memory_embedding.expand({U, c.n_embd}), token_rows(kWindow, n)}, 0);
    std::vector<int64_t> positions2;
    for (int64_t j = 0; j < 1 + U + n; ++j)
        positions2.push_back(j);
    const auto pass2 = reference::forward(
        checkpoint, c, x2, positions2, [](int64_t i, int64_t j) { return j <= i && (i > 0 || j == 0); }, {},
        [&](int64_t k, at::Tensor& key, at::Tensor& value) {
            const auto h = pass1.layer_inputs[static_cast<size_t>(k)].narrow(0, kWindow, U);  // (U, C)
            key.narrow(0, 1, U).copy_(at::matmul(h, ug(k, "k").t()).view({U, c.n_kv_head, c.head_dim()}));
            value.narrow(0, 1, U).copy_(at::matmul(h, ug(k, "v").t()).view({U, c.n_kv_head, c.head_dim()}));
        });
    const double diff = max_abs_diff(logits.narrow(0, kWindow, n), pass2.logits.narrow(0, 1 + U, n));
    qInfo("max |tail logits - float64 reference| = %.3g (window %lld, ratio %lld)", diff,
          static_cast<long long>(kWindow), static_cast<long long>(kRatio));
    QVERIFY(diff < 1e-4);
    // The memory matters: with the window in full instead, the tail's logits are other numbers.
    const double from_full = max_abs_diff(logits.narrow(0, kWindow, n), plainLogits(ids).narrow(0, kWindow, n));
    qInfo("max |tail logits - with the whole window in the context| = %.3g", from_full);
    QVERIFY(from_full > 1e-3);
}

QTEST_APPLESS_MAIN(TestUltraGist)
#include "test_ultragist.moc"
