// uio bench chat: time to the first answer token for a document whose memories are cached,
// against compressing it from scratch first, for texts of the given lengths.

#include "bench.h"
#include "command.h"
#include "options.h"
#include "uio/model/synthetic_text.h"
#include "uio/services/chatservice.h"
#include "uio/services/compressor.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/library.h"

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
    parser.addOption(
        {QStringLiteral("tokens"), QStringLiteral("Document lengths (default 10000,95000)."), QStringLiteral("list")});
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
        storage::NewDocument row;
        row.sha256 =
            QCryptographicHash::hash(QByteArray::fromStdString(text), QCryptographicHash::Sha256).toHex().toStdString();
        row.title = "bench";
        row.format = "txt";
        row.text = text;
        const int64_t doc = storage::Documents(library.db()).add(row).id;
        const int64_t chat = storage::Chats(library.db()).create("bench", {doc});
        services::AskOptions options;
        options.max_new_tokens = 1;
        options.sampling.temperature = 0.0f;

        // From scratch: compress every segment, then answer.
        QElapsedTimer timer;
        timer.start();
        services::Compressor compressor(*engine, library.db());
        const auto outcome = compressor.run(doc);
        const double compressSeconds = timer.nsecsElapsed() / 1e9;
        {
            services::ChatService service(*engine, library.db(), compressor);
            service.ask(chat, "What is this about?", options);
        }
        const double scratch = timer.nsecsElapsed() / 1e9;

        // Cached: a new chat service loads the memories from the cache and answers.
        timer.restart();
        services::ChatService service(*engine, library.db(), compressor);
        service.ask(chat, "What is this about?", options);
        const double cached = timer.nsecsElapsed() / 1e9;
        rows.append(QJsonObject{{QStringLiteral("tokens"), static_cast<qint64>(compressor.tokens_of(doc).size())},
                                {QStringLiteral("segments"), static_cast<qint64>(outcome.segments_total)},
                                {QStringLiteral("first_token_from_scratch_s"), scratch},
                                {QStringLiteral("of_which_compression_s"), compressSeconds},
                                {QStringLiteral("first_token_cached_s"), cached},
                                {QStringLiteral("speedup"), scratch / cached}});
    }
    printJson(QJsonDocument(benchResult(QStringLiteral("chat"), *engine, {{QStringLiteral("results"), rows}})));
    return 0;
}

}  // namespace uio::cli
