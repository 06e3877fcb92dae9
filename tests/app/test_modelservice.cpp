// The model worker thread through its signals: configure, compress, ask while a long document
// compresses (the answer goes first, compression resumes), failures as messages.

#include "patience.h"
#include "testfiles.h"
#include "uio/app/libraryservice.h"
#include "uio/app/modelservice.h"
#include "uio/common/units.h"
#include "uio/model/engine.h"
#include "uio/model/model_maker.h"
#include "uio/model/runtime.h"
#include "uio/model/synthetic_text.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/library.h"
#include "uio/storage/statement.h"

#include <QElapsedTimer>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace uio;

class TestModelService : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void compressAndAskAcrossThreads();
    void requestsAreServedWhileADocumentCompresses();
    void failuresArriveAsMessages();
    void createsAnAdapterForAModelFolder();
    void oldLibraryIsIndexedInTheBackground();
    void ultraGistStaysTheCompressorAfterFineTuning();

private:
    QTemporaryDir m_dir;
    app::ModelSettings m_settings;
};

void TestModelService::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_settings.modelDir = m_dir.filePath(QStringLiteral("tiny"));
    model::make_model(m_settings.modelDir.toStdString(), {"tiny", 4, model::DType::F32, 0});
    auto engine = model::Engine::load(m_settings.modelDir.toStdString());
    engine->create_adapter({32, 4, 4, 8.0}, 1);
    m_settings.adapterPath = m_dir.filePath(QStringLiteral("adapter.safetensors"));
    engine->save_adapter(m_settings.adapterPath.toStdString());
    m_settings.databasePath = m_dir.filePath(QStringLiteral("uio.sqlite3"));
    m_settings.device = QStringLiteral("cuda");  // falls back to the CPU here, with a notice
}

void TestModelService::compressAndAskAcrossThreads() {
    int64_t small = 0, big = 0, chat = 0;
    {
        storage::Library library(m_settings.databasePath.toStdString());
        storage::Documents documents(library.db());
        storage::NewDocument d;
        d.format = "txt";
        d.title = "small";
        d.sha256 = "small";
        d.text = model::synthetic_text(1, 300, 100);
        small = documents.add(d).id;
        d.title = d.sha256 = "big";
        d.text = model::synthetic_text(2, 40000, 2000);
        big = documents.add(d).id;
        chat = storage::Chats(library.db()).create("about the small one", {small});
    }
    app::ModelService service;
    QSignalSpy ready(&service, &app::ModelService::modelReady);
    QSignalSpy finished(&service, &app::ModelService::compressionFinished);
    QSignalSpy progress(&service, &app::ModelService::compressionProgress);
    QSignalSpy text(&service, &app::ModelService::answerText);
    QSignalSpy answered(&service, &app::ModelService::answerFinished);
    service.configure(m_settings);
    UIO_TRY_COMPARE(ready.count(), 1);
    const QStringList notices = ready.at(0).at(1).toStringList();
    if (!model::runtime_info().cuda_available) {
        QVERIFY(!notices.isEmpty() && notices.front().contains(QStringLiteral("running on the CPU")));
    }
    service.compress(small);
    UIO_TRY_COMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(0).toLongLong(), small);

    service.compress(big);
    UIO_TRY_VERIFY(progress.count() > 2);  // the big one is under way
    app::AskSettings ask;
    ask.maxNewTokens = 10;
    service.ask(chat, QStringLiteral("What is in it?"), ask);
    UIO_TRY_COMPARE(answered.count(), 1);
    QVERIFY(finished.count() == 1);  // the answer did not wait for the big document
    QVERIFY(text.count() >= 1);
    UIO_TRY_COMPARE(finished.count(), 2);  // and compression went on afterwards
    QCOMPARE(finished.at(1).at(0).toLongLong(), big);

    storage::Library library(m_settings.databasePath.toStdString());
    const auto messages = storage::Chats(library.db()).messages(chat);
    QCOMPARE(messages.size(), size_t(2));
    QVERIFY(messages[1].complete);
    QCOMPARE(storage::Documents(library.db()).list().front().job_state, std::optional(storage::JobState::Done));
}

// The model thread encodes one batch per turn of its event loop, and inspecting a folder does not
// use it at all: requests made while a long document compresses are answered long before it ends.
void TestModelService::requestsAreServedWhileADocumentCompresses() {
    const QString databasePath = m_dir.filePath(QStringLiteral("busy.sqlite3"));
    int64_t book = 0, chat = 0;
    {
        storage::Library library(databasePath.toStdString());
        storage::NewDocument d;
        d.format = "txt";
        d.title = d.sha256 = "long";
        d.text = model::synthetic_text(3, 60000, 2000);
        book = storage::Documents(library.db()).add(d).id;
        chat = storage::Chats(library.db()).create("about it", {book});
    }
    const QString corpus = m_dir.filePath(QStringLiteral("corpus.txt"));
    {
        QFile file(corpus);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray::fromStdString(model::synthetic_text(4, 300, 100)));
    }
    app::ModelSettings settings = m_settings;
    settings.databasePath = databasePath;
    settings.compressionBatch = 2;
    app::ModelService service;
    app::LibraryService library(databasePath);
    QSignalSpy ready(&service, &app::ModelService::modelReady);
    QSignalSpy progress(&service, &app::ModelService::compressionProgress);
    QSignalSpy finished(&service, &app::ModelService::compressionFinished);
    QSignalSpy paused(&service, &app::ModelService::compressionPaused);
    service.configure(settings);
    UIO_TRY_COMPARE(ready.count(), 1);
    QElapsedTimer clock;
    clock.start();
    service.compress(book);
    UIO_TRY_VERIFY(progress.count() >= 3);
    const double batchMs = static_cast<double>(clock.elapsed()) / static_cast<double>(progress.count());

    clock.restart();
    qint64 inspectedAt = -1, countedAt = -1, messagesAt = -1;
    connect(&service, &app::ModelService::modelFolderInspected, this, [&] { inspectedAt = clock.elapsed(); });
    connect(&service, &app::ModelService::corpusCounted, this, [&] { countedAt = clock.elapsed(); });
    connect(&library, &app::LibraryService::messagesLoaded, this, [&] { messagesAt = clock.elapsed(); });
    service.inspectModelFolder(settings.modelDir);
    app::FineTuneSettings count;
    count.files << corpus;
    service.countCorpus(count);
    library.loadMessages(chat);
    UIO_TRY_VERIFY(inspectedAt >= 0 && countedAt >= 0 && messagesAt >= 0);
    QCOMPARE(finished.count(), 0);  // all three before the document was done
    const QList<QVariant> last = progress.last();
    qInfo(
        "at segment %lld of %lld (a batch every %.1f ms so far): folder inspected in %lld ms, corpus counted "
        "in %lld ms, messages loaded in %lld ms",
        last.at(1).toLongLong(), last.at(2).toLongLong(), batchMs, inspectedAt, countedAt, messagesAt);

    // A corpus file that takes its reader seconds (a decompression bomb, stopped at its memory
    // limit) is read off the model thread: compression goes on meanwhile.
    const QString bomb = m_dir.filePath(QStringLiteral("bomb.pdf"));
    testfiles::writeBombPdf(bomb, qint64(16) << 30);
    service.setReaderLimits({300 * uio::kMegabyte, 3600});
    countedAt = -1;
    const qint64 batchesBefore = progress.count();
    count.files = {bomb};
    service.countCorpus(count);
    UIO_TRY_VERIFY(countedAt >= 0);
    const qint64 batchesMeanwhile = progress.count() - batchesBefore;
    qInfo("%lld batches compressed while the bomb's reader ran", batchesMeanwhile);
    QVERIFY(batchesMeanwhile > 0);
    QCOMPARE(finished.count(), 0);
    service.cancel(book);
    UIO_TRY_COMPARE(paused.count(), 1);
}

void TestModelService::failuresArriveAsMessages() {
    app::ModelService service;
    QSignalSpy failed(&service, &app::ModelService::modelFailed);
    app::ModelSettings wrong = m_settings;
    wrong.modelDir = m_dir.filePath(QStringLiteral("nowhere"));
    service.configure(wrong);
    UIO_TRY_COMPARE(failed.count(), 1);
    QVERIFY(failed.at(0).at(0).toString().contains(QStringLiteral("config.json")));
    QSignalSpy answerFailed(&service, &app::ModelService::answerFailed);
    service.ask(1, QStringLiteral("anyone?"), {});
    UIO_TRY_COMPARE(answerFailed.count(), 1);
    QVERIFY(answerFailed.at(0).at(1).toString().contains(QStringLiteral("No model is loaded")));
}

void TestModelService::createsAnAdapterForAModelFolder() {
    app::ModelService service;
    QSignalSpy created(&service, &app::ModelService::adapterCreated);
    QSignalSpy ready(&service, &app::ModelService::modelReady);
    app::ModelSettings settings = m_settings;
    settings.device = QStringLiteral("cpu");
    settings.adapterPath = m_dir.filePath(QStringLiteral("made/for-tiny.safetensors"));
    service.createAdapter(settings);
    UIO_TRY_COMPARE(ready.count(), 1);
    QCOMPARE(created.count(), 1);
    const model::AdapterInfo info = model::read_adapter_info_file(settings.adapterPath.toStdString());
    QCOMPARE(info.config.segment_length, int64_t(1024));
    QCOMPARE(info.config.memory_tokens, int64_t(32));
    QCOMPARE(info.n_layer, int64_t(2));
}

void TestModelService::ultraGistStaysTheCompressorAfterFineTuning() {
    app::ModelSettings settings;
    settings.modelDir = m_dir.filePath(QStringLiteral("ultragist"));
    model::MakeModelOptions options{"tiny", 4, model::DType::F32, 0};
    options.ultragist_window = 32;
    model::make_model(settings.modelDir.toStdString(), options);
    settings.ultragist = true;
    settings.ultragistRatio = 4;
    settings.databasePath = m_dir.filePath(QStringLiteral("ultragist.sqlite3"));
    int64_t doc = 0;
    {
        storage::Library library(settings.databasePath.toStdString());
        storage::NewDocument d;
        d.format = "txt";
        d.title = d.sha256 = "notes";
        d.text = model::synthetic_text(3, 400, 200);
        doc = storage::Documents(library.db()).add(d).id;
    }
    const QString corpus = m_dir.filePath(QStringLiteral("ultragist-corpus.txt"));
    QFile file(corpus);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromStdString(model::synthetic_text(4, 1500, 300)));
    file.close();

    app::ModelService service;
    QSignalSpy ready(&service, &app::ModelService::modelReady);
    QSignalSpy identified(&service, &app::ModelService::modelIdentified);
    QSignalSpy trained(&service, &app::ModelService::fineTuneFinished);
    QSignalSpy failed(&service, &app::ModelService::fineTuneFailed);
    QSignalSpy compressed(&service, &app::ModelService::compressionFinished);
    service.configure(settings);
    UIO_TRY_COMPARE(ready.count(), 1);
    const QString ultragist = identified.at(0).at(1).toString();
    QVERIFY2(ultragist.startsWith(QStringLiteral("ultragist-")) && ultragist.endsWith(QStringLiteral("-r4")),
             qPrintable(ultragist));

    // Training needs the adapter slot: a fresh UIO adapter is trained, then UltraGist comes back.
    app::FineTuneSettings run;
    run.name = QStringLiteral("beside ultragist");
    run.files << corpus;
    run.startAdapter = app::kFreshAdapter;
    run.segmentLength = 32;
    run.memoryTokens = 4;
    run.rank = 4;
    run.alpha = 8.0;
    run.segments = 2;
    run.window = 1;
    run.steps = 2;
    service.startFineTune(run);
    UIO_TRY_VERIFY(trained.count() + failed.count() > 0);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));

    service.compress(doc);
    UIO_TRY_COMPARE(compressed.count(), 1);
    storage::Library library(settings.databasePath.toStdString());
    storage::Statement keys(library.db(), "SELECT DISTINCT adapter_fingerprint FROM memory_keys");
    QVERIFY(keys.step());
    QCOMPARE(QString::fromStdString(keys.column_text(0)), ultragist);
    QVERIFY(!keys.step());
}

QTEST_GUILESS_MAIN(TestModelService)
// A library made before the passage index (no passages, maps counting UTF-16 code units) is indexed
// a document at a time when opened; then its passages are found and open at the right place.
void TestModelService::oldLibraryIsIndexedInTheBackground() {
    const QString path = m_dir.filePath(QStringLiteral("old-index.sqlite3"));
    const std::string prose = "Ça commence. " + uio::model::synthetic_text(4, 400, 300);
    const std::string needle = "Zoë kept the golden compass in the third drawer.";
    {
        uio::storage::Library library(path.toStdString());
        uio::storage::Documents documents(library.db());
        for (int d = 0; d < 3; ++d) {
            uio::storage::NewDocument row;
            row.text = prose + "\n\n" + (d == 1 ? needle + "\n\n" : std::string()) + prose;
            row.sha256 = std::string(63, 'a') + static_cast<char>('0' + d);
            row.title = "Old " + std::to_string(d);
            row.format = "pdf";
            // Two pages, split where the second copy of the prose starts, in UTF-16 code units.
            const auto second = QString::fromStdString(row.text).lastIndexOf(QString::fromStdString(prose));
            const auto end = QString::fromStdString(row.text).size();
            row.page_map_json =
                "[[1,0," + std::to_string(second) + "],[2," + std::to_string(second) + "," + std::to_string(end) + "]]";
            row.page_count = 2;
            documents.add(row);
        }
        library.db().exec("DELETE FROM passages; UPDATE document_texts SET indexed = 0, offsets = 'utf16'");
    }
    uio::app::LibraryService library(path);
    QSignalSpy progress(&library, &uio::app::LibraryService::indexingProgress);
    library.refresh();
    UIO_TRY_VERIFY(!progress.isEmpty() && progress.last().at(0).toInt() == 3);
    QCOMPARE(progress.last().at(1).toInt(), 3);

    QSignalSpy found(&library, &uio::app::LibraryService::searchFinished);
    library.search(QStringLiteral("golden compass"));
    UIO_TRY_COMPARE(found.count(), 1);
    const auto hits = found.first().at(1).value<QList<uio::app::SourceRow>>();
    QVERIFY(!hits.isEmpty());
    const uio::app::SourceRow hit = hits.first();
    QCOMPARE(hit.title, QStringLiteral("Old 1"));
    QCOMPARE(hit.page, 1);  // the needle is before the page break, counted in bytes now
    QVERIFY2(hit.text.contains(QStringLiteral("[golden] [compass]")), qPrintable(hit.text));

    QSignalSpy opened(&library, &uio::app::LibraryService::documentOpened);
    library.openDocument(hit.documentId, hit.begin, hit.end);
    UIO_TRY_COMPARE(opened.count(), 1);
    const auto view = opened.first().at(0).value<uio::app::DocumentView>();
    const QString marked = view.text.mid(view.highlightBegin, view.highlightEnd - view.highlightBegin);
    QVERIFY2(marked.contains(QString::fromStdString(needle)), qPrintable(marked));
    QCOMPARE(view.page, 1);
}

#include "test_modelservice.moc"
