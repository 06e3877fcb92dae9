#include "uio/services/runtimesummary.h"

#include "uio/model/runtime.h"
#include "uio/version.h"

namespace uio::services {

QString runtimeSummary(const QString& programName) {
    const model::RuntimeInfo info = model::runtime_info();
    const QString cuda =
        info.cuda_available ? QStringLiteral("%1 device(s)").arg(info.n_cuda_devices) : QStringLiteral("none");
    return QStringLiteral("%1 %2 (libtorch %3, %4 CPU threads, %5, CUDA: %6)")
        .arg(programName, QStringLiteral(UIO_VERSION_STRING), QString::fromStdString(info.torch_version))
        .arg(info.n_cpu_threads)
        .arg(QString::fromStdString(info.blas), cuda);
}

}  // namespace uio::services
