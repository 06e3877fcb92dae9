#include "partial_file.h"

#include "uio/model/error.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace uio::model {

PartialFile::PartialFile(const std::filesystem::path& path) : m_path(path), m_partial(path.string() + ".partial") {
    m_file = std::fopen(m_partial.c_str(), "wb");
    if (!m_file)
        throw ModelError(path.string() + ": cannot be written (" + std::strerror(errno) + ")");
}

PartialFile::~PartialFile() {
    if (m_file) {
        std::fclose(m_file);
        std::error_code ignored;
        std::filesystem::remove(m_partial, ignored);
    }
}

void PartialFile::write(const void* data, size_t n_bytes) {
    // An empty tensor has no data pointer and nothing to write.
    if (n_bytes > 0 && std::fwrite(data, 1, n_bytes, m_file) != n_bytes)
        throw ModelError(m_path.string() + ": writing failed (" + std::strerror(errno) + "; is the disk full?)");
    m_written += n_bytes;
}

void PartialFile::pad_to(uint64_t alignment) {
    const uint64_t padding = (alignment - m_written % alignment) % alignment;
    write(std::string(padding, '\0'));
}

void PartialFile::finish() {
    const bool ok = std::fflush(m_file) == 0 && fsync(fileno(m_file)) == 0;
    std::fclose(m_file);
    m_file = nullptr;
    if (!ok) {
        std::filesystem::remove(m_partial);
        throw ModelError(m_path.string() + ": writing failed (" + std::strerror(errno) + "; is the disk full?)");
    }
    std::filesystem::rename(m_partial, m_path);  // readers never see a half-written file
}

}  // namespace uio::model
