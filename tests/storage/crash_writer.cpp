// Helper of test_crash: writes memory segments start, start+1, ... into a library until it is
// killed, printing "committed N" after each commit. Usage: crash_writer DB START

#include "uio/common/checksum.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

std::vector<std::byte> segment_bytes(int64_t index);  // segment_bytes.cpp

int main(int argc, char* argv[]) {
    if (argc != 3)
        return 2;
    uio::storage::Library library(argv[1]);
    uio::storage::MemoryCache cache(library.db());
    const int64_t key = cache.key_id({"doc", "model", "adapter", 64, 8, "f32"});
    for (int64_t index = std::atoll(argv[2]);; ++index) {
        const auto bytes = segment_bytes(index);
        cache.put(key,
                  {index,
                   index * 64,
                   (index + 1) * 64,
                   {static_cast<int64_t>(bytes.size())},
                   "u8",
                   uio::blob_checksum(bytes)},
                  bytes);
        std::printf("committed %lld\n", static_cast<long long>(index));
        std::fflush(stdout);
    }
}
