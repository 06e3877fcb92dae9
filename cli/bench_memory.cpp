// uio bench compress / decode-memory: the speed of UIO memory, or of UltraGist's (--ultragist).
//   compress       encoder tokens/s over batches of full segments (UltraGist: window after
//                  window), and the memory stored per 1K tokens of text
//   decode-memory  decode tokens/s with 0, 10, 90 ... memory segments in front, next to what the
//                  extra attention reads predict (memories are projected once, not per token)

#include "bench.h"
#include "command.h"
#include "options.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>

namespace uio::cli {

namespace {

QString compressorName(const model::AdapterInfo& info) {
    if (info.kind != model::CompressorKind::UltraGist)
        return QStringLiteral("uio");
    return info.ratio > 0 ? QStringLiteral("ultragist-%1x").arg(info.ratio) : QStringLiteral("ultragist-auto");
}

// An adapter for the bench: the given file (or UltraGist), or a fresh one of the method's default shape.
void prepareAdapter(model::Engine& engine, const QCommandLineParser& parser) {
    if (!loadAdapter(engine, parser)) {
        engine.create_adapter(model::AdapterConfig{}, 0);
    }
}

// FLOPs of compression per document token: the UIO encoder runs L-1 full layers over l + m rows,
// UltraGist all L over a window and its memory rows; 2 FLOPs per layer weight per row.
double compressionFlopsPerToken(const model::Engine& engine) {
    const model::LlamaConfig& c = engine.config();
    const model::AdapterConfig a = engine.adapter_info().config;
    const double layer_weights =
        static_cast<double>(c.n_params() - c.n_vocab * c.n_embd * (c.tie_word_embeddings ? 1 : 2)) / c.n_layer;
    const double rows_per_token = 1.0 + static_cast<double>(a.memory_tokens) / static_cast<double>(a.segment_length);
    const int64_t layers = engine.has_ultragist() ? c.n_layer : c.n_layer - 1;
    return rows_per_token * 2.0 * layer_weights * static_cast<double>(layers);
}

// One segment's (or window's) memory, from random tokens.
model::MemoryBlob oneMemory(model::Engine& engine, uint32_t seed) {
    const auto l = static_cast<size_t>(engine.adapter_info().config.segment_length);
    if (engine.has_ultragist())
        return engine.open_compression({}, static_cast<int64_t>(l))->next(randomTokens(engine.config(), l, seed));
    return engine.compress({randomTokens(engine.config(), l, seed)}).front();
}

// Compresses a document of n_segments segments of random tokens: in batches (UIO) or window
// after window (UltraGist). Returns the bytes stored.
int64_t compressDocument(model::Engine& engine, size_t n_segments, int batch, uint32_t seed) {
    const auto l = static_cast<size_t>(engine.adapter_info().config.segment_length);
    const std::vector<int32_t> document = randomTokens(engine.config(), n_segments * l, seed);
    auto segment = [&](size_t s) {
        return std::vector<int32_t>(document.begin() + static_cast<std::ptrdiff_t>(s * l),
                                    document.begin() + static_cast<std::ptrdiff_t>((s + 1) * l));
    };
    int64_t bytes = 0;
    if (engine.has_ultragist()) {
        const auto stream = engine.open_compression({}, static_cast<int64_t>(document.size()));
        for (size_t s = 0; s < n_segments; ++s)
            bytes += static_cast<int64_t>(stream->next(segment(s)).bytes.size());
        return bytes;
    }
    std::vector<std::vector<int32_t>> pending;
    for (size_t s = 0; s < n_segments; ++s) {
        pending.push_back(segment(s));
        if (pending.size() == static_cast<size_t>(batch) || s + 1 == n_segments) {
            for (const model::MemoryBlob& blob : engine.compress(pending))
                bytes += static_cast<int64_t>(blob.bytes.size());
            pending.clear();
        }
    }
    return bytes;
}

// Whole documents of growing length, each compressed from nothing in batches: seconds and
// tokens/s per length (flat tokens/s = linear cost).
int compressDocuments(model::Engine& engine, const std::vector<int32_t>& sizes, int batch) {
    const auto l = static_cast<size_t>(engine.adapter_info().config.segment_length);
    const double gemm = model::measure_gemm_gflops(engine.device(), engine.dtype(), gemmSizeFor(engine.device()), 3);
    // Warm-up with both shapes a document uses (a full batch, one segment): kernels prepared.
    compressDocument(engine, static_cast<size_t>(batch) + 1, batch, 0);
    QJsonArray rows;
    for (const int32_t size : sizes) {
        const size_t n_segments = static_cast<size_t>(size) / l;
        QElapsedTimer timer;
        timer.start();
        const int64_t bytes = compressDocument(engine, n_segments, batch, static_cast<uint32_t>(size));
        const double seconds = timer.nsecsElapsed() / 1e9;
        const double rate = static_cast<double>(n_segments * l) / seconds;
        rows.append(QJsonObject{
            {QStringLiteral("tokens"), static_cast<qint64>(n_segments * l)},
            {QStringLiteral("seconds"), seconds},
            {QStringLiteral("tokens_per_s"), rate},
            {QStringLiteral("memory_bytes_per_1k_tokens"),
             static_cast<double>(bytes) * 1024.0 / static_cast<double>(std::max<size_t>(1, n_segments * l))},
            {QStringLiteral("fraction_of_gemm"), rate * compressionFlopsPerToken(engine) / 1e9 / gemm}});
    }
    printJson(QJsonDocument(benchResult(QStringLiteral("compress-documents"), engine,
                                        QJsonObject{
                                            {QStringLiteral("segment_length"), static_cast<qint64>(l)},
                                            {QStringLiteral("batch"), batch},
                                            {QStringLiteral("gemm_gflops"), gemm},
                                            {QStringLiteral("results"), rows},
                                        })));
    return 0;
}

}  // namespace

int benchCompress(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Measure compression (encoder) tokens/s."));
    addModelOptions(parser);
    addAdapterOption(parser);
    parser.addOptions({
        {QStringLiteral("segments"), QStringLiteral("Segments to compress (default 8)."), QStringLiteral("n")},
        {QStringLiteral("batch"), QStringLiteral("Segments per batch (default 4)."), QStringLiteral("n")},
        {QStringLiteral("sizes"),
         QStringLiteral("Document lengths in tokens: the time to compress each whole document, to show that it "
                        "grows linearly (e.g. 1024,4096,16384,102400)."),
         QStringLiteral("list")},
    });
    parse(parser, QStringLiteral("bench compress"), args);
    const int n_segments = intValue(parser, QStringLiteral("segments"), 8);
    const int batch = std::max(1, intValue(parser, QStringLiteral("batch"), 4));
    auto engine = openEngine(parser);
    prepareAdapter(*engine, parser);
    const auto l = static_cast<size_t>(engine->adapter_info().config.segment_length);
    if (parser.isSet(QStringLiteral("sizes"))) {
        return compressDocuments(*engine, parseIds(parser.value(QStringLiteral("sizes"))), batch);
    }
    oneMemory(*engine, 0);  // warm-up
    // UIO: whole batches of independent segments; UltraGist: one document, window after window.
    const int segments = engine->has_ultragist() ? n_segments : (n_segments + batch - 1) / batch * batch;
    QElapsedTimer timer;
    timer.start();
    const int64_t bytes = compressDocument(*engine, static_cast<size_t>(segments), batch, 1);
    const double seconds = timer.nsecsElapsed() / 1e9;
    const double tokens = static_cast<double>(segments) * static_cast<double>(l);
    const double gflops = tokens / seconds * compressionFlopsPerToken(*engine) / 1e9;
    const double gemm = model::measure_gemm_gflops(engine->device(), engine->dtype(), gemmSizeFor(engine->device()), 3);
    const model::AdapterInfo compressor = engine->adapter_info();
    printJson(QJsonDocument(benchResult(
        QStringLiteral("compress"), *engine,
        QJsonObject{
            {QStringLiteral("compressor"), compressorName(compressor)},
            {QStringLiteral("segment_length"), static_cast<qint64>(l)},
            {QStringLiteral("memory_rows"),
             static_cast<qint64>(engine->has_ultragist() ? l / engine->ultragist_ratio_for(static_cast<int64_t>(tokens))
                                                         : compressor.config.memory_tokens)},
            {QStringLiteral("batch"), engine->has_ultragist() ? 1 : batch},
            {QStringLiteral("memory_bytes_per_1k_tokens"), static_cast<double>(bytes) * 1024.0 / tokens},
            {QStringLiteral("tokens_per_s"), tokens / seconds},
            {QStringLiteral("gflops"), gflops},
            {QStringLiteral("gemm_gflops"), gemm},
            {QStringLiteral("fraction_of_gemm"), gflops / gemm},
        })));
    return 0;
}

int benchDecodeMemory(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Measure decode tokens/s with memory segments in front."));
    addModelOptions(parser);
    addAdapterOption(parser);
    parser.addOptions({
        {QStringLiteral("segments"), QStringLiteral("Memory segments to try (default 0,10,90)."),
         QStringLiteral("list")},
        {QStringLiteral("new-tokens"), QStringLiteral("Tokens to decode (default 32)."), QStringLiteral("n")},
        {QStringLiteral("repeats"), QStringLiteral("Timed repeats; medians are reported (default 3)."),
         QStringLiteral("n")},
    });
    parse(parser, QStringLiteral("bench decode-memory"), args);
    const int n_new = intValue(parser, QStringLiteral("new-tokens"), 32);
    const int repeats = intValue(parser, QStringLiteral("repeats"), 3);
    const std::vector<int32_t> counts = listValue(parser, QStringLiteral("segments"), QStringLiteral("0,10,90"));
    auto engine = openEngine(parser);
    prepareAdapter(*engine, parser);
    const model::LlamaConfig& c = engine->config();
    const model::AdapterInfo adapter = engine->adapter_info();
    // Decoding cost does not depend on what the memories say: one real segment, repeated.
    const model::MemoryBlob blob = oneMemory(*engine, 1);
    // Rows each segment puts in front: m, or UltraGist's window / ratio (its sink row is one in all).
    const int64_t rows_per_segment = engine->has_ultragist() ? blob.shape[3] - 1 : adapter.config.memory_tokens;

    model::GenerateRequest request;
    request.prompt = randomTokens(c, 16, 2);
    request.prompt.front() = c.bos_id;
    request.max_new_tokens = n_new;
    request.ignore_eos = true;
    request.sampling.temperature = 0.0f;
    const double bytes = model::bytes_per_weight(engine->dtype());
    const double weight_bytes =
        static_cast<double>(c.n_params() - c.n_vocab * c.n_embd * (c.tie_word_embeddings ? 0 : 1)) * bytes;
    QJsonArray rows;
    double base_rate = 0.0;
    for (const int s : counts) {
        auto chat = engine->open_memory_chat(std::vector<model::MemoryBlob>(static_cast<size_t>(s), blob));
        chat->generate(request);  // warm-up
        std::vector<double> rates;
        for (int r = 0; r < repeats; ++r) {
            const model::Generation g = chat->generate(request);
            rates.push_back(static_cast<double>(g.ids.size()) / g.decode_seconds);
        }
        const double rate = median(rates);
        if (rows.isEmpty())
            base_rate = rate;
        // Each token reads the weights and the keys and values of every memory position.
        const double kv_bytes = 2.0 * c.n_layer * s * rows_per_segment * c.n_kv_head * c.head_dim() * bytes;
        rows.append(QJsonObject{{QStringLiteral("segments"), s},
                                {QStringLiteral("memory_positions"), static_cast<qint64>(s * rows_per_segment)},
                                {QStringLiteral("decode_tokens_per_s"), rate},
                                {QStringLiteral("relative_to_first"), rate / base_rate},
                                {QStringLiteral("predicted_by_bytes_read"), weight_bytes / (weight_bytes + kv_bytes)}});
    }
    printJson(QJsonDocument(benchResult(QStringLiteral("decode-memory"), *engine,
                                        QJsonObject{
                                            {QStringLiteral("compressor"), compressorName(adapter)},
                                            {QStringLiteral("memory_tokens"), static_cast<qint64>(rows_per_segment)},
                                            {QStringLiteral("new_tokens"), n_new},
                                            {QStringLiteral("results"), rows},
                                        })));
    return 0;
}

}  // namespace uio::cli
