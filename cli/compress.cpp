// uio compress: a text in, its UIO memory out (one file with every segment and the tail).

#include "command.h"
#include "options.h"
#include "uio/model/memory_file.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QTextStream>

namespace uio::cli {

int runCompress(const QStringList& args) {
    if (args.contains(QStringLiteral("--doc"))) {
        return compressDocument(args);  // a library document into the cache
    }
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Tokenize BOS + text, compress every full segment into memory and keep the tail as tokens.\n"
                       "A library document instead: uio compress --db DB --doc ID --model DIR --adapter F "
                       "(resumable; Ctrl+C pauses). --ultragist compresses with UltraGist instead of an adapter."));
    addModelOptions(parser);
    addAdapterOption(parser);
    parser.addOptions({
        {QStringLiteral("text-file"), QStringLiteral("A UTF-8 text."), QStringLiteral("file")},
        {QStringLiteral("out"), QStringLiteral("Memory file to write (.safetensors)."), QStringLiteral("file")},
        {QStringLiteral("batch"), QStringLiteral("Segments encoded together (default 4)."), QStringLiteral("n")},
    });
    parse(parser, QStringLiteral("compress"), args);
    const QString out = required(parser, QStringLiteral("out"));
    const QString text = readTextFile(required(parser, QStringLiteral("text-file")));
    requireCompressor(parser);
    const int batch = std::max(1, intValue(parser, QStringLiteral("batch"), 4));

    auto engine = openEngine(parser);
    loadAdapter(*engine, parser);
    const model::AdapterInfo adapter = engine->adapter_info();
    const auto ids = engine->tokenizer().encode(text.toStdString());
    const auto l = static_cast<size_t>(adapter.config.segment_length);
    const size_t n_segments = ids.size() / l;

    model::MemoryFile file;
    file.segment_length = adapter.config.segment_length;
    file.memory_tokens = adapter.config.memory_tokens;
    file.n_tokens = static_cast<int64_t>(ids.size());
    file.adapter_fingerprint = adapter.fingerprint;
    file.base_fingerprint = adapter.base_fingerprint;
    file.residual.assign(ids.begin() + static_cast<std::ptrdiff_t>(n_segments * l), ids.end());
    QTextStream err(stderr);
    QElapsedTimer timer;
    timer.start();
    auto report = [&] {
        err << "segments " << file.segments.size() << "/" << n_segments << ", "
            << qRound(file.segments.size() * l / std::max(0.001, timer.elapsed() / 1000.0)) << " tokens/s\n"
            << Qt::flush;
    };
    if (engine->has_ultragist()) {  // window after window, each against the memory before it
        const auto stream = engine->open_compression({}, static_cast<int64_t>(ids.size()));
        for (size_t s = 0; s < n_segments; ++s) {
            file.segments.push_back(stream->next({ids.begin() + static_cast<std::ptrdiff_t>(s * l),
                                                  ids.begin() + static_cast<std::ptrdiff_t>((s + 1) * l)}));
            report();
        }
    }
    for (size_t first = engine->has_ultragist() ? n_segments : 0; first < n_segments;
         first += static_cast<size_t>(batch)) {
        std::vector<std::vector<int32_t>> segments;
        for (size_t s = first; s < std::min(n_segments, first + static_cast<size_t>(batch)); ++s) {
            segments.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(s * l),
                                  ids.begin() + static_cast<std::ptrdiff_t>((s + 1) * l));
        }
        for (model::MemoryBlob& blob : engine->compress(segments)) {
            file.segments.push_back(std::move(blob));
        }
        report();
    }
    const double seconds = timer.elapsed() / 1000.0;
    model::write_memory_file(out.toStdString(), file);
    printJson(QJsonDocument(QJsonObject{
        {QStringLiteral("tokens"), static_cast<qint64>(ids.size())},
        {QStringLiteral("segments"), static_cast<qint64>(n_segments)},
        {QStringLiteral("residual_tokens"), static_cast<qint64>(file.residual.size())},
        {QStringLiteral("seconds"), seconds},
        {QStringLiteral("tokens_per_s"), seconds > 0 ? n_segments * l / seconds : 0.0},
        {QStringLiteral("out"), out},
    }));
    return 0;
}

}  // namespace uio::cli
