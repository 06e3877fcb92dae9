// Errors from storage/: what kind of trouble, SQLite's result code, and a message that says what
// to do. The GUI reacts to the kind (offer to move a damaged file aside, ask to free disk space).
#pragma once

#include <stdexcept>
#include <string>

namespace uio::storage {

class StorageError : public std::runtime_error {
public:
    enum class Kind { Other, NotADatabase, Damaged, NewerVersion, DiskFull, Busy, ReadOnly, Constraint };

    StorageError(const std::string& what, int code = 0, Kind kind = Kind::Other)
        : std::runtime_error(what), m_code(code), m_kind(kind) {}
    int code() const noexcept { return m_code; }  // SQLite's extended result code, or 0
    Kind kind() const noexcept { return m_kind; }

private:
    int m_code;
    Kind m_kind;
};

}  // namespace uio::storage
