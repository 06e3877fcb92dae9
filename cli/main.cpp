// uio: the command line of UIO Desk. Each subcommand is a short program over the libraries.

#include "command.h"
#include "options.h"
#include "uio/model/runtime.h"
#include "uio/services/runtimesummary.h"
#include "uio/version.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

#include <exception>
#include <vector>

namespace {

using uio::cli::Command;

const std::vector<Command>& commands() {
    static const std::vector<Command> all{
        {QStringLiteral("tokenize"), QStringLiteral("print the token ids of a text"), uio::cli::runTokenize},
        {QStringLiteral("generate"), QStringLiteral("continue a prompt with a model, streaming the text"),
         uio::cli::runGenerate},
        {QStringLiteral("score"), QStringLiteral("log-probability of every next token, and perplexity"),
         uio::cli::runScore},
        {QStringLiteral("make-model"), QStringLiteral("write a random model with a tokenizer, for tests and demos"),
         uio::cli::runMakeModel},
        {QStringLiteral("export"), QStringLiteral("write a model as GGUF, for llama.cpp"), uio::cli::runExport},
        {QStringLiteral("adapter"), QStringLiteral("create (new), describe (info) or import (import) a UIO adapter"),
         uio::cli::runAdapter},
        {QStringLiteral("compress"), QStringLiteral("compress a text into memory with an adapter or UltraGist"),
         uio::cli::runCompress},
        {QStringLiteral("ingest"), QStringLiteral("add documents to the library"), uio::cli::runIngest},
        {QStringLiteral("library"), QStringLiteral("list the documents of the library"), uio::cli::runLibrary},
        {QStringLiteral("chat"), QStringLiteral("ask about library documents, the answer streamed and saved"),
         uio::cli::runChat},
        {QStringLiteral("search"), QStringLiteral("find passages of library documents, with page and snippet"),
         uio::cli::runSearch},
        {QStringLiteral("cache"), QStringLiteral("memory cache keys and sizes (info), remove some (purge)"),
         uio::cli::runCache},
        {QStringLiteral("train"), QStringLiteral("train a UIO adapter on documents (incremental TBPTT)"),
         uio::cli::runTrain},
        {QStringLiteral("experiment"),
         QStringLiteral("recall (a fact carried by memory), stories (memory on real text)"), uio::cli::runExperiment},
        {QStringLiteral("ultragist"), QStringLiteral("UltraGist's tensors beside your own Llama-2 (extract)"),
         uio::cli::runUltraGist},
        {QStringLiteral("download"), QStringLiteral("fetch a model repository from the Hugging Face hub, resumably"),
         uio::cli::runDownload},
        {QStringLiteral("bench"), QStringLiteral("measure the machine and the engine (JSON)"), uio::cli::runBench},
        {QStringLiteral("info"), QStringLiteral("show libtorch, threads, BLAS and CUDA devices"), uio::cli::runInfo},
    };
    return all;
}

void printUsage(QTextStream& out) {
    out << "Usage: uio <command> [options]\n"
           "       uio --help | --version\n\n"
           "Read and question long documents with a local Llama-2 and UIO memory.\n\n"
           "Commands:\n";
    for (const Command& command : commands()) {
        out << "  " << command.name.leftJustified(12) << command.summary << '\n';
    }
    out << "\nRun 'uio <command> --help' for the options of a command.\n";
}

}  // namespace

int main(int argc, char* argv[]) {
    QCoreApplication application(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("uio"));
    QCoreApplication::setApplicationVersion(QStringLiteral(UIO_VERSION_STRING));
    uio::model::keep_freed_buffers();
    uio::model::set_cpu_threads(0);

    const QStringList args = QCoreApplication::arguments().mid(1);
    QTextStream out(stdout);
    QTextStream err(stderr);
    if (args.isEmpty()) {
        printUsage(err);
        return 2;
    }
    const QString& first = args.first();
    if (first == QLatin1String("--help") || first == QLatin1String("-h") || first == QLatin1String("help")) {
        printUsage(out);
        return 0;
    }
    if (first == QLatin1String("--version") || first == QLatin1String("-v")) {
        out << uio::services::runtimeSummary(QStringLiteral("uio")) << '\n';
        return 0;
    }
    for (const Command& command : commands()) {
        if (command.name != first) {
            continue;
        }
        try {
            return command.run(args.mid(1));
        } catch (const uio::cli::HelpRequested& help) {
            out << help.what();
            return 0;
        } catch (const uio::cli::UsageError& e) {
            err << "uio " << first << ": " << e.what() << "\nRun 'uio " << first << " --help' for its options.\n";
            return 2;
        } catch (const std::exception& e) {
            err << "uio " << first << ": " << e.what() << '\n';
            return 1;
        }
    }
    err << "uio: unknown command '" << first << "'. Run 'uio --help' for the list of commands.\n";
    return 2;
}
