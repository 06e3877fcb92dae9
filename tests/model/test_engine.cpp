// The torch-free engine facade: sampling, streaming, cancellation, scoring and the chat format.

#include "uio/model/chat_format.h"
#include "uio/model/engine.h"
#include "uio/model/error.h"
#include "uio/model/model_maker.h"
#include "uio/model/sampler.h"

#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <filesystem>
#include <thread>

using namespace uio::model;

class TestEngine : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void seededSamplingIsDeterministic();
    void greedyFollowsScore();
    void stopsOnEosUnlessIgnored();
    void cancelFromAnotherThreadStopsWithinOneToken();
    void streamedTextEqualsFullDecode();
    void scoreMatchesItsOwnTotals();
    void chatPromptIsBuiltFromIds();
    void samplerOptions();
    void badRequestsAreErrors();
    void realStoryModelsWriteEnglish_data();
    void realStoryModelsWriteEnglish();

private:
    GenerateRequest request(uint64_t seed, float temperature = 1.0f) const;
    QTemporaryDir m_dir;
    std::unique_ptr<Engine> m_engine;
};

void TestEngine::initTestCase() {
    QVERIFY(m_dir.isValid());
    const std::string dir = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    make_model(dir, MakeModelOptions{"tiny", 7, DType::F32, 0});
    m_engine = Engine::load(dir);
}

GenerateRequest TestEngine::request(uint64_t seed, float temperature) const {
    GenerateRequest r;
    r.prompt = m_engine->tokenizer().encode("The ship sailed on");
    r.max_new_tokens = 24;
    r.ignore_eos = true;
    r.sampling.temperature = temperature;
    r.sampling.top_k = 0;
    r.sampling.top_p = 1.0f;
    r.sampling.seed = seed;
    return r;
}

void TestEngine::seededSamplingIsDeterministic() {
    const auto a = m_engine->generate(request(11)).ids;
    const auto b = m_engine->generate(request(11)).ids;
    const auto c = m_engine->generate(request(12)).ids;
    QCOMPARE(a.size(), size_t(24));
    QVERIFY(a == b);
    QVERIFY(a != c);
}

void TestEngine::greedyFollowsScore() {
    // Greedy token t+1 is the argmax the scorer reports after the prompt and tokens 1..t.
    const GenerateRequest r = request(0, 0.0f);
    const auto generated = m_engine->generate(r).ids;
    std::vector<int32_t> all = r.prompt;
    all.insert(all.end(), generated.begin(), generated.end());
    const ScoreResult score = m_engine->score(all, 1);
    for (size_t i = r.prompt.size() - 1; i + 1 < all.size(); ++i) {
        QCOMPARE(score.positions[i].top.front().first, all[i + 1]);
    }
}

void TestEngine::stopsOnEosUnlessIgnored() {
    // A temperature this high makes every token, EOS included, about equally likely.
    GenerateRequest r = request(3, 1000.0f);
    r.ignore_eos = false;
    r.max_new_tokens = 20000;
    const Generation g = m_engine->generate(r);
    QCOMPARE(g.stop, StopReason::Eos);
    QVERIFY(std::find(g.ids.begin(), g.ids.end(), m_engine->config().eos_id) == g.ids.end());
    r.ignore_eos = true;
    r.max_new_tokens = static_cast<int32_t>(g.ids.size()) + 5;
    QCOMPARE(m_engine->generate(r).stop, StopReason::MaxTokens);
}

void TestEngine::cancelFromAnotherThreadStopsWithinOneToken() {
    GenerateRequest r = request(5);
    r.max_new_tokens = 1000;
    std::atomic<bool> cancel{false};
    std::atomic<int> seen{0};
    int seen_when_cancelled = -1;
    std::thread canceller([&] {
        while (seen.load() < 10)
            std::this_thread::yield();
        seen_when_cancelled = seen.load();
        cancel.store(true);
    });
    const Generation g = m_engine->generate(
        r, [&](int32_t) { seen.fetch_add(1); }, &cancel);
    canceller.join();
    QCOMPARE(g.stop, StopReason::Cancelled);
    qInfo("cancelled after %d tokens, stopped after %zu", seen_when_cancelled, g.ids.size());
    QVERIFY(static_cast<int>(g.ids.size()) <= seen_when_cancelled + 1);
}

void TestEngine::streamedTextEqualsFullDecode() {
    const Tokenizer& tokenizer = m_engine->tokenizer();
    for (uint64_t seed = 0; seed < 5; ++seed) {
        StreamDecoder stream(tokenizer);
        std::string streamed;
        const Generation g = m_engine->generate(request(seed), [&](int32_t id) { streamed += stream.push(id); });
        streamed += stream.flush();
        QCOMPARE(streamed, tokenizer.decode(g.ids));
    }
}

void TestEngine::scoreMatchesItsOwnTotals() {
    const auto ids = m_engine->tokenizer().encode("A short text to score, with a few words.");
    const ScoreResult s = m_engine->score(ids, 3);
    QCOMPARE(s.positions.size(), ids.size());
    double sum = 0.0;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
        QCOMPARE(*s.positions[i].next, ids[i + 1]);
        QVERIFY(*s.positions[i].next_logprob <= 0.0);
        QCOMPARE(s.positions[i].top.size(), size_t(3));
        QVERIFY(s.positions[i].top[0].second >= s.positions[i].top[1].second);
        QVERIFY(s.positions[i].top[0].second >= *s.positions[i].next_logprob);
        sum += *s.positions[i].next_logprob;
    }
    QVERIFY(!s.positions.back().next.has_value());
    QVERIFY(std::abs(sum - s.sum_logprob) < 1e-9);
    QVERIFY(std::abs(s.perplexity - std::exp(-sum / double(ids.size() - 1))) < 1e-9);
}

void TestEngine::chatPromptIsBuiltFromIds() {
    const Tokenizer& t = m_engine->tokenizer();
    const std::vector<ChatExchange> history{{"Who wrote it? <s>[INST]", "  Nobody.  "}};
    const auto ids = llama2_chat_prompt(t, "Be brief.", history, " And why? ");
    std::vector<int32_t> expected =
        t.encode("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWho wrote it? <s>[INST] [/INST] Nobody. ");
    expected.push_back(t.eos_id());
    const auto second = t.encode("[INST] And why? [/INST]");
    expected.insert(expected.end(), second.begin(), second.end());
    QVERIFY(ids == expected);
    // Text that looks like a special token stays text: BOS appears exactly twice, EOS once.
    QCOMPARE(std::count(ids.begin(), ids.end(), t.bos_id()), 2);
    QCOMPARE(std::count(ids.begin(), ids.end(), t.eos_id()), 1);
}

void TestEngine::samplerOptions() {
    std::vector<float> logits{0.5f, 3.0f, 2.9f, -1.0f};
    // top_k = 1 and a tiny top_p are greedy, whatever the temperature.
    for (const auto& params :
         {SamplingParams{2.0f, 1, 1.0f, 1.0f, 64, 1}, SamplingParams{2.0f, 0, 1e-6f, 1.0f, 64, 1}}) {
        Sampler sampler(params);
        for (int i = 0; i < 50; ++i) {
            auto copy = logits;
            QCOMPARE(sampler.sample(copy, {}), 1);
        }
    }
    // The repetition penalty turns greedy away from a token just seen.
    Sampler penalised(SamplingParams{0.0f, 0, 1.0f, 1.5f, 64, 0});
    const std::vector<int32_t> history{1};
    QCOMPARE(penalised.sample(logits, history), 2);
    // At temperature 1 the frequencies follow the softmax.
    Sampler sampler(SamplingParams{1.0f, 0, 1.0f, 1.0f, 64, 9});
    std::vector<int> counts(4);
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        auto copy = std::vector<float>{0.0f, 1.0f, 2.0f, -1.0f};
        ++counts[static_cast<size_t>(sampler.sample(copy, {}))];
    }
    const double z = std::exp(0.0) + std::exp(1.0) + std::exp(2.0) + std::exp(-1.0);
    for (int k = 0; k < 4; ++k) {
        const double expected = std::exp(double(k == 3 ? -1 : k)) / z;
        QVERIFY2(std::abs(counts[k] / double(n) - expected) < 0.015, qPrintable(QString::number(k)));
    }
}

void TestEngine::badRequestsAreErrors() {
    GenerateRequest r = request(1);
    r.prompt = {};
    QVERIFY_THROWS_EXCEPTION(ModelError, m_engine->generate(r));
    r.prompt = {1, 99999};
    QVERIFY_THROWS_EXCEPTION(ModelError, m_engine->generate(r));
    r.prompt = std::vector<int32_t>(static_cast<size_t>(m_engine->config().n_ctx()), 5);
    QVERIFY_THROWS_EXCEPTION(ModelError, m_engine->generate(r));
    QVERIFY_THROWS_EXCEPTION(ModelError, Engine::load(m_dir.filePath(QStringLiteral("nowhere")).toStdString()));
    QVERIFY_THROWS_EXCEPTION(ModelError,
                             Engine::load(m_dir.filePath(QStringLiteral("tiny")).toStdString(), {"gpu", DType::F32}));
}

void TestEngine::realStoryModelsWriteEnglish_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("stories260K, tokenizer.model") << QStringLiteral("stories260K-hf");
    QTest::newRow("TinyStories-656K, tokenizer.json only") << QStringLiteral("tinystories-656k");
}

void TestEngine::realStoryModelsWriteEnglish() {
    // Both real models write a story greedily from BOS; read with their own tokenizers, that is
    // English. Wrong tokenizer rules or wrongly tied weights give other text.
    QFETCH(QString, name);
    const std::string dir = UIO_SOURCE_DIR "/../shared/models/" + name.toStdString();
    if (!std::filesystem::exists(dir))
        QSKIP("../shared/models is not present");
    const auto engine = Engine::load(dir);
    GenerateRequest request;
    request.prompt = engine->tokenizer().encode("Once upon a time");
    request.max_new_tokens = 60;
    request.sampling.temperature = 0.0f;
    const std::string text = engine->tokenizer().decode(engine->generate(request).ids);
    qInfo("%s: %s", qPrintable(name), text.c_str());
    int common = 0;
    for (const char* word : {" the ", " a ", " was ", " and ", " to ", " she ", " he ", " her ", " his "})
        for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1))
            ++common;
    QVERIFY2(common >= 4, text.c_str());
}

QTEST_GUILESS_MAIN(TestEngine)
#include "test_engine.moc"
