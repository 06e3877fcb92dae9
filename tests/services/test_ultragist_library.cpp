// UltraGist in the library: a document compressed window after window and paused after any window
// resumes to the same memories as an uninterrupted run; a damaged window is made again with all
// that follows it; the cache key names the kind and the ratio; a chat answers with the memories in
// front. A real tiny model shaped like the release, real library files.
#include "uio/model/model_maker.h"
#include "uio/model/synthetic_text.h"
#include "uio/services/chatservice.h"
#include "uio/services/compressor.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"

#include <QCryptographicHash>
#include <QTemporaryDir>
#include <QTest>

using namespace uio;

namespace {

storage::NewDocument textDocument(const std::string& text) {
    storage::NewDocument d;
    d.sha256 =
        QCryptographicHash::hash(QByteArray::fromStdString(text), QCryptographicHash::Sha256).toHex().toStdString();
    d.title = "Windows";
    d.format = "txt";
    d.text = text;
    return d;
}

std::vector<std::vector<std::byte>> storedWindows(storage::Database& db, const storage::MemoryKey& key) {
    storage::MemoryCache cache(db);
    std::vector<std::vector<std::byte>> out;
    if (const auto id = cache.find_key(key))
        for (const int64_t index : cache.indices(*id))
            out.push_back(cache.get(*id, index)->bytes);
    return out;
}

}  // namespace

class TestUltraGistLibrary : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void pausedAfterAnyWindowResumesToTheSameMemory();
    void aDamagedWindowIsMadeAgainWithWhatFollows();
    void theKeyNamesKindAndRatio();
    void aChatAnswersWithTheMemoriesInFront();

private:
    int64_t addBook(storage::Library& library) { return storage::Documents(library.db()).add(textDocument(m_book)).id; }

    QTemporaryDir m_dir;
    std::string m_model;
    std::string m_book;
    std::unique_ptr<model::Engine> m_engine;
    std::vector<std::vector<std::byte>> m_reference;  // an uninterrupted run's windows
    storage::MemoryKey m_key;
};

void TestUltraGistLibrary::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("release")).toStdString();
    model::MakeModelOptions options{"tiny", 5, model::DType::F32, 0};
    options.ultragist_window = 64;
    model::make_model(m_model, options);
    m_engine = model::Engine::load(m_model);
    m_engine->load_ultragist(m_model, 0);  // the ratio by the document's length
    m_book = model::synthetic_text(9, 700, 300);

    storage::Library reference(m_dir.filePath(QStringLiteral("reference.sqlite3")).toStdString());
    const int64_t doc = addBook(reference);
    services::Compressor compressor(*m_engine, reference.db());
    const auto outcome = compressor.run(doc);
    QCOMPARE(outcome.status, services::CompressionOutcome::Status::Done);
    QVERIFY2(outcome.segments_total >= 8, qPrintable(QString::number(outcome.segments_total)));
    m_key = compressor.key_for(storage::Documents(reference.db()).get(doc)->sha256);
    m_reference = storedWindows(reference.db(), m_key);
    QCOMPARE(static_cast<int64_t>(m_reference.size()), outcome.segments_total);
}

void TestUltraGistLibrary::pausedAfterAnyWindowResumesToTheSameMemory() {
    storage::Library library(m_dir.filePath(QStringLiteral("paused.sqlite3")).toStdString());
    const int64_t doc = addBook(library);
    int runs = 0;
    while (true) {
        std::atomic<services::JobControl> control{services::JobControl::Run};
        services::Compressor fresh(*m_engine, library.db(), 4);  // the batch setting does not apply
        const auto outcome = fresh.run(
            doc, [&](const services::CompressionProgress&) { control = services::JobControl::Pause; }, &control);
        ++runs;
        if (outcome.status == services::CompressionOutcome::Status::Done)
            break;
        QCOMPARE(outcome.segments_encoded, int64_t(1));  // one window per step
    }
    QCOMPARE(runs, static_cast<int>(m_reference.size()));  // the last step finishes the run
    QVERIFY(storedWindows(library.db(), m_key) == m_reference);
}

void TestUltraGistLibrary::aDamagedWindowIsMadeAgainWithWhatFollows() {
    storage::Library library(m_dir.filePath(QStringLiteral("damaged.sqlite3")).toStdString());
    const int64_t doc = addBook(library);
    services::Compressor compressor(*m_engine, library.db());
    compressor.run(doc);
    storage::MemoryCache cache(library.db());
    const int64_t key = *cache.find_key(m_key);
    cache.remove(key, 3);
    const auto outcome = compressor.run(doc);
    QCOMPARE(outcome.segments_encoded, static_cast<int64_t>(m_reference.size()) - 3);
    QVERIFY(storedWindows(library.db(), m_key) == m_reference);
}

void TestUltraGistLibrary::theKeyNamesKindAndRatio() {
    QVERIFY(QString::fromStdString(m_key.adapter_fingerprint).startsWith(QStringLiteral("ultragist-")));
    QVERIFY(QString::fromStdString(m_key.adapter_fingerprint).endsWith(QStringLiteral("-w64-rauto")));
    auto fixed = model::Engine::load(m_model);
    fixed->load_ultragist(m_model, 8);
    storage::Library other(m_dir.filePath(QStringLiteral("other.sqlite3")).toStdString());
    const auto key = services::Compressor(*fixed, other.db()).key_for(m_key.document_sha256);
    QVERIFY(key.adapter_fingerprint != m_key.adapter_fingerprint);
    QVERIFY(QString::fromStdString(key.adapter_fingerprint).endsWith(QStringLiteral("-w64-r8")));
}

void TestUltraGistLibrary::aChatAnswersWithTheMemoriesInFront() {
    storage::Library library(m_dir.filePath(QStringLiteral("chat.sqlite3")).toStdString());
    const int64_t doc = addBook(library);
    services::Compressor compressor(*m_engine, library.db());
    compressor.run(doc);
    const int64_t chat = storage::Chats(library.db()).create("windows", {doc});
    services::ChatService service(*m_engine, library.db(), compressor);
    services::AskOptions options;
    options.max_new_tokens = 6;
    options.ignore_eos = true;
    const services::Answer answer = service.ask(chat, "What happened?", options);
    QCOMPARE(answer.memories.size(), m_reference.size());
    QVERIFY2(answer.notices.value(0).startsWith(QStringLiteral("From %1 of %1 parts").arg(m_reference.size())),
             qPrintable(answer.notices.join(QLatin1Char('|'))));
    QVERIFY(!answer.text.empty());
}

QTEST_GUILESS_MAIN(TestUltraGistLibrary)
#include "test_ultragist_library.moc"
