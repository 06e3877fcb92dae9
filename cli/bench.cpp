// uio bench: JSON figures of the machine's ceilings and the engine's speed against them.
//   uio bench gemm      matrix-multiply rate (the ceiling of prefill) and memory copy rate
//   uio bench generate  prefill and decode tokens/s of a model, as fractions of those ceilings
//   uio bench compress, decode-memory: see bench_memory.cpp; memory, train: bench_scaling.cpp;
//   chat: bench_chat.cpp; storage: bench_storage.cpp; search: bench_search.cpp

#include "bench.h"

#include "command.h"
#include "options.h"
#include "uio/model/ceilings.h"
#include "uio/model/runtime.h"

#include <QJsonObject>
#include <QSysInfo>

#include <algorithm>
#include <random>

namespace uio::cli {

QJsonObject machineJson(const std::string& device) {
    const model::RuntimeInfo info = model::runtime_info();
    return QJsonObject{{QStringLiteral("host"), QSysInfo::machineHostName()},
                       {QStringLiteral("device_name"), QString::fromStdString(model::device_name(device))},
                       {QStringLiteral("cpu_threads"), info.n_cpu_threads},
                       {QStringLiteral("blas"), QString::fromStdString(info.blas)},
                       {QStringLiteral("torch"), QString::fromStdString(info.torch_version)}};
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0.0 : values[values.size() / 2];
}

QJsonObject modelJson(const model::LlamaConfig& c) {
    return QJsonObject{{QStringLiteral("n_layer"), static_cast<qint64>(c.n_layer)},
                       {QStringLiteral("n_embd"), static_cast<qint64>(c.n_embd)},
                       {QStringLiteral("n_vocab"), static_cast<qint64>(c.n_vocab)},
                       {QStringLiteral("n_params"), static_cast<qint64>(c.n_params())}};
}

QJsonObject benchResult(const QString& bench, const model::Engine& engine, const QJsonObject& figures) {
    QJsonObject result{{QStringLiteral("bench"), bench},
                       {QStringLiteral("machine"), machineJson(engine.device())},
                       {QStringLiteral("device"), QString::fromStdString(engine.device())},
                       {QStringLiteral("dtype"), QString::fromStdString(model::dtype_name(engine.dtype()))},
                       {QStringLiteral("model"), modelJson(engine.config())}};
    for (auto it = figures.begin(); it != figures.end(); ++it)
        result.insert(it.key(), it.value());
    return result;
}

int64_t gemmSizeFor(const std::string& device) {
    return device.rfind("cuda", 0) == 0 ? 8192 : 2048;
}

std::vector<int32_t> randomTokens(const model::LlamaConfig& c, size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> ids(n);
    for (auto& id : ids)
        id = static_cast<int32_t>(3 + rng() % static_cast<uint32_t>(c.n_vocab - 3));
    return ids;
}

std::vector<int32_t> listValue(const QCommandLineParser& parser, const QString& option, const QString& fallback) {
    return parseIds(parser.value(option).isEmpty() ? fallback : parser.value(option));
}

namespace {

int benchGemm(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Measure the matrix-multiply and memory copy rates."));
    parser.addOptions({
        {QStringLiteral("device"), QStringLiteral("cpu or cuda (default cpu)."), QStringLiteral("device"),
         QStringLiteral("cpu")},
        {QStringLiteral("dtype"), QStringLiteral("f32, bf16 or f16 (default f32)."), QStringLiteral("dtype"),
         QStringLiteral("f32")},
        {QStringLiteral("size"), QStringLiteral("Matrix size n (default 2048)."), QStringLiteral("n")},
        {QStringLiteral("repeats"), QStringLiteral("Timed repeats; the median is reported (default 5)."),
         QStringLiteral("n")},
    });
    parse(parser, QStringLiteral("bench gemm"), args);
    const std::string device = parser.value(QStringLiteral("device")).toStdString();
    const auto dtype = model::parse_dtype(parser.value(QStringLiteral("dtype")).toStdString());
    const int n = intValue(parser, QStringLiteral("size"), 2048);
    const int repeats = intValue(parser, QStringLiteral("repeats"), 5);
    printJson(QJsonDocument(QJsonObject{
        {QStringLiteral("bench"), QStringLiteral("gemm")},
        {QStringLiteral("machine"), machineJson(device)},
        {QStringLiteral("device"), QString::fromStdString(device)},
        {QStringLiteral("dtype"), QString::fromStdString(model::dtype_name(dtype))},
        {QStringLiteral("size"), n},
        {QStringLiteral("gemm_gflops"), model::measure_gemm_gflops(device, dtype, n, repeats)},
        {QStringLiteral("copy_gbps"), model::measure_copy_gbps(device, int64_t(256) << 20, repeats)},
        {QStringLiteral("read_gbps"), model::measure_read_gbps(device, int64_t(256) << 20, repeats)},
    }));
    return 0;
}

int benchGenerate(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Measure prefill and decode speed of a model (greedy, random prompt)."));
    addModelOptions(parser);
    parser.addOptions({
        {QStringLiteral("prompt-tokens"), QStringLiteral("Prompt length (default 512)."), QStringLiteral("n")},
        {QStringLiteral("new-tokens"), QStringLiteral("Tokens to decode (default 32)."), QStringLiteral("n")},
        {QStringLiteral("repeats"), QStringLiteral("Timed repeats; medians are reported (default 3)."),
         QStringLiteral("n")},
    });
    parse(parser, QStringLiteral("bench generate"), args);
    const int n_prompt = intValue(parser, QStringLiteral("prompt-tokens"), 512);
    const int n_new = intValue(parser, QStringLiteral("new-tokens"), 32);
    const int repeats = intValue(parser, QStringLiteral("repeats"), 3);
    auto engine = openEngine(parser);
    const model::LlamaConfig& c = engine->config();

    model::GenerateRequest request;
    request.prompt = randomTokens(c, static_cast<size_t>(n_prompt), 1);
    request.prompt.front() = c.bos_id;
    request.max_new_tokens = n_new;
    request.ignore_eos = true;
    request.sampling.temperature = 0.0f;
    engine->generate(request);  // warm-up
    std::vector<double> prefill, decode;
    for (int r = 0; r < repeats; ++r) {
        const model::Generation g = engine->generate(request);
        prefill.push_back(g.prompt_tokens / g.prefill_seconds);
        decode.push_back(static_cast<double>(g.ids.size()) / g.decode_seconds);
    }

    // Work per token: 2 FLOPs per weight of the layers in prefill; every weight read once per
    // decoded token (the embedding lookup reads one row, so it is left out).
    const std::string device = engine->device();
    const double bytes_per_weight = model::bytes_per_weight(engine->dtype());
    const double layer_weights =
        static_cast<double>(c.n_params() - c.n_vocab * c.n_embd * (c.tie_word_embeddings ? 1 : 2));
    const double head_weights = static_cast<double>(c.n_vocab * c.n_embd);
    const double gemm = model::measure_gemm_gflops(device, engine->dtype(), gemmSizeFor(device), 3);
    const double copy = model::measure_copy_gbps(device, int64_t(256) << 20, 3);
    const double read = model::measure_read_gbps(device, int64_t(256) << 20, 3);
    const double prefill_gflops = median(prefill) * 2.0 * layer_weights / 1e9;
    const double decode_gbps = median(decode) * (layer_weights + head_weights) * bytes_per_weight / 1e9;
    printJson(QJsonDocument(benchResult(QStringLiteral("generate"), *engine,
                                        QJsonObject{
                                            {QStringLiteral("prompt_tokens"), n_prompt},
                                            {QStringLiteral("new_tokens"), n_new},
                                            {QStringLiteral("repeats"), repeats},
                                            {QStringLiteral("prefill_tokens_per_s"), median(prefill)},
                                            {QStringLiteral("decode_tokens_per_s"), median(decode)},
                                            {QStringLiteral("gemm_gflops"), gemm},
                                            {QStringLiteral("copy_gbps"), copy},
                                            {QStringLiteral("prefill_gflops"), prefill_gflops},
                                            {QStringLiteral("prefill_fraction_of_gemm"), prefill_gflops / gemm},
                                            {QStringLiteral("decode_weight_gbps"), decode_gbps},
                                            {QStringLiteral("decode_fraction_of_copy"), decode_gbps / copy},
                                            {QStringLiteral("read_gbps"), read},
                                            {QStringLiteral("decode_fraction_of_read"), decode_gbps / read},
                                        })));
    return 0;
}

}  // namespace

int runBench(const QStringList& args) {
    using Bench = int (*)(const QStringList&);
    static const QList<std::tuple<QString, QString, Bench>> benches{
        {QStringLiteral("gemm"), QStringLiteral("matrix-multiply and copy ceilings of the device"), benchGemm},
        {QStringLiteral("generate"), QStringLiteral("prefill and decode speed against the ceilings"), benchGenerate},
        {QStringLiteral("compress"), QStringLiteral("segments compressed per second (--sizes: against length)"),
         benchCompress},
        {QStringLiteral("decode-memory"), QStringLiteral("decoding with memories in the window"), benchDecodeMemory},
        {QStringLiteral("chat"), QStringLiteral("a question over a compressed document, end to end"), benchChat},
        {QStringLiteral("memory"), QStringLiteral("UIO against full attention as the context grows"), benchMemory},
        {QStringLiteral("storage"), QStringLiteral("library writes and reads of memory segments"), benchStorage},
        {QStringLiteral("search"), QStringLiteral("the passage index: size and search latency (p50, p99)"),
         benchSearch},
        {QStringLiteral("train"), QStringLiteral("training tokens/s and peak memory against T"), benchTrain},
    };
    const QString what = args.value(0);
    for (const auto& [name, summary, run] : benches) {
        if (name == what)
            return run(args.mid(1));
    }
    if (what.isEmpty() || what == QLatin1String("--help") || what == QLatin1String("-h")) {
        QList<std::pair<QString, QString>> verbs;
        for (const auto& [name, summary, run] : benches)
            verbs.append({name, summary});
        verbHelp(QStringLiteral("bench"), verbs);
    }
    throw UsageError(
        "uio bench needs one of: gemm, generate, compress, decode-memory, chat, memory, storage, search, train");
}

}  // namespace uio::cli
