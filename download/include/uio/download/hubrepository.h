// A model repository on the Hugging Face hub (or any server speaking its API): where its listing
// and files are, what the listing says about each file, and where an access token is kept.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <QUrl>

#include <optional>

namespace uio::download {

inline constexpr const char* kDefaultEndpoint = "https://huggingface.co";

struct RepoFile {
    QString path;  // inside the repository, '/'-separated
    qint64 size = 0;
    // What the file's bytes must hash to: sha256 for large (LFS) files, else git's blob sha1.
    QByteArray sha256;  // lowercase hex, or empty
    QByteArray gitSha1;
};

struct HubRepository {
    QString endpoint = QString::fromLatin1(kDefaultEndpoint);
    QString id;  // "namespace-Pt/ultragist-llama2-7b-chat"
    QString revision = QStringLiteral("main");

    QUrl listingUrl() const;                  // every file, recursively (JSON)
    QUrl fileUrl(const QString& path) const;  // the file's bytes (redirects allowed)
};

// "owner/name" with the characters the hub allows; a sentence for the user when it is not one.
QString checkRepositoryId(const QString& id);

// The listing's JSON as files; directories are skipped. Throws std::runtime_error, in a sentence,
// when it is not a listing, or names a path that could leave the target folder.
QList<RepoFile> parseListing(const QByteArray& json);

// The folder a repository is downloaded to under `modelsDir`: "owner--name".
QString folderFor(const QString& modelsDir, const QString& id);

// An access token for gated repositories: read from, or written to, a file only its owner may read
// (0600, ~/.config/uio-desk/hf-token). Empty when none is kept.
QString tokenFile();
QString readToken(const QString& path = tokenFile());
// Returns an empty string, or what went wrong as a sentence.
QString writeToken(const QString& token, const QString& path = tokenFile());

}  // namespace uio::download
