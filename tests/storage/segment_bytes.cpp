// The content of segment N in the crash tests: 64 KiB to 2 MiB, fixed by N.

#include <cstddef>
#include <cstdint>
#include <vector>

std::vector<std::byte> segment_bytes(int64_t index) {
    const size_t size = (64u << 10) + static_cast<size_t>((index * 7919) % 31) * (64u << 10);
    std::vector<std::byte> bytes(size);
    for (size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<std::byte>((i * 131 + static_cast<size_t>(index) * 17) & 0xff);
    }
    return bytes;
}
