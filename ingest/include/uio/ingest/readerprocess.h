// Reading untrusted documents in a contained process. Every document is read by its own uio-reader
// child with limits on memory and time; a file that crashes the reader, exhausts its memory or
// never finishes becomes an IngestError for that file alone, and the caller goes on. Pages of
// PDFs are drawn for the screen the same way.
#pragma once

#include "uio/ingest/document.h"
#include "uio/ingest/ingest.h"
#include "uio/ingest/ingesterror.h"

#include <QElapsedTimer>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QTimer>

#include <memory>

namespace uio::ingest {

namespace reader {
class OutputParser;
}

struct ReaderLimits {
    qint64 memoryBytes = 0;  // address space of the reader (resident set under sanitizers)
    int seconds = 0;         // wall-clock time for one document

    // A quarter of the machine's memory, at most 2 GB and at least 500 MB; 2 minutes.
    static ReaderLimits defaults();
};

// The uio-reader program: $UIO_READER_PROGRAM when set (programs run from elsewhere, such as the
// tests), else beside the running program (the build folder) or in ../libexec/uio-desk (installed);
// empty when there is none.
QString readerProgram();

// One document read by one child process. Lives on a thread with an event loop; signals come
// from it. Exactly one of finished and failed follows start.
class ReaderProcess : public QObject {
    Q_OBJECT

public:
    explicit ReaderProcess(const ReaderLimits& limits, const QString& program = readerProgram(),
                           QObject* parent = nullptr);
    ~ReaderProcess() override;

    void start(const QString& path, const QByteArray& password = {});
    // Draws a page of a PDF instead of reading it: rendered or failed follows.
    void startRender(const QString& path, int page, double dpi, const QByteArray& password = {});
    void cancel();  // failed(Cancelled) follows
    // For a thread that must not run its event loop meanwhile: waits up to `ms` for the reader,
    // emitting this object's signals as things happen and enforcing the time limit itself.
    void wait(int ms);
    QString path() const { return m_path; }

Q_SIGNALS:
    void progress(int done, int total);
    void finished(const uio::ingest::IngestedDocument& document);
    void rendered(const uio::ingest::RenderedPage& page);
    void failed(uio::ingest::IngestError::Kind kind, const QString& message);

private:
    void readOutput();
    void readErrors();
    void ended(int exitCode, QProcess::ExitStatus status);
    void fail(IngestError::Kind kind, const QString& message);

    ReaderLimits m_limits;
    QString m_program;
    QString m_path;
    QStringList m_render;  // the arguments that make the reader draw a page
    QProcess m_process;
    QTimer m_deadline;        // the time limit, with an event loop
    QElapsedTimer m_started;  // the time limit, in wait()
    std::unique_ptr<reader::OutputParser> m_output;
    QByteArray m_errors;  // the tail of the child's standard error
    bool m_outOfMemory = false;
    bool m_done = false;
    bool m_timedOut = false;
    bool m_cancelled = false;
};

// The same, waiting for the result: for the command line and for threads that read a corpus (the
// model thread: its queued work never runs inside this wait). Progress and cancellation as in
// IngestOptions. Throws IngestError.
IngestedDocument readContained(const QString& path, const IngestOptions& options, const ReaderLimits& limits,
                               const QString& program = readerProgram());

}  // namespace uio::ingest
