// EPUB: the zip container, container.xml, the OPF, the NCX and nav, and each chapter's XHTML; any
// bytes either give a document or throw IngestError.
#include "fuzz_file.h"
#include "uio/ingest/ingest.h"

#include <QCoreApplication>
#include <QString>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = uio::fuzz::writeInput("book.epub", data, size);
    try {
        (void)uio::ingest::readEpub(QString::fromStdString(path.string()), {});
    } catch (const uio::ingest::IngestError&) {
    }
    return 0;
}
