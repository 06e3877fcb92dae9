// Fine-tuning the UIO adapter on the user's documents, as the wizard sees it: plain Qt values
// that cross from the GUI to the model thread and back (ModelService's fine-tuning slots and
// signals). A run's settings are saved with it, so a stopped run can be resumed after a restart.
#pragma once

#include <QByteArray>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace uio::app {

struct FineTuneSettings {
    QString name;  // of the adapter the run makes
    // The corpus: library documents and files (PDF, EPUB, text, Markdown, HTML).
    QList<qint64> documentIds;
    QStringList files;
    // Starting point: the active adapter (empty), an adapter file, or kFreshAdapter.
    QString startAdapter;
    int segmentLength = 1024;  // a fresh adapter's shape
    int memoryTokens = 32;
    int rank = 128;
    double alpha = 512.0;
    // The run (uio-method.md §6).
    int segments = 8;  // T per sample
    int window = 2;    // S
    int steps = 1000;
    int accumulation = 1;
    double learningRate = 1e-4;
    bool compensate = true;
    bool recompute = false;
    quint64 seed = 0;
    int evalEvery = 100;
    int checkpointEvery = 50;
    // Where to train, when not where the model is loaded ("cpu", "cuda:0"; "f32", "bf16", "f16"):
    // the model is loaded there for the run and back where it was after.
    QString device;
    QString dtype;

    bool operator==(const FineTuneSettings&) const = default;
};

inline const QString kFreshAdapter = QStringLiteral("new");

QByteArray toJson(const FineTuneSettings& settings);
FineTuneSettings fineTuneSettingsFromJson(const QByteArray& json);  // defaults where a key is missing

// Preset step counts and learning rates: Quick, Standard, Thorough.
enum class FineTunePreset { Quick, Standard, Thorough };
void applyPreset(FineTuneSettings& settings, FineTunePreset preset);
// The number of steps, and the cadence that follows from it: an evaluation every tenth of the run,
// a checkpoint every twentieth (1000 steps: 100 and 50, model::TrainingConfig's defaults).
void setSteps(FineTuneSettings& settings, int steps);

struct CorpusCount {
    QList<qint64> streamTokens;  // per document that could be read
    qint64 tokens = 0;
    int segmentLength = 0;  // of the starting adapter
    QStringList problems;   // documents or files that could not be read, with the reason
};

// Samples of `segments` segments of `segmentLength` tokens cut from the streams, and how many
// of them a run holds out for evaluation (a tenth, at least one, leaving one to train on).
qint64 samplesIn(const QList<qint64>& streamTokens, int segments, int segmentLength);
qint64 heldOutOf(qint64 samples);

struct FineTuneEstimate {
    double seconds = 0.0;
    qint64 memoryBytes = 0;
    qint64 availableMemoryBytes = 0;  // free GPU memory on CUDA, free RAM on the CPU
    qint64 diskBytes = 0;             // checkpoints and the adapter
    qint64 freeDiskBytes = 0;
    QString device;  // where the run goes: the loaded model's device and precision
};

struct FineTuneProgress {
    qint64 runId = 0;
    qint64 step = 0;
    qint64 steps = 0;
    bool evaluation = false;  // true: the perplexities; false: loss, speed and time left
    double loss = 0.0;
    double tokensPerSecond = 0.0;
    double etaSeconds = 0.0;
    qint64 memoryBytes = 0;
    double perplexityWithMemory = 0.0;
    double perplexityWithoutMemory = 0.0;
};

struct FineTuneResult {
    qint64 runId = 0;
    qint64 adapterId = 0;  // in the library's list of adapters
    QString adapterName;
    QString adapterPath;
    // Held-out perplexity at the run's start and end, with memories and each segment alone.
    double before = 0.0, beforeWithoutMemory = 0.0;
    double after = 0.0, afterWithoutMemory = 0.0;
};

struct FineTuneRun {
    qint64 id = 0;
    bool interrupted = false;  // left running by a crash, rather than paused
    qint64 step = 0;
    FineTuneSettings settings;
    QList<FineTuneProgress> history;  // step losses and evaluations so far
};

}  // namespace uio::app

Q_DECLARE_METATYPE(uio::app::FineTuneSettings)
Q_DECLARE_METATYPE(uio::app::CorpusCount)
Q_DECLARE_METATYPE(uio::app::FineTuneEstimate)
Q_DECLARE_METATYPE(uio::app::FineTuneProgress)
Q_DECLARE_METATYPE(uio::app::FineTuneResult)
Q_DECLARE_METATYPE(uio::app::FineTuneRun)
