// The one owner of the model: a worker thread that holds the engine, the adapter and its own
// library connection, and runs compression jobs and answers one at a time. Callers on any thread
// (the GUI) send intents through the public slots; results come back as queued signals. Asking a
// question pauses compression between two batches and resumes it after the answer, so the
// document being asked about never waits behind a long book. Exceptions never leave the worker:
// they arrive as failure signals with a readable message.
#pragma once

#include "uio/app/finetune.h"
#include "uio/ingest/readerprocess.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QThread>
#include <QThreadPool>

#include <atomic>
#include <memory>

namespace uio::app {

struct ModelSettings {
    QString modelDir;
    QString adapterPath;
    // The compressor: a UIO adapter (adapterPath) or UltraGist, from ultragistSource (empty: the
    // model folder is the published release) at ultragistRatio tokens per memory row (0: by each
    // document's length).
    bool ultragist = false;
    QString ultragistSource;
    int ultragistRatio = 0;
    QString device = QStringLiteral("cpu");  // "cuda" falls back to the CPU, with a notice, when unavailable
    QString dtype = QStringLiteral("f32");
    QString databasePath;
    int compressionBatch = 4;
    int cpuThreads = 0;  // 0: one per core
    // The model continues text instead of answering questions (a base model such as the story
    // demo's): chats carry on a running text after the documents.
    bool continuation = false;
};

// Where the model can run: "cpu" or "cuda:N", with the memory free there now.
struct DeviceChoice {
    QString id;
    QString name;
    qint64 freeBytes = 0;
    qint64 totalBytes = 0;
    QString fastestDtype;  // "bf16", "int8", "f32": the precision that runs fastest there
    QString whyFastest;    // a sentence saying why, for the setup page
};

struct AskSettings {
    QString systemPrompt;
    int maxNewTokens = 512;
    double temperature = 0.7;
    double topP = 0.95;
    quint64 seed = 0;
    double passageShare = 0.25;      // of the model's positions, for passages placed verbatim
    bool untrainedMemories = false;  // memories of an adapter that was never trained
};

class ModelWorker;

class ModelService : public QObject {
    Q_OBJECT

public:
    explicit ModelService(QObject* parent = nullptr);
    ~ModelService() override;

public Q_SLOTS:
    void configure(const uio::app::ModelSettings& settings);
    void compress(qint64 documentId);  // queued behind earlier jobs; resumes where it stopped
    void pause(qint64 documentId);
    void cancel(qint64 documentId);
    void ask(qint64 chatId, const QString& question, const uio::app::AskSettings& settings);
    void regenerate(qint64 chatId, const uio::app::AskSettings& settings);
    void stopAnswer();  // takes effect within one token
    // A tiny random model and adapter in `dir`, to try every feature without a download; its
    // answers are meaningless. modelReady follows once it is loaded.
    void useDemoModel(const QString& dir, const QString& databasePath);
    // The story demo: a real tiny story model (stories260K) with an adapter trained for it, copied
    // out of the program into dir where missing (a fine-tuned adapter there is kept).
    // storyDemoCreated names the story collection to add to the library.
    void useStoryDemo(const QString& dir, const QString& databasePath);
    // A fresh (untrained) adapter of the method's default shape for settings.modelDir, saved to
    // settings.adapterPath, then loaded. adapterCreated, then modelReady follow.
    void createAdapter(const uio::app::ModelSettings& settings);
    // Checks a model folder without loading it; modelFolderInspected follows.
    void inspectModelFolder(const QString& dir);
    void listDevices();  // devicesListed follows

    // Fine-tuning (the wizard). Questions and compression wait while a run trains; pausing
    // keeps a checkpoint, and a run stopped by a crash or by closing can be resumed.
    void countCorpus(const uio::app::FineTuneSettings& settings);       // corpusCounted
    void estimateFineTune(const uio::app::FineTuneSettings& settings);  // fineTuneEstimated
    void startFineTune(const uio::app::FineTuneSettings& settings);     // fineTuneStarted, then progress
    void resumeFineTune(qint64 runId);
    void pauseFineTune();               // after the current step: fineTunePaused
    void cancelFineTune(qint64 runId);  // stops it if it trains, drops its checkpoints: fineTuneCancelled
    void listFineTuneRuns();            // fineTuneRunsListed: those that can be resumed
    // What the reader process of each corpus file may use, from the next file read on.
    void setReaderLimits(const uio::ingest::ReaderLimits& limits);

Q_SIGNALS:
    void modelReady(const QString& description, const QStringList& notices);
    void modelFailed(const QString& message);
    void compressionProgress(qint64 documentId, qint64 segmentsDone, qint64 segmentsTotal, double tokensPerSecond,
                             double etaSeconds);
    void compressionFinished(qint64 documentId, qint64 segmentsEncoded);
    void compressionPaused(qint64 documentId);
    void compressionFailed(qint64 documentId, const QString& message);
    void answerText(qint64 chatId, const QString& text);
    void answerFinished(qint64 chatId, const QStringList& notices);
    void answerFailed(qint64 chatId, const QString& message);
    void demoCreated(const uio::app::ModelSettings& settings);
    void storyDemoCreated(const uio::app::ModelSettings& settings, const QString& stories);
    void adapterCreated(const uio::app::ModelSettings& settings);
    // ok: summary describes the model and the memory it needs; otherwise the loader's message.
    void modelFolderInspected(const QString& dir, bool ok, const QString& summary);
    // After a good check: whether the folder also holds UltraGist's trained compressor.
    void ultraGistInFolder(const QString& dir, bool found);
    void devicesListed(const QList<uio::app::DeviceChoice>& devices);
    // After modelReady: what names the memory this model and adapter make (for the cache).
    void modelIdentified(const QString& modelFingerprint, const QString& adapterFingerprint);
    void corpusCounted(const uio::app::CorpusCount& count);
    void fineTuneEstimated(const uio::app::FineTuneEstimate& estimate);
    void fineTuneStarted(qint64 runId);
    void fineTuneProgress(const uio::app::FineTuneProgress& progress);
    void fineTunePaused(qint64 runId);
    void fineTuneFinished(const uio::app::FineTuneResult& result);
    void fineTuneCancelled(qint64 runId);
    // runId 0: the request failed before a run existed (a corpus that cannot be read, say).
    void fineTuneFailed(qint64 runId, const QString& message);
    void fineTuneRunsListed(const QList<uio::app::FineTuneRun>& runs);
    // After loading, each compression batch and each answer; gpuTotal is 0 without a GPU.
    void memoryInUse(qint64 residentBytes, qint64 gpuUsedBytes, qint64 gpuTotalBytes);

private:
    QThread m_thread;
    ModelWorker* m_worker = nullptr;  // lives on m_thread
    QThreadPool m_pool;               // work that never touches the loaded model
    QThreadPool m_counting;           // corpus counts, one at a time, in order
    std::atomic<bool> m_closing{false};
};

}  // namespace uio::app

Q_DECLARE_METATYPE(uio::app::ModelSettings)
Q_DECLARE_METATYPE(uio::app::AskSettings)
Q_DECLARE_METATYPE(uio::app::DeviceChoice)
