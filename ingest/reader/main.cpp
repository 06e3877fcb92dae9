// uio-reader: reads one document (PDF, EPUB, text, Markdown, HTML) and writes what it found on
// standard output in the format of readerprotocol.h. UIO Desk and `uio ingest` start it for every
// file they are given, with limits on its memory and time, so that a damaged or hostile file can
// at worst end this process, never the program with the user's work.
//   uio-reader [--password-stdin] FILE
//   uio-reader [--password-stdin] --render PAGE --dpi DPI FILE   (a page of a PDF, for the pane)
// It links neither libtorch nor SQLite: it starts in milliseconds and holds nothing else.

#include "readerprotocol.h"
#include "uio/ingest/ingest.h"

#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <new>

namespace {

void writeAll(const QByteArray& bytes) {
    std::fwrite(bytes.constData(), 1, static_cast<size_t>(bytes.size()), stdout);
    std::fflush(stdout);
}

// Called by operator new when the address-space limit is reached: say so without allocating.
void outOfMemory() {
    static constexpr char record[] = "error memory-limit 42\nthe file needs more memory than it may use";
    static_assert(sizeof record - 1 == 22 + 42, "the length field counts the message's bytes");
    std::fflush(stdout);
    [[maybe_unused]] const auto written = ::write(STDOUT_FILENO, record, sizeof record - 1);
    _exit(3);
}

}  // namespace

int main(int argc, char* argv[]) {
    std::set_new_handler(outOfMemory);
    QCoreApplication application(argc, argv);
    QStringList args = QCoreApplication::arguments().mid(1);
    uio::ingest::IngestOptions options;
    if (args.value(0) == QLatin1String("--password-stdin")) {
        QFile in;
        if (in.open(stdin, QIODevice::ReadOnly))
            options.password = in.readAll();
        args.removeFirst();
    }
    int render = 0;
    double dpi = 96;
    if (args.value(0) == QLatin1String("--render") && args.value(2) == QLatin1String("--dpi")) {
        render = args.value(1).toInt();
        dpi = std::clamp(args.value(3).toDouble(), 24.0, 300.0);
        args = args.mid(4);
    }
    if (args.size() != 1) {
        std::fprintf(stderr, "usage: uio-reader [--password-stdin] [--render PAGE --dpi DPI] FILE\n");
        return 2;
    }
    const QString path = args.first();
    writeAll(uio::ingest::reader::helloRecord());

    // Test-only: crash on the named file, as a parser with a bug would.
    const QByteArray crashOn = qgetenv("UIO_READER_TEST_CRASH");
    if (!crashOn.isEmpty() && QFileInfo(path).fileName().toUtf8() == crashOn)
        std::raise(SIGSEGV);

    if (render > 0) {
        try {
            writeAll(uio::ingest::reader::pageRecord(uio::ingest::renderPdfPage(path, render, dpi, options.password)));
        } catch (const uio::ingest::IngestError& e) {
            writeAll(uio::ingest::reader::errorRecord(e.kind(), e.message()));
        } catch (const std::bad_alloc&) {
            outOfMemory();
        }
        return 0;
    }
    options.progress = [](int done, int total) { writeAll(uio::ingest::reader::progressRecord(done, total)); };
    options.progress(0, 1);  // started; PDFs and EPUBs then count their pages or chapters
    try {
        writeAll(uio::ingest::reader::documentRecord(uio::ingest::ingestFile(path, options)));
    } catch (const uio::ingest::IngestError& e) {
        writeAll(uio::ingest::reader::errorRecord(e.kind(), e.message()));
    } catch (const std::bad_alloc&) {
        outOfMemory();
    } catch (const std::exception& e) {
        writeAll(uio::ingest::reader::errorRecord(uio::ingest::IngestError::Kind::Damaged,
                                                  QStringLiteral("%1 could not be read (%2); the file may be damaged.")
                                                      .arg(QFileInfo(path).fileName(), QString::fromUtf8(e.what()))));
    }
    return 0;
}
