#include "uio/services/librarypaths.h"

#include <QDir>
#include <QSettings>
#include <QStandardPaths>

namespace uio::services {

QString defaultDataFolder() {
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + QStringLiteral("/uio-desk");
}

QString libraryFileName() {
    return QStringLiteral("/uio.sqlite3");
}

QString dataFolderInUse() {
    // uio-desk's own settings file, whichever program asks.
    const QSettings desk(QSettings::NativeFormat, QSettings::UserScope, QStringLiteral("uio-desk"),
                         QStringLiteral("uio-desk"));
    const QString folder = desk.value(QStringLiteral("data/in_use"), defaultDataFolder()).toString();
    QDir().mkpath(folder);
    return folder;
}

QString libraryPath() {
    return dataFolderInUse() + libraryFileName();
}

}  // namespace uio::services
