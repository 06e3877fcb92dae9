// Sizes as a person reads them: "850 MB", "3.2 GB", "13 GB" (decimal units, as disks are sold).
#pragma once

#include <QCoreApplication>
#include <QString>

namespace uio::app {

inline QString byteSize(double bytes) {
    if (bytes < 1e9)
        return QCoreApplication::translate("uio", "%1 MB").arg(bytes / 1e6, 0, 'f', bytes < 10e6 ? 1 : 0);
    return QCoreApplication::translate("uio", "%1 GB").arg(bytes / 1e9, 0, 'f', bytes < 10e9 ? 1 : 0);
}

}  // namespace uio::app
