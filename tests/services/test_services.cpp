// Compression jobs and chats over a tiny generated model and a real library file: resumable and
// bit-identical, no encoder work for cached documents, pause and cancel within one batch, chats
// over two documents persisted as they stream, a full disk reported with nothing lost, and the
// same through the `uio` command line with processes killed at random moments.

#include "patience.h"
#include "uio/model/model_maker.h"
#include "uio/model/synthetic_text.h"
#include "uio/services/chatservice.h"
#include "uio/services/compressionjob.h"
#include "uio/services/compressor.h"
#include "uio/services/trainingrun.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/jobs.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"
#include "uio/storage/statement.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <map>

using namespace uio;

namespace {

storage::NewDocument textDocument(const std::string& text, const std::string& title) {
    storage::NewDocument d;
    d.sha256 =
        QCryptographicHash::hash(QByteArray::fromStdString(text), QCryptographicHash::Sha256).toHex().toStdString();
    d.title = title;
    d.format = "txt";
    d.text = text;
    return d;
}

// All stored segments of a document, in order.
std::vector<std::vector<std::byte>> storedSegments(storage::Database& db, const storage::MemoryKey& key) {
    storage::MemoryCache cache(db);
    std::vector<std::vector<std::byte>> out;
    const auto id = cache.find_key(key);
    if (!id)
        return out;
    for (const int64_t index : cache.indices(*id))
        out.push_back(cache.get(*id, index)->bytes);
    return out;
}

std::string readFile(const QString& path) {
    QFile f(path);
    f.open(QIODevice::ReadOnly);
    return f.readAll().toStdString();
}

struct Run {
    int exitCode;
    QByteArray out, err;
};

Run runUio(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(UIO_BINARY), args);
    p.waitForFinished(uio::test::kPatienceMs);
    return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
}

}  // namespace

class TestServices : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void resumedCompressionIsBitIdentical();
    void cachedDocumentsAreNotEncodedAgain();
    void pauseAndCancelWithinOneBatch();
    void jobStateMachine();
    void jobRecordsHowItStopped();
    void runStateMachine();
    void damagedSegmentsAreCompressedAgain();
    void compressedBookIsNotTokenizedAgain();
    void chatOverTwoDocuments();
    void oldTurnsDropWhenTheContextIsFull();
    void fullDiskFailsTheJobAndKeepsTheLibrary();
    void killedCommandLineCompressionResumes();
    void killedChatKeepsQuestionAndPartialAnswer();

private:
    QTemporaryDir m_dir;
    QString m_model, m_adapter;
    std::unique_ptr<model::Engine> m_engine;
    std::unique_ptr<storage::Library> m_library;
    std::string m_book;
};

void TestServices::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("tiny"));
    model::make_model(m_model.toStdString(), {"tiny", 2, model::DType::F32, 0});
    m_engine = model::Engine::load(m_model.toStdString());
    m_engine->create_adapter({32, 4, 4, 8.0}, 1);
    m_adapter = m_dir.filePath(QStringLiteral("adapter.safetensors"));
    m_engine->save_adapter(m_adapter.toStdString());
    m_book = model::synthetic_text(5, 1500, 400);
}

void TestServices::init() {
    static int n = 0;
    m_library =
        std::make_unique<storage::Library>(m_dir.filePath(QStringLiteral("lib%1.sqlite3").arg(++n)).toStdString());
}

void TestServices::resumedCompressionIsBitIdentical() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(textDocument(m_book, "book")).id;
    services::Compressor compressor(*m_engine, m_library->db(), 4);
    // Interrupted after every batch, resumed each time with a fresh compressor.
    int runs = 0;
    while (true) {
        std::atomic<services::JobControl> control{services::JobControl::Run};
        services::Compressor fresh(*m_engine, m_library->db(), 4);
        const auto outcome = fresh.run(
            doc, [&](const services::CompressionProgress&) { control = services::JobControl::Pause; }, &control);
        ++runs;
        if (outcome.status == services::CompressionOutcome::Status::Done)
            break;
        QCOMPARE(outcome.segments_encoded, int64_t(4));
    }
    QVERIFY(runs > 5);
    const auto key = compressor.key_for(documents.get(doc)->sha256);
    storage::Library reference(m_dir.filePath(QStringLiteral("reference.sqlite3")).toStdString());
    const int64_t ref = storage::Documents(reference.db()).add(textDocument(m_book, "book")).id;
    services::Compressor(*m_engine, reference.db(), 4).run(ref);
    const auto resumed = storedSegments(m_library->db(), key), uninterrupted = storedSegments(reference.db(), key);
    QCOMPARE(resumed.size(), uninterrupted.size());
    QVERIFY(resumed == uninterrupted);
}

void TestServices::cachedDocumentsAreNotEncodedAgain() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(textDocument(m_book, "book")).id;
    QVERIFY(services::Compressor(*m_engine, m_library->db()).run(doc).segments_encoded > 0);
    QCOMPARE(services::Compressor(*m_engine, m_library->db()).run(doc).segments_encoded, int64_t(0));
    // The same file added again is the same document, and a restart changes nothing.
    QCOMPARE(documents.add(textDocument(m_book, "same book")).id, doc);
    const std::string path = m_library->db().path().string();
    m_library.reset();
    m_library = std::make_unique<storage::Library>(path);
    auto engine = model::Engine::load(m_model.toStdString());
    engine->load_adapter(m_adapter.toStdString());
    QCOMPARE(services::Compressor(*engine, m_library->db()).run(doc).segments_encoded, int64_t(0));
    // Another adapter is another key: everything is compressed again, the old key stays until purged.
    engine->create_adapter({32, 4, 4, 8.0}, 77);
    QVERIFY(services::Compressor(*engine, m_library->db()).run(doc).segments_encoded > 0);
    storage::Statement keys(m_library->db(), "SELECT COUNT(*) FROM memory_keys");
    keys.step();
    QCOMPARE(keys.column_int(0), int64_t(2));
}

void TestServices::pauseAndCancelWithinOneBatch() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(textDocument(m_book, "book")).id;
    for (const auto request : {services::JobControl::Pause, services::JobControl::Cancel}) {
        std::atomic<services::JobControl> control{services::JobControl::Run};
        int batches = 0;
        const auto outcome = services::Compressor(*m_engine, m_library->db(), 4)
                                 .run(
                                     doc,
                                     [&](const services::CompressionProgress&) {
                                         if (++batches == 2)
                                             control = request;
                                     },
                                     &control);
        QCOMPARE(batches, 2);  // nothing after the batch in which it was asked
        QCOMPARE(outcome.segments_encoded, int64_t(8));
        QCOMPARE(outcome.status, request == services::JobControl::Pause
                                     ? services::CompressionOutcome::Status::Paused
                                     : services::CompressionOutcome::Status::Cancelled);
    }
}

// nextState for every (state, event) pair: the state `allowed` names, or a refusal.
template <typename State, typename Event>
void checkTransitions(const std::map<std::pair<State, Event>, State>& allowed, std::initializer_list<State> states,
                      std::initializer_list<Event> events) {
    size_t refused = 0;
    for (const State from : states) {
        for (const Event event : events) {
            const auto expected = allowed.find({from, event});
            if (expected != allowed.end()) {
                QCOMPARE(services::nextState(from, event), expected->second);
            } else {
                QVERIFY_THROWS_EXCEPTION(std::logic_error, services::nextState(from, event));
                ++refused;
            }
        }
    }
    QCOMPARE(refused, states.size() * events.size() - allowed.size());
}

// Every (state, event) pair against the lifecycle drawn in compressionjob.h, written out here.
void TestServices::jobStateMachine() {
    using services::JobEvent;
    using storage::JobState;
    const std::map<std::pair<JobState, JobEvent>, JobState> allowed = {
        {{JobState::Queued, JobEvent::Start}, JobState::Running},
        {{JobState::Queued, JobEvent::Pause}, JobState::Paused},
        {{JobState::Queued, JobEvent::Cancel}, JobState::Cancelled},
        {{JobState::Running, JobEvent::Finish}, JobState::Done},
        {{JobState::Running, JobEvent::Yield}, JobState::Queued},
        {{JobState::Running, JobEvent::Recover}, JobState::Queued},
        {{JobState::Running, JobEvent::Pause}, JobState::Paused},
        {{JobState::Running, JobEvent::Cancel}, JobState::Cancelled},
        {{JobState::Running, JobEvent::Fail}, JobState::Failed},
        {{JobState::Paused, JobEvent::Queue}, JobState::Queued},
        {{JobState::Paused, JobEvent::Cancel}, JobState::Cancelled},
    };
    checkTransitions(
        allowed,
        {JobState::Queued, JobState::Running, JobState::Paused, JobState::Done, JobState::Failed, JobState::Cancelled},
        {JobEvent::Queue, JobEvent::Start, JobEvent::Finish, JobEvent::Yield, JobEvent::Pause, JobEvent::Cancel,
         JobEvent::Fail, JobEvent::Recover});
}

// Every (state, event) pair of a fine-tuning run against the lifecycle in trainingrun.h.
void TestServices::runStateMachine() {
    using services::RunEvent;
    using storage::RunState;
    const std::map<std::pair<RunState, RunEvent>, RunState> allowed = {
        {{RunState::Running, RunEvent::Start}, RunState::Running},
        {{RunState::Running, RunEvent::Pause}, RunState::Paused},
        {{RunState::Running, RunEvent::Finish}, RunState::Done},
        {{RunState::Running, RunEvent::Fail}, RunState::Failed},
        {{RunState::Running, RunEvent::Cancel}, RunState::Cancelled},
        {{RunState::Paused, RunEvent::Start}, RunState::Running},
        {{RunState::Paused, RunEvent::Cancel}, RunState::Cancelled},
    };
    checkTransitions(allowed,
                     {RunState::Running, RunState::Paused, RunState::Done, RunState::Failed, RunState::Cancelled},
                     {RunEvent::Start, RunEvent::Pause, RunEvent::Finish, RunEvent::Fail, RunEvent::Cancel});
    storage::Training training(m_library->db());
    const int64_t run = training.start_run("a run", "{}");
    services::takeStep(training, run, RunEvent::Pause);
    QCOMPARE(training.run(run)->status, RunState::Paused);
    QVERIFY_THROWS_EXCEPTION(std::logic_error, services::takeStep(training, run, RunEvent::Finish));
    QCOMPARE(training.run(run)->status, RunState::Paused);  // a refused step records nothing
}

// The job records what stopped it: the user's pause or cancel, or a yield that keeps it queued;
// a paused job resumes where it stopped.
void TestServices::jobRecordsHowItStopped() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(textDocument(m_book, "book")).id;
    services::Compressor compressor(*m_engine, m_library->db(), 4);
    storage::Jobs jobs(m_library->db());
    const auto stopAfterOneBatch = [&](services::JobControl request) {
        std::atomic<services::JobControl> control{services::JobControl::Run};
        const services::JobRun run = services::runCompressionJob(
            compressor, m_library->db(), doc, [&](const services::CompressionProgress&) { control = request; },
            &control);
        return run.state;
    };
    QCOMPARE(stopAfterOneBatch(services::JobControl::Yield), storage::JobState::Queued);
    QCOMPARE(stopAfterOneBatch(services::JobControl::Pause), storage::JobState::Paused);
    const int64_t job = jobs.pending().front().id;
    QCOMPARE(jobs.get(job)->segments_done, int64_t(8));
    QCOMPARE(stopAfterOneBatch(services::JobControl::Cancel), storage::JobState::Cancelled);  // the same job
    QCOMPARE(jobs.get(job)->state, storage::JobState::Cancelled);
    QVERIFY(jobs.pending().empty());
    const services::JobRun last = services::runCompressionJob(compressor, m_library->db(), doc, {}, nullptr);
    QCOMPARE(last.state, storage::JobState::Done);  // a new job, from segment 12
    QCOMPARE(last.outcome.segments_encoded, last.outcome.segments_total - 12);
}

void TestServices::damagedSegmentsAreCompressedAgain() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(textDocument(m_book, "book")).id;
    services::Compressor compressor(*m_engine, m_library->db());
    const auto first = compressor.run(doc);
    m_library->db().exec(
        "UPDATE memory_segments SET blob = substr(blob, 1, 100) || x'00' || substr(blob, 102) WHERE segment_index = 3");
    QCOMPARE(compressor.load(doc).segments.size(), size_t(3));  // the intact leading run
    QCOMPARE(compressor.run(doc).segments_encoded, int64_t(1));
    QCOMPARE(compressor.load(doc).segments.size(), static_cast<size_t>(first.segments_total));
}

// The token count and tail are kept with the memories: once a book is compressed, resuming and
// loading read neither its text nor the blobs to know what is there. Here the stored text is
// replaced after compression; what is loaded is still the book's.
void TestServices::compressedBookIsNotTokenizedAgain() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(textDocument(m_book, "book")).id;
    services::Compressor compressor(*m_engine, m_library->db());
    const std::vector<int32_t> tokens = compressor.tokens_of(doc);
    const auto first = compressor.run(doc);
    QVERIFY(first.segments_total > 3);
    m_library->db().exec("UPDATE document_texts SET text = 'Something else entirely.'");
    const auto loaded = compressor.load(doc);
    QVERIFY(loaded.complete());
    QCOMPARE(loaded.segments_total, first.segments_total);
    const auto full = static_cast<std::ptrdiff_t>(first.segments_total * 32);
    QVERIFY(loaded.tail == std::vector<int32_t>(tokens.begin() + full, tokens.end()));
    QCOMPARE(compressor.run(doc).segments_encoded, int64_t(0));
}

void TestServices::chatOverTwoDocuments() {
    storage::Documents documents(m_library->db());
    const int64_t a = documents.add(textDocument(m_book, "first")).id;
    const int64_t b = documents.add(textDocument(model::synthetic_text(9, 800, 300), "second")).id;
    services::Compressor compressor(*m_engine, m_library->db());
    compressor.run(a);
    const int64_t chat = storage::Chats(m_library->db()).create("both", {a, b});
    services::ChatService service(*m_engine, m_library->db(), compressor);
    services::AskOptions options;
    options.max_new_tokens = 12;
    options.ignore_eos = true;
    options.untrained_memories = true;
    std::string streamed;
    auto answer = service.ask(chat, "What do they say?", options, [&](const std::string& s) { streamed += s; });
    QCOMPARE(answer.notices.size(), 2);  // what it was given; the second one is not compressed yet
    QVERIFY(answer.notices[1].contains(QStringLiteral("“second” is still being compressed")));
    QCOMPARE(streamed, answer.text);
    compressor.run(b);
    answer = service.ask(chat, "And now?", options);
    QCOMPARE(answer.notices.size(), 1);
    QVERIFY2(answer.notices[0].startsWith(QStringLiteral("From ")), qPrintable(answer.notices[0]));
    const auto messages = storage::Chats(m_library->db()).messages(chat);
    QCOMPARE(messages.size(), size_t(4));
    QCOMPARE(messages[2].content, std::string("And now?"));
    QCOMPARE(messages[3].content, answer.text);
    QVERIFY(messages[3].complete);
    // Regenerate replaces the last answer.
    options.sampling.seed = 99;
    const auto again = service.regenerate(chat, options);
    QCOMPARE(storage::Chats(m_library->db()).messages(chat).size(), size_t(4));
    QCOMPARE(storage::Chats(m_library->db()).messages(chat).back().content, again.text);
}

void TestServices::oldTurnsDropWhenTheContextIsFull() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(textDocument("A short note.", "note")).id;
    storage::Chats chats(m_library->db());
    const int64_t chat = chats.create("long", {doc});
    const std::string long_turn = model::synthetic_text(3, 150, 200);
    for (int i = 0; i < 20; ++i) {
        chats.add_message(chat, storage::Role::User, long_turn);
        chats.add_message(chat, storage::Role::Assistant, long_turn);
    }
    services::Compressor compressor(*m_engine, m_library->db());
    services::ChatService service(*m_engine, m_library->db(), compressor);
    services::AskOptions options;
    options.max_new_tokens = 8;
    options.untrained_memories = true;
    const auto answer = service.ask(chat, "Summarise.", options);
    QCOMPARE(answer.notices.size(), 2);
    QVERIFY(answer.notices[1].contains(QStringLiteral("oldest exchanges were left out")));
}

void TestServices::fullDiskFailsTheJobAndKeepsTheLibrary() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(textDocument(m_book, "book")).id;
    storage::Statement pages(m_library->db(), "PRAGMA page_count");
    pages.step();
    m_library->db().exec("PRAGMA max_page_count = " + std::to_string(pages.column_int(0) + 3));
    try {
        services::Compressor(*m_engine, m_library->db()).run(doc);
        QFAIL("expected a StorageError");
    } catch (const storage::StorageError& e) {
        QCOMPARE(e.kind(), storage::StorageError::Kind::DiskFull);
    }
    QCOMPARE(m_library->integrity_check(), std::string("ok"));
    const auto key = services::Compressor(*m_engine, m_library->db()).key_for(documents.get(doc)->sha256);
    const size_t kept = storedSegments(m_library->db(), key).size();
    m_library->db().exec("PRAGMA max_page_count = 1073741823");  // space freed: the retry finishes
    const auto outcome = services::Compressor(*m_engine, m_library->db()).run(doc);
    QCOMPARE(outcome.segments_encoded + static_cast<int64_t>(kept), outcome.segments_total);
}

void TestServices::killedCommandLineCompressionResumes() {
    const QString text = m_dir.filePath(QStringLiteral("big.txt"));
    {
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray::fromStdString(model::synthetic_text(17, 30000, 3000)));
    }
    const QString db = m_dir.filePath(QStringLiteral("killed.sqlite3")),
                  ref = m_dir.filePath(QStringLiteral("whole.sqlite3"));
    for (const QString& library : {db, ref}) {
        storage::Library opened(library.toStdString());
        storage::Documents(opened.db()).add(textDocument(readFile(text), "big"));
    }
    const QStringList compress{QStringLiteral("compress"),
                               QStringLiteral("--doc"),
                               QStringLiteral("1"),
                               QStringLiteral("--model"),
                               m_model,
                               QStringLiteral("--adapter"),
                               m_adapter,
                               QStringLiteral("--json")};
    // Each run is killed right after it reports its k-th committed batch (k random): whatever the
    // machine's speed, every kill lands in the middle of the work.
    QRandomGenerator random(42);
    int killedAfter = 0;
    for (int round = 0; round < 10; ++round) {
        QProcess p;
        p.start(QStringLiteral(UIO_BINARY), compress + QStringList{QStringLiteral("--db"), db});
        QVERIFY(p.waitForStarted(uio::test::kPatienceMs));
        const int k = static_cast<int>(random.bounded(1, 4));
        int reported = 0;
        while (reported < k) {
            if (!p.canReadLine() && !p.waitForReadyRead(uio::test::kPatienceMs))
                QFAIL(qPrintable(QStringLiteral("uio compress ended before its progress: ") +
                                 QString::fromUtf8(p.readAllStandardError())));
            while (p.canReadLine()) {
                if (p.readLine().contains("\"segments_done\""))
                    ++reported;
            }
        }
        p.kill();
        QVERIFY(p.waitForFinished(uio::test::kPatienceMs));
        killedAfter += reported;
    }
    qInfo("killed 10 runs after %d reported batches in all", killedAfter);
    const Run finish = runUio(compress + QStringList{QStringLiteral("--db"), db});
    QCOMPARE(finish.exitCode, 0);
    const Run whole = runUio(compress + QStringList{QStringLiteral("--db"), ref});
    QCOMPARE(whole.exitCode, 0);
    const auto summary = QJsonDocument::fromJson(finish.out.trimmed().split('\n').last()).object();
    qInfo("after 10 kills the last run compressed %d of %d segments",
          summary[QStringLiteral("segments_encoded")].toInt(), summary[QStringLiteral("segments_total")].toInt());
    QVERIFY(summary[QStringLiteral("segments_encoded")].toInt() < summary[QStringLiteral("segments_total")].toInt());

    storage::Library killed(db.toStdString()), uninterrupted(ref.toStdString());
    QCOMPARE(killed.integrity_check(), std::string("ok"));
    const auto sha = storage::Documents(killed.db()).get(1)->sha256;
    const auto key = services::Compressor(*m_engine, killed.db()).key_for(sha);
    const auto a = storedSegments(killed.db(), key), b = storedSegments(uninterrupted.db(), key);
    QCOMPARE(a.size(), static_cast<size_t>(summary[QStringLiteral("segments_total")].toInt()));
    QVERIFY(a == b);
}

void TestServices::killedChatKeepsQuestionAndPartialAnswer() {
    const QString db = m_dir.filePath(QStringLiteral("chat.sqlite3"));
    {
        storage::Library opened(db.toStdString());
        storage::Documents(opened.db()).add(textDocument(m_book, "small"));
    }
    QProcess p;
    p.start(QStringLiteral(UIO_BINARY),
            {QStringLiteral("chat"), QStringLiteral("--db"), db, QStringLiteral("--doc"), QStringLiteral("1"),
             QStringLiteral("--model"), m_model, QStringLiteral("--adapter"), m_adapter, QStringLiteral("--ignore-eos"),
             QStringLiteral("--max-new-tokens"), QStringLiteral("1000000"), QStringLiteral("Tell me everything.")});
    QVERIFY(p.waitForStarted(uio::test::kPatienceMs));
    UIO_TRY_VERIFY(p.bytesAvailable() > 200);  // the answer is streaming
    p.kill();
    QVERIFY(p.waitForFinished(uio::test::kPatienceMs));
    storage::Library library(db.toStdString());
    QCOMPARE(library.integrity_check(), std::string("ok"));
    const auto messages = storage::Chats(library.db()).messages(1);
    QCOMPARE(messages.size(), size_t(2));
    QCOMPARE(messages[0].content, std::string("Tell me everything."));
    QVERIFY(!messages[1].complete);
    QVERIFY(messages[1].content.size() > 50);
}

QTEST_GUILESS_MAIN(TestServices)
#include "test_services.moc"
