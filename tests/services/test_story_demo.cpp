// The story demo as shipped (resources/story-demo): the real stories260K model with the adapter
// trained for it and the "Mia and Pip" collection. Its memories must carry the collection's names
// to the model, and a chat in continuation mode must carry the text on after the documents, with
// no chat template and no passages. A real library file and the committed files, no stand-ins.
#include "uio/model/engine.h"
#include "uio/services/chatservice.h"
#include "uio/services/compressor.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/library.h"

#include <QCryptographicHash>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace uio;

namespace {

const QString kDemo = QStringLiteral(UIO_STORY_DEMO_DIR);

std::string readStories() {
    QFile file(kDemo + QStringLiteral("/mia-and-pip.txt"));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll().toStdString();
}

}  // namespace

class TestStoryDemo : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void adapterIsTrainedForThisModel();
    void memoriesCarryTheNames();
    void chatContinuesTheStory();

private:
    // Log-probability of the text `next` after `prompt`, with the collection compressed in front or alone.
    double nextLogprob(const std::string& prompt, const std::string& next, bool memory);

    QTemporaryDir m_dir;
    std::unique_ptr<model::Engine> m_engine;
    std::string m_stories;
};

void TestStoryDemo::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_engine = model::Engine::load((kDemo).toStdString());
    m_engine->load_adapter((kDemo + QStringLiteral("/adapter.safetensors")).toStdString());
    m_stories = readStories();
    QVERIFY(!m_stories.empty());
}

void TestStoryDemo::adapterIsTrainedForThisModel() {
    const model::AdapterInfo info = m_engine->adapter_info();
    QVERIFY(info.origin.trained());
    QVERIFY2(info.origin.steps >= 400, qPrintable(QString::number(info.origin.steps)));
    // The whole collection fits the model's positions as memories, so a chat sees all of it.
    const auto tokens = static_cast<int64_t>(m_engine->tokenizer().encode(m_stories, true).size());
    const int64_t l = info.config.segment_length, m = info.config.memory_tokens;
    QVERIFY2((tokens / l) * m + l + 64 <= m_engine->config().n_ctx(),
             qPrintable(QStringLiteral("%1 tokens, l %2, m %3").arg(tokens).arg(l).arg(m)));
}

double TestStoryDemo::nextLogprob(const std::string& prompt, const std::string& next, bool memory) {
    const model::Tokenizer& t = m_engine->tokenizer();
    std::vector<int32_t> ids = memory ? t.encode(m_stories, true) : std::vector<int32_t>{t.bos_id()};
    const auto l = m_engine->adapter_info().config.segment_length;
    if (memory)
        ids.resize(ids.size() / static_cast<size_t>(l) * static_cast<size_t>(l));  // whole segments: all memory
    const auto prompt_ids = t.encode(prompt, false);
    ids.insert(ids.end(), prompt_ids.begin(), prompt_ids.end());
    const size_t at = ids.size() - 1;
    const auto next_ids = t.encode(next, false);  // " Mia" is three pieces: all of them count
    ids.insert(ids.end(), next_ids.begin(), next_ids.end());
    const model::ScoreResult scored = memory ? m_engine->score_with_memory(ids) : m_engine->score(ids);
    double sum = 0.0;
    for (size_t i = 0; i < next_ids.size(); ++i)
        sum += *scored.positions[at + i].next_logprob;
    return sum;
}

void TestStoryDemo::memoriesCarryTheNames() {
    // The prompt sits in a live segment after the collection's memories; nothing of the collection
    // is in view as text, so only the memories can tell the model whom the story is about. Alone,
    // "One day," goes on with "a little girl named Lily"; the collection is about Mia.
    const std::string prompt = "One day,";
    const double alone = nextLogprob(prompt, " Mia", false);
    const double with_memory = nextLogprob(prompt, " Mia", true);
    qInfo("\"%s Mia\": p alone %.4f, with the trained adapter's memories %.4f", prompt.c_str(), std::exp(alone),
          std::exp(with_memory));
    QVERIFY(with_memory > alone + 2.0);  // e^2 = 7 times as likely, at least
    // What an adapter of the same shape makes before training carries no such thing.
    const model::AdapterInfo trained = m_engine->adapter_info();
    m_engine->create_adapter(trained.config, 0);
    const double untrained = nextLogprob(prompt, " Mia", true);
    m_engine->load_adapter((kDemo + QStringLiteral("/adapter.safetensors")).toStdString());
    qInfo("with an untrained adapter's memories %.4f", std::exp(untrained));
    QVERIFY(with_memory > untrained + 2.0);
}

void TestStoryDemo::chatContinuesTheStory() {
    storage::Library library(m_dir.filePath(QStringLiteral("lib.sqlite3")).toStdString());
    storage::NewDocument d;
    d.text = m_stories;
    d.title = "Mia and Pip";
    d.format = "txt";
    d.sha256 =
        QCryptographicHash::hash(QByteArray::fromStdString(d.text), QCryptographicHash::Sha256).toHex().toStdString();
    const int64_t doc = storage::Documents(library.db()).add(d).id;
    services::Compressor compressor(*m_engine, library.db());
    compressor.run(doc);
    services::ChatService chats(*m_engine, library.db(), compressor);
    const int64_t chat = storage::Chats(library.db()).create("story", {doc});
    services::AskOptions options;
    options.continuation = true;
    options.max_new_tokens = 24;
    options.sampling.temperature = 0.0f;
    const std::string start = "Mia and Pip went to the park.";
    const services::Answer first = chats.ask(chat, start, options, {}, nullptr);
    QVERIFY(!first.text.empty());
    QVERIFY(first.passages.empty());
    QVERIFY2(first.prompt_text.find("[INST]") == std::string::npos, first.prompt_text.c_str());
    QVERIFY2(first.prompt_text.size() >= start.size() &&
                 first.prompt_text.compare(first.prompt_text.size() - start.size(), start.size(), start) == 0,
             first.prompt_text.c_str());
    const auto outline = compressor.outline(doc);
    QCOMPARE(static_cast<int64_t>(first.memories.size()), outline.segments_total);  // all of it in front
    // The next message carries on the same running text: the last one and its continuation first.
    const services::Answer second = chats.ask(chat, " Then", options, {}, nullptr);
    const std::string running = start + first.text + " Then";
    QVERIFY2(second.prompt_text.find(running) != std::string::npos,
             qPrintable(QString::fromStdString(second.prompt_text)));
}

QTEST_GUILESS_MAIN(TestStoryDemo)
#include "test_story_demo.moc"
