// The fuzz targets' one helper: readers that take a path get the input as a file. Each target runs
// in one process at a time (scripts/fuzz.sh), so one file per target is rewritten in place.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace uio::fuzz {

inline std::filesystem::path writeInput(const std::string& name, const uint8_t* data, size_t size) {
    const char* dir = std::getenv("TMPDIR");
    const std::filesystem::path path =
        std::filesystem::path(dir ? dir : "/tmp") / ("uio-fuzz-" + std::to_string(getpid()) + "-" + name);
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file)
        std::abort();  // the fuzzer's own environment is broken: stop, do not report a finding
    if (size > 0 && std::fwrite(data, 1, size, file) != size)
        std::abort();
    std::fclose(file);
    return path;
}

}  // namespace uio::fuzz
