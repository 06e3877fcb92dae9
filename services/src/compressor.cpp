#include "uio/services/compressor.h"

#include <algorithm>
#include <numeric>

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

std::string Compressor::sha_of(int64_t document_id) {
    const auto document = storage::Documents(m_db).get(document_id);
    if (!document)
        throw std::runtime_error("document " + std::to_string(document_id) + " is not in the library");
    return document->sha256;
}

int64_t Compressor::segment_length() const {
    return m_engine.adapter_info().config.segment_length;
}

std::vector<int32_t> Compressor::tokenize_for(int64_t document_id, int64_t key) {
    int64_t text_bytes = 0;
    std::vector<int32_t> tokens = tokens_of(document_id, &text_bytes);
    const auto l = static_cast<size_t>(segment_length());
    const size_t full = tokens.size() / l * l;
    // Where each segment starts in the text: the bytes its tokens decode to, counted up. A
    // tokenizer that normalizes the text decodes to other bytes; then the count is scaled.
    const model::Tokenizer& tokenizer = m_engine.tokenizer();
    std::vector<int64_t> offsets{0};
    int64_t bytes = 0;
    for (size_t i = 0; i < full; ++i) {
        bytes += static_cast<int64_t>(tokenizer.token_bytes(tokens[i], i == 1).size());
        if ((i + 1) % l == 0)
            offsets.push_back(bytes);
    }
    for (size_t i = full; i < tokens.size(); ++i)
        bytes += static_cast<int64_t>(tokenizer.token_bytes(tokens[i], i == 1).size());
    for (int64_t& offset : offsets)
        offset = bytes > 0 ? std::min(text_bytes, offset * text_bytes / bytes) : 0;
    storage::MemoryCache(m_db).set_tokens(
        key,
        {static_cast<int64_t>(tokens.size()),
         std::vector<int32_t>(tokens.begin() + static_cast<std::ptrdiff_t>(full), tokens.end()), std::move(offsets)});
    return tokens;
}

std::vector<int32_t> Compressor::tokens_of(int64_t document_id, int64_t* text_bytes) {
    storage::Documents documents(m_db);
    const auto text = documents.text(document_id);
    if (!text)
        throw std::runtime_error("document " + std::to_string(document_id) + " is not in the library");
    auto tokens = m_engine.tokenizer().encode(text->text);
    documents.set_token_count(document_id, static_cast<int64_t>(tokens.size()));
    if (text_bytes)
        *text_bytes = static_cast<int64_t>(text->text.size());
    return tokens;
}

Compressor::Outline Compressor::outline(int64_t document_id) {
    const int64_t l = segment_length();
    storage::MemoryCache cache(m_db);
    const int64_t key = cache.key_id(key_for(sha_of(document_id)));
    auto known = cache.tokens(key);
    if (!known || known->segment_offsets.size() != static_cast<size_t>(known->count / l + 1)) {
        tokenize_for(document_id, key);  // once for memories made before offsets were recorded
        known = cache.tokens(key);
    }
    Outline outline;
    outline.segments_total = known->count / l;
    for (const int64_t index : cache.indices(key)) {
        if (index < outline.segments_total)
            outline.stored.push_back(index);
    }
    outline.tail = std::move(known->tail);
    outline.segment_offsets = std::move(known->segment_offsets);
    return outline;
}

std::vector<std::optional<model::MemoryBlob>> Compressor::load_segments(int64_t document_id,
                                                                        const std::vector<int64_t>& indices) {
    storage::MemoryCache cache(m_db);
    const auto key = cache.find_key(key_for(sha_of(document_id)));
    std::vector<std::optional<model::MemoryBlob>> blobs;
    for (const int64_t index : indices) {
        auto segment = key ? cache.get(*key, index) : std::nullopt;
        if (!segment) {
            if (key)
                cache.remove(*key, index);  // damaged: compressed again by the next run
            blobs.emplace_back();
            continue;
        }
        model::MemoryBlob blob;
        blob.dtype = model::parse_dtype(segment->info.dtype);
        blob.shape = segment->info.shape;
        blob.bytes = std::move(segment->bytes);
        blob.checksum = segment->info.checksum;
        blobs.emplace_back(std::move(blob));
    }
    return blobs;
}

CompressionOutcome Compressor::run(int64_t document_id, const std::function<void(const CompressionProgress&)>& progress,
                                   const std::atomic<JobControl>* control) {
    CompressionRun run(*this, document_id);
    CompressionOutcome outcome = run.outcome();
    while (!run.finished()) {
        switch (control ? control->load() : JobControl::Run) {
            case JobControl::Run:
                break;
            case JobControl::Pause:
                return outcome.status = CompressionOutcome::Status::Paused, outcome;
            case JobControl::Cancel:
                return outcome.status = CompressionOutcome::Status::Cancelled, outcome;
            case JobControl::Yield:
                return outcome.status = CompressionOutcome::Status::Yielded, outcome;
        }
        const CompressionProgress p = run.step();
        outcome = run.outcome();
        if (progress)
            progress(p);
    }
    return outcome;
}

CompressionRun::CompressionRun(Compressor& compressor, int64_t document_id)
    : m_compressor(compressor), m_document(document_id), m_length(compressor.segment_length()) {
    storage::MemoryCache cache(compressor.m_db);
    m_key = cache.key_id(compressor.key_for(compressor.sha_of(document_id)));
    const auto known = cache.tokens(m_key);
    if (!known)
        m_tokens = compressor.tokenize_for(document_id, m_key);
    m_count = known ? known->count : static_cast<int64_t>(m_tokens.size());
    m_total = m_count / m_length;
    m_in_order = compressor.m_engine.has_ultragist();
    m_stored.assign(static_cast<size_t>(m_total), false);
    // From the index alone: no blob is read. A damaged one is found when memories are loaded,
    // which drops it, so that the next run compresses it again.
    for (const int64_t index : cache.indices(m_key)) {
        if (index < m_total)
            m_stored[static_cast<size_t>(index)] = true;
    }
    m_done = std::count(m_stored.begin(), m_stored.end(), true);
    m_outcome.segments_total = m_total;
    skipStored();
}

void CompressionRun::skipStored() {
    if (m_in_order) {
        if (!m_stream)  // the leading run of stored windows, read back when the first step opens the stream
            while (m_first < m_total && m_stored[static_cast<size_t>(m_first)])
                ++m_first;
        return;
    }
    const int64_t batch = m_compressor.m_batch;
    while (m_first < m_total) {
        const int64_t last = std::min<int64_t>(m_total, m_first + batch);
        if (!std::all_of(m_stored.begin() + m_first, m_stored.begin() + last, [](bool s) { return s; }))
            return;
        m_first = last;
    }
}

CompressionProgress CompressionRun::step() {
    const int64_t l = m_length;
    if (m_tokens.empty()) {
        m_tokens = m_compressor.tokenize_for(m_document, m_key);
        if (static_cast<int64_t>(m_tokens.size()) / l != m_total) {
            throw std::runtime_error(
                "the document's tokens no longer match its recorded count (was the model's "
                "tokenizer replaced?); delete its memories and compress it again");
        }
    }
    if (m_in_order)
        return stepInOrder();
    const int64_t first = m_first, last = std::min<int64_t>(m_total, first + m_compressor.m_batch);
    // The whole batch is encoded even when some of it is stored: the batch, not the gap, decides
    // the numbers, which keeps resumed memories bit-identical.
    std::vector<std::vector<int32_t>> segments;
    for (int64_t s = first; s < last; ++s) {
        segments.emplace_back(m_tokens.begin() + static_cast<std::ptrdiff_t>(s * l),
                              m_tokens.begin() + static_cast<std::ptrdiff_t>((s + 1) * l));
    }
    const std::vector<model::MemoryBlob> blobs = m_compressor.m_engine.compress(segments);
    storage::MemoryCache cache(m_compressor.m_db);
    for (int64_t s = first; s < last; ++s) {
        if (m_stored[static_cast<size_t>(s)])
            continue;
        const model::MemoryBlob& blob = blobs[static_cast<size_t>(s - first)];
        cache.put(m_key, {s, s * l, (s + 1) * l, blob.shape, dtype_of(blob), blob.checksum}, blob.bytes);
        m_stored[static_cast<size_t>(s)] = true;
        ++m_done;
        ++m_outcome.segments_encoded;
    }
    m_first = last;
    skipStored();
    return progress();
}

CompressionProgress CompressionRun::stepInOrder() {
    const int64_t l = m_length;
    storage::MemoryCache cache(m_compressor.m_db);
    if (!m_stream) {
        std::vector<int64_t> before(static_cast<size_t>(m_first));
        std::iota(before.begin(), before.end(), int64_t(0));
        std::vector<model::MemoryBlob> earlier;
        for (auto& blob : m_compressor.load_segments(m_document, before)) {
            if (!blob)
                break;  // damaged, and so dropped: made again from here
            earlier.push_back(std::move(*blob));
        }
        for (auto s = static_cast<int64_t>(earlier.size()); s < m_first; ++s) {
            m_stored[static_cast<size_t>(s)] = false;
            --m_done;
        }
        m_first = static_cast<int64_t>(earlier.size());
        m_stream = m_compressor.m_engine.open_compression(earlier, m_count);
    }
    const int64_t s = m_first;
    const model::MemoryBlob blob =
        m_stream->next(std::vector<int32_t>(m_tokens.begin() + static_cast<std::ptrdiff_t>(s * l),
                                            m_tokens.begin() + static_cast<std::ptrdiff_t>((s + 1) * l)));
    cache.put(m_key, {s, s * l, (s + 1) * l, blob.shape, dtype_of(blob), blob.checksum}, blob.bytes);
    if (!m_stored[static_cast<size_t>(s)]) {
        m_stored[static_cast<size_t>(s)] = true;
        ++m_done;
    }
    ++m_outcome.segments_encoded;
    ++m_first;
    return progress();
}

CompressionProgress CompressionRun::progress() const {
    const int64_t l = m_length;
    const double seconds =
        std::max(1e-3, std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count());
    const double rate = static_cast<double>(m_outcome.segments_encoded * l) / seconds;
    return {m_done, m_total, rate, rate > 0 ? static_cast<double>((m_total - m_done) * l) / rate : 0.0};
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
    const int64_t l = segment_length();
    storage::MemoryCache cache(m_db);
    const auto key = cache.find_key(key_for(sha_of(document_id)));
    // The count and tail recorded with the memories: a compressed book is not tokenized again.
    std::optional<storage::MemoryCache::Tokens> known;
    if (key)
        known = cache.tokens(*key);
    if (!known) {
        const std::vector<int32_t> tokens = key ? tokenize_for(document_id, *key) : tokens_of(document_id);
        const auto full = static_cast<std::ptrdiff_t>(static_cast<int64_t>(tokens.size()) / l * l);
        known = storage::MemoryCache::Tokens{
            static_cast<int64_t>(tokens.size()), {tokens.begin() + full, tokens.end()}, {}};
    }
    Loaded loaded;
    loaded.segments_total = known->count / l;
    if (key) {
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
    if (loaded.complete())
        loaded.tail = std::move(known->tail);
    return loaded;
}

}  // namespace uio::services
