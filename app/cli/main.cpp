// uio: the command line of UIO Desk. Each subcommand is a short program over the libraries.

#include "command.h"
#include "uio/app/runtimesummary.h"
#include "uio/model/runtime.h"
#include "uio/version.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <exception>
#include <vector>

namespace {

using uio::cli::Command;

int runInfo(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Show the libtorch build, CPU threads, BLAS and CUDA devices."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print one JSON object.")});
    parser.process(QStringList{QStringLiteral("uio info")} + args);

    const uio::model::RuntimeInfo info = uio::model::runtime_info();
    QTextStream out(stdout);
    if (parser.isSet(QStringLiteral("json"))) {
        const QJsonObject object{{QStringLiteral("version"), QStringLiteral(UIO_VERSION_STRING)},
                                 {QStringLiteral("torch_version"), QString::fromStdString(info.torch_version)},
                                 {QStringLiteral("cpu_threads"), info.n_cpu_threads},
                                 {QStringLiteral("blas"), QString::fromStdString(info.blas)},
                                 {QStringLiteral("blas_threads"), info.n_blas_threads},
                                 {QStringLiteral("cuda_available"), info.cuda_available},
                                 {QStringLiteral("cuda_devices"), info.n_cuda_devices}};
        out << QJsonDocument(object).toJson(QJsonDocument::Compact) << '\n';
    } else {
        out << "libtorch:     " << QString::fromStdString(info.torch_version) << '\n'
            << "CPU threads:  " << info.n_cpu_threads << '\n'
            << "BLAS:         " << QString::fromStdString(info.blas) << " (" << info.n_blas_threads << " threads)\n"
            << "CUDA devices: " << info.n_cuda_devices << '\n';
    }
    return 0;
}

const std::vector<Command>& commands() {
    static const std::vector<Command> all{
        {QStringLiteral("info"), QStringLiteral("show libtorch, threads, BLAS and CUDA devices"), runInfo},
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
        out << uio::app::runtimeSummary(QStringLiteral("uio")) << '\n';
        return 0;
    }
    for (const Command& command : commands()) {
        if (command.name != first) {
            continue;
        }
        try {
            return command.run(args.mid(1));
        } catch (const std::exception& e) {
            err << "uio " << first << ": " << e.what() << '\n';
            return 1;
        }
    }
    err << "uio: unknown command '" << first << "'. Run 'uio --help' for the list of commands.\n";
    return 2;
}
