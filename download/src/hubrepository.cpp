#include "uio/download/hubrepository.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStandardPaths>

#include <stdexcept>

namespace uio::download {

QUrl HubRepository::listingUrl() const {
    QUrl url(endpoint + QStringLiteral("/api/models/") + id + QStringLiteral("/tree/") + revision);
    url.setQuery(QStringLiteral("recursive=true"));
    return url;
}

QUrl HubRepository::fileUrl(const QString& path) const {
    return QUrl(endpoint + QLatin1Char('/') + id + QStringLiteral("/resolve/") + revision + QLatin1Char('/') +
                QString::fromLatin1(QUrl::toPercentEncoding(path, "/")));
}

QString checkRepositoryId(const QString& id) {
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"));
    if (valid.match(id).hasMatch() && !id.contains(QStringLiteral("..")))
        return {};
    return QStringLiteral(
               "“%1” is not a repository name: give it as owner/name, for example "
               "meta-llama/Llama-2-7b-chat-hf.")
        .arg(id);
}

QList<RepoFile> parseListing(const QByteArray& json) {
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError || !document.isArray())
        throw std::runtime_error("the server's listing of the repository is not what the hub sends");
    static const QRegularExpression hex40(QStringLiteral("^[0-9a-f]{40}$"));
    static const QRegularExpression hex64(QStringLiteral("^[0-9a-f]{64}$"));
    QList<RepoFile> files;
    for (const QJsonValue& value : document.array()) {
        const QJsonObject entry = value.toObject();
        if (entry.value(QStringLiteral("type")).toString() != QLatin1String("file"))
            continue;
        RepoFile file;
        file.path = entry.value(QStringLiteral("path")).toString();
        file.size = entry.value(QStringLiteral("size")).toInteger(-1);
        const QString clean = QDir::cleanPath(file.path);
        if (file.path.isEmpty() || clean != file.path || clean.startsWith(QLatin1Char('/')) ||
            clean.startsWith(QStringLiteral("..")) || file.path.contains(QLatin1Char('\\')) || file.size < 0) {
            throw std::runtime_error("the repository's listing names a file that cannot be saved safely (" +
                                     file.path.left(80).toStdString() + ")");
        }
        const QJsonObject lfs = entry.value(QStringLiteral("lfs")).toObject();
        const QString sha256 = lfs.value(QStringLiteral("oid")).toString().remove(QStringLiteral("sha256:"));
        const QString sha1 = entry.value(QStringLiteral("oid")).toString();
        if (hex64.match(sha256).hasMatch())
            file.sha256 = sha256.toLatin1();
        else if (hex40.match(sha1).hasMatch())
            file.gitSha1 = sha1.toLatin1();
        files << file;
    }
    return files;
}

QString folderFor(const QString& modelsDir, const QString& id) {
    return QDir(modelsDir).filePath(QString(id).replace(QLatin1Char('/'), QStringLiteral("--")));
}

QString tokenFile() {
    // The desktop application's configuration folder, whichever program asks.
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) +
           QStringLiteral("/uio-desk/hf-token");
}

QString readToken(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(file.readAll()).trimmed();
}

QString writeToken(const QString& token, const QString& path) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    // Owner-only before anything is written into it.
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        !file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        return QStringLiteral("The access token cannot be kept in %1 (%2).").arg(path, file.errorString());
    }
    if (file.write(token.trimmed().toUtf8()) < 0)
        return QStringLiteral("The access token cannot be written to %1 (%2).").arg(path, file.errorString());
    return {};
}

}  // namespace uio::download
