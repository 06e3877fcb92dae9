#include "finetuner.h"

#include "uio/ingest/readerprocess.h"
#include "uio/model/ceilings.h"
#include "uio/model/runtime.h"
#include "uio/services/trainingrun.h"
#include "uio/storage/documents.h"
#include "uio/storage/jobs.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QStorageInfo>

#include <cmath>
#include <stdexcept>

namespace uio::app {

namespace {

// A file name from the adapter's name: letters, digits, '-', '_' and '.'; the rest become '_'.
QString fileNameFor(const QString& name) {
    QString safe;
    for (const QChar c : name.trimmed())
        safe += c.isLetterOrNumber() || c == u'-' || c == u'_' || c == u'.' ? c : u'_';
    return safe.isEmpty() ? QStringLiteral("adapter") : safe;
}

}  // namespace

model::TrainingConfig trainingConfig(const FineTuneSettings& s) {
    model::TrainingConfig c;
    c.segments_per_sample = s.segments;
    c.window = s.window;
    c.compensate = s.compensate;
    c.recompute = s.recompute;
    c.steps = s.steps;
    c.accumulation = s.accumulation;
    c.learning_rate = s.learningRate;
    c.warmup = std::max(0.01, 1.0 / std::max(1, s.steps));
    c.eval_every = s.evalEvery;
    c.checkpoint_every = s.checkpointEvery;
    c.seed = s.seed;
    return c;
}

FineTuner::FineTuner(model::Engine& engine, storage::Database& db, QString dataFolder, QString activeAdapter)
    : m_engine(engine), m_db(db), m_dataFolder(std::move(dataFolder)), m_activeAdapter(std::move(activeAdapter)) {}

model::AdapterConfig FineTuner::adapterShape(const FineTuneSettings& s) const {
    if (s.startAdapter == kFreshAdapter)
        return {s.segmentLength, s.memoryTokens, s.rank, s.alpha};
    if (!s.startAdapter.isEmpty())
        return model::read_adapter_info_file(s.startAdapter.toStdString()).config;
    return m_engine.adapter_info().config;
}

std::vector<std::vector<int32_t>> FineTuner::streams(const FineTuneSettings& s, QStringList* problems,
                                                     const std::atomic<bool>* stop) {
    std::vector<std::vector<int32_t>> result;
    storage::Documents documents(m_db);
    for (const qint64 id : s.documentIds) {
        const auto text = documents.text(id);
        if (!text) {
            problems->append(QObject::tr("Document %1 is no longer in the library.").arg(id));
            continue;
        }
        result.push_back(m_engine.tokenizer().encode(text->text));
    }
    ingest::IngestOptions reading;
    reading.cancel = stop;
    for (const QString& file : s.files) {
        try {
            result.push_back(
                m_engine.tokenizer().encode(ingest::readContained(file, reading, m_readerLimits).text.toStdString()));
        } catch (const std::exception& e) {
            problems->append(QStringLiteral("%1: %2").arg(QFileInfo(file).fileName(), QString::fromUtf8(e.what())));
        }
    }
    return result;
}

CorpusCount CorpusCounter::count(const FineTuneSettings& s, std::map<QString, qint64>* learned,
                                 const std::atomic<bool>* cancel) const {
    CorpusCount count;
    count.segmentLength = segmentLength;
    // Each document or file is read and tokenised once; what was counted before is looked up.
    const auto add = [&](const QString& key, const std::function<std::optional<std::string>()>& read) {
        auto found = known.find(key);
        qint64 tokens = 0;
        if (found != known.end()) {
            tokens = found->second;
        } else if (const auto text = read()) {
            tokens = static_cast<qint64>(tokenizer->encode(*text).size());
            (*learned)[key] = tokens;
        } else {
            return;  // the reason is in problems
        }
        count.streamTokens << tokens;
        count.tokens += tokens;
    };
    std::unique_ptr<storage::Database> library;  // its own connection: this is not the model thread
    for (const qint64 id : s.documentIds) {
        add(QStringLiteral("doc:%1").arg(id), [&]() -> std::optional<std::string> {
            if (!library)
                library = std::make_unique<storage::Database>(databasePath);
            if (auto text = storage::Documents(*library).text(id))
                return std::move(text->text);
            count.problems.append(QObject::tr("Document %1 is no longer in the library.").arg(id));
            return std::nullopt;
        });
    }
    for (const QString& file : s.files) {
        const QFileInfo info(file);
        add(QStringLiteral("%1|%2|%3").arg(file).arg(info.size()).arg(info.lastModified().toMSecsSinceEpoch()),
            [&]() -> std::optional<std::string> {
                try {
                    ingest::IngestOptions reading;
                    reading.cancel = cancel;
                    return ingest::readContained(file, reading, readerLimits).text.toStdString();
                } catch (const std::exception& e) {
                    count.problems.append(QStringLiteral("%1: %2").arg(info.fileName(), QString::fromUtf8(e.what())));
                    return std::nullopt;
                }
            });
    }
    return count;
}

CorpusCounter FineTuner::counter(const FineTuneSettings& s) const {
    return {m_engine.shared_tokenizer(), m_db.path(), m_readerLimits, m_tokenCounts,
            static_cast<int>(adapterShape(s).segment_length)};
}

void FineTuner::learn(const std::map<QString, qint64>& counts) {
    m_tokenCounts.insert(counts.begin(), counts.end());
}

FineTuneEstimate FineTuner::estimate(const FineTuneSettings& s) {
    const std::string device = s.device.isEmpty() ? m_engine.device() : model::check_device(s.device.toStdString());
    const model::DType dtype = s.dtype.isEmpty() ? m_engine.dtype() : model::parse_dtype(s.dtype.toStdString());
    const bool gpu = device.rfind("cuda", 0) == 0;  // a GPU reaches its rate only on large products
    double& flops = m_flopRates[device + " " + model::dtype_name(dtype)];  // each settings change asks again
    if (flops == 0.0)
        flops = model::measure_gemm_gflops(device, dtype, gpu ? 4096 : 1024, 3) * 1e9;
    const model::TrainingEstimate e =
        model::estimate_training(m_engine.config(), dtype, adapterShape(s), trainingConfig(s), flops);
    FineTuneEstimate result;
    result.seconds = e.seconds;
    result.memoryBytes = e.memory_bytes;
    result.diskBytes = e.checkpoint_bytes + e.adapter_bytes;
    result.freeDiskBytes = QStorageInfo(m_dataFolder).bytesAvailable();
    // Where the weights are loaded already, the run can have what is free plus what they use.
    const bool here = device == m_engine.device();
    const auto weights = here ? static_cast<qint64>(static_cast<double>(m_engine.config().n_params()) *
                                                    model::bytes_per_weight(m_engine.dtype()))
                              : 0;
    if (device == "cpu") {
        result.availableMemoryBytes = model::available_ram_bytes() + weights;
    } else {
        for (const model::CudaDevice& d : model::cuda_devices()) {
            if (device == "cuda" ? d.index == 0 : device == "cuda:" + std::to_string(d.index))
                result.availableMemoryBytes = d.free_bytes + weights;
        }
    }
    result.device =
        QStringLiteral("%1, %2").arg(QString::fromStdString(device), QString::fromStdString(model::dtype_name(dtype)));
    return result;
}

qint64 FineTuner::create(const FineTuneSettings& s) {
    if (s.name.trimmed().isEmpty())
        throw std::runtime_error("give the new adapter a name");
    if (s.steps < 1 || s.segments < 2 || s.window < 1)
        throw std::runtime_error("a run needs at least 1 step, 2 segments per sample and a window of 1");
    adapterShape(s);  // an adapter file that cannot be read fails here, not mid-run
    return storage::Training(m_db).start_run(s.name.trimmed().toStdString(), toJson(s).toStdString());
}

QString FineTuner::runFolder(qint64 id) const {
    return QStringLiteral("%1/training/run-%2").arg(m_dataFolder).arg(id);
}

void FineTuner::setActiveUltraGist(const QString& source, int ratio) {
    m_ultragistSource = source;
    m_ultragistRatio = ratio;
}

void FineTuner::restoreActiveAdapter() {
    if (!m_ultragistSource.isEmpty())
        m_engine.load_ultragist(m_ultragistSource.toStdString(), m_ultragistRatio);
    else if (!m_activeAdapter.isEmpty())
        m_engine.load_adapter(m_activeAdapter.toStdString());
}

std::optional<FineTuneResult> FineTuner::run(qint64 id, const std::function<void(const FineTuneProgress&)>& on_progress,
                                             const std::atomic<bool>* stop) {
    storage::Training training(m_db);
    const auto record = training.run(id);
    if (!record)
        throw std::runtime_error("the fine-tuning run is no longer in the library");
    const FineTuneSettings s = fineTuneSettingsFromJson(QByteArray::fromStdString(record->config_json));
    const QString folder = runFolder(id);
    services::takeStep(training, id, services::RunEvent::Start);
    training.set_checkpoint(id, folder.toStdString());
    try {
        QStringList problems;
        const auto corpus = streams(s, &problems, stop);
        if (stop && stop->load()) {  // stopped while a file was read: nothing trained yet
            services::takeStep(training, id, services::RunEvent::Pause);
            return std::nullopt;
        }
        if (!problems.isEmpty())
            throw std::runtime_error(problems.join(QLatin1Char(' ')).toStdString());
        if (s.startAdapter == kFreshAdapter)
            m_engine.create_adapter(adapterShape(s), s.seed);
        else if (!s.startAdapter.isEmpty())
            m_engine.load_adapter(s.startAdapter.toStdString());
        else
            restoreActiveAdapter();  // a checkpoint, when there is one, replaces it in train()

        std::optional<FineTuneProgress> first, last;
        for (const auto& point : training.points(id)) {
            if (point.kind == "eval" && point.step == 0) {
                first.emplace();
                first->perplexityWithMemory = point.value;
            } else if (point.kind == "eval_plain" && point.step == 0 && first) {
                first->perplexityWithoutMemory = point.value;
            }
        }
        const model::TrainingSummary summary = m_engine.train(
            corpus, trainingConfig(s), folder.toStdString(),
            [&](const model::TrainingEvent& e) {
                FineTuneProgress p;
                p.runId = id;
                p.step = e.step;
                p.steps = e.steps;
                p.memoryBytes = e.memory_bytes;
                if (e.kind == model::TrainingEvent::Kind::Step) {
                    p.loss = e.loss;
                    p.tokensPerSecond = e.tokens_per_second;
                    p.etaSeconds = e.eta_seconds;
                    training.add_point(id, {e.step, "train", e.loss});
                } else if (e.kind == model::TrainingEvent::Kind::Evaluation) {
                    p.evaluation = true;
                    p.perplexityWithMemory = e.perplexity_with_memory;
                    p.perplexityWithoutMemory = e.perplexity_without_memory;
                    training.add_point(id, {e.step, "eval", e.perplexity_with_memory});
                    training.add_point(id, {e.step, "eval_plain", e.perplexity_without_memory});
                    if (!first)
                        first = p;
                    last = p;
                } else {
                    return;
                }
                if (on_progress)
                    on_progress(p);
            },
            stop);
        if (!summary.finished) {
            services::takeStep(training, id, services::RunEvent::Pause);
            restoreActiveAdapter();
            return std::nullopt;
        }
        QDir().mkpath(m_dataFolder + QStringLiteral("/adapters"));
        QString path = QStringLiteral("%1/adapters/%2.safetensors").arg(m_dataFolder, fileNameFor(s.name));
        for (int n = 2; QFileInfo::exists(path); ++n)
            path = QStringLiteral("%1/adapters/%2-%3.safetensors").arg(m_dataFolder, fileNameFor(s.name)).arg(n);
        m_engine.save_adapter(path.toStdString());
        const model::AdapterInfo info = m_engine.adapter_info();
        const int64_t adapter = training.add_adapter(s.name.trimmed().toStdString(), path.toStdString(),
                                                     info.fingerprint, info.base_fingerprint);
        training.set_adapter(id, adapter);
        services::takeStep(training, id, services::RunEvent::Finish);
        QDir(folder).removeRecursively();  // the adapter is saved; the optimiser's moments are not needed
        restoreActiveAdapter();

        FineTuneResult result;
        result.runId = id;
        result.adapterId = adapter;
        result.adapterName = s.name.trimmed();
        result.adapterPath = path;
        if (first) {
            result.before = first->perplexityWithMemory;
            result.beforeWithoutMemory = first->perplexityWithoutMemory;
        }
        if (last) {
            result.after = last->perplexityWithMemory;
            result.afterWithoutMemory = last->perplexityWithoutMemory;
        }
        return result;
    } catch (const std::exception& e) {
        services::takeStep(training, id, services::RunEvent::Fail, e.what());
        try {
            restoreActiveAdapter();
        } catch (const std::exception&) {
            // The active adapter's own failure is reported when it is next used.
        }
        throw;
    }
}

void FineTuner::cancel(qint64 id) {
    QDir(runFolder(id)).removeRecursively();
    storage::Training training(m_db);
    services::takeStep(training, id, services::RunEvent::Cancel);
}

QList<FineTuneRun> FineTuner::resumable() {
    QList<FineTuneRun> result;
    storage::Training training(m_db);
    for (const auto& run : training.runs()) {
        if (run.status != storage::RunState::Paused && run.status != storage::RunState::Running)
            continue;
        FineTuneRun r;
        r.id = run.id;
        r.interrupted = run.status == storage::RunState::Running;
        r.settings = fineTuneSettingsFromJson(QByteArray::fromStdString(run.config_json));
        for (const auto& point : training.points(run.id)) {
            FineTuneProgress p;
            p.runId = run.id;
            p.step = point.step;
            p.steps = r.settings.steps;
            if (point.kind == "train") {
                p.loss = point.value;
                r.step = std::max<qint64>(r.step, point.step);
            } else if (point.kind == "eval") {
                p.evaluation = true;
                p.perplexityWithMemory = point.value;
            } else {
                continue;  // eval_plain: shown with eval_memory of the same step
            }
            r.history << p;
        }
        result << r;
    }
    return result;
}

}  // namespace uio::app
