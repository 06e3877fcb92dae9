// The fused CPU decoding step (decode_step.h) against the plain libtorch path it replaces
// (LlamaImpl::plain), token by token after a prompt, with grouped-query heads: f32 agrees to
// rounding; in bf16 the fused step, which keeps activations in f32, is no further from the f32
// model than the plain bf16 path; int8 agrees with the plain path on the same int8 weights and
// stays near the f32 model.

#include "llama.h"
#include "uio/model/model_maker.h"
#include "uio/model/runtime.h"

#include <ATen/ATen.h>
#include <QTemporaryDir>
#include <QTest>
#include <c10/core/InferenceMode.h>

using namespace uio::model;

namespace {

// Logits (steps, V) of feeding `prompt` then each of `next` one at a time.
at::Tensor decodeLogits(LlamaImpl& model, const std::vector<int64_t>& prompt, const std::vector<int64_t>& next) {
    c10::InferenceMode guard;
    KVCache cache = model.new_cache();
    model.forward(at::tensor(prompt, at::kLong).view({1, -1}), cache);
    std::vector<at::Tensor> rows;
    for (const int64_t id : next)
        rows.push_back(model.forward(at::tensor({id}, at::kLong).view({1, 1}), cache).view({-1}));
    return at::stack(rows).to(at::kDouble);
}

double maxDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a - b).abs().max().item<double>();
}

}  // namespace

class TestDecodeStep : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void f32MatchesThePlainPath();
    void bf16IsNoFurtherFromF32ThanThePlainPath();
    void int8MatchesItsPlainPathAndStaysNearF32();
    void f32PrefillThroughOneDnnMatchesLibtorch();

private:
    QTemporaryDir m_dir;
    std::string m_model;
    std::vector<int64_t> m_prompt{1, 17, 93, 250, 4, 311, 76};
    std::vector<int64_t> m_next{12, 400, 8, 8, 199, 3, 77, 501, 45, 6};
};

void TestDecodeStep::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("decode-step-model")).toStdString();
    MakeModelOptions options{"tiny", 11, DType::F32, 0};
    options.output_gain = 10.0;  // logits of a trained model's range, so that differences show
    make_model(m_model, options);
}

void TestDecodeStep::f32MatchesThePlainPath() {
    Llama model = load_llama(m_model, at::kCPU, at::kFloat);
    QVERIFY(model->config.n_kv_head < model->config.n_head);  // grouped-query heads are covered
    const auto fused = decodeLogits(*model, m_prompt, m_next);
    model->plain = true;
    const auto plain = decodeLogits(*model, m_prompt, m_next);
    const double diff = maxDiff(fused, plain), scale = plain.abs().max().item<double>();
    qInfo("f32: fused against plain, max |logit difference| %.3g of logits up to %.3g (tolerance 1e-5 relative)", diff,
          scale);
    QVERIFY(diff < 1e-5 * scale);
}

void TestDecodeStep::bf16IsNoFurtherFromF32ThanThePlainPath() {
    Llama exact = load_llama(m_model, at::kCPU, at::kFloat);
    exact->plain = true;
    const auto reference = decodeLogits(*exact, m_prompt, m_next);
    Llama model = load_llama(m_model, at::kCPU, at::kBFloat16);
    const auto fused = decodeLogits(*model, m_prompt, m_next);
    model->plain = true;
    const auto plain = decodeLogits(*model, m_prompt, m_next);
    const double fusedError = maxDiff(fused, reference), plainError = maxDiff(plain, reference);
    qInfo("bf16: max |logit difference| from f32: fused %.3g, plain %.3g", fusedError, plainError);
    QVERIFY(fusedError > 0.0);  // it did run in bf16
    QVERIFY(fusedError <= 1.25 * plainError);
}

void TestDecodeStep::int8MatchesItsPlainPathAndStaysNearF32() {
    Llama exact = load_llama(m_model, at::kCPU, at::kFloat);
    exact->plain = true;
    const auto reference = decodeLogits(*exact, m_prompt, m_next);
    Llama model = load_llama(m_model, at::kCPU, at::kFloat);
    model->quantize();
    QVERIFY(model->quantized());
    QCOMPARE(model->layer(0).self_attn->q_proj->weight.numel(), 0);  // the f32 weight is gone
    const auto fused = decodeLogits(*model, m_prompt, m_next);
    model->plain = true;
    const auto plain = decodeLogits(*model, m_prompt, m_next);
    const double scale = reference.abs().max().item<double>();
    const double same = maxDiff(fused, plain), fromF32 = maxDiff(fused, reference);
    qInfo("int8: fused against plain int8 %.3g, against f32 %.3g, of logits up to %.3g", same, fromF32, scale);
    QVERIFY(same < 1e-4 * scale);
    QVERIFY(fromF32 < 0.05 * scale);
    QVERIFY(fromF32 > 0.0);
    // Greedy choices agree with the f32 model at every step.
    QVERIFY(at::equal(fused.argmax(-1), reference.argmax(-1)));
}

void TestDecodeStep::f32PrefillThroughOneDnnMatchesLibtorch() {
    // A chunk of queries behind earlier context (as after memories): products and attention
    // through oneDNN's sgemm in the inference layout, through libtorch in the training one.
    Llama model = load_llama(m_model, at::kCPU, at::kFloat);
    bool onednn = false;
    const auto logits = [&](bool autograd) {
        const CpuThreadsFor layout(DType::F32, autograd);
        onednn = onednn || f32_products_in_onednn();
        c10::InferenceMode guard;
        KVCache cache = model->new_cache();
        model->forward(at::tensor(m_prompt, at::kLong).view({1, -1}), cache);
        return model->forward(at::tensor(m_next, at::kLong).view({1, -1}), cache)[0].to(at::kDouble);
    };
    for (const bool quantized : {false, true}) {
        if (quantized)
            model->quantize();  // int8 products: dequantized 256 rows at a time into oneDNN's sgemm
        const auto fast = logits(false), plain = logits(true);
        const double diff = maxDiff(fast, plain), scale = plain.abs().max().item<double>();
        qInfo("%s prefill, %s against libtorch: max |logit difference| %.3g of logits up to %.3g",
              quantized ? "int8" : "f32", onednn ? "oneDNN" : "libtorch (no oneDNN here)", diff, scale);
        QVERIFY(diff < 1e-5 * scale);
    }
}

QTEST_GUILESS_MAIN(TestDecodeStep)
#include "test_decode_step.moc"
