// The library commands: the same database and services as the desktop application.
//   uio ingest FILE...      add documents (text extracted, deduplicated by content)
//   uio library             documents, status, tokens, cache size
//   uio compress --doc ID   compress a document into the memory cache, resuming where it stopped
//   uio chat --doc ID "q"   ask about documents, the answer streamed and saved with its sources
//   uio search "words"      the passages of the library that have them, best first
//   uio cache info|purge    cache keys and their sizes; remove some

#include "uio/storage/library.h"

#include "command.h"
#include "options.h"
#include "reading.h"
#include "uio/common/units.h"
#include "uio/services/chatservice.h"
#include "uio/services/compressionjob.h"
#include "uio/services/compressor.h"
#include "uio/services/librarypaths.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/jobs.h"
#include "uio/storage/memory_cache.h"
#include "uio/storage/passages.h"
#include "uio/storage/statement.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <unistd.h>

#include <cstdio>

namespace uio::cli {

namespace {

void addDbOption(QCommandLineParser& parser) {
    parser.addOption({QStringLiteral("db"), QStringLiteral("Library file (default: the desktop application's)."),
                      QStringLiteral("file")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print JSON.")});
}

std::unique_ptr<storage::Library> openLibrary(const QCommandLineParser& parser) {
    QString path = parser.value(QStringLiteral("db"));
    if (path.isEmpty())
        path = services::libraryPath();  // the desktop application's
    return std::make_unique<storage::Library>(path.toStdString());
}

std::unique_ptr<model::Engine> openEngineWithAdapter(const QCommandLineParser& parser) {
    requireCompressor(parser);
    auto engine = openEngine(parser);
    loadAdapter(*engine, parser);
    return engine;
}

// "new" for a document never queued, else the state of its latest job.
const char* statusName(const storage::DocumentSummary& d) {
    return d.job_state ? storage::state_name(*d.job_state) : "new";
}

int64_t docId(const QCommandLineParser& parser) {
    const auto ids = parseIds(required(parser, QStringLiteral("doc")));
    return ids.front();
}

}  // namespace

int runIngest(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Add documents to the library: uio ingest [--db F] FILE...\nEach file is read by its own "
                       "reader process with limits, so a damaged or hostile file fails alone."));
    addDbOption(parser);
    addReadingOptions(parser);
    parser.addPositionalArgument(QStringLiteral("files"), QStringLiteral("PDF, EPUB, text, Markdown or HTML files."));
    parseWithArguments(parser, QStringLiteral("ingest"), args);
    if (parser.positionalArguments().isEmpty())
        throw UsageError("give at least one file");
    auto library = openLibrary(parser);
    storage::Documents documents(library->db());
    return addDocuments(documents, parser.positionalArguments(), parser);
}

int runLibrary(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("List the documents of the library."));
    addDbOption(parser);
    parse(parser, QStringLiteral("library"), args);
    auto library = openLibrary(parser);
    const auto documents = storage::Documents(library->db()).list();
    if (parser.isSet(QStringLiteral("json"))) {
        QJsonArray rows;
        for (const auto& d : documents) {
            rows.append(QJsonObject{
                {QStringLiteral("id"), static_cast<qint64>(d.document.id)},
                {QStringLiteral("title"), QString::fromStdString(d.document.title)},
                {QStringLiteral("format"), QString::fromStdString(d.document.format)},
                {QStringLiteral("status"), QString::fromLatin1(statusName(d))},
                {QStringLiteral("tokens"),
                 d.document.token_count ? QJsonValue(static_cast<qint64>(*d.document.token_count)) : QJsonValue()},
                {QStringLiteral("cache_bytes"), static_cast<qint64>(d.cache_bytes)}});
        }
        printJson(QJsonDocument(rows));
        return 0;
    }
    QTextStream out(stdout);
    out << "id\tstatus\ttokens\tcache MB\ttitle\n";
    for (const auto& d : documents) {
        out << d.document.id << '\t' << statusName(d) << '\t'
            << (d.document.token_count ? QString::number(*d.document.token_count) : QStringLiteral("-")) << '\t'
            << QString::number(static_cast<double>(d.cache_bytes) / static_cast<double>(kMegabyte), 'f', 1) << '\t'
            << QString::fromStdString(d.document.title) << '\n';
    }
    return 0;
}

int compressDocument(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Compress a library document into the memory cache."));
    addModelOptions(parser);
    addAdapterOption(parser);
    addDbOption(parser);
    parser.addOptions(
        {{QStringLiteral("doc"), QStringLiteral("Document id."), QStringLiteral("id")},
         {QStringLiteral("batch"), QStringLiteral("Segments encoded together (default 4)."), QStringLiteral("n")}});
    parse(parser, QStringLiteral("compress"), args);
    const int64_t id = docId(parser);
    auto library = openLibrary(parser);
    if (!storage::Documents(library->db()).get(id))
        throw std::runtime_error("document " + std::to_string(id) + " is not in the library (see 'uio library')");
    auto engine = openEngineWithAdapter(parser);
    services::Compressor compressor(*engine, library->db(), intValue(parser, QStringLiteral("batch"), 4));

    const bool json = parser.isSet(QStringLiteral("json"));
    const bool terminal = isatty(fileno(stderr));
    std::atomic<services::JobControl> control{services::JobControl::Run};
    const InterruptFlag interrupted;
    const services::JobRun run = services::runCompressionJob(
        compressor, library->db(), id,
        [&](const services::CompressionProgress& p) {
            if (interrupted.raised())
                control = services::JobControl::Pause;
            if (json) {
                printJson(
                    QJsonDocument(QJsonObject{{QStringLiteral("segments_done"), static_cast<qint64>(p.segments_done)},
                                              {QStringLiteral("segments_total"), static_cast<qint64>(p.segments_total)},
                                              {QStringLiteral("tokens_per_s"), p.tokens_per_second},
                                              {QStringLiteral("eta_s"), p.eta_seconds}}));
            } else if (terminal) {
                const int width = 30;
                const int filled =
                    p.segments_total ? static_cast<int>(width * p.segments_done / p.segments_total) : width;
                std::fprintf(stderr, "\r[%s%s] %lld/%lld segments, %.0f tokens/s, %.0f s left ",
                             std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                             static_cast<long long>(p.segments_done), static_cast<long long>(p.segments_total),
                             p.tokens_per_second, p.eta_seconds);
            }
        },
        &control);
    if (terminal && !json)
        std::fputc('\n', stderr);
    const services::CompressionOutcome& outcome = run.outcome;
    const bool paused = run.state != storage::JobState::Done;
    if (json) {
        printJson(QJsonDocument(
            QJsonObject{{QStringLiteral("done"), !paused},
                        {QStringLiteral("segments_total"), static_cast<qint64>(outcome.segments_total)},
                        {QStringLiteral("segments_encoded"), static_cast<qint64>(outcome.segments_encoded)}}));
    } else {
        QTextStream(stdout) << (paused ? "paused" : "done") << ": " << outcome.segments_encoded
                            << " segments compressed, " << outcome.segments_total << " in all\n";
    }
    return paused ? 130 : 0;
}

int runChat(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Ask about library documents: uio chat --doc 1,2 \"question\"."));
    addModelOptions(parser);
    addAdapterOption(parser);
    addDbOption(parser);
    parser.addOptions(
        {{QStringLiteral("doc"), QStringLiteral("Document ids, in order."), QStringLiteral("ids")},
         {QStringLiteral("chat-id"), QStringLiteral("Continue this chat."), QStringLiteral("id")},
         {QStringLiteral("system"), QStringLiteral("System prompt."), QStringLiteral("text")},
         {QStringLiteral("max-new-tokens"), QStringLiteral("Answer length at most (default 512)."),
          QStringLiteral("n")},
         {QStringLiteral("temperature"), QStringLiteral("0 is greedy (default 0.7)."), QStringLiteral("t")},
         {QStringLiteral("seed"), QStringLiteral("Random seed."), QStringLiteral("s")},
         {QStringLiteral("ignore-eos"), QStringLiteral("Keep answering past the end-of-sequence token.")},
         {QStringLiteral("passage-share"),
          QStringLiteral("Share of the model's positions for passages placed verbatim (default 0.25)."),
          QStringLiteral("x")},
         {QStringLiteral("untrained-memories"),
          QStringLiteral("Use memories even when the adapter was never trained (they mean little).")},
         {QStringLiteral("continue"),
          QStringLiteral("The model continues text (a base model, such as the story demo): the question is the "
                         "start of the text it carries on after the documents, with no chat template.")}});
    parser.addPositionalArgument(QStringLiteral("question"), QStringLiteral("The question."));
    parseWithArguments(parser, QStringLiteral("chat"), args);
    if (parser.positionalArguments().size() != 1)
        throw UsageError("give the question as one argument");
    const std::string question = parser.positionalArguments().front().toStdString();

    auto library = openLibrary(parser);
    storage::Chats chats(library->db());
    int64_t chat = 0;
    if (parser.isSet(QStringLiteral("chat-id"))) {
        chat = intValue(parser, QStringLiteral("chat-id"), 0);
        if (!chats.get(chat))
            throw UsageError("there is no chat " + std::to_string(chat));
    } else {
        std::vector<int64_t> docs;
        for (const int32_t id : parseIds(required(parser, QStringLiteral("doc"))))
            docs.push_back(id);
        chat = chats.create(question.substr(0, 60), docs);
    }
    auto engine = openEngineWithAdapter(parser);
    services::Compressor compressor(*engine, library->db());
    services::ChatService service(*engine, library->db(), compressor);
    services::AskOptions options;
    options.system_prompt = parser.value(QStringLiteral("system")).toStdString();
    options.max_new_tokens = intValue(parser, QStringLiteral("max-new-tokens"), 512);
    options.sampling.temperature = static_cast<float>(doubleValue(parser, QStringLiteral("temperature"), 0.7));
    options.sampling.seed = parser.value(QStringLiteral("seed")).toULongLong();
    options.ignore_eos = parser.isSet(QStringLiteral("ignore-eos"));
    options.passage_share = doubleValue(parser, QStringLiteral("passage-share"), options.passage_share);
    options.untrained_memories = parser.isSet(QStringLiteral("untrained-memories"));
    options.continuation = parser.isSet(QStringLiteral("continue"));
    const bool json = parser.isSet(QStringLiteral("json"));
    const InterruptFlag interrupted;
    const services::Answer answer = service.ask(
        chat, question, options,
        [json](const std::string& piece) {
            if (json)
                return;
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
        },
        interrupted.get());
    const QJsonArray sources = QJsonDocument::fromJson(QByteArray::fromStdString(answer.sources_json)).array();
    if (json) {
        printJson(QJsonDocument(QJsonObject{{QStringLiteral("chat_id"), static_cast<qint64>(chat)},
                                            {QStringLiteral("answer"), QString::fromStdString(answer.text)},
                                            {QStringLiteral("notices"), QJsonArray::fromStringList(answer.notices)},
                                            {QStringLiteral("sources"), sources}}));
        return 0;
    }
    QTextStream out(stdout);
    out << "\n\nSources:" << (answer.passages.empty() ? " none placed verbatim\n" : "\n");
    for (const QJsonValue& value : sources) {
        const QJsonObject source = value.toObject();
        if (source[QStringLiteral("kind")] == QLatin1String("passage")) {
            out << "  " << source[QStringLiteral("label")].toString() << ": \""
                << source[QStringLiteral("text")].toString().simplified() << "\"\n";
        }
    }
    out.flush();  // the memories it had are in the first notice: "From 120 of 3404 parts of ..."
    QTextStream err(stderr);
    for (const QString& notice : answer.notices)
        err << notice << '\n';
    err << "chat " << chat << " (continue with --chat-id " << chat << ")\n";
    return 0;
}

int runSearch(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Find passages in library documents: uio search [--doc 1,2] \"words\"."));
    addDbOption(parser);
    parser.addOptions(
        {{QStringLiteral("doc"), QStringLiteral("Only these documents."), QStringLiteral("ids")},
         {QStringLiteral("limit"), QStringLiteral("Passages at most (default 10)."), QStringLiteral("n")}});
    parser.addPositionalArgument(QStringLiteral("query"), QStringLiteral("Words to look for."));
    parseWithArguments(parser, QStringLiteral("search"), args);
    if (parser.positionalArguments().size() != 1)
        throw UsageError("give the words to look for as one argument");
    auto library = openLibrary(parser);
    storage::Passages passages(library->db());
    std::vector<int64_t> docs;
    if (parser.isSet(QStringLiteral("doc"))) {
        for (const int32_t id : parseIds(parser.value(QStringLiteral("doc"))))
            docs.push_back(id);
    }
    while (passages.index_next()) {
        // A library made before the index: indexed here once, a document at a time.
    }
    storage::Documents documents(library->db());
    const auto hits = passages.search(parser.positionalArguments().front().toStdString(), docs,
                                      intValue(parser, QStringLiteral("limit"), 10));
    QJsonArray rows;
    QTextStream out(stdout);
    for (const storage::PassageHit& hit : hits) {
        const storage::Passage& p = hit.passage;
        const auto document = documents.get(p.document_id);
        const QString title = QString::fromStdString(document ? document->title : std::string());
        QString place = p.page_first ? QStringLiteral("p. %1").arg(*p.page_first) : QString();
        if (!p.section.empty())
            place = QStringLiteral("§ %1 %2").arg(QString::fromStdString(p.section), place).trimmed();
        if (parser.isSet(QStringLiteral("json"))) {
            rows.append(QJsonObject{
                {QStringLiteral("document_id"), static_cast<qint64>(p.document_id)},
                {QStringLiteral("title"), title},
                {QStringLiteral("passage_id"), static_cast<qint64>(p.id)},
                {QStringLiteral("page"), p.page_first ? QJsonValue(static_cast<qint64>(*p.page_first)) : QJsonValue()},
                {QStringLiteral("section"), QString::fromStdString(p.section)},
                {QStringLiteral("begin"), static_cast<qint64>(p.begin)},
                {QStringLiteral("end"), static_cast<qint64>(p.end)},
                {QStringLiteral("score"), hit.score},
                {QStringLiteral("snippet"), QString::fromStdString(hit.snippet)}});
        } else {
            out << p.document_id << "  " << title << "  " << place << "\n    "
                << QString::fromStdString(hit.snippet).simplified() << "\n";
        }
    }
    if (parser.isSet(QStringLiteral("json")))
        printJson(QJsonDocument(rows));
    else if (hits.empty())
        out << "nothing found\n";
    return 0;
}

int runCache(const QStringList& args) {
    const QString what = args.value(0);
    if (what.isEmpty() || what == QLatin1String("--help") || what == QLatin1String("-h")) {
        verbHelp(
            QStringLiteral("cache"),
            {{QStringLiteral("info"), QStringLiteral("cache keys, their segments and sizes (JSON)")},
             {QStringLiteral("purge"), QStringLiteral("remove a key (--key ID) or a document's keys (--doc ID)")}});
    }
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("uio cache info | purge --key ID | purge --doc ID"));
    addDbOption(parser);
    parser.addOptions(
        {{QStringLiteral("key"), QStringLiteral("Cache key to remove."), QStringLiteral("id")},
         {QStringLiteral("doc"), QStringLiteral("Remove every key of this document."), QStringLiteral("id")}});
    parse(parser, QStringLiteral("cache ") + what, args.mid(1));
    auto library = openLibrary(parser);
    storage::Statement keys(
        library->db(),
        "SELECT k.id, k.document_sha256, k.model_fingerprint, k.adapter_fingerprint, k.segment_length, "
        "k.memory_tokens, k.dtype, COUNT(s.segment_index), COALESCE(SUM(s.size), 0) FROM memory_keys k "
        "LEFT JOIN memory_segments s ON s.key_id = k.id GROUP BY k.id ORDER BY k.id");
    if (what == QLatin1String("info")) {
        QJsonArray rows;
        while (keys.step()) {
            rows.append(QJsonObject{{QStringLiteral("key"), static_cast<qint64>(keys.column_int(0))},
                                    {QStringLiteral("document_sha256"), QString::fromStdString(keys.column_text(1))},
                                    {QStringLiteral("model"), QString::fromStdString(keys.column_text(2))},
                                    {QStringLiteral("adapter"), QString::fromStdString(keys.column_text(3))},
                                    {QStringLiteral("segment_length"), static_cast<qint64>(keys.column_int(4))},
                                    {QStringLiteral("memory_tokens"), static_cast<qint64>(keys.column_int(5))},
                                    {QStringLiteral("dtype"), QString::fromStdString(keys.column_text(6))},
                                    {QStringLiteral("segments"), static_cast<qint64>(keys.column_int(7))},
                                    {QStringLiteral("bytes"), static_cast<qint64>(keys.column_int(8))}});
        }
        printJson(QJsonDocument(rows));
        return 0;
    }
    if (what != QLatin1String("purge"))
        throw UsageError("uio cache needs one of: info, purge");
    storage::MemoryCache cache(library->db());
    if (parser.isSet(QStringLiteral("key"))) {
        cache.purge_key(intValue(parser, QStringLiteral("key"), 0));
    } else if (parser.isSet(QStringLiteral("doc"))) {
        const auto doc = storage::Documents(library->db()).get(intValue(parser, QStringLiteral("doc"), 0));
        if (!doc)
            throw UsageError("no such document");
        while (keys.step()) {
            if (keys.column_text(1) == doc->sha256)
                cache.purge_key(keys.column_int(0));
        }
    } else {
        throw UsageError("give --key ID or --doc ID");
    }
    return 0;
}

}  // namespace uio::cli
