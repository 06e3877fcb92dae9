// Compression of library documents into the memory cache, resumable at the first missing
// segment. Segments are encoded in batches whose composition depends only on segment indices
// (batch k holds segments [k*B, (k+1)*B)), so an interrupted run resumed later writes memories
// bit-identical to an uninterrupted one. Each segment is its own transaction. Runs on the thread
// that owns the engine and the database connection.
#pragma once

#include "uio/model/engine.h"
#include "uio/storage/database.h"
#include "uio/storage/documents.h"
#include "uio/storage/memory_cache.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>

namespace uio::services {

struct CompressionProgress {
    int64_t segments_done = 0;
    int64_t segments_total = 0;
    double tokens_per_second = 0.0;
    double eta_seconds = 0.0;
};

struct CompressionOutcome {
    enum class Status { Done, Paused, Cancelled, Yielded };
    Status status = Status::Done;
    int64_t segments_encoded = 0;  // by this run (0 when everything was cached)
    int64_t segments_total = 0;
};

// What the worker tells a running job between batches. Yield stops it for now but keeps it
// queued (a question waits, or the program closes); Pause and Cancel are the user's.
enum class JobControl { Run, Pause, Cancel, Yield };

class Compressor {
public:
    Compressor(model::Engine& engine, storage::Database& db, int batch_size = 4);

    // The cache key of a document under the engine's model and adapter.
    storage::MemoryKey key_for(const std::string& document_sha256) const;
    // BOS + the document's text; `text_bytes` gets the text's length.
    std::vector<int32_t> tokens_of(int64_t document_id, int64_t* text_bytes = nullptr);

    // The whole document: CompressionRun's batches until done or `control` stops it between two.
    CompressionOutcome run(int64_t document_id, const std::function<void(const CompressionProgress&)>& progress = {},
                           const std::atomic<JobControl>* control = nullptr);

    // The document's memories in order (the leading run of intact stored segments) and, when all
    // are there, the residual tail of fewer than l tokens.
    struct Loaded {
        std::vector<model::MemoryBlob> segments;
        std::vector<int32_t> tail;
        int64_t segments_total = 0;
        bool complete() const { return static_cast<int64_t>(segments.size()) == segments_total; }
    };
    Loaded load(int64_t document_id);
    // What a chat needs to choose among the document's memories without reading any: which
    // segments are stored, where each starts in the text (bytes; segments_total + 1 offsets, the
    // last where the tail starts) and the tail. Tokenizes only when nothing was recorded.
    struct Outline {
        std::vector<int64_t> stored;
        int64_t segments_total = 0;
        std::vector<int32_t> tail;
        std::vector<int64_t> segment_offsets;
    };
    Outline outline(int64_t document_id);
    // These segments' memories; nothing for one that is missing or damaged (then dropped, so that
    // the next run compresses it again).
    std::vector<std::optional<model::MemoryBlob>> load_segments(int64_t document_id,
                                                                const std::vector<int64_t>& indices);
    // How many segments of the document are stored (cheap: no blob is read).
    int64_t stored_segments(int64_t document_id);

private:
    friend class CompressionRun;
    std::string sha_of(int64_t document_id);  // runtime_error when the document is gone
    int64_t segment_length() const;
    // The tokens, recorded with the memory key (count and tail) so that they are made only once.
    std::vector<int32_t> tokenize_for(int64_t document_id, int64_t key);

    model::Engine& m_engine;
    storage::Database& m_db;
    int m_batch;
};

// One document's compression, a batch at a time: the model thread encodes one batch per turn of
// its event loop, so that whatever else is asked of it waits for one batch at most. Batches whose
// segments are all stored are skipped. With UltraGist a window's memory depends on the windows
// before it: one window per step, in order, resumed after the leading run of stored windows
// (read back into the model), and everything after a missing window made again. Lives no longer
// than its Compressor.
class CompressionRun {
public:
    // Lists what is stored; tokenizes the document only when a segment is missing and its tokens
    // were never recorded.
    CompressionRun(Compressor& compressor, int64_t document_id);

    bool finished() const { return m_first >= m_total; }
    // Encodes the next batch with a missing segment and stores its segments; the progress after it.
    CompressionProgress step();
    const CompressionOutcome& outcome() const { return m_outcome; }

private:
    void skipStored();
    CompressionProgress stepInOrder();  // UltraGist
    CompressionProgress progress() const;

    Compressor& m_compressor;
    int64_t m_document = 0;
    int64_t m_length = 0;           // l
    std::vector<int32_t> m_tokens;  // made only when a segment is missing
    int64_t m_key = 0;
    int64_t m_total = 0;
    int64_t m_count = 0;  // tokens
    bool m_in_order = false;
    std::unique_ptr<model::CompressionStream> m_stream;
    int64_t m_first = 0;  // of the next batch
    int64_t m_done = 0;   // segments stored
    std::vector<bool> m_stored;
    CompressionOutcome m_outcome;
    std::chrono::steady_clock::time_point m_started = std::chrono::steady_clock::now();
};

}  // namespace uio::services
