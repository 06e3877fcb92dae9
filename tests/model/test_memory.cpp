// UIO memory (uio-method.md §3-§5, §7) against float64 references written here from the method
// text, and against the identities it implies.

#include "adapter.h"
#include "checkpoint.h"
#include "encoder.h"
#include "memory_blob.h"
#include "memory_session.h"
#include "reference.h"
#include "uio/model/engine.h"
#include "uio/model/error.h"
#include "uio/model/model_maker.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <c10/core/InferenceMode.h>

using namespace uio::model;

namespace {

constexpr int64_t kL = 8, kM = 2;  // segment length and memory tokens of the tests: c = 4

std::vector<int64_t> random_tokens(int64_t n, int64_t n_vocab, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    const auto t = at::randint(3, n_vocab, {n}, gen, at::kLong);
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

// A trained-looking adapter: B and e_mem no longer at their initial values.
void perturb(AdapterImpl& adapter, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    torch::NoGradGuard no_grad;
    for (auto& item : adapter.named_parameters()) {
        if (item.key().ends_with(".B") || item.key() == "e_mem" || item.key() == "e_rep") {
            item.value().add_(at::randn(item.value().sizes(), gen) * 0.05);
        }
    }
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor as_batch(const std::vector<int64_t>& tokens) {
    return at::tensor(tokens).view({1, -1});
}

std::vector<int32_t> to_int32(const std::vector<int64_t>& v) {
    return std::vector<int32_t>(v.begin(), v.end());
}

}  // namespace

class TestMemory : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void maskAndPositionsMatchTheMethod();
    void encoderMatchesReference();
    void freshEncoderOrdinaryRowsArePlainForward();
    void batchedEncodingEqualsOneAtATime();
    void freshDecoderWithoutMemoryIsBaseModel();
    void decoderWithMemoryMatchesReference();
    void compressesWhenSegmentFills();
    void positionBudgetIsCheckedUpFront();
    void adapterRoundTripAndRefusals();
    void freshAdapterFileWithoutLoadingTheModel();
    void blobRoundTripAndDamage();
    void bf16StaysNearF32();

private:
    Adapter makeAdapter(uint64_t seed, bool trained);
    QTemporaryDir m_dir;
    std::string m_modelDir;
    Llama m_model{nullptr};
};

void TestMemory::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_modelDir = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    make_model(m_modelDir, MakeModelOptions{"tiny", 5, DType::F32, 0});  // GQA: 4 heads, 2 kv heads
    m_model = load_llama(m_modelDir, at::kCPU, at::kFloat);
}

Adapter TestMemory::makeAdapter(uint64_t seed, bool trained) {
    Adapter adapter = make_adapter(*m_model, AdapterConfig{kL, kM, 4, 8.0}, seed);
    if (trained)
        perturb(*adapter, seed + 100);
    return adapter;
}

void TestMemory::maskAndPositionsMatchTheMethod() {
    // l = 8, m = 2, c = 4. Rows: queries 0..7 ordinary, 8..9 memory; columns: keys likewise.
    const int expected[10][10] = {
        {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
        {1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
        {1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
        {1, 1, 1, 1, 0, 0, 0, 0, 1, 0},  // memory 0 sees j < 4 and itself
        {1, 1, 1, 1, 1, 1, 1, 1, 0, 1},  // memory 1 sees j < 8 and itself
    };
    const auto mask = encoder_mask(kL, kM, at::kCPU);
    QCOMPARE(mask.sizes().vec(), (std::vector<int64_t>{10, 10}));
    for (int i = 0; i < 10; ++i) {
        for (int j = 0; j < 10; ++j) {
            QVERIFY2(mask[i][j].item<bool>() == (expected[i][j] == 1),
                     qPrintable(QStringLiteral("row %1 col %2").arg(i).arg(j)));
        }
    }
    const std::vector<int64_t> positions{0, 1, 2, 3, 4, 5, 6, 7, 4, 8};  // memory i at (i+1)*c
    const auto got = encoder_positions(kL, kM, at::kCPU);
    QCOMPARE(std::vector<int64_t>(got.data_ptr<int64_t>(), got.data_ptr<int64_t>() + 10), positions);
}

void TestMemory::encoderMatchesReference() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(1, true);
    const LlamaConfig& c = m_model->config;
    const auto tokens = random_tokens(kL, c.n_vocab, 2);
    const auto memory = encode_segments(*m_model, *adapter, as_batch(tokens))[0];  // (L, m, C)
    QCOMPARE(memory.sizes().vec(), (std::vector<int64_t>{c.n_layer, kM, c.n_embd}));

    // The reference: the §3 tables written as conditions, LoRA on q and v, e_mem rows appended.
    const Checkpoint weights(m_modelDir);
    auto x = reference::weight(weights, "model.embed_tokens.weight").index_select(0, at::tensor(tokens));
    x = at::cat({x, adapter->e_mem.to(at::kDouble).view({1, -1}).expand({kM, -1})}, 0);
    std::vector<int64_t> positions;
    for (int64_t j = 0; j < kL; ++j)
        positions.push_back(j);
    for (int64_t i = 0; i < kM; ++i)
        positions.push_back((i + 1) * (kL / kM));
    auto visible = [](int64_t i, int64_t j) {
        if (i < kL)
            return j < kL && j <= i;
        return j < kL ? j < (i - kL + 1) * (kL / kM) : j == i;
    };
    const double s = adapter->scale();
    auto lora = [&](int64_t k, const std::string& proj, const at::Tensor& h) {
        AdapterLayerImpl& layer = adapter->layer(k);
        const Lora* pair = proj == "q" ? &layer.encoder_q : proj == "v" ? &layer.encoder_v : nullptr;
        if (!pair)
            return at::Tensor();
        return s * at::matmul(at::matmul(h, (*pair)->A.to(at::kDouble).t()), (*pair)->B.to(at::kDouble).t());
    };
    const auto expected = reference::forward(weights, c, x, positions, visible, lora);
    double diff = 0;
    for (int64_t k = 0; k < c.n_layer; ++k) {
        diff = std::max(diff, max_abs_diff(memory[k], expected.layer_inputs[k].narrow(0, kL, kM)));
    }
    qInfo("max |encoder memory - float64 reference| = %.3g", diff);
    QVERIFY(diff < 1e-5);
    // Layer 0's memory is RMSNorm(e_mem) for every segment.
    const auto other = encode_segments(*m_model, *adapter, as_batch(random_tokens(kL, c.n_vocab, 3)))[0];
    QVERIFY(at::equal(memory[0], other[0]));
}

void TestMemory::freshEncoderOrdinaryRowsArePlainForward() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(4, false);  // B = 0
    const auto tokens = as_batch(random_tokens(kL, m_model->config.n_vocab, 5));
    std::vector<at::Tensor> ordinary;
    encode_segments(*m_model, *adapter, tokens, &ordinary);
    // The plain model's layer inputs, through its cached decoder layers.
    KVCache cache = m_model->new_cache();
    const auto positions = at::arange(kL, at::kLong);
    const auto [cos, sin] = rope_cos_sin(m_model->rope, positions, at::kFloat);
    auto x = m_model->model->embed_tokens(tokens);
    double diff = 0;
    for (int64_t k = 0; k < m_model->config.n_layer; ++k) {
        diff = std::max(diff, max_abs_diff(ordinary[k], m_model->layer(k).input_layernorm(x)));
        x = m_model->layer(k).forward(x, cos, sin, cache, k);
    }
    qInfo("max |encoder ordinary rows - plain forward| = %.3g", diff);
    QVERIFY(diff < 1e-6);
}

void TestMemory::batchedEncodingEqualsOneAtATime() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(6, true);
    std::vector<at::Tensor> rows;
    for (uint64_t seed = 0; seed < 3; ++seed)
        rows.push_back(as_batch(random_tokens(kL, m_model->config.n_vocab, 10 + seed)));
    const auto batched = encode_segments(*m_model, *adapter, at::cat(rows, 0));
    double diff = 0;
    for (int64_t b = 0; b < 3; ++b) {
        diff = std::max(diff, max_abs_diff(batched[b], encode_segments(*m_model, *adapter, rows[b])[0]));
    }
    qInfo("max |batched - one at a time| = %.3g", diff);
    QVERIFY(diff < 1e-6);
    QVERIFY(at::equal(batched, encode_segments(*m_model, *adapter, at::cat(rows, 0))));  // deterministic
}

void TestMemory::freshDecoderWithoutMemoryIsBaseModel() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(7, false);
    const auto tokens = random_tokens(kL - 1, m_model->config.n_vocab, 8);
    MemorySession session(*m_model, adapter, at::empty({0, m_model->config.n_layer, kM, m_model->config.n_embd}));
    const auto logits = session.feed(to_int32(tokens));
    KVCache cache = m_model->new_cache();
    QVERIFY(max_abs_diff(logits, m_model->forward(as_batch(tokens), cache)[0]) < 1e-6);
}

void TestMemory::decoderWithMemoryMatchesReference() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(8, true);
    const LlamaConfig& c = m_model->config;
    const int64_t S = 2, T = 5, D = c.head_dim(), H = c.n_head, K = c.n_kv_head;
    const auto memories = encode_segments(
        *m_model, *adapter,
        at::cat({as_batch(random_tokens(kL, c.n_vocab, 20)), as_batch(random_tokens(kL, c.n_vocab, 21))}));
    const auto tokens = random_tokens(T, c.n_vocab, 22);
    MemorySession session(*m_model, adapter, memories);
    const auto logits = session.feed(to_int32(tokens));  // (T, V)

    // Reference (§4): keys/values of memory rows from the transfer head on the stored h_mem,
    // memory i of segment s at position s*m + i, tokens after them, all causal.
    const Checkpoint w(m_modelDir);
    const double s = adapter->scale();
    auto W = [&](const std::string& name) { return reference::weight(w, name); };
    auto x = W("model.embed_tokens.weight").index_select(0, at::tensor(tokens));  // (T, C)
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        AdapterLayerImpl& lora = adapter->layer(l);
        auto head_lora = [&](const Lora& pair, const at::Tensor& h) {
            return s * at::matmul(at::matmul(h, pair->A.to(at::kDouble).t()), pair->B.to(at::kDouble).t());
        };
        const auto h_mem = memories.select(1, l).reshape({S * kM, -1}).to(at::kDouble);
        const auto k_mem = (at::matmul(h_mem, W(p + "self_attn.k_proj.weight").t()) + head_lora(lora.transfer_k, h_mem))
                               .view({S * kM, K, D});
        const auto v_mem = (at::matmul(h_mem, W(p + "self_attn.v_proj.weight").t()) + head_lora(lora.transfer_v, h_mem))
                               .view({S * kM, K, D});
        const auto h = reference::rms(x, W(p + "input_layernorm.weight"), c.rms_norm_eps);
        const auto q = at::matmul(h, W(p + "self_attn.q_proj.weight").t()).view({T, H, D});
        const auto k = at::matmul(h, W(p + "self_attn.k_proj.weight").t()).view({T, K, D});
        const auto v = at::matmul(h, W(p + "self_attn.v_proj.weight").t()).view({T, K, D});
        auto attended = at::zeros({T, H, D}, at::kDouble);
        for (int64_t head = 0; head < H; ++head) {
            const int64_t kv = head / (H / K);
            for (int64_t t = 0; t < T; ++t) {
                const auto qt = reference::rotate(q[t][head], S * kM + t, c.rope_theta);
                std::vector<at::Tensor> keys, values;
                for (int64_t j = 0; j < S * kM; ++j) {
                    keys.push_back(reference::rotate(k_mem[j][kv], j, c.rope_theta));
                    values.push_back(v_mem[j][kv]);
                }
                for (int64_t j = 0; j <= t; ++j) {
                    keys.push_back(reference::rotate(k[j][kv], S * kM + j, c.rope_theta));
                    values.push_back(v[j][kv]);
                }
                const auto probs = at::softmax(at::matmul(at::stack(keys), qt) / std::sqrt(double(D)), 0);
                attended[t][head] = at::matmul(probs, at::stack(values));
            }
        }
        x = x + at::matmul(attended.view({T, H * D}), W(p + "self_attn.o_proj.weight").t());
        const auto h2 = reference::rms(x, W(p + "post_attention_layernorm.weight"), c.rms_norm_eps);
        const auto gate = at::matmul(h2, W(p + "mlp.gate_proj.weight").t());
        x = x + at::matmul(gate / (1 + at::exp(-gate)) * at::matmul(h2, W(p + "mlp.up_proj.weight").t()),
                           W(p + "mlp.down_proj.weight").t());
    }
    x = reference::rms(x, W("model.norm.weight"), c.rms_norm_eps);
    const auto expected =
        at::matmul(x, (c.tie_word_embeddings ? W("model.embed_tokens.weight") : W("lm_head.weight")).t());
    const double diff = max_abs_diff(logits, expected);
    qInfo("max |decoder with %lld memory segments - float64 reference| = %.3g", static_cast<long long>(S), diff);
    QVERIFY(diff < 1e-5);
}

void TestMemory::compressesWhenSegmentFills() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(9, true);
    const LlamaConfig& c = m_model->config;
    const auto doc = encode_segments(*m_model, *adapter, as_batch(random_tokens(kL, c.n_vocab, 30)));
    const auto stream = random_tokens(kL + 3, c.n_vocab, 31);
    MemorySession session(*m_model, adapter, doc);
    const auto logits = session.feed(to_int32(stream));
    QCOMPARE(session.memory_segments(), int64_t(2));
    QCOMPARE(session.positions_used(), 2 * kM + 3);

    // Same as a session that starts with the first l tokens already compressed.
    const std::vector<int64_t> first(stream.begin(), stream.begin() + kL), rest(stream.begin() + kL, stream.end());
    const auto both = at::cat({doc, encode_segments(*m_model, *adapter, as_batch(first))});
    MemorySession expected(*m_model, adapter, both);
    QVERIFY(max_abs_diff(logits.narrow(0, kL, 3), expected.feed(to_int32(rest))) < 1e-5);

    session.rewind();
    QCOMPARE(session.memory_segments(), int64_t(1));
    QCOMPARE(session.positions_used(), kM);
}

void TestMemory::positionBudgetIsCheckedUpFront() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(10, false);
    const LlamaConfig& c = m_model->config;
    const int64_t too_many = c.n_ctx() / kM;  // fills every position with memory
    try {
        MemorySession session(*m_model, adapter, at::zeros({too_many, c.n_layer, kM, c.n_embd}));
        QFAIL("expected a ModelError");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("tokens of documents at this compression ratio")),
                 e.what());
    }
    MemorySession nearly(*m_model, adapter, at::zeros({too_many - 1, c.n_layer, kM, c.n_embd}));
    QVERIFY_THROWS_EXCEPTION(ModelError, nearly.feed(std::vector<int32_t>(kM + 1, 5)));
}

void TestMemory::adapterRoundTripAndRefusals() {
    Adapter adapter = makeAdapter(11, true);
    const std::string path = m_dir.filePath(QStringLiteral("a.safetensors")).toStdString();
    save_adapter(*adapter, m_model->config, path);
    Adapter loaded = load_adapter(path, *m_model);
    auto original = adapter->named_parameters();
    for (const auto& item : loaded->named_parameters()) {
        QVERIFY2(at::equal(item.value(), original[item.key()]), item.key().c_str());
    }
    QCOMPARE(loaded->config.segment_length, kL);
    QCOMPARE(loaded->config.memory_tokens, kM);
    QCOMPARE(adapter_info(*loaded, m_model->config).fingerprint, adapter_info(*adapter, m_model->config).fingerprint);
    QCOMPARE(read_adapter_info(path).base_fingerprint, model_fingerprint(*m_model));

    // Another model of the same shape (different weights), and a model of another shape.
    const std::string other = m_dir.filePath(QStringLiteral("other")).toStdString();
    make_model(other, MakeModelOptions{"tiny", 6, DType::F32, 0});
    Llama other_model = load_llama(other, at::kCPU, at::kFloat);
    try {
        load_adapter(path, *other_model);
        QFAIL("expected a ModelError");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("different base model")), e.what());
    }
    const QString shared = QStringLiteral(UIO_SOURCE_DIR "/../shared/models/stories260K-hf");
    if (QFile::exists(shared)) {
        Llama bigger = load_llama(shared.toStdString(), at::kCPU, at::kFloat);
        QVERIFY_THROWS_EXCEPTION(ModelError, load_adapter(path, *bigger));
    }
    // The same model stored in bf16 has the same fingerprint.
    Llama bf16 = load_llama(m_modelDir, at::kCPU, at::kBFloat16);
    QCOMPARE(model_fingerprint(*bf16), model_fingerprint(*m_model));
}

// create_adapter_file reads only what the adapter needs from the memory-mapped checkpoint; the
// file is byte for byte the one a loaded model makes, whether the weights are stored in f32 or bf16.
void TestMemory::freshAdapterFileWithoutLoadingTheModel() {
    const std::string bf16Dir = m_dir.filePath(QStringLiteral("tiny-bf16")).toStdString();
    make_model(bf16Dir, MakeModelOptions{"tiny", 5, DType::BF16, 0});
    for (const std::string& dir : {m_modelDir, bf16Dir}) {
        const AdapterConfig config{kL, kM, 4, 8.0};
        const std::string loaded = m_dir.filePath(QStringLiteral("loaded.safetensors")).toStdString();
        const std::string direct = m_dir.filePath(QStringLiteral("direct.safetensors")).toStdString();
        Llama model = load_llama(dir, at::kCPU, at::kFloat);
        save_adapter(*make_adapter(*model, config, 21), model->config, loaded);
        create_adapter_file(dir, config, 21, direct);
        QFile a(QString::fromStdString(loaded)), b(QString::fromStdString(direct));
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        const QByteArray bytes = a.readAll();
        QVERIFY2(bytes == b.readAll(), dir.c_str());
        qInfo("%s: the same %lld bytes", dir.c_str(), static_cast<long long>(bytes.size()));
    }
    QVERIFY_THROWS_EXCEPTION(
        ModelError, create_adapter_file(m_dir.filePath(QStringLiteral("none")).toStdString(), {kL, kM, 4, 8.0}, 0,
                                        m_dir.filePath(QStringLiteral("x")).toStdString()));
}

void TestMemory::blobRoundTripAndDamage() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(12, true);
    const auto memory =
        encode_segments(*m_model, *adapter, as_batch(random_tokens(kL, m_model->config.n_vocab, 40)))[0];
    MemoryBlob blob = to_blob(memory);
    QVERIFY(blob.intact());
    QCOMPARE(blob.shape, memory.sizes().vec());
    QVERIFY(at::equal(from_blob(blob, at::kCPU), memory));
    blob.bytes[blob.bytes.size() / 2] ^= std::byte{0x10};
    QVERIFY(!blob.intact());
    QVERIFY_THROWS_EXCEPTION(ModelError, from_blob(blob, at::kCPU));
    MemoryBlob bf16 = to_blob(memory.to(at::kBFloat16));
    QCOMPARE(bf16.dtype, DType::BF16);
    QCOMPARE(bf16.bytes.size(), blob.bytes.size() / 2);

    // Shapes from a damaged library (fuzz_memory_blob findings): negative dimensions whose product
    // matches the bytes, and a product that overflows to it.
    for (const std::vector<int64_t>& shape :
         {std::vector<int64_t>{-1, -2, 3}, std::vector<int64_t>{int64_t(1) << 62, 4, 4}, std::vector<int64_t>{2, 3}}) {
        MemoryBlob hostile;
        hostile.shape = shape;
        hostile.bytes.resize(24);
        hostile.checksum = uio::blob_checksum(hostile.bytes);
        QVERIFY_THROWS_EXCEPTION(ModelError, from_blob(hostile, at::kCPU));
    }
    MemoryBlob empty;  // no bytes to copy (fuzz_memory_blob: memcpy from a null pointer)
    empty.shape = {2, 0, 4};
    empty.checksum = uio::blob_checksum(empty.bytes);
    QCOMPARE(from_blob(empty, at::kCPU).numel(), 0);
}

void TestMemory::bf16StaysNearF32() {
    c10::InferenceMode guard;
    Adapter adapter = makeAdapter(13, true);
    Llama low = load_llama(m_modelDir, at::kCPU, at::kBFloat16);
    const auto tokens = as_batch(random_tokens(kL, m_model->config.n_vocab, 50));
    const auto m32 = encode_segments(*m_model, *adapter, tokens);
    const auto m16 = encode_segments(*low, *adapter, tokens);
    const double memory_diff = max_abs_diff(m16, m32) / m32.abs().max().item<double>();
    MemorySession s32(*m_model, adapter, m32[0].unsqueeze(0)), s16(*low, adapter, m16[0].unsqueeze(0));
    const auto q = to_int32(random_tokens(5, m_model->config.n_vocab, 51));
    const auto l32 = s32.feed(q);
    const double logit_diff = max_abs_diff(s16.feed(q), l32) / l32.abs().max().item<double>();
    qInfo("bf16 vs f32, relative to the largest value: memories %.3g, logits %.3g", memory_diff, logit_diff);
    QVERIFY(memory_diff < 5e-2);
    QVERIFY(logit_diff < 5e-2);
}

QTEST_GUILESS_MAIN(TestMemory)
#include "test_memory.moc"
