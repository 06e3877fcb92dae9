// What the reader child process (uio-reader) writes on its standard output and how the parent
// reads it back. Version 1, one record after another:
//   uio-reader 1\n                        first, always
//   progress DONE TOTAL\n                 any number (pages or chapters)
//   document H N\n<H bytes><N bytes>      H: JSON header (title, sections, pages...), N: the text in UTF-8
//   error KIND N\n<N bytes>               KIND as in kindName(), N: the message in UTF-8
//   page H N\n<H bytes><N bytes>          (uio-reader --render) H: JSON header (page, pages, width,
//                                         height, words), N: the pixels, ARGB32, width * height * 4
// The parent trusts nothing in it: every length is bounded (the text by the reader's own memory
// limit), the header is checked field by field, offsets must fall inside the text, and the child
// may report only the errors a reader can have; a confused or compromised child cannot hurt it.
#pragma once

#include "uio/ingest/document.h"
#include "uio/ingest/ingesterror.h"

#include <QByteArray>
#include <QString>

#include <optional>
#include <utility>

namespace uio::ingest::reader {

inline constexpr int kVersion = 1;
inline constexpr qsizetype kMaxTextBytes = qsizetype(2) << 30;

QByteArray helloRecord();
QByteArray progressRecord(int done, int total);
QByteArray documentRecord(const IngestedDocument& document);
QByteArray errorRecord(IngestError::Kind kind, const QString& message);
QByteArray pageRecord(const RenderedPage& page);

QByteArray kindName(IngestError::Kind kind);
std::optional<IngestError::Kind> kindFromName(const QByteArray& name);

// Reads the child's output as it arrives, in pieces of any size.
class OutputParser {
public:
    enum class State { Reading, Document, Page, Error, Malformed };

    // A document's text longer than `maxTextBytes` is refused, not buffered.
    explicit OutputParser(qsizetype maxTextBytes = kMaxTextBytes) : m_maxTextBytes(maxTextBytes) {}

    void feed(const QByteArray& bytes);
    State state() const { return m_state; }
    bool greeted() const { return m_greeted; }  // the reader started and said which version it speaks
    // The latest progress since the last call, if any.
    std::optional<std::pair<int, int>> takeProgress();

    // Valid in state Document.
    const IngestedDocument& document() const { return m_document; }
    const RenderedPage& page() const { return m_page; }  // valid in state Page
    // Valid in state Error: what the child reported. In state Malformed: what was wrong, for a log.
    IngestError::Kind errorKind() const { return m_errorKind; }
    const QString& errorMessage() const { return m_errorMessage; }

private:
    void parse();
    void malformed(const QString& why);
    bool finishDocument(const QByteArray& header, const QByteArray& text);
    bool finishPage(const QByteArray& header, const QByteArray& pixels);

    qsizetype m_maxTextBytes;
    State m_state = State::Reading;
    QByteArray m_buffer;
    bool m_greeted = false;
    qsizetype m_need = 0;  // bytes of the record body still to come after its line
    QByteArray m_recordLine;
    std::optional<std::pair<int, int>> m_progress;
    IngestedDocument m_document;
    RenderedPage m_page;
    IngestError::Kind m_errorKind = IngestError::Kind::Damaged;
    QString m_errorMessage;
};

}  // namespace uio::ingest::reader
