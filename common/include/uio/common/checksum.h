// The checksum of memory blobs, shared by model/ (which makes blobs) and storage/ (which checks
// them on read) without either depending on the other. Header-only, no dependencies.
//
// FNV-1a over little-endian 64-bit words (then the tail bytes), with the FNV-1a 64 constants:
// not cryptographic; it catches torn writes and bit rot at several GB/s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace uio {

inline uint64_t blob_checksum(std::span<const std::byte> bytes) {
    constexpr uint64_t kPrime = 0x100000001b3ull;
    uint64_t hash = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        uint64_t word;
        std::memcpy(&word, bytes.data() + i, 8);
        hash = (hash ^ word) * kPrime;
    }
    for (; i < bytes.size(); ++i) {
        hash = (hash ^ std::to_integer<uint64_t>(bytes[i])) * kPrime;
    }
    return hash ^ bytes.size();
}

}  // namespace uio
