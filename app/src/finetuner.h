// The fine-tuning runs behind the wizard, on the thread that owns the engine and the library
// connection. A run's settings, status, checkpoint folder and loss history live in the library
// (storage::Training); its checkpoints in <data folder>/training/run-N. Training changes the
// engine's adapter in place: the active adapter is loaded again when a run stops or ends, and
// the trained one is saved to <data folder>/adapters and registered under its name.
#pragma once

#include "uio/app/finetune.h"
#include "uio/ingest/readerprocess.h"
#include "uio/model/engine.h"
#include "uio/storage/database.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace uio::app {

// Counts a corpus's tokens on another thread than the model's: it holds copies of what it needs
// (the thread-safe tokenizer, the library's path, the reader's limits, the counts known so far).
struct CorpusCounter {
    std::shared_ptr<const model::Tokenizer> tokenizer;
    std::filesystem::path databasePath;
    ingest::ReaderLimits readerLimits;
    std::map<QString, qint64> known;  // see FineTuner::m_tokenCounts
    int segmentLength = 0;

    // Reads and tokenises what is not known yet (the new counts go to `learned`); files that
    // cannot be read are listed, not fatal. `cancel` stops the reading of a file.
    CorpusCount count(const FineTuneSettings& settings, std::map<QString, qint64>* learned,
                      const std::atomic<bool>* cancel = nullptr) const;
};

class FineTuner {
public:
    FineTuner(model::Engine& engine, storage::Database& db, QString dataFolder, QString activeAdapter);

    // What the reader process of each corpus file may use (Settings, "Reading documents").
    void setReaderLimits(const ingest::ReaderLimits& limits) { m_readerLimits = limits; }
    // The model's compressor is UltraGist: it is put back after a run (training needs the engine's
    // adapter slot).
    void setActiveUltraGist(const QString& source, int ratio);

    // Counting the corpus's tokens, in two halves: a counter to run on another thread, and what it
    // learned, kept for next time.
    CorpusCounter counter(const FineTuneSettings& settings) const;
    void learn(const std::map<QString, qint64>& counts);
    // Time, memory and disk of the run on the loaded model's device (times a matrix product).
    FineTuneEstimate estimate(const FineTuneSettings& settings);

    // A new run, recorded with its settings; throws std::runtime_error when they cannot work.
    qint64 create(const FineTuneSettings& settings);
    // Trains run `id` from its last checkpoint (or its start) until it ends or `stop` is set.
    // Returns the result when it ended; nothing when it stopped (it is then "paused").
    std::optional<FineTuneResult> run(qint64 id, const std::function<void(const FineTuneProgress&)>& on_progress,
                                      const std::atomic<bool>* stop);
    void cancel(qint64 id);  // the run's checkpoints go; its record says "cancelled"
    // Runs that can be resumed: paused, or left "running" by a crash.
    QList<FineTuneRun> resumable();

private:
    // `stop` cancels the reading of a file (it is then listed in problems).
    std::vector<std::vector<int32_t>> streams(const FineTuneSettings& settings, QStringList* problems,
                                              const std::atomic<bool>* stop = nullptr);
    model::AdapterConfig adapterShape(const FineTuneSettings& settings) const;
    QString runFolder(qint64 id) const;
    void restoreActiveAdapter();

    // Token counts of documents ("doc:ID") and files ("path|size|mtime") read before: the corpus
    // page asks again on every change, and a PDF is read only once.
    std::map<QString, qint64> m_tokenCounts;
    std::map<std::string, double> m_flopRates;  // measured once per "device dtype"
    model::Engine& m_engine;
    storage::Database& m_db;
    QString m_dataFolder;
    QString m_activeAdapter;
    QString m_ultragistSource;  // empty unless UltraGist is the compressor in use
    int m_ultragistRatio = 0;
    ingest::ReaderLimits m_readerLimits = ingest::ReaderLimits::defaults();
};

model::TrainingConfig trainingConfig(const FineTuneSettings& settings);

}  // namespace uio::app
