// The HTML-to-text converter of HTML files and EPUB chapters.
#include "uio/ingest/htmltext.h"

#include <QString>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const QString html = QString::fromUtf8(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
    const uio::ingest::HtmlText text = uio::ingest::htmlToText(html);
    for (const auto& heading : text.headings) {
        if (heading.offset < 0 || heading.offset > text.text.size())
            __builtin_trap();  // a section must point into the text
    }
    return 0;
}
