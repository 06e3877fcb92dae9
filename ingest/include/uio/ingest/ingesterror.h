// The error ingestion throws: a message for the user and what kind of problem it is, so that
// the GUI can react (ask for a password, offer to skip a scanned document).
#pragma once

#include <QString>

#include <stdexcept>

namespace uio::ingest {

class IngestError : public std::runtime_error {
public:
    enum class Kind {
        Unreadable,
        Damaged,
        NeedsPassword,
        WrongPassword,
        NoText,
        Unsupported,
        Encrypted,
        TooLarge,
        Cancelled,
        MemoryLimit,  // the reader process needed more memory than it may use
        TimeLimit,    // the reader process took longer than it may
        ReaderFailed  // the reader process crashed or could not be started
    };

    IngestError(Kind kind, const QString& message) : std::runtime_error(message.toStdString()), m_kind(kind) {}

    Kind kind() const noexcept { return m_kind; }
    QString message() const { return QString::fromStdString(what()); }

private:
    Kind m_kind;
};

}  // namespace uio::ingest
