// uio info: what this build runs with.

#include "command.h"
#include "options.h"
#include "uio/model/runtime.h"
#include "uio/version.h"

#include <QJsonObject>
#include <QTextStream>

namespace uio::cli {

int runInfo(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Show the libtorch build, CPU threads, BLAS and CUDA devices."));
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print one JSON object.")});
    parse(parser, QStringLiteral("info"), args);

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
        printJson(QJsonDocument(object));
    } else {
        out << "libtorch:     " << QString::fromStdString(info.torch_version) << '\n'
            << "CPU threads:  " << info.n_cpu_threads << '\n'
            << "BLAS:         " << QString::fromStdString(info.blas) << " (" << info.n_blas_threads << " threads)\n"
            << "CUDA devices: " << info.n_cuda_devices << '\n';
    }
    return 0;
}

}  // namespace uio::cli
