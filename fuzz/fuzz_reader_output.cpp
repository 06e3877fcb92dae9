// What the parent reads from a reader process: any bytes, in pieces of any size, end as a valid
// document or drawn page, a reported error, malformed, or still waiting; a document's offsets lie
// in its text, a page's word boxes on the page.
#include "readerprotocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using uio::ingest::reader::OutputParser;
    OutputParser parser;
    // The first byte sets the piece size, so that records split everywhere are tried.
    const size_t piece = size > 0 ? 1 + data[0] % 64 : 1;
    for (size_t at = size > 0 ? 1 : 0; at < size; at += piece) {
        parser.feed(
            QByteArray(reinterpret_cast<const char*>(data + at), static_cast<qsizetype>(std::min(piece, size - at))));
        (void)parser.takeProgress();
    }
    if (parser.state() == OutputParser::State::Document) {
        const auto& d = parser.document();
        for (const auto& p : d.pages) {
            if (p.begin < 0 || p.begin > p.end || p.end > d.text.size())
                __builtin_trap();
        }
        for (const auto& s : d.sections) {
            if (s.offset < 0 || s.offset > d.text.size())
                __builtin_trap();
        }
    }
    if (parser.state() == OutputParser::State::Page) {
        const auto& page = parser.page();
        const QRectF bounds(0, 0, page.image.width(), page.image.height());
        if (page.image.isNull() || page.page < 1 || page.page > page.pageCount)
            __builtin_trap();
        for (const auto& w : page.words) {
            if (!w.box.isEmpty() && !bounds.contains(w.box))
                __builtin_trap();
        }
    }
    return 0;
}
