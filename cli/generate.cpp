// uio generate: a prompt in, a streamed continuation out. Ctrl+C stops after the current token.

#include "command.h"
#include "options.h"
#include "uio/model/chat_format.h"
#include "uio/model/memory_file.h"

#include <QJsonArray>
#include <QJsonObject>

#include <atomic>
#include <cstdio>
#include <random>

namespace uio::cli {

namespace {

QString stopName(model::StopReason reason) {
    switch (reason) {
        case model::StopReason::Eos:
            return QStringLiteral("eos");
        case model::StopReason::MaxTokens:
            return QStringLiteral("max_tokens");
        case model::StopReason::Cancelled:
            return QStringLiteral("cancelled");
        case model::StopReason::ContextFull:
            return QStringLiteral("context_full");
    }
    return {};
}

void write(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

}  // namespace

int runGenerate(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Continue a prompt, streaming the text as it is generated."));
    addModelOptions(parser);
    addAdapterOption(parser);
    parser.addOptions({
        {QStringLiteral("memory"),
         QStringLiteral("Answer with this compressed document (from 'uio compress') in front."),
         QStringLiteral("file")},
        {QStringLiteral("prompt"), QStringLiteral("Prompt text."), QStringLiteral("text")},
        {QStringLiteral("prompt-ids"), QStringLiteral("Prompt as token ids, e.g. 1,450,4996."), QStringLiteral("ids")},
        {QStringLiteral("chat"), QStringLiteral("Wrap the prompt in the Llama-2-chat format.")},
        {QStringLiteral("system"), QStringLiteral("System prompt for --chat."), QStringLiteral("text")},
        {QStringLiteral("max-new-tokens"), QStringLiteral("Tokens to generate at most (default 256)."),
         QStringLiteral("n")},
        {QStringLiteral("temperature"), QStringLiteral("Sampling temperature; 0 is greedy (default 0.8)."),
         QStringLiteral("t")},
        {QStringLiteral("top-k"), QStringLiteral("Sample from the k most likely tokens; 0 is all (default 40)."),
         QStringLiteral("k")},
        {QStringLiteral("top-p"), QStringLiteral("Nucleus sampling mass (default 0.95)."), QStringLiteral("p")},
        {QStringLiteral("repeat-penalty"), QStringLiteral("Penalty for recent tokens; 1 is off (default 1)."),
         QStringLiteral("r")},
        {QStringLiteral("seed"), QStringLiteral("Random seed; the same seed gives the same text."),
         QStringLiteral("s")},
        {QStringLiteral("ignore-eos"), QStringLiteral("Keep going after the end-of-sequence token.")},
        {QStringLiteral("ids"), QStringLiteral("Print only the generated ids, space-separated.")},
        {QStringLiteral("json"), QStringLiteral("Print JSON lines: one per token, then a summary.")},
    });
    parse(parser, QStringLiteral("generate"), args);
    if (parser.isSet(QStringLiteral("prompt")) == parser.isSet(QStringLiteral("prompt-ids"))) {
        throw UsageError("give exactly one of --prompt and --prompt-ids");
    }
    const bool json = parser.isSet(QStringLiteral("json"));
    const bool idsOnly = parser.isSet(QStringLiteral("ids"));

    if (parser.isSet(QStringLiteral("memory")) && !parser.isSet(QStringLiteral("adapter")) &&
        !parser.isSet(QStringLiteral("ultragist"))) {
        throw UsageError("--memory needs the --adapter (or --ultragist) it was compressed with");
    }
    auto engine = openEngine(parser);
    std::unique_ptr<model::MemoryChat> chat;
    model::GenerateRequest request;
    if (loadAdapter(*engine, parser)) {
        model::MemoryFile memory;
        if (parser.isSet(QStringLiteral("memory"))) {
            memory = model::read_memory_file(parser.value(QStringLiteral("memory")).toStdString());
            if (memory.adapter_fingerprint != engine->adapter_info().fingerprint) {
                throw std::runtime_error(
                    parser.value(QStringLiteral("memory")).toStdString() +
                    " was compressed with another adapter; compress the document again with this one");
            }
        }
        chat = engine->open_memory_chat(memory.segments);
        request.prompt = memory.residual;  // the decoder reads the uncompressed tail, then the question
    }
    const bool bos = request.prompt.empty();
    std::vector<int32_t> turn;
    if (parser.isSet(QStringLiteral("prompt-ids"))) {
        turn = parseIds(parser.value(QStringLiteral("prompt-ids")));
    } else if (parser.isSet(QStringLiteral("chat"))) {
        turn = model::llama2_chat_prompt(engine->tokenizer(), parser.value(QStringLiteral("system")).toStdString(), {},
                                         parser.value(QStringLiteral("prompt")).toStdString());
    } else {
        turn = engine->tokenizer().encode(parser.value(QStringLiteral("prompt")).toStdString(), bos);
    }
    request.prompt.insert(request.prompt.end(), turn.begin(), turn.end());
    request.max_new_tokens = intValue(parser, QStringLiteral("max-new-tokens"), 256);
    request.ignore_eos = parser.isSet(QStringLiteral("ignore-eos"));
    auto& s = request.sampling;
    s.temperature = static_cast<float>(doubleValue(parser, QStringLiteral("temperature"), 0.8));
    s.top_k = intValue(parser, QStringLiteral("top-k"), 40);
    s.top_p = static_cast<float>(doubleValue(parser, QStringLiteral("top-p"), 0.95));
    s.repeat_penalty = static_cast<float>(doubleValue(parser, QStringLiteral("repeat-penalty"), 1.0));
    s.seed = parser.isSet(QStringLiteral("seed")) ? parser.value(QStringLiteral("seed")).toULongLong()
                                                  : std::random_device{}();

    const bool text = !idsOnly && engine->has_tokenizer();
    std::optional<model::StreamDecoder> stream;
    if (text)
        stream.emplace(engine->tokenizer());
    const InterruptFlag interrupted;
    const auto onToken = [&](int32_t id) {
        const std::string piece = stream ? stream->push(id) : std::string();
        if (json) {
            printJson(QJsonDocument(
                QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("text"), QString::fromStdString(piece)}}));
        } else if (text) {
            write(piece);
        }
    };
    const model::Generation result = chat ? chat->generate(request, onToken, interrupted.get())
                                          : engine->generate(request, onToken, interrupted.get());

    const std::string rest = stream ? stream->flush() : std::string();
    if (json) {
        QJsonArray ids;
        for (const int32_t id : result.ids)
            ids.append(id);
        const double decodeRate = result.decode_seconds > 0 ? result.ids.size() / result.decode_seconds : 0.0;
        printJson(QJsonDocument(QJsonObject{
            {QStringLiteral("done"), true},
            {QStringLiteral("text_tail"), QString::fromStdString(rest)},
            {QStringLiteral("ids"), ids},
            {QStringLiteral("stop"), stopName(result.stop)},
            {QStringLiteral("prompt_tokens"), static_cast<qint64>(result.prompt_tokens)},
            {QStringLiteral("generated_tokens"), static_cast<qint64>(result.ids.size())},
            {QStringLiteral("prefill_tokens_per_s"),
             result.prefill_seconds > 0 ? result.prompt_tokens / result.prefill_seconds : 0.0},
            {QStringLiteral("decode_tokens_per_s"), decodeRate},
        }));
    } else if (text) {
        write(rest + "\n");
    } else {
        std::string line;
        for (const int32_t id : result.ids) {
            line += line.empty() ? "" : " ";
            line += std::to_string(id);
        }
        write(line + "\n");
    }
    return result.stop == model::StopReason::Cancelled ? 130 : 0;
}

}  // namespace uio::cli
