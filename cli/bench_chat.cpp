// uio bench chat: time to the first answer token for a document whose memories are cached,
// against compressing it from scratch first, for texts of the given lengths. Documents longer than
// the window answer from memories chosen by relevance and verbatim passages. With --copy-memories
// every segment gets the first one's memory instead of its own: the path from cache to the first
// token costs the same, and a long book is timed without compressing it.

#include "bench.h"
#include "command.h"
#include "options.h"
#include "uio/model/synthetic_text.h"
#include "uio/services/chatservice.h"
#include "uio/services/compressor.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>

namespace uio::cli {

int benchChat(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Time to the first answer token: cached memories vs compressing first."));
    addModelOptions(parser);
    addAdapterOption(parser);
    parser.addOptions(
        {{QStringLiteral("tokens"), QStringLiteral("Document lengths (default 10000,95000)."), QStringLiteral("list")},
         {QStringLiteral("copy-memories"),
          QStringLiteral("Store the first segment's memory for every segment instead of compressing each.")}});
    parse(parser, QStringLiteral("bench chat"), args);
    auto engine = openEngine(parser);
    if (!loadAdapter(*engine, parser))
        engine->create_adapter(model::AdapterConfig{}, 0);
    QTemporaryDir dir;
    storage::Library library(dir.filePath(QStringLiteral("bench.sqlite3")).toStdString());
    const QString lengths = parser.value(QStringLiteral("tokens")).isEmpty() ? QStringLiteral("10000,95000")
                                                                             : parser.value(QStringLiteral("tokens"));

    QJsonArray rows;
    for (const int32_t target : parseIds(lengths)) {
        // Generated text of about `target` tokens.
        std::string text;
        for (size_t words = static_cast<size_t>(target) / 4;; words += words / 10) {
            text = model::synthetic_text(7, words, 20000);
            if (static_cast<int32_t>(engine->tokenizer().encode(text).size()) >= target)
                break;
        }
        storage::NewDocument document;
        document.sha256 =
            QCryptographicHash::hash(QByteArray::fromStdString(text), QCryptographicHash::Sha256).toHex().toStdString();
        document.title = "bench";
        document.format = "txt";
        document.text = text;
        const int64_t doc = storage::Documents(library.db()).add(document).id;
        const int64_t chat = storage::Chats(library.db()).create("bench", {doc});
        services::AskOptions options;
        options.max_new_tokens = 1;
        options.sampling.temperature = 0.0f;
        options.untrained_memories = true;  // the path is timed, whatever the adapter knows
        // A question whose words the text has, so that passages and relevance play their part.
        const std::string question = "What does it say about " + text.substr(text.size() / 2, 40) + "?";

        QJsonObject row;
        QElapsedTimer timer;
        timer.start();
        services::Compressor compressor(*engine, library.db());
        if (parser.isSet(QStringLiteral("copy-memories"))) {
            const auto outline = compressor.outline(doc);
            const auto ids = compressor.tokens_of(doc);
            const int64_t l = engine->adapter_info().config.segment_length;
            const model::MemoryBlob blob = engine->compress({std::vector<int32_t>(ids.begin(), ids.begin() + l)})[0];
            storage::MemoryCache cache(library.db());
            const int64_t key = cache.key_id(compressor.key_for(storage::Documents(library.db()).get(doc)->sha256));
            for (int64_t s = 0; s < outline.segments_total; ++s)
                cache.put(key, {s, s * l, (s + 1) * l, blob.shape, model::dtype_name(blob.dtype), blob.checksum},
                          blob.bytes);
        } else {
            // From scratch: compress every segment, then answer.
            compressor.run(doc);
            const double compressSeconds = timer.nsecsElapsed() / 1e9;
            services::ChatService service(*engine, library.db(), compressor);
            service.ask(chat, question, options);
            row[QStringLiteral("first_token_from_scratch_s")] = timer.nsecsElapsed() / 1e9;
            row[QStringLiteral("of_which_compression_s")] = compressSeconds;
        }

        // Cached: a new chat service loads the memories from the cache and answers.
        timer.restart();
        services::ChatService service(*engine, library.db(), compressor);
        const services::Answer answer = service.ask(chat, question, options);
        const double cached = timer.nsecsElapsed() / 1e9;
        row[QStringLiteral("tokens")] = static_cast<qint64>(*storage::Documents(library.db()).get(doc)->token_count);
        row[QStringLiteral("segments")] = static_cast<qint64>(compressor.outline(doc).segments_total);
        row[QStringLiteral("segments_in_window")] = static_cast<qint64>(answer.memories.size());
        row[QStringLiteral("passages_in_window")] = static_cast<qint64>(answer.passages.size());
        row[QStringLiteral("first_token_cached_s")] = cached;
        // Of which reading the prompt after the memories; the rest chose, loaded and projected them.
        row[QStringLiteral("prompt_tokens")] = static_cast<qint64>(answer.generation.prompt_tokens);
        row[QStringLiteral("prefill_s")] = answer.generation.prefill_seconds;
        if (row.contains(QStringLiteral("first_token_from_scratch_s")))
            row[QStringLiteral("speedup")] = row[QStringLiteral("first_token_from_scratch_s")].toDouble() / cached;
        rows.append(row);
    }
    printJson(QJsonDocument(benchResult(QStringLiteral("chat"), *engine, {{QStringLiteral("results"), rows}})));
    return 0;
}

}  // namespace uio::cli
