// UltraGist through the engine's public API, on a tiny random Llama shaped like the release
// (ultragist_fixture.h): the folder loads as the base model and as the compressor; scoring is
// the release's one-call protocol (checked against UltraGistSession, which test_ultragist checks
// against a float64 reference); a compression resumed from stored windows writes what one run
// writes; a chat over stored windows continues the stream as the one-call protocol does; the
// tensors extracted beside a plain copy of the base give the same scores, and are refused for
// another base.

#include "llama.h"
#include "uio/model/engine.h"
#include "uio/model/error.h"
#include "uio/model/model_maker.h"
#include "ultragist.h"
#include "ultragist_fixture.h"

#include <ATen/ATen.h>
#include <QTemporaryDir>
#include <QTest>
#include <c10/core/InferenceMode.h>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace uio::model;

namespace {

using test::kRatio;
using test::kWindow;
using test::tokens;

double blob_diff(const MemoryBlob& a, const MemoryBlob& b) {
    if (a.shape != b.shape)
        return 1e9;
    const auto* x = reinterpret_cast<const float*>(a.bytes.data());
    const auto* y = reinterpret_cast<const float*>(b.bytes.data());
    double most = 0.0;
    for (size_t i = 0; i < a.bytes.size() / sizeof(float); ++i)
        most = std::max(most, static_cast<double>(std::abs(x[i] - y[i])));
    return most;
}

}  // namespace

class TestUltraGistEngine : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void thePublishedFolderLoads();
    void scoreIsTheReleasesOneCallProtocol();
    void resumedCompressionWritesWhatOneRunWrites();
    void aChatOverStoredWindowsContinuesTheStream();
    void extractedTensorsLoadBesideThePlainBase();
    void settingsItDoesNotRunAreRefused();

private:
    QTemporaryDir m_dir;
    std::filesystem::path m_release;
};

void TestUltraGistEngine::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_release = m_dir.filePath(QStringLiteral("release")).toStdString();
    make_model(m_release, MakeModelOptions{"tiny", 7, DType::F32, 0});
    test::add_ultragist_tensors(m_release, LlamaConfig::load(m_release / "config.json"), 11, kWindow);
}

void TestUltraGistEngine::thePublishedFolderLoads() {
    QVERIFY(has_ultragist_tensors(m_release));
    const auto engine = Engine::load(m_release);  // the extra tensors are not refused
    QVERIFY(!engine->has_adapter());
    engine->load_ultragist(m_release, kRatio);
    QVERIFY(engine->has_ultragist());
    const AdapterInfo info = engine->adapter_info();
    QVERIFY(info.kind == CompressorKind::UltraGist);
    QCOMPARE(info.config.segment_length, kWindow);  // from config.json
    QCOMPARE(info.config.memory_tokens, kWindow / kRatio);
    QVERIFY(info.origin.trained());
    QVERIFY(QString::fromStdString(info.fingerprint).endsWith(QStringLiteral("-w16-r4")));
    QVERIFY_THROWS_EXCEPTION(ModelError, engine->load_ultragist(m_release, 3));  // does not divide 16
    QVERIFY_THROWS_EXCEPTION(ModelError, engine->compress({tokens(kWindow, 64, 1)}));
}

void TestUltraGistEngine::scoreIsTheReleasesOneCallProtocol() {
    const auto engine = Engine::load(m_release);
    engine->load_ultragist(m_release, kRatio);
    const auto ids = tokens(3 * kWindow + 7, engine->config().n_vocab, 2);
    const ScoreResult scored = engine->score_with_memory(ids);

    c10::InferenceMode guard;
    Llama model = load_llama(m_release, at::kCPU, at::kFloat);
    const UltraGistWeights weights = load_ultragist_weights(Checkpoint(m_release), model->config, at::kCPU, at::kFloat);
    UltraGistSession session(*model, weights, kWindow, kRatio);
    const auto logprobs = at::log_softmax(session.feed(ids).to(at::kDouble), -1);
    double most = 0.0;
    for (size_t i = 0; i + 1 < ids.size(); ++i)
        most = std::max(most, std::abs(*scored.positions[i].next_logprob -
                                       logprobs[static_cast<int64_t>(i)][ids[i + 1]].item<double>()));
    qInfo("max |log p, engine - session fed the whole stream| = %.3g over %zu tokens", most, ids.size());
    QVERIFY(most < 1e-5);
    QCOMPARE(scored.segment_perplexity.size(), size_t(4));  // three windows and the tail
    // Memory changes the tail's predictions: the plain model scores it otherwise.
    const ScoreResult plain = engine->score(ids);
    QVERIFY(std::abs(plain.positions[3 * kWindow + 2].next_logprob.value() -
                     scored.positions[3 * kWindow + 2].next_logprob.value()) > 1e-4);
}

void TestUltraGistEngine::resumedCompressionWritesWhatOneRunWrites() {
    const auto engine = Engine::load(m_release);
    engine->load_ultragist(m_release, kRatio);
    const auto ids = tokens(3 * kWindow, engine->config().n_vocab, 3);
    auto window = [&](int64_t k) {
        return std::vector<int32_t>(ids.begin() + k * kWindow, ids.begin() + (k + 1) * kWindow);
    };
    const auto whole = engine->open_compression({}, static_cast<int64_t>(ids.size()));
    std::vector<MemoryBlob> one_run;
    for (int64_t k = 0; k < 3; ++k)
        one_run.push_back(whole->next(window(k)));
    QCOMPARE(one_run[0].shape, (std::vector<int64_t>{engine->config().n_layer, 2, engine->config().n_kv_head,
                                                     1 + kWindow / kRatio, engine->config().head_dim()}));

    const auto resumed = engine->open_compression({one_run[0]}, static_cast<int64_t>(ids.size()));
    QCOMPARE(resumed->windows_done(), int64_t(1));
    double most = 0.0;
    for (int64_t k = 1; k < 3; ++k)
        most = std::max(most, blob_diff(resumed->next(window(k)), one_run[static_cast<size_t>(k)]));
    qInfo("max |resumed - uninterrupted| = %.3g", most);
    QVERIFY(most < 1e-6);
    // Each window's memory depends on the windows before it.
    const auto alone = engine->open_compression({}, static_cast<int64_t>(ids.size()));
    QVERIFY(blob_diff(alone->next(window(1)), one_run[1]) > 1e-4);
}

void TestUltraGistEngine::aChatOverStoredWindowsContinuesTheStream() {
    const auto engine = Engine::load(m_release);
    engine->load_ultragist(m_release, kRatio);
    const auto ids = tokens(3 * kWindow + 5, engine->config().n_vocab, 4);
    const auto stream = engine->open_compression({}, static_cast<int64_t>(ids.size()));
    std::vector<MemoryBlob> stored;
    for (int64_t k = 0; k < 3; ++k)
        stored.push_back(stream->next({ids.begin() + k * kWindow, ids.begin() + (k + 1) * kWindow}));
    const auto chat = engine->open_memory_chat(stored);
    QCOMPARE(chat->memory_segments(), int64_t(3));
    QCOMPARE(chat->positions_free(), engine->config().n_ctx() - 1 - 3 * kWindow / kRatio);

    GenerateRequest request;
    request.prompt.assign(ids.begin() + 3 * kWindow, ids.end());  // the tail
    request.max_new_tokens = 1;
    request.ignore_eos = true;
    request.sampling.temperature = 0.0f;
    const Generation first = chat->generate(request);
    const Generation again = chat->generate(request);  // every answer starts from the documents
    const ScoreResult scored = engine->score_with_memory(ids, /*top_k=*/1);
    QCOMPARE(first.ids.size(), size_t(1));
    QCOMPARE(first.ids.front(), scored.positions.back().top.front().first);
    QCOMPARE(again.ids, first.ids);
}

void TestUltraGistEngine::extractedTensorsLoadBesideThePlainBase() {
    const std::filesystem::path plain = m_dir.filePath(QStringLiteral("plain")).toStdString();
    const std::filesystem::path other = m_dir.filePath(QStringLiteral("other")).toStdString();
    const std::filesystem::path file = m_dir.filePath(QStringLiteral("ultragist.safetensors")).toStdString();
    make_model(plain, MakeModelOptions{"tiny", 7, DType::F32, 0});  // the same base weights
    make_model(other, MakeModelOptions{"tiny", 8, DType::F32, 0});
    try {
        extract_ultragist(m_release, other, file);
        QFAIL("extracted for another base");
    } catch (const ModelError& e) {
        QVERIFY2(std::string(e.what()).find("other base weights") != std::string::npos, e.what());
    }
    QVERIFY(!std::filesystem::exists(file));
    extract_ultragist(m_release, plain, file);

    const auto ids = tokens(2 * kWindow + 3, 64, 5);
    const auto from_release = Engine::load(m_release);
    from_release->load_ultragist(m_release, 0);
    const auto beside = Engine::load(plain);
    beside->load_ultragist(file, 0);
    QCOMPARE(beside->adapter_info().fingerprint, from_release->adapter_info().fingerprint);
    QCOMPARE(beside->score_with_memory(ids).sum_logprob, from_release->score_with_memory(ids).sum_logprob);

    const auto elsewhere = Engine::load(other);
    QVERIFY_THROWS_EXCEPTION(ModelError, elsewhere->load_ultragist(file, 0));
}

void TestUltraGistEngine::settingsItDoesNotRunAreRefused() {
    const std::filesystem::path other = m_dir.filePath(QStringLiteral("segmentation")).toStdString();
    std::filesystem::copy(m_release, other, std::filesystem::copy_options::recursive);
    auto config = nlohmann::json::parse(std::ifstream(other / "config.json"));
    config["ultragist_attn"] = "segmentation";
    std::ofstream(other / "config.json") << config.dump();
    const auto engine = Engine::load(other);
    try {
        engine->load_ultragist(other, 0);
        QFAIL("loaded a mode it does not compute");
    } catch (const ModelError& e) {
        QVERIFY2(std::string(e.what()).find("ultragist_attn") != std::string::npos, e.what());
    }
    QVERIFY(!engine->has_ultragist());
}

QTEST_APPLESS_MAIN(TestUltraGistEngine)
#include "test_ultragist_engine.moc"
