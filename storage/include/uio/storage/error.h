// Errors from storage/: SQLite's result code and message, plus what we were doing.
#pragma once

#include <stdexcept>
#include <string>

namespace uio::storage {

class StorageError : public std::runtime_error {
public:
    // code: SQLite's extended result code, or 0 when the error is ours.
    StorageError(const std::string& what, int code = 0) : std::runtime_error(what), m_code(code) {}
    int code() const noexcept { return m_code; }

private:
    int m_code;
};

}  // namespace uio::storage
