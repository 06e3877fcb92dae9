// Every repository operation on a real library file.

#include "uio/common/checksum.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/jobs.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"
#include "uio/storage/statement.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::storage;

namespace {

NewDocument document(const std::string& sha, const std::string& title) {
    NewDocument d;
    d.sha256 = sha;
    d.title = title;
    d.authors = "Herman Melville";
    d.source_path = "/books/" + title + ".pdf";
    d.format = "pdf";
    d.text = "Text of " + title;
    d.sections_json = R"([{"title":"Loomings","offset":0}])";
    d.page_map_json = R"([[0,10]])";
    d.page_count = 3;
    return d;
}

std::vector<std::byte> pattern(size_t n, int seed) {
    std::vector<std::byte> bytes(n);
    for (size_t i = 0; i < n; ++i)
        bytes[i] = static_cast<std::byte>((i * 31 + static_cast<size_t>(seed)) & 0xff);
    return bytes;
}

SegmentInfo infoFor(int64_t index, const std::vector<std::byte>& bytes) {
    return {index, index * 64, (index + 1) * 64, {2, 8, 64}, "f32", uio::blob_checksum(bytes)};
}

}  // namespace

class TestRepositories : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void documents();
    void memoryCache();
    void damagedSegmentReadsAsMissing();
    void chatsAndStreamingMessages();
    void exports();
    void jobs();
    void adaptersAndTrainingRuns();
    void deletingADocumentRemovesWhatHangsOffIt();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<Library> m_library;
};

void TestRepositories::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    m_library = std::make_unique<Library>(m_dir->filePath(QStringLiteral("uio.sqlite3")).toStdString());
}

void TestRepositories::documents() {
    Documents documents(m_library->db());
    const auto first = documents.add(document("s1", "Moby-Dick"));
    QVERIFY(first.is_new);
    const auto again = documents.add(document("s1", "A copy with another name"));
    QVERIFY(!again.is_new);
    QCOMPARE(again.id, first.id);
    documents.add(document("s2", "Billy Budd"));
    QCOMPARE(documents.list().size(), size_t(2));
    QCOMPARE(documents.list().front().document.title, std::string("Billy Budd"));  // sorted by title
    QVERIFY(!documents.list().front().job_state);                                  // never queued: "new"

    const auto got = documents.get(first.id);
    QVERIFY(got.has_value());
    QCOMPARE(got->authors, std::string("Herman Melville"));
    QCOMPARE(*got->page_count, int64_t(3));
    QVERIFY(!got->token_count.has_value());
    QCOMPARE(documents.text(first.id)->text, std::string("Text of Moby-Dick"));
    QCOMPARE(documents.text(first.id)->sections_json, std::string(R"([{"title":"Loomings","offset":0}])"));
    documents.rename(first.id, "Moby-Dick; or, The Whale");
    documents.set_token_count(first.id, 271000);
    QCOMPARE(documents.find_by_sha256("s1")->title, std::string("Moby-Dick; or, The Whale"));
    QCOMPARE(*documents.get(first.id)->token_count, int64_t(271000));
    documents.remove(first.id);
    QVERIFY(!documents.get(first.id).has_value());
    QVERIFY(!documents.text(first.id).has_value());
}

void TestRepositories::memoryCache() {
    MemoryCache cache(m_library->db());
    const MemoryKey key{"s1", "llama-1", "adapter-1", 64, 8, "f32"};
    QVERIFY(!cache.find_key(key).has_value());
    const int64_t id = cache.key_id(key);
    QCOMPARE(cache.key_id(key), id);
    const int64_t other = cache.key_id({"s1", "llama-1", "adapter-2", 64, 8, "f32"});
    QVERIFY(other != id);

    for (const int64_t index : {0, 2, 1}) {
        const auto bytes = pattern(8 << 20, static_cast<int>(index));  // 8 MiB
        cache.put(id, infoFor(index, bytes), bytes);
    }
    QCOMPARE(cache.indices(id), (std::vector<int64_t>{0, 1, 2}));
    const auto segment = cache.get(id, 1);
    QVERIFY(segment.has_value());
    QVERIFY(segment->bytes == pattern(8 << 20, 1));
    QCOMPARE(segment->info.shape, (std::vector<int64_t>{2, 8, 64}));
    QCOMPARE(segment->info.token_begin, int64_t(64));
    QVERIFY(!cache.get(id, 7).has_value());
    QCOMPARE(cache.bytes_for_key(id), int64_t(3) * (8 << 20));
    QCOMPARE(cache.bytes_for_document("s1"), int64_t(3) * (8 << 20));

    // Replacing a segment keeps one row.
    const auto replaced = pattern(1024, 99);
    cache.put(id, infoFor(1, replaced), replaced);
    QVERIFY(cache.get(id, 1)->bytes == replaced);
    QCOMPARE(cache.indices(id).size(), size_t(3));

    // A buffer that does not match its checksum is not stored.
    auto wrong = infoFor(5, replaced);
    wrong.checksum ^= 1;
    QVERIFY_THROWS_EXCEPTION(StorageError, cache.put(id, wrong, replaced));

    cache.purge_key(id);
    QVERIFY(cache.indices(id).empty());
    QVERIFY(!cache.find_key(key).has_value());

    // Usage and purge relative to the model and adapter in use.
    const auto kept = pattern(3000, 1);
    const auto dropped = pattern(5000, 2);
    cache.put(other, infoFor(0, kept), kept);
    const int64_t older = cache.key_id({"s2", "llama-1", "adapter-old", 64, 8, "f32"});
    cache.put(older, infoFor(0, dropped), dropped);
    cache.put(older, infoFor(1, dropped), dropped);
    const auto usage = cache.usage("llama-1", "adapter-2");
    QCOMPARE(usage.total_bytes, int64_t(3000 + 2 * 5000));
    QCOMPARE(usage.other_bytes, int64_t(2 * 5000));
    QCOMPARE(cache.usage("", "").other_bytes, usage.total_bytes);
    QCOMPARE(cache.purge_other("llama-1", "adapter-2"), int64_t(2 * 5000));
    QVERIFY(!cache.find_key({"s2", "llama-1", "adapter-old", 64, 8, "f32"}).has_value());
    QVERIFY(cache.get(other, 0)->bytes == kept);
    QCOMPARE(cache.usage("llama-1", "adapter-2").other_bytes, int64_t(0));
}

void TestRepositories::damagedSegmentReadsAsMissing() {
    MemoryCache cache(m_library->db());
    const int64_t id = cache.key_id({"s1", "m", "a", 64, 8, "f32"});
    const auto bytes = pattern(100000, 3);
    cache.put(id, infoFor(0, bytes), bytes);
    cache.put(id, infoFor(1, bytes), bytes);
    // Flip one byte inside the stored blob, as bit rot would.
    m_library->db().exec(
        "UPDATE memory_segments SET blob = substr(blob, 1, 50000) || x'FF' || substr(blob, 50002) WHERE segment_index "
        "= 0");
    QVERIFY(!cache.get(id, 0).has_value());
    QVERIFY(cache.get(id, 1).has_value());
    // A shape that is not a list of numbers (fuzz_library's finding: it escaped as an exception).
    m_library->db().exec("UPDATE memory_segments SET shape = '2,x,64' WHERE segment_index = 1");
    QVERIFY(!cache.get(id, 1).has_value());
}

void TestRepositories::chatsAndStreamingMessages() {
    Documents documents(m_library->db());
    const int64_t a = documents.add(document("s1", "A")).id, b = documents.add(document("s2", "B")).id;
    Chats chats(m_library->db());
    const int64_t chat = chats.create("Whales", {b, a});
    QCOMPARE(chats.get(chat)->document_ids, (std::vector<int64_t>{b, a}));
    const int64_t question = chats.add_message(chat, Role::User, "Who is Ahab?");
    const int64_t answer = chats.add_message(chat, Role::Assistant, "", false);
    for (const char* piece : {"The ", "captain ", "of the Pequod."})
        chats.append_to_message(answer, piece);
    auto messages = chats.messages(chat);
    QCOMPARE(messages.size(), size_t(2));
    QCOMPARE(messages[0].id, question);
    QCOMPARE(messages[1].content, std::string("The captain of the Pequod."));
    QVERIFY(!messages[1].complete);
    chats.finish_message(answer);
    QVERIFY(chats.messages(chat)[1].complete);

    const int64_t second = chats.create("Second", {});
    QCOMPARE(chats.list().size(), size_t(2));
    QTest::qSleep(5);  // timestamps are in milliseconds
    chats.rename(chat, "About Ahab");
    QCOMPARE(chats.list().front().title, std::string("About Ahab"));  // most recently updated first
    chats.delete_message(question);
    QCOMPARE(chats.messages(chat).size(), size_t(1));
    chats.remove(second);
    QVERIFY(!chats.get(second).has_value());
}

void TestRepositories::exports() {
    Chats chats(m_library->db());
    const int64_t chat = chats.create("Whales \"and\" ships", {});
    chats.add_message(chat, Role::User, "Why?\nTell me.");
    const int64_t answer = chats.add_message(chat, Role::Assistant, "Because.", false);
    const std::string markdown = chats.export_markdown(chat);
    QVERIFY(markdown.starts_with("# Whales \"and\" ships\n"));
    QVERIFY(markdown.find("**You:**\n\nWhy?\nTell me.") != std::string::npos);
    QVERIFY(markdown.find("*(answer interrupted)*") != std::string::npos);
    chats.finish_message(answer);
    const QJsonObject json = QJsonDocument::fromJson(QByteArray::fromStdString(chats.export_json(chat))).object();
    QCOMPARE(json[QStringLiteral("title")].toString(), QStringLiteral("Whales \"and\" ships"));
    const QJsonArray messages = json[QStringLiteral("messages")].toArray();
    QCOMPARE(messages.size(), 2);
    QCOMPARE(messages[0].toObject()[QStringLiteral("content")].toString(), QStringLiteral("Why?\nTell me."));
    QCOMPARE(messages[1].toObject()[QStringLiteral("role")].toString(), QStringLiteral("assistant"));
}

void TestRepositories::jobs() {
    Documents documents(m_library->db());
    MemoryCache cache(m_library->db());
    const int64_t doc = documents.add(document("s1", "A")).id;
    const int64_t key = cache.key_id({"s1", "m", "a", 64, 8, "f32"});
    Jobs jobs(m_library->db());
    const int64_t first = jobs.enqueue(doc, key, 10);
    const int64_t urgent = jobs.enqueue(doc, key, 5);
    QCOMPARE(jobs.pending().front().id, first);  // oldest first
    QCOMPARE(jobs.pending().back().id, urgent);
    jobs.set_state(first, JobState::Running);
    jobs.set_progress(first, 4);
    QCOMPARE(jobs.get(first)->segments_done, int64_t(4));
    QCOMPARE(documents.list().front().job_state, std::optional(JobState::Queued));  // the latest job's state
    QCOMPARE(jobs.requeue_interrupted(), 1);                                        // as after a crash
    QCOMPARE(jobs.get(first)->state, JobState::Queued);
    jobs.set_state(urgent, JobState::Failed, "out of memory: try a smaller batch");
    QCOMPARE(jobs.get(urgent)->error, std::string("out of memory: try a smaller batch"));
    QVERIFY(jobs.get(urgent)->finished_at.has_value());
    QCOMPARE(jobs.pending().size(), size_t(1));
    // The names are the SQL's: a state no program writes is refused there, and a damaged file's reads
    // as failed.
    Statement exploded(m_library->db(), "UPDATE compression_jobs SET state = 'exploded' WHERE id = ?");
    exploded.bind(1, first);
    QVERIFY_THROWS_EXCEPTION(StorageError, exploded.run());
    QCOMPARE(job_state_named("exploded"), JobState::Failed);
    QCOMPARE(std::string(state_name(JobState::Cancelled)), std::string("cancelled"));
}

void TestRepositories::adaptersAndTrainingRuns() {
    Training training(m_library->db());
    const int64_t adapter = training.add_adapter("mine", "/x.safetensors", "f1", "b1");
    QCOMPARE(training.add_adapter("renamed", "/x.safetensors", "f2", "b1"), adapter);
    QCOMPARE(training.adapters().size(), size_t(1));
    QCOMPARE(training.adapters().front().fingerprint, std::string("f2"));
    training.rename_adapter(adapter, "renamed");
    QCOMPARE(training.adapters().front().name, std::string("renamed"));
    const int64_t run = training.start_run("run 1", R"({"steps":100})");
    training.add_point(run, {1, "train", 3.5});
    training.add_point(run, {1, "eval", 3.9});
    training.add_point(run, {1, "eval_plain", 7.5});
    training.add_point(run, {2, "train", 3.1});
    training.add_point(run, {2, "train", 3.0});  // replaced
    QVERIFY_THROWS_EXCEPTION(StorageError, training.add_point(run, {2, "other", 1.0}));
    const auto points = training.points(run);
    QCOMPARE(points.size(), size_t(4));
    QCOMPARE(points.back().value, 3.0);
    training.set_checkpoint(run, "/ckpt/step-2");
    training.set_status(run, RunState::Paused);
    training.set_adapter(run, adapter);
    QCOMPARE(training.run(run)->checkpoint_path, std::string("/ckpt/step-2"));
    QCOMPARE(training.run(run)->status, RunState::Paused);
    QCOMPARE(training.run(run)->adapter_id, std::optional<int64_t>(adapter));
    QCOMPARE(training.runs().size(), size_t(1));
}

void TestRepositories::deletingADocumentRemovesWhatHangsOffIt() {
    Documents documents(m_library->db());
    MemoryCache cache(m_library->db());
    Chats chats(m_library->db());
    Jobs jobs(m_library->db());
    const int64_t doc = documents.add(document("s1", "A")).id;
    const int64_t keep = documents.add(document("s2", "B")).id;
    const int64_t key = cache.key_id({"s1", "m", "a", 64, 8, "f32"});
    const auto bytes = pattern(1000, 1);
    cache.put(key, infoFor(0, bytes), bytes);
    const int64_t kept_key = cache.key_id({"s2", "m", "a", 64, 8, "f32"});
    cache.put(kept_key, infoFor(0, bytes), bytes);
    jobs.enqueue(doc, key, 1);
    const int64_t chat = chats.create("c", {doc, keep});
    documents.remove(doc);
    QVERIFY(!cache.find_key({"s1", "m", "a", 64, 8, "f32"}).has_value());
    QCOMPARE(cache.indices(kept_key).size(), size_t(1));
    QVERIFY(jobs.pending().empty());
    QCOMPARE(chats.get(chat)->document_ids, std::vector<int64_t>{keep});
    Statement orphans(m_library->db(), "SELECT COUNT(*) FROM memory_segments WHERE key_id = ?");
    orphans.bind(1, key).step();
    QCOMPARE(orphans.column_int(0), int64_t(0));
    // Its passages and their full-text rows go too; the other document's stay searchable.
    Statement passages(m_library->db(), "SELECT COUNT(*) FROM passages WHERE document_id = ?");
    passages.bind(1, doc).step();
    QCOMPARE(passages.column_int(0), int64_t(0));
    Statement text(m_library->db(), "SELECT COUNT(*) FROM passage_text");
    text.step();
    Statement kept(m_library->db(), "SELECT COUNT(*) FROM passages");
    kept.step();
    QVERIFY(kept.column_int(0) > 0);
    QCOMPARE(text.column_int(0), kept.column_int(0));
}

QTEST_APPLESS_MAIN(TestRepositories)
#include "test_repositories.moc"
