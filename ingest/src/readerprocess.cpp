#include "uio/ingest/readerprocess.h"

#include "readerprotocol.h"
#include "uio/common/units.h"

#include <QCoreApplication>
#include <QFileInfo>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

// Under AddressSanitizer an address-space limit cannot be used (its shadow memory alone reserves
// terabytes); ASan's own resident-set limit stands in for it.
#if defined(__SANITIZE_ADDRESS__)
#define UIO_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UIO_UNDER_ASAN 1
#endif
#endif

namespace uio::ingest {

namespace {

constexpr qsizetype kStderrTail = 4096;

QString fileName(const QString& path) {
    return QFileInfo(path).fileName();
}

}  // namespace

ReaderLimits ReaderLimits::defaults() {
    const qint64 ram = static_cast<qint64>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
    const qint64 memory = std::clamp<qint64>(ram / 4, 500 * kMegabyte, 2000 * kMegabyte);
    return {memory, 120};
}

QString readerProgram() {
    if (const QString chosen = qEnvironmentVariable("UIO_READER_PROGRAM"); !chosen.isEmpty())
        return chosen;
    const QString dir = QCoreApplication::applicationDirPath();
    for (const QString& candidate :
         {dir + QStringLiteral("/uio-reader"), dir + QStringLiteral("/../libexec/uio-desk/uio-reader")}) {
        if (QFileInfo(candidate).isExecutable())
            return QFileInfo(candidate).canonicalFilePath();
    }
    return {};
}

ReaderProcess::ReaderProcess(const ReaderLimits& limits, const QString& program, QObject* parent)
    : QObject(parent),
      m_limits(limits),
      m_program(program),
      // Nothing larger than the reader could hold is believed, or buffered.
      m_output(
          std::make_unique<reader::OutputParser>(limits.memoryBytes > 0 ? limits.memoryBytes : reader::kMaxTextBytes)) {
    m_deadline.setSingleShot(true);
    connect(&m_deadline, &QTimer::timeout, this, [this] {
        m_timedOut = true;
        m_process.kill();
    });
    connect(&m_process, &QProcess::readyReadStandardOutput, this, &ReaderProcess::readOutput);
    connect(&m_process, &QProcess::readyReadStandardError, this, &ReaderProcess::readErrors);
    connect(&m_process, &QProcess::finished, this, &ReaderProcess::ended);
    connect(&m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart)
            fail(IngestError::Kind::ReaderFailed, tr("The document reader (%1) cannot be started (%2); if it is "
                                                     "missing, reinstall UIO Desk.")
                                                      .arg(m_program, m_process.errorString()));
    });
}

ReaderProcess::~ReaderProcess() {
    // No handler runs for a reader being destroyed, whatever the process does meanwhile.
    m_done = true;
    disconnect(&m_process, nullptr, this, nullptr);
    m_deadline.stop();
    if (m_process.state() != QProcess::NotRunning) {
        m_process.kill();
        m_process.waitForFinished();
    }
}

void ReaderProcess::startRender(const QString& path, int page, double dpi, const QByteArray& password) {
    m_render = {QStringLiteral("--render"), QString::number(page), QStringLiteral("--dpi"), QString::number(dpi)};
    start(path, password);
}

void ReaderProcess::start(const QString& path, const QByteArray& password) {
    m_path = path;
    if (m_program.isEmpty()) {
        QMetaObject::invokeMethod(
            this,
            [this] {
                fail(IngestError::Kind::ReaderFailed,
                     tr("The document reader (uio-reader) is missing next to this program: reinstall UIO Desk."));
            },
            Qt::QueuedConnection);
        return;
    }
    const qint64 memory = m_limits.memoryBytes;
#ifdef UIO_UNDER_ASAN
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    const QString asan = environment.value(QStringLiteral("ASAN_OPTIONS"));
    environment.insert(QStringLiteral("ASAN_OPTIONS"),
                       asan + (asan.isEmpty() ? QString() : QStringLiteral(":")) +
                           QStringLiteral("hard_rss_limit_mb=%1").arg(std::max<qint64>(1, memory >> 20)));
    m_process.setProcessEnvironment(environment);
#endif
    // Runs in the child between fork and exec: only async-signal-safe calls.
    m_process.setChildProcessModifier([memory] {
        const rlimit none{0, 0};
        setrlimit(RLIMIT_CORE, &none);  // a crash on a hostile file leaves no core file behind
        // Ctrl+C in a terminal reaches the whole process group: the parent stops the reader itself
        // (cancel()), rather than the reader dying as if the file had crashed it.
        std::signal(SIGINT, SIG_IGN);
#ifdef UIO_UNDER_ASAN
        static_cast<void>(memory);  // the environment carries the limit
#else
        if (memory > 0) {
            const rlimit space{static_cast<rlim_t>(memory), static_cast<rlim_t>(memory)};
            setrlimit(RLIMIT_AS, &space);
        }
#endif
    });
    QStringList arguments;
    if (!password.isEmpty())
        arguments << QStringLiteral("--password-stdin");
    arguments << m_render << path;
    m_process.start(m_program, arguments);
    if (m_done)
        return;  // it could not be started: failed() has been emitted
    if (!password.isEmpty())
        m_process.write(password);
    m_process.closeWriteChannel();
    m_started.start();
    if (m_limits.seconds > 0)
        m_deadline.start(std::chrono::seconds(m_limits.seconds));
}

void ReaderProcess::wait(int ms) {
    QCoreApplication::sendPostedEvents(this);  // a failure start() could only queue
    if (m_done)
        return;
    if (m_process.state() != QProcess::NotRunning)
        m_process.waitForFinished(ms);  // delivers output, errors and the end as they come
    if (!m_done && m_limits.seconds > 0 && m_started.isValid() && m_started.elapsed() >= m_limits.seconds * 1000LL) {
        m_timedOut = true;
        m_process.kill();
        m_process.waitForFinished(-1);
    }
}

void ReaderProcess::cancel() {
    if (m_done)
        return;
    m_cancelled = true;
    if (m_process.state() == QProcess::NotRunning) {
        fail(IngestError::Kind::Cancelled, tr("Reading %1 was cancelled.").arg(fileName(m_path)));
    } else {
        m_process.kill();  // ended() reports it
    }
}

// What the reader says on standard error, looked through as it arrives for the signs of memory
// running out (a library that aborts, or a sanitizer's limit, prints them before dying).
void ReaderProcess::readErrors() {
    static const QByteArrayList exhausted{"Out of memory", "out of memory", "bad_alloc", "rss limit",
                                          "Cannot allocate memory"};
    const QByteArray text = m_errors.right(64) + m_process.readAllStandardError();
    for (const QByteArray& sign : exhausted)
        m_outOfMemory = m_outOfMemory || text.contains(sign);
    m_errors = (m_errors + text.mid(std::min<qsizetype>(64, m_errors.size()))).right(kStderrTail);
}

void ReaderProcess::readOutput() {
    m_output->feed(m_process.readAllStandardOutput());
    if (const auto p = m_output->takeProgress(); p && !m_done)
        Q_EMIT progress(p->first, p->second);
}

void ReaderProcess::ended(int exitCode, QProcess::ExitStatus status) {
    if (m_done)
        return;
    m_deadline.stop();
    readOutput();
    readErrors();
    const QString name = fileName(m_path);
    if (m_output->state() == reader::OutputParser::State::Document) {
        m_done = true;  // complete before a cancel or the limit could stop it: kept
        Q_EMIT finished(m_output->document());
        return;
    }
    if (m_output->state() == reader::OutputParser::State::Page) {
        m_done = true;
        Q_EMIT rendered(m_output->page());
        return;
    }
    if (m_cancelled)
        return fail(IngestError::Kind::Cancelled, tr("Reading %1 was cancelled.").arg(name));
    if (m_timedOut) {
        return fail(
            IngestError::Kind::TimeLimit,
            tr("%1 was stopped after %2: the file may be damaged or built to exhaust the reader. If you "
               "trust it, retry with a longer time limit (Settings, or --time-limit of uio ingest and uio train).")
                .arg(name, duration(m_limits.seconds)));
    }
    const QString memoryMessage =
        tr("%1 was stopped when it needed more than %2 of memory: the file may be damaged or built to exhaust "
           "memory. If you trust it, retry with a larger memory limit (Settings, or --memory-limit of uio ingest and "
           "uio train).")
            .arg(name, byteSize(static_cast<double>(m_limits.memoryBytes)));
    switch (m_output->state()) {
        case reader::OutputParser::State::Document:
        case reader::OutputParser::State::Page:
            break;  // handled above
        case reader::OutputParser::State::Error:
            if (m_output->errorKind() == IngestError::Kind::MemoryLimit)
                return fail(IngestError::Kind::MemoryLimit, memoryMessage);
            return fail(m_output->errorKind(), m_output->errorMessage());
        case reader::OutputParser::State::Malformed:
            return fail(IngestError::Kind::ReaderFailed,
                        tr("The reader's answer for %1 cannot be trusted (%2); the file may be built to attack "
                           "the reader, so it was not added.")
                            .arg(name, m_output->errorMessage()));
        case reader::OutputParser::State::Reading:
            break;
    }
    // Ended without a final record: out of memory inside a library that aborts, or a crash.
    if (m_outOfMemory)
        return fail(IngestError::Kind::MemoryLimit, memoryMessage);
    if (!m_output->greeted()) {
        return fail(IngestError::Kind::ReaderFailed,
                    tr("The document reader could not start (%1): a memory limit of %2 may be too small for it; "
                       "raise it in Settings (or --memory-limit of uio ingest and uio train) and retry.")
                        .arg(status == QProcess::CrashExit ? tr("it crashed") : tr("exit code %1").arg(exitCode),
                             byteSize(static_cast<double>(m_limits.memoryBytes))));
    }
    const QString how = status == QProcess::CrashExit ? tr("it crashed") : tr("exit code %1").arg(exitCode);
    fail(IngestError::Kind::ReaderFailed,
         tr("The reader stopped unexpectedly on %1 (%2): the file is damaged or malformed. Nothing else is "
            "affected; a new copy of the file may read.")
             .arg(name, how));
}

void ReaderProcess::fail(IngestError::Kind kind, const QString& message) {
    if (m_done)
        return;
    m_done = true;
    m_deadline.stop();
    Q_EMIT failed(kind, message);
}

IngestedDocument readContained(const QString& path, const IngestOptions& options, const ReaderLimits& limits,
                               const QString& program) {
    ReaderProcess reader(limits, program);
    std::optional<IngestedDocument> document;
    std::optional<IngestError> error;
    QObject::connect(&reader, &ReaderProcess::progress, [&](int done, int total) {
        if (options.progress)
            options.progress(done, total);
    });
    QObject::connect(&reader, &ReaderProcess::finished, [&](const IngestedDocument& d) { document = d; });
    QObject::connect(&reader, &ReaderProcess::failed,
                     [&](IngestError::Kind kind, const QString& message) { error.emplace(kind, message); });
    reader.start(path, options.password);
    while (!document && !error) {
        if (options.cancel && options.cancel->load())
            reader.cancel();  // Ctrl+C or a stop request: looked at ten times a second
        reader.wait(100);
    }
    if (error)
        throw *error;
    return std::move(*document);
}

}  // namespace uio::ingest
