// Text files: decoding (byte-order marks, UTF-8, UTF-16, Latin-1), the clean-up, Markdown headings,
// and page clean-up with its page map.
#include "fuzz_file.h"
#include "uio/ingest/ingest.h"
#include "uio/ingest/textcleanup.h"

#include <QByteArray>
#include <QString>

#include <cstdio>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const QByteArray bytes(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
    const QString text = uio::ingest::decodeText(bytes);
    (void)uio::ingest::normaliseText(text);
    const auto path = uio::fuzz::writeInput("notes.md", data, size);
    try {
        const auto doc = uio::ingest::readTextFile(QString::fromStdString(path.string()), QStringLiteral("md"));
        for (const auto& section : doc.sections) {
            if (section.offset < 0 || section.offset > doc.text.size()) {
                std::fprintf(stderr, "a section at %lld of %lld characters\n", static_cast<long long>(section.offset),
                             static_cast<long long>(doc.text.size()));
                __builtin_trap();
            }
        }
    } catch (const uio::ingest::IngestError&) {
    }
    // Pages as a PDF gives them: split at form feeds.
    const uio::ingest::CleanText clean = uio::ingest::cleanPages(text.split(QLatin1Char('\f')));
    for (const auto& page : clean.pages) {
        if (page.begin < 0 || page.begin > page.end || page.end > clean.text.size()) {
            std::fprintf(stderr, "page %d at [%lld, %lld) of %lld characters\n", page.page,
                         static_cast<long long>(page.begin), static_cast<long long>(page.end),
                         static_cast<long long>(clean.text.size()));
            __builtin_trap();
        }
    }
    return 0;
}
