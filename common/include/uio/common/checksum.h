// The checksum of memory blobs, shared by model/ (which makes blobs) and storage/ (which checks
// them on read) without either depending on the other. Header-only, no dependencies.
//
// FNV-1a over little-endian 64-bit words (then the tail bytes), with the FNV-1a 64 constants:
// not cryptographic; it catches torn writes and bit rot at several GB/s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace uio {

// Pointer and size rather than std::span: the fuzz build compiles the torch-side readers that
// include this as C++17 (fuzz/CMakeLists.txt says why).
inline uint64_t blob_checksum(const std::byte* data, size_t size) {
    constexpr uint64_t kPrime = 0x100000001b3ull;
    uint64_t hash = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t word;
        std::memcpy(&word, data + i, 8);
        hash = (hash ^ word) * kPrime;
    }
    for (; i < size; ++i) {
        hash = (hash ^ std::to_integer<uint64_t>(data[i])) * kPrime;
    }
    return hash ^ size;
}

// Any contiguous bytes with data() and size(): std::vector<std::byte>, std::span<const std::byte>.
template <typename Bytes>
uint64_t blob_checksum(const Bytes& bytes) {
    return blob_checksum(bytes.data(), bytes.size());
}

}  // namespace uio
