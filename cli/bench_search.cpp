// uio bench search: the passage index on a generated library of about --tokens tokens: how long
// indexing takes, how large the index is beside the text, and how long a question's search takes
// (p50 and p99 over --queries questions of 2 to 6 words from the library's own vocabulary).

#include "bench.h"
#include "command.h"
#include "options.h"
#include "uio/model/synthetic_text.h"
#include "uio/storage/documents.h"
#include "uio/storage/library.h"
#include "uio/storage/passages.h"
#include "uio/storage/statement.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <algorithm>

namespace uio::cli {

namespace {

// Bytes of the tables whose names start with `prefix` (SQLite's dbstat).
int64_t tableBytes(storage::Database& db, const std::string& prefix) {
    storage::Statement size(db, "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE ? || '%'");
    size.bind(1, prefix);
    size.step();
    return size.column_int(0);
}

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace

int benchSearch(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("The passage index: indexing, size and search latency."));
    parser.addOptions(
        {{QStringLiteral("tokens"), QStringLiteral("Library size in tokens, about 4 bytes each (default 1000000)."),
          QStringLiteral("n")},
         {QStringLiteral("documents"), QStringLiteral("Documents it is split into (default 10)."), QStringLiteral("n")},
         {QStringLiteral("queries"), QStringLiteral("Searches timed (default 300)."), QStringLiteral("n")}});
    parse(parser, QStringLiteral("bench search"), args);
    const int64_t tokens = intValue(parser, QStringLiteral("tokens"), 1000000);
    const int documents = std::max(1, static_cast<int>(intValue(parser, QStringLiteral("documents"), 10)));
    const int queries = std::max(1, static_cast<int>(intValue(parser, QStringLiteral("queries"), 300)));

    QTemporaryDir dir;
    storage::Library library(dir.filePath(QStringLiteral("bench.sqlite3")).toStdString());
    // Prose of a 20000-word vocabulary, about 4 bytes a token.
    const double bytesPerWord = static_cast<double>(model::synthetic_text(99, 10000, 20000).size()) / 10000.0;
    const auto words = static_cast<size_t>(static_cast<double>(tokens) * 4.0 / bytesPerWord / documents);
    int64_t textBytes = 0;
    std::vector<std::string> texts;
    for (int d = 0; d < documents; ++d)
        texts.push_back(model::synthetic_text(static_cast<uint64_t>(d + 1), words, 20000));
    QElapsedTimer timer;
    timer.start();
    storage::Documents rows(library.db());
    for (int d = 0; d < documents; ++d) {
        storage::NewDocument row;
        row.text = texts[static_cast<size_t>(d)];
        row.sha256 = QCryptographicHash::hash(QByteArray::fromStdString(row.text), QCryptographicHash::Sha256)
                         .toHex()
                         .toStdString();
        row.title = "document " + std::to_string(d + 1);
        row.format = "txt";
        rows.add(row);  // indexed in the same transaction
        textBytes += static_cast<int64_t>(row.text.size());
    }
    const double indexSeconds = timer.nsecsElapsed() / 1e9;

    // Questions of 2 to 6 words taken from the texts, so that most have hits.
    QRandomGenerator random(7);
    storage::Passages passages(library.db());
    std::vector<double> latency;
    int64_t hits = 0;
    for (int q = 0; q < queries; ++q) {
        const std::string& text = texts[random.bounded(static_cast<int>(texts.size()))];
        std::string question = "What does the text say about";
        const int n = 2 + static_cast<int>(random.bounded(5));
        for (int w = 0; w < n; ++w) {
            const size_t at =
                text.find(' ', random.bounded(static_cast<quint32>(text.size() > 64 ? text.size() - 64 : 1)));
            const size_t end = at == std::string::npos ? at : text.find_first_of(" .,\n", at + 1);
            if (end != std::string::npos)
                question += " " + text.substr(at + 1, end - at - 1);
        }
        timer.restart();
        hits += static_cast<int64_t>(passages.search(question + "?", {}, 40).size());
        latency.push_back(timer.nsecsElapsed() / 1e6);
    }
    storage::Statement count(library.db(), "SELECT COUNT(*) FROM passages");
    count.step();
    const int64_t indexBytes = tableBytes(library.db(), "passage");
    QJsonObject result{
        {QStringLiteral("bench"), QStringLiteral("search")},
        {QStringLiteral("machine"), machineJson("cpu")},
        {QStringLiteral("documents"), documents},
        {QStringLiteral("text_bytes"), static_cast<qint64>(textBytes)},
        {QStringLiteral("approximate_tokens"), static_cast<qint64>(textBytes / 4)},
        {QStringLiteral("passages"), static_cast<qint64>(count.column_int(0))},
        {QStringLiteral("index_bytes"), static_cast<qint64>(indexBytes)},
        {QStringLiteral("index_to_text"), static_cast<double>(indexBytes) / static_cast<double>(textBytes)},
        {QStringLiteral("add_and_index_s"), indexSeconds},
        {QStringLiteral("queries"), queries},
        {QStringLiteral("mean_hits"), static_cast<double>(hits) / queries},
        {QStringLiteral("search_ms_p50"), percentile(latency, 0.5)},
        {QStringLiteral("search_ms_p99"), percentile(latency, 0.99)}};
    printJson(QJsonDocument(result));
    return 0;
}

}  // namespace uio::cli
