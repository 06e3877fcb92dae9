// Sizes and times as a person reads them at a glance.
#pragma once

#include <QCoreApplication>
#include <QString>

namespace uio {

// The megabyte of every "MB" a person types or reads here: decimal, as disks are sold.
inline constexpr qint64 kMegabyte = 1000 * 1000;

// "850 MB", "3.2 GB", "13 GB" (decimal units, as disks are sold).
inline QString byteSize(double bytes) {
    if (bytes < 1e9)
        return QCoreApplication::translate("uio", "%1 MB").arg(bytes / 1e6, 0, 'f', bytes < 10e6 ? 1 : 0);
    return QCoreApplication::translate("uio", "%1 GB").arg(bytes / 1e9, 0, 'f', bytes < 10e9 ? 1 : 0);
}

// "40 s", "12 min", "2 h 5 min".
inline QString duration(double seconds) {
    const qint64 s = qMax<qint64>(1, qRound64(seconds));
    if (s < 90)
        return QCoreApplication::translate("uio", "%1 s").arg(s);
    if (s < 5400)
        return QCoreApplication::translate("uio", "%1 min").arg((s + 30) / 60);
    return QCoreApplication::translate("uio", "%1 h %2 min").arg(s / 3600).arg((s % 3600 + 30) / 60);
}

}  // namespace uio
