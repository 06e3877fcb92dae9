// One line describing the program and what it runs on, for --version and the About box.
#pragma once

#include <QString>

namespace uio::services {

// "uio 0.1.0 (libtorch 1.13.0, 2 CPU threads, OpenBLAS ..., CUDA: none)"
QString runtimeSummary(const QString& programName);

}  // namespace uio::services
