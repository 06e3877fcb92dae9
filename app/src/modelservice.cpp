#include "uio/app/modelservice.h"

#include "finetuner.h"
#include "uio/common/units.h"
#include "uio/model/engine.h"
#include "uio/model/error.h"
#include "uio/model/model_maker.h"
#include "uio/model/runtime.h"
#include "uio/services/chatservice.h"
#include "uio/services/compressionjob.h"
#include "uio/services/compressor.h"
#include "uio/storage/jobs.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QMetaObject>

#include <deque>
#include <map>
#include <mutex>

namespace uio::app {

// Runs on the service's thread; every member is touched only there, except the atomics.
class ModelWorker : public QObject {
    Q_OBJECT

public:
    explicit ModelWorker(ModelService& service) : m_service(service) {}
    ~ModelWorker() override { yieldJob(); }  // on its own thread, as the thread finishes

    std::atomic<bool> stopAnswer{false};
    std::atomic<bool> questionWaiting{false};
    std::atomic<bool> shuttingDown{false};  // jobs stop but stay queued for the next start
    std::atomic<bool> stopFineTune{false};

    // The pause/cancel switch of a document's job, shared by the calling thread and the worker.
    std::shared_ptr<std::atomic<services::JobControl>> control(qint64 document) {
        std::lock_guard lock(m_controlsMutex);
        auto& slot = m_controls[document];
        if (!slot)
            slot = std::make_shared<std::atomic<services::JobControl>>(services::JobControl::Run);
        return slot;
    }

    void learnTokenCounts(const std::map<QString, qint64>& counts) {
        if (m_fineTuner)
            m_fineTuner->learn(counts);
    }

    void setReaderLimits(const ingest::ReaderLimits& limits) {
        m_readerLimits = limits;
        if (m_fineTuner)
            m_fineTuner->setReaderLimits(limits);
    }

    void configure(const ModelSettings& settings) {
        yieldJob();  // before the engine it compresses with goes
        m_settings = settings;
        m_queue.clear();
        m_fineTuner.reset();
        m_chats.reset();
        m_compressor.reset();
        m_engine.reset();
        m_library.reset();
        try {
            QStringList notices;
            model::EngineOptions options;
            options.device = settings.device.toStdString();
            options.dtype = model::parse_dtype(settings.dtype.toStdString());
            if (options.device != "cpu" && !model::runtime_info().cuda_available) {
                notices << tr("No CUDA device is available: running on the CPU, which is much slower.");
                options.device = "cpu";
            }
            model::set_cpu_threads(settings.cpuThreads);  // on this thread: the one that runs the model
            m_library = std::make_unique<storage::Library>(settings.databasePath.toStdString());
            storage::Jobs(m_library->db()).requeue_interrupted();
            try {
                m_engine = model::Engine::load(settings.modelDir.toStdString(), options);
            } catch (const model::OutOfMemory& e) {
                if (options.device == "cpu")
                    throw;
                notices << tr("Not enough GPU memory for this model (%1): running on the CPU, which is much slower.")
                               .arg(QString::fromUtf8(e.what()));
                options.device = "cpu";
                m_engine = model::Engine::load(settings.modelDir.toStdString(), options);
            }
            if (settings.ultragist) {
                const QString source =
                    settings.ultragistSource.isEmpty() ? settings.modelDir : settings.ultragistSource;
                m_engine->load_ultragist(source.toStdString(), settings.ultragistRatio);
            } else {
                m_engine->load_adapter(settings.adapterPath.toStdString());
            }
            m_compressor =
                std::make_unique<services::Compressor>(*m_engine, m_library->db(), settings.compressionBatch);
            m_chats = std::make_unique<services::ChatService>(*m_engine, m_library->db(), *m_compressor);
            m_fineTuner = std::make_unique<FineTuner>(
                *m_engine, m_library->db(), QFileInfo(settings.databasePath).absolutePath(), settings.adapterPath);
            m_fineTuner->setReaderLimits(m_readerLimits);
            if (settings.ultragist)
                m_fineTuner->setActiveUltraGist(
                    settings.ultragistSource.isEmpty() ? settings.modelDir : settings.ultragistSource,
                    settings.ultragistRatio);
            // Jobs a killed or closed program left behind resume at their first missing segment.
            for (const auto& job : storage::Jobs(m_library->db()).pending()) {
                if (job.state != storage::JobState::Paused) {
                    enqueue(job.document_id);
                }
            }
            m_device = options.device;
            reportMemory();
            const storage::MemoryKey key = m_compressor->key_for({});
            Q_EMIT m_service.modelIdentified(QString::fromStdString(key.model_fingerprint),
                                             QString::fromStdString(key.adapter_fingerprint));
            Q_EMIT m_service.modelReady(tr("%1 on %2 (%3)")
                                            .arg(QFileInfo(settings.modelDir).fileName(),
                                                 QString::fromStdString(options.device), settings.dtype),
                                        notices);
        } catch (const std::exception& e) {
            m_fineTuner.reset();
            m_chats.reset();
            m_compressor.reset();
            m_engine.reset();
            Q_EMIT m_service.modelFailed(QString::fromUtf8(e.what()));
        }
    }

    void enqueue(qint64 document) {
        if (std::find(m_queue.begin(), m_queue.end(), document) == m_queue.end()) {
            m_queue.push_back(document);
            if (m_compressor) {
                try {
                    services::jobFor(*m_compressor, m_library->db(), document);  // a closed program resumes it
                } catch (const std::exception& e) {
                    m_queue.pop_back();
                    Q_EMIT m_service.compressionFailed(document, QString::fromUtf8(e.what()));
                    return;
                }
            }
        }
        scheduleNext();
    }

    void ask(qint64 chat, const QString& question, const AskSettings& settings, bool regenerate) {
        questionWaiting = false;
        if (!m_chats) {
            Q_EMIT m_service.answerFailed(chat, tr("No model is loaded: set one up first."));
            return;
        }
        stopAnswer = false;
        services::AskOptions options;
        options.system_prompt = settings.systemPrompt.toStdString();
        options.max_new_tokens = settings.maxNewTokens;
        options.sampling.temperature = static_cast<float>(settings.temperature);
        options.sampling.top_p = static_cast<float>(settings.topP);
        options.sampling.seed = settings.seed;
        options.passage_share = settings.passageShare;
        options.untrained_memories = settings.untrainedMemories;
        options.continuation = m_settings.continuation;
        try {
            auto onText = [&](const std::string& piece) {
                Q_EMIT m_service.answerText(chat, QString::fromStdString(piece));
            };
            const services::Answer answer =
                regenerate ? m_chats->regenerate(chat, options, onText, &stopAnswer)
                           : m_chats->ask(chat, question.toStdString(), options, onText, &stopAnswer);
            Q_EMIT m_service.answerFinished(chat, answer.notices);
            reportMemory();
        } catch (const std::exception& e) {
            Q_EMIT m_service.answerFailed(chat, QString::fromUtf8(e.what()));
        }
        scheduleNext();  // compression paused for the question goes on
    }

    // Runs `work` with the fine-tuner, or says that no model is loaded.
    template <typename Work>
    void withFineTuner(qint64 runId, Work work) {
        if (!m_fineTuner) {
            Q_EMIT m_service.fineTuneFailed(runId, tr("No model is loaded: set one up first."));
            return;
        }
        try {
            work(*m_fineTuner);
        } catch (const std::exception& e) {
            Q_EMIT m_service.fineTuneFailed(runId, QString::fromUtf8(e.what()));
        }
    }

    void fineTune(qint64 runId, const FineTuneSettings* fresh) {
        questionWaiting = false;  // it only held compression back until now
        // A run on another device or precision loads the model there first, and back after.
        FineTuneSettings wanted;
        if (fresh) {
            wanted = *fresh;
        } else if (m_library) {
            if (const auto run = storage::Training(m_library->db()).run(runId))
                wanted = fineTuneSettingsFromJson(QByteArray::fromStdString(run->config_json));
        }
        const ModelSettings usual = m_settings;
        ModelSettings forRun = usual;
        if (!wanted.device.isEmpty())
            forRun.device = wanted.device;
        if (!wanted.dtype.isEmpty())
            forRun.dtype = wanted.dtype;
        const bool elsewhere = forRun.device != usual.device || forRun.dtype != usual.dtype;
        if (elsewhere)
            configure(forRun);
        runFineTune(runId, fresh);
        if (elsewhere)
            configure(usual);
        reportMemory();
        scheduleNext();  // compression held back by the run goes on
    }

    void runFineTune(qint64 runId, const FineTuneSettings* fresh) {
        withFineTuner(runId, [&](FineTuner& tuner) {
            if (fresh) {
                runId = tuner.create(*fresh);
                Q_EMIT m_service.fineTuneStarted(runId);
            }
            stopFineTune = false;
            try {
                const auto result = tuner.run(
                    runId,
                    [&](const FineTuneProgress& p) {
                        Q_EMIT m_service.fineTuneProgress(p);
                        stopFineTune = stopFineTune || shuttingDown;
                    },
                    &stopFineTune);
                if (result)
                    Q_EMIT m_service.fineTuneFinished(*result);
                else
                    Q_EMIT m_service.fineTunePaused(runId);
            } catch (const std::exception& e) {
                Q_EMIT m_service.fineTuneFailed(runId, QString::fromUtf8(e.what()));
            }
        });
    }

    void cancelFineTune(qint64 runId) {
        withFineTuner(runId, [&](FineTuner& tuner) {
            tuner.cancel(runId);
            Q_EMIT m_service.fineTuneCancelled(runId);
        });
    }

private:
    void reportMemory() {
        const model::MemoryUse use = model::memory_in_use(m_device);
        Q_EMIT m_service.memoryInUse(use.resident_bytes, use.gpu_used_bytes, use.gpu_total_bytes);
    }

    void scheduleNext() {
        if (!m_scheduled) {
            m_scheduled = true;
            QMetaObject::invokeMethod(
                this, [this] { runNext(); }, Qt::QueuedConnection);
        }
    }

    // One batch of the first job per turn of the event loop: whatever else is asked of this thread
    // (a question, a model folder to check, a corpus to count) waits for one batch at most. A
    // question waiting holds the job back until the answer is done.
    void runNext() {
        m_scheduled = false;
        if (m_queue.empty() || !m_compressor || questionWaiting || shuttingDown)
            return;
        const qint64 document = m_queue.front();
        try {
            if (!m_job || m_jobDocument != document) {
                yieldJob();
                m_job = std::make_unique<services::CompressionJobRun>(*m_compressor, m_library->db(), document);
                m_jobDocument = document;
            }
            if (m_job->step(control(document)->load())) {
                const services::CompressionProgress& p = m_job->progress();
                reportMemory();
                Q_EMIT m_service.compressionProgress(document, p.segments_done, p.segments_total, p.tokens_per_second,
                                                     p.eta_seconds);
            } else {
                const storage::JobState state = m_job->state();
                const int64_t encoded = m_job->outcome().segments_encoded;
                m_job.reset();
                m_queue.pop_front();
                if (state == storage::JobState::Done)
                    Q_EMIT m_service.compressionFinished(document, encoded);
                else
                    Q_EMIT m_service.compressionPaused(document);  // paused or cancelled
            }
        } catch (const std::exception& e) {
            m_job.reset();
            m_queue.pop_front();
            Q_EMIT m_service.compressionFailed(document, QString::fromUtf8(e.what()));
        }
        if (!m_queue.empty())
            scheduleNext();
    }

    // The job in progress stops between two batches and stays queued (a closing program, a new
    // model); it goes on from there when it is next run.
    void yieldJob() {
        if (!m_job)
            return;
        try {
            m_job->step(services::JobControl::Yield);
        } catch (const std::exception&) {
            // Recorded as failed when the disk allowed it; the next start finds it again.
        }
        m_job.reset();
    }

    ModelService& m_service;
    std::unique_ptr<storage::Library> m_library;
    std::unique_ptr<model::Engine> m_engine;
    std::unique_ptr<services::Compressor> m_compressor;
    std::unique_ptr<services::CompressionJobRun> m_job;  // the first document's, between batches
    qint64 m_jobDocument = 0;
    std::unique_ptr<services::ChatService> m_chats;
    std::unique_ptr<FineTuner> m_fineTuner;
    std::string m_device = "cpu";
    ModelSettings m_settings;  // as configured: what a run on another device goes back to
    ingest::ReaderLimits m_readerLimits = ingest::ReaderLimits::defaults();  // for the files of a fine-tuning corpus
    std::deque<qint64> m_queue;
    bool m_scheduled = false;
    std::mutex m_controlsMutex;
    std::map<qint64, std::shared_ptr<std::atomic<services::JobControl>>> m_controls;
};

namespace {

QString parameterCount(double n) {
    if (n < 1e9)
        return ModelService::tr("%1 million").arg(n / 1e6, 0, 'f', n < 10e6 ? 1 : 0);
    return ModelService::tr("%1 billion").arg(n / 1e9, 0, 'f', 1);
}

}  // namespace

ModelService::ModelService(QObject* parent) : QObject(parent) {
    m_counting.setMaxThreadCount(1);
    qRegisterMetaType<ModelSettings>();
    qRegisterMetaType<AskSettings>();
    qRegisterMetaType<DeviceChoice>();
    qRegisterMetaType<QList<DeviceChoice>>();
    qRegisterMetaType<FineTuneSettings>();
    qRegisterMetaType<CorpusCount>();
    qRegisterMetaType<FineTuneEstimate>();
    qRegisterMetaType<FineTuneProgress>();
    qRegisterMetaType<FineTuneResult>();
    qRegisterMetaType<QList<FineTuneRun>>();
    m_worker = new ModelWorker(*this);
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.setObjectName(QStringLiteral("model"));
    m_thread.start();
}

ModelService::~ModelService() {
    m_closing = true;  // a file being counted stops being read
    m_pool.waitForDone();
    m_counting.waitForDone();
    m_worker->stopAnswer = true;
    m_worker->stopFineTune = true;  // a run keeps a checkpoint and is offered again at the next start
    m_worker->shuttingDown = true;
    m_thread.quit();
    m_thread.wait();
}

void ModelService::configure(const ModelSettings& settings) {
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, settings] { worker->configure(settings); }, Qt::QueuedConnection);
}

void ModelService::compress(qint64 documentId) {
    *m_worker->control(documentId) = services::JobControl::Run;
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, documentId] { worker->enqueue(documentId); }, Qt::QueuedConnection);
}

void ModelService::pause(qint64 documentId) {
    *m_worker->control(documentId) = services::JobControl::Pause;
}

void ModelService::cancel(qint64 documentId) {
    *m_worker->control(documentId) = services::JobControl::Cancel;
}

void ModelService::ask(qint64 chatId, const QString& question, const AskSettings& settings) {
    m_worker->questionWaiting = true;  // pauses compression at the next batch boundary
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, chatId, question, settings] { worker->ask(chatId, question, settings, false); },
        Qt::QueuedConnection);
}

void ModelService::regenerate(qint64 chatId, const AskSettings& settings) {
    m_worker->questionWaiting = true;
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, chatId, settings] { worker->ask(chatId, {}, settings, true); },
        Qt::QueuedConnection);
}

void ModelService::stopAnswer() {
    m_worker->stopAnswer = true;
}

void ModelService::createAdapter(const ModelSettings& settings) {
    QMetaObject::invokeMethod(
        m_worker,
        [this, worker = m_worker, settings] {
            try {
                // From the memory-mapped checkpoint: no second copy of the model is loaded.
                QDir().mkpath(QFileInfo(settings.adapterPath).path());
                model::create_adapter_file(settings.modelDir.toStdString(), model::AdapterConfig{}, 0,
                                           settings.adapterPath.toStdString());
                Q_EMIT adapterCreated(settings);
                worker->configure(settings);
            } catch (const std::exception& e) {
                Q_EMIT modelFailed(QString::fromUtf8(e.what()));
            }
        },
        Qt::QueuedConnection);
}

namespace {

// On the model thread: a demo's settings in dir; `prepare` makes its files there and says so,
// then the demo is loaded. A failure is reported as the model's.
template <typename Prepare>
void startDemo(ModelService& service, ModelWorker* worker, const QString& dir, const QString& databasePath,
               bool continuation, Prepare prepare) {
    QMetaObject::invokeMethod(
        worker,
        [&service, worker, dir, databasePath, continuation, prepare] {
            ModelSettings settings;
            settings.modelDir = dir + QStringLiteral("/model");
            settings.adapterPath = dir + QStringLiteral("/adapter.safetensors");
            settings.databasePath = databasePath;
            settings.continuation = continuation;
            try {
                prepare(settings);
                worker->configure(settings);
            } catch (const std::exception& e) {
                Q_EMIT service.modelFailed(QString::fromUtf8(e.what()));
            }
        },
        Qt::QueuedConnection);
}

// Copies the story demo's files out of the program, each only when missing: an adapter
// fine-tuned in place survives the next start of the demo. (QFile::copy writes a temporary file
// and renames it, so a copy cut short leaves nothing behind.)
void copyStoryDemo(const ModelSettings& settings, const QString& stories) {
    const std::pair<const char*, QString> files[] = {
        {"config.json", settings.modelDir + QStringLiteral("/config.json")},
        {"model.safetensors", settings.modelDir + QStringLiteral("/model.safetensors")},
        {"tokenizer.model", settings.modelDir + QStringLiteral("/tokenizer.model")},
        {"LICENSE", settings.modelDir + QStringLiteral("/LICENSE")},
        {"adapter.safetensors", settings.adapterPath},
        {"mia-and-pip.txt", stories},
    };
    for (const auto& [name, target] : files) {
        const QFileInfo source(QStringLiteral(":/story-demo/") + QLatin1String(name));
        if (!source.exists())
            throw std::runtime_error("this build of UIO Desk lacks the story demo's " + std::string(name));
        const QFileInfo there(target);
        if (there.exists())
            continue;
        QDir().mkpath(there.absolutePath());
        QFile file(source.filePath());
        if (!file.copy(target))
            throw std::runtime_error(
                QStringLiteral("cannot write the story demo to %1 (%2): free some disk space and try again.")
                    .arg(target, file.errorString())
                    .toStdString());
        QFile::setPermissions(target, QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther);
    }
}

}  // namespace

void ModelService::useDemoModel(const QString& dir, const QString& databasePath) {
    startDemo(*this, m_worker, dir, databasePath, false, [this](const ModelSettings& settings) {
        if (!QFileInfo::exists(settings.adapterPath)) {
            model::make_model(settings.modelDir.toStdString(), {"tiny", 0, model::DType::F32, 0});
            auto engine = model::Engine::load(settings.modelDir.toStdString());
            engine->create_adapter({256, 16, 8, 16.0}, 0);
            engine->save_adapter(settings.adapterPath.toStdString());
        }
        Q_EMIT demoCreated(settings);
    });
}

void ModelService::useStoryDemo(const QString& dir, const QString& databasePath) {
    // A story model carries text on; it does not answer.
    startDemo(*this, m_worker, dir, databasePath, true, [this, dir](const ModelSettings& settings) {
        const QString stories = dir + QStringLiteral("/Mia and Pip.txt");
        copyStoryDemo(settings, stories);
        Q_EMIT storyDemoCreated(settings, stories);
    });
}

void ModelService::inspectModelFolder(const QString& dir) {
    // Reads files only, never the loaded model: not on the model thread.
    m_pool.start([this, dir] {
        try {
            const model::ModelFolderInfo info = model::inspect_model_folder(dir.toStdString());
            if (!info.has_tokenizer) {
                Q_EMIT modelFolderInspected(
                    dir, false,
                    tr("%1 has no tokenizer (tokenizer.model or tokenizer.json): copy it from the model's download "
                       "into this folder.")
                        .arg(dir));
                return;
            }
            const double n = static_cast<double>(info.n_parameters);
            Q_EMIT modelFolderInspected(dir, true,
                                        tr("Llama, %1 layers, %2 parameters: needs about %3 in bf16 or "
                                           "f16, %4 in f32.")
                                            .arg(info.config.n_layer)
                                            .arg(parameterCount(n), byteSize(2 * n), byteSize(4 * n)));
            Q_EMIT ultraGistInFolder(dir, model::has_ultragist_tensors(dir.toStdString()));
        } catch (const std::exception& e) {
            Q_EMIT modelFolderInspected(dir, false, QString::fromUtf8(e.what()));
        }
    });
}

void ModelService::listDevices() {
    m_pool.start([this] {
        QList<DeviceChoice> devices;
        for (const model::CudaDevice& d : model::cuda_devices()) {
            devices << DeviceChoice{QStringLiteral("cuda:%1").arg(d.index),
                                    QString::fromStdString(d.name),
                                    d.free_bytes,
                                    d.total_bytes,
                                    QStringLiteral("bf16"),
                                    tr("GPUs multiply bf16 natively, at twice the speed of f32 and half the memory")};
        }
        const model::PrecisionChoice cpu = model::fastest_cpu_precision();
        devices << DeviceChoice{QStringLiteral("cpu"),
                                tr("CPU, %1 threads").arg(QThread::idealThreadCount()),
                                model::available_ram_bytes(),
                                0,
                                QString::fromStdString(model::dtype_name(cpu.dtype)),
                                QString::fromStdString(cpu.reason)};
        Q_EMIT devicesListed(devices);
    });
}

void ModelService::countCorpus(const FineTuneSettings& settings) {
    QMetaObject::invokeMethod(
        m_worker,
        [this, worker = m_worker, settings] {
            // Only the counter is made here. Reading and tokenizing go to the counting thread, one
            // request after another, so that the last answer is for the last request.
            worker->withFineTuner(0, [&](FineTuner& tuner) {
                m_counting.start([this, worker, counter = tuner.counter(settings), settings] {
                    std::map<QString, qint64> learned;
                    const CorpusCount count = counter.count(settings, &learned, &m_closing);
                    QMetaObject::invokeMethod(
                        worker, [worker, learned] { worker->learnTokenCounts(learned); }, Qt::QueuedConnection);
                    Q_EMIT corpusCounted(count);
                });
            });
        },
        Qt::QueuedConnection);
}

void ModelService::estimateFineTune(const FineTuneSettings& settings) {
    QMetaObject::invokeMethod(
        m_worker,
        [this, worker = m_worker, settings] {
            worker->withFineTuner(0, [&](FineTuner& tuner) { Q_EMIT fineTuneEstimated(tuner.estimate(settings)); });
        },
        Qt::QueuedConnection);
}

void ModelService::startFineTune(const FineTuneSettings& settings) {
    m_worker->questionWaiting = true;  // compression yields at its next batch
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, settings] { worker->fineTune(0, &settings); }, Qt::QueuedConnection);
}

void ModelService::resumeFineTune(qint64 runId) {
    m_worker->questionWaiting = true;
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, runId] { worker->fineTune(runId, nullptr); }, Qt::QueuedConnection);
}

void ModelService::setReaderLimits(const ingest::ReaderLimits& limits) {
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, limits] { worker->setReaderLimits(limits); }, Qt::QueuedConnection);
}

void ModelService::pauseFineTune() {
    m_worker->stopFineTune = true;
}

void ModelService::cancelFineTune(qint64 runId) {
    m_worker->stopFineTune = true;
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, runId] { worker->cancelFineTune(runId); }, Qt::QueuedConnection);
}

void ModelService::listFineTuneRuns() {
    QMetaObject::invokeMethod(
        m_worker,
        [this, worker = m_worker] {
            worker->withFineTuner(0, [&](FineTuner& tuner) { Q_EMIT fineTuneRunsListed(tuner.resumable()); });
        },
        Qt::QueuedConnection);
}

}  // namespace uio::app

#include "modelservice.moc"
