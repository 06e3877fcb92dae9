// uio score: log-probabilities of every next token of a text under the model, and perplexity.

#include "command.h"
#include "options.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QTextStream>

namespace uio::cli {

int runScore(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Score a token sequence: log p(next token) at every position."));
    addModelOptions(parser);
    addAdapterOption(parser);
    parser.addOptions({
        {QStringLiteral("segment-length"),
         QStringLiteral("With --adapter: score segment t of this many tokens given the memories of the segments "
                        "before it (must be the adapter's)."),
         QStringLiteral("l")},
        {QStringLiteral("ids"), QStringLiteral("Token ids, e.g. 1,450,4996."), QStringLiteral("ids")},
        {QStringLiteral("text-file"), QStringLiteral("A UTF-8 text, tokenized with BOS first."),
         QStringLiteral("file")},
        {QStringLiteral("top-k"), QStringLiteral("Also list the k most likely next tokens (default 0)."),
         QStringLiteral("k")},
        {QStringLiteral("json"), QStringLiteral("Print one JSON object with every position.")},
        {QStringLiteral("plain"),
         QStringLiteral("Score with the base model alone, even when --model is an UltraGist folder (otherwise "
                        "scored with the release's protocol: the whole stream in one call, each window compressed "
                        "when it completes).")},
    });
    parse(parser, QStringLiteral("score"), args);
    if (parser.isSet(QStringLiteral("ids")) == parser.isSet(QStringLiteral("text-file"))) {
        throw UsageError("give exactly one of --ids and --text-file");
    }
    std::vector<int32_t> ids;
    if (parser.isSet(QStringLiteral("ids"))) {
        ids = parseIds(parser.value(QStringLiteral("ids")));  // usage errors before the slow model load
    }
    auto engine = openEngine(parser);
    if (ids.empty()) {
        ids = engine->tokenizer().encode(readTextFile(parser.value(QStringLiteral("text-file"))).toStdString());
    }
    const int topK = intValue(parser, QStringLiteral("top-k"), 0);
    model::ScoreResult result;
    const bool plain = parser.isSet(QStringLiteral("plain"));
    bool memory = !plain && loadAdapter(*engine, parser);
    if (!plain && !memory && model::has_ultragist_tensors(parser.value(QStringLiteral("model")).toStdString())) {
        engine->load_ultragist(parser.value(QStringLiteral("model")).toStdString(), ultragistRatio(parser));
        memory = true;
    }
    if (memory && engine->has_ultragist()) {
        result = engine->score_with_memory(ids, topK);
    } else if (memory) {
        const int64_t l = engine->adapter_info().config.segment_length;
        if (intValue(parser, QStringLiteral("segment-length"), static_cast<int>(l)) != l) {
            throw UsageError("--segment-length must be the adapter's segment length, " + std::to_string(l));
        }
        result = engine->score_with_memory(ids, topK);
    } else {
        result = engine->score(ids, topK);
    }

    if (!parser.isSet(QStringLiteral("json"))) {
        QTextStream(stdout) << "tokens: " << ids.size() << "\nsum_logprob: " << result.sum_logprob
                            << "\nperplexity: " << result.perplexity << '\n';
        return 0;
    }
    QJsonArray tokens, positions;
    for (size_t i = 0; i < result.positions.size(); ++i) {
        const model::ScoredPosition& p = result.positions[i];
        tokens.append(p.token);
        QJsonArray top;
        for (const auto& [id, logprob] : p.top)
            top.append(QJsonArray{id, logprob});
        positions.append(QJsonObject{
            {QStringLiteral("index"), static_cast<qint64>(i)},
            {QStringLiteral("token"), p.token},
            {QStringLiteral("next"), p.next ? QJsonValue(*p.next) : QJsonValue(QJsonValue::Null)},
            {QStringLiteral("next_logprob"),
             p.next_logprob ? QJsonValue(*p.next_logprob) : QJsonValue(QJsonValue::Null)},
            {QStringLiteral("top"), top},
        });
    }
    QJsonObject json{{QStringLiteral("tokens"), tokens},
                     {QStringLiteral("positions"), positions},
                     {QStringLiteral("sum_logprob"), result.sum_logprob},
                     {QStringLiteral("perplexity"), result.perplexity}};
    if (!result.segment_perplexity.empty()) {
        QJsonArray segments;
        for (const double p : result.segment_perplexity)
            segments.append(p);
        json[QStringLiteral("segment_perplexity")] = segments;
    }
    printJson(QJsonDocument(json));
    return 0;
}

}  // namespace uio::cli
