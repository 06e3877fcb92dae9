// A file written under "<name>.partial" and renamed to its name once complete and synced, so
// that readers never see half of it; removed when abandoned. Write errors throw ModelError
// naming the file and asking whether the disk is full.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>

namespace uio::model {

class PartialFile {
public:
    explicit PartialFile(const std::filesystem::path& path);
    ~PartialFile();  // removes the partial file unless finished
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;

    void write(const void* data, size_t n_bytes);
    void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
    void pad_to(uint64_t alignment);  // zero bytes up to the next multiple of alignment
    void finish();                    // flush, fsync, rename into place

private:
    std::filesystem::path m_path, m_partial;
    std::FILE* m_file = nullptr;
    uint64_t m_written = 0;
};

}  // namespace uio::model
