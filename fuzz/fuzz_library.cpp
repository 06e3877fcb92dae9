// Opening a damaged library file: any bytes either open (then every document, chat, message and
// memory segment is read, the passages are indexed and searched, and the integrity check runs) or
// throw StorageError. Never a crash.
#include "fuzz_file.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/jobs.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"
#include "uio/storage/passages.h"

#include <filesystem>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = uio::fuzz::writeInput("uio.sqlite3", data, size);
    for (const char* suffix : {"-wal", "-shm", "-journal"})
        std::filesystem::remove(path.string() + suffix);
    try {
        uio::storage::Library library(path);
        (void)library.integrity_check();
        uio::storage::Documents documents(library.db());
        for (const auto& d : documents.list()) {
            (void)documents.text(d.document.id);
        }
        // Maps written before the index (UTF-16 offsets) or damaged: indexed all the same.
        uio::storage::Passages passages(library.db());
        for (int n = 0; n < 8 && passages.index_next(); ++n) {
        }
        for (const auto& hit : passages.search("the whale, Ishmael?", {}, 5))
            (void)passages.text(hit.passage);
        uio::storage::Chats chats(library.db());
        for (const auto& chat : chats.list()) {
            (void)chats.messages(chat.id);
            (void)chats.export_json(chat.id);
            (void)chats.export_markdown(chat.id);
        }
        uio::storage::MemoryCache cache(library.db());
        for (int64_t key = 1; key <= 3; ++key) {
            for (const int64_t index : cache.indices(key))
                (void)cache.get(key, index);
            (void)cache.tokens(key);
        }
        (void)uio::storage::Jobs(library.db()).pending();
    } catch (const uio::storage::StorageError&) {
    }
    return 0;
}
