#include "uio/services/compressor.h"

#include <QElapsedTimer>

namespace uio::services {

namespace {

std::string dtype_of(const model::MemoryBlob& blob) {
    return model::dtype_name(blob.dtype);
}

}  // namespace

Compressor::Compressor(model::Engine& engine, storage::Database& db, int batch_size)
    : m_engine(engine), m_db(db), m_batch(std::max(1, batch_size)) {}

storage::MemoryKey Compressor::key_for(const std::string& document_sha256) const {
    const model::AdapterInfo adapter = m_engine.adapter_info();
    return {document_sha256,
            m_engine.model_fingerprint(),
            adapter.fingerprint,
            adapter.config.segment_length,
            adapter.config.memory_tokens,
            model::dtype_name(m_engine.memory_dtype())};
}

Compressor::Source Compressor::source(int64_t document_id) {
    const auto document = storage::Documents(m_db).get(document_id);
    if (!document) {
        throw std::runtime_error("document " + std::to_string(document_id) + " is not in the library");
    }
    return {document->sha256, tokens_of(document_id),
            static_cast<size_t>(m_engine.adapter_info().config.segment_length)};
}

std::vector<int32_t> Compressor::tokens_of(int64_t document_id) {
    storage::Documents documents(m_db);
    const auto text = documents.text(document_id);
    if (!text)
        throw std::runtime_error("document " + std::to_string(document_id) + " is not in the library");
    auto tokens = m_engine.tokenizer().encode(text->text);
    documents.set_token_count(document_id, static_cast<int64_t>(tokens.size()));
    return tokens;
}

CompressionOutcome Compressor::run(int64_t document_id, const std::function<void(const CompressionProgress&)>& progress,
                                   const std::atomic<JobControl>* control) {
    const Source source = this->source(document_id);
    const auto& tokens = source.tokens;
    const size_t l = source.segment_length;
    const auto total = static_cast<int64_t>(tokens.size() / l);

    storage::MemoryCache cache(m_db);
    const int64_t key = cache.key_id(key_for(source.sha256));
    std::vector<bool> stored(static_cast<size_t>(total), false);
    // From the index alone: no blob is read. A damaged one is found when memories are loaded,
    // which drops it, so that the next run compresses it again.
    for (const int64_t index : cache.indices(key)) {
        if (index < total)
            stored[static_cast<size_t>(index)] = true;
    }

    CompressionOutcome outcome;
    outcome.segments_total = total;
    int64_t done = std::count(stored.begin(), stored.end(), true);
    QElapsedTimer timer;
    timer.start();
    for (int64_t first = 0; first < total; first += m_batch) {
        const int64_t last = std::min<int64_t>(total, first + m_batch);
        if (std::all_of(stored.begin() + first, stored.begin() + last, [](bool s) { return s; }))
            continue;
        if (control) {
            const JobControl c = control->load();
            if (c == JobControl::Pause)
                return outcome.status = CompressionOutcome::Status::Paused, outcome;
            if (c == JobControl::Cancel)
                return outcome.status = CompressionOutcome::Status::Cancelled, outcome;
            if (c == JobControl::Yield)
                return outcome.status = CompressionOutcome::Status::Yielded, outcome;
        }
        // The whole batch is encoded even when some of it is stored: the batch, not the gap,
        // decides the numbers, which keeps resumed memories bit-identical.
        std::vector<std::vector<int32_t>> segments;
        for (int64_t s = first; s < last; ++s) {
            segments.emplace_back(tokens.begin() + static_cast<std::ptrdiff_t>(s * l),
                                  tokens.begin() + static_cast<std::ptrdiff_t>((s + 1) * l));
        }
        const std::vector<model::MemoryBlob> blobs = m_engine.compress(segments);
        for (int64_t s = first; s < last; ++s) {
            if (stored[static_cast<size_t>(s)])
                continue;
            const model::MemoryBlob& blob = blobs[static_cast<size_t>(s - first)];
            cache.put(key,
                      {s, s * static_cast<int64_t>(l), (s + 1) * static_cast<int64_t>(l), blob.shape, dtype_of(blob),
                       blob.checksum},
                      blob.bytes);
            stored[static_cast<size_t>(s)] = true;
            ++done;
            ++outcome.segments_encoded;
        }
        if (progress) {
            const double seconds = std::max(1e-3, timer.elapsed() / 1000.0);
            const double rate = static_cast<double>(outcome.segments_encoded) * l / seconds;
            progress({done, total, rate, rate > 0 ? (total - done) * static_cast<double>(l) / rate : 0.0});
        }
    }
    return outcome;
}

int64_t Compressor::stored_segments(int64_t document_id) {
    const auto document = storage::Documents(m_db).get(document_id);
    if (!document) {
        throw std::runtime_error("document " + std::to_string(document_id) + " is not in the library");
    }
    storage::MemoryCache cache(m_db);
    const auto key = cache.find_key(key_for(document->sha256));
    return key ? static_cast<int64_t>(cache.indices(*key).size()) : 0;
}

Compressor::Loaded Compressor::load(int64_t document_id) {
    const Source source = this->source(document_id);
    const auto& tokens = source.tokens;
    const size_t l = source.segment_length;
    Loaded loaded;
    loaded.segments_total = static_cast<int64_t>(tokens.size() / l);
    storage::MemoryCache cache(m_db);
    if (const auto key = cache.find_key(key_for(source.sha256))) {
        for (int64_t s = 0; s < loaded.segments_total; ++s) {
            auto segment = cache.get(*key, s);
            if (!segment) {
                cache.remove(*key, s);  // damaged, or missing: compressed again by the next run
                break;                  // the leading run of intact segments
            }
            model::MemoryBlob blob;
            blob.dtype = model::parse_dtype(segment->info.dtype);
            blob.shape = segment->info.shape;
            blob.bytes = std::move(segment->bytes);
            blob.checksum = segment->info.checksum;
            loaded.segments.push_back(std::move(blob));
        }
    }
    if (loaded.complete()) {
        loaded.tail.assign(tokens.begin() + static_cast<std::ptrdiff_t>(loaded.segments.size() * l), tokens.end());
    }
    return loaded;
}

}  // namespace uio::services
