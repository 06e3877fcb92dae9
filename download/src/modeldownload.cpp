#include "uio/download/modeldownload.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QNetworkReply>

namespace uio::download {

namespace {

QString partPath(const QString& path) {
    return path + QStringLiteral(".part");
}

// The digest the listing gives for the file's bytes: sha256, or git's sha1 of "blob SIZE\0" + bytes.
QByteArray digestOf(QFile& file, const RepoFile& expected) {
    const bool git = expected.sha256.isEmpty();
    QCryptographicHash hash(git ? QCryptographicHash::Sha1 : QCryptographicHash::Sha256);
    if (git)
        hash.addData(QByteArray("blob ") + QByteArray::number(file.size()) + '\0');
    file.seek(0);
    while (!file.atEnd())
        hash.addData(file.read(1 << 20));
    return hash.result().toHex();
}

QString megabytes(qint64 bytes) {
    return QString::number(static_cast<double>(bytes) / 1e6, 'f', 1) + QStringLiteral(" MB");
}

}  // namespace

ModelDownload::ModelDownload(HubRepository repository, QString folder, QString token, QObject* parent)
    : QObject(parent),
      m_repository(std::move(repository)),
      m_folder(std::move(folder)),
      m_token(std::move(token)),
      m_network(this) {  // a child, so that it moves to the download's thread with it
    m_network.setRedirectPolicy(QNetworkRequest::NoLessSafeRedirectPolicy);
}

ModelDownload::~ModelDownload() {
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
    }
}

QNetworkRequest ModelDownload::request(const QUrl& url) const {
    QNetworkRequest request(url);
    request.setHeader(QNetworkRequest::UserAgentHeader, QStringLiteral("uio-desk"));
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token.toUtf8());
    request.setTransferTimeout(60000);  // a server that stops sending is a dropped connection
    return request;
}

QString ModelDownload::httpProblem(QNetworkReply* reply, const QString& what) const {
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status == 401 || status == 403) {
        return m_token.isEmpty() ? QStringLiteral(
                                       "%1 is gated: accept its licence on its page at %2, then give an access token "
                                       "(Models page, or uio download --token-file).")
                                       .arg(m_repository.id, m_repository.endpoint)
                                 : QStringLiteral(
                                       "The access token was refused for %1: check that it is valid and that its "
                                       "account has accepted the repository's licence.")
                                       .arg(m_repository.id);
    }
    if (status == 404)
        return QStringLiteral("%1 was not found on %2: check the repository's name.").arg(what, m_repository.endpoint);
    if (status >= 400)
        return QStringLiteral("%1: the server answered %2 %3.")
            .arg(what)
            .arg(status)
            .arg(reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString());
    return QStringLiteral("%1 could not be fetched (%2); check the connection and start again to resume.")
        .arg(what, reply->errorString());
}

void ModelDownload::start() {
    if (const QString problem = checkRepositoryId(m_repository.id); !problem.isEmpty())
        return fail(problem);
    m_pausing = false;
    QNetworkReply* reply = m_network.get(request(m_repository.listingUrl()));
    m_reply = reply;
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        if (m_pausing)
            return Q_EMIT paused();
        if (reply->error() != QNetworkReply::NoError)
            return fail(httpProblem(reply, m_repository.id));
        try {
            m_files = parseListing(reply->readAll());
        } catch (const std::exception& e) {
            return fail(QString::fromUtf8(e.what()));
        }
        if (m_files.isEmpty())
            return fail(QStringLiteral("%1 has no files.").arg(m_repository.id));
        m_total = 0;
        for (const RepoFile& f : m_files)
            m_total += f.size;
        Q_EMIT listed(m_files, m_total);
        m_current = -1;
        m_doneBefore = 0;
        m_clock.start();
        fetchNext();
    });
}

void ModelDownload::pause() {
    m_pausing = true;
    if (m_reply)
        m_reply->abort();  // transferEnded (or the listing's handler) reports paused
}

void ModelDownload::fetchNext() {
    if (m_current >= 0)
        m_doneBefore += m_files[m_current].size;
    ++m_current;
    if (m_current >= m_files.size())
        return Q_EMIT finished(m_folder);
    m_attempts = 0;
    const RepoFile& file = m_files[m_current];
    const QString path = QDir(m_folder).filePath(file.path);
    // Only verified files get their name: one that is there, of the listed size, is done.
    if (QFileInfo(path).size() == file.size && QFileInfo::exists(path)) {
        Q_EMIT fileDone(file.path);
        return fetchNext();
    }
    fetch(file);
}

void ModelDownload::fetch(const RepoFile& file) {
    const QString path = QDir(m_folder).filePath(file.path);
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        return fail(QStringLiteral("The folder %1 cannot be made.").arg(QFileInfo(path).absolutePath()));
    m_part.setFileName(partPath(path));
    if (!m_part.open(QIODevice::ReadWrite))
        return fail(QStringLiteral("%1 cannot be written (%2).").arg(m_part.fileName(), m_part.errorString()));
    const qint64 have = m_part.size();
    if (have >= file.size && file.size > 0) {
        m_part.close();
        return finishFile(file);  // complete from an earlier run: checked, not fetched again
    }
    m_part.seek(have);
    QNetworkRequest request = this->request(m_repository.fileUrl(file.path));
    if (have > 0)
        request.setRawHeader("Range", "bytes=" + QByteArray::number(have) + '-');
    m_appending = have == 0;
    m_rateClock.start();
    m_rateBytes = 0;
    QNetworkReply* reply = m_network.get(request);
    m_reply = reply;
    connect(reply, &QNetworkReply::metaDataChanged, this, [this, reply, have] {
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (status == 206) {
            m_appending = true;
        } else if (status == 200 && have > 0) {
            m_part.resize(0);  // the server ignored the range: the whole file comes again
            m_part.seek(0);
            m_appending = true;
        }
    });
    connect(reply, &QNetworkReply::readyRead, this, &ModelDownload::readData);
    connect(reply, &QNetworkReply::finished, this, &ModelDownload::transferEnded);
}

void ModelDownload::readData() {
    if (!m_reply || !m_appending)
        return;
    const QByteArray bytes = m_reply->readAll();
    if (m_part.write(bytes) != bytes.size()) {
        const QString message = QStringLiteral("%1 cannot be written (%2): is the disk full? What is there is kept.")
                                    .arg(m_part.fileName(), m_part.errorString());
        m_reply->disconnect(this);
        m_reply->abort();
        m_part.close();
        return fail(message);
    }
    m_attempts = 0;  // progress: a later drop starts the count again
    m_rateBytes += bytes.size();
    if (m_rateClock.elapsed() >= 500) {
        m_rate = static_cast<double>(m_rateBytes) * 1000.0 / static_cast<double>(m_rateClock.elapsed());
        m_rateClock.restart();
        m_rateBytes = 0;
    }
    const RepoFile& file = m_files[m_current];
    DownloadProgress p;
    p.file = file.path;
    p.fileDone = m_part.pos();
    p.fileSize = file.size;
    p.done = m_doneBefore + p.fileDone;
    p.total = m_total;
    p.bytesPerSecond = m_rate;
    p.etaSeconds = m_rate > 0 ? static_cast<double>(m_total - p.done) / m_rate : 0.0;
    Q_EMIT progress(p);
}

void ModelDownload::transferEnded() {
    QNetworkReply* reply = m_reply;
    if (!reply)
        return;
    readData();
    reply->deleteLater();
    m_reply = nullptr;
    m_part.close();
    const RepoFile& file = m_files[m_current];
    if (m_pausing)
        return Q_EMIT paused();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status == 416) {  // asked for bytes past the end: the partial file is complete, or wrong
        return finishFile(file);
    }
    if (reply->error() != QNetworkReply::NoError && status >= 400)
        return fail(httpProblem(reply, file.path));
    if (QFileInfo(m_part.fileName()).size() < file.size) {
        // Dropped half way (or an error without a status): again from where it stopped.
        if (++m_attempts >= kAttempts) {
            return fail(QStringLiteral("The connection kept dropping while fetching %1 (%2 of %3); start again to "
                                       "resume from there.")
                            .arg(file.path, megabytes(QFileInfo(m_part.fileName()).size()), megabytes(file.size)));
        }
        return fetch(file);
    }
    finishFile(file);
}

void ModelDownload::finishFile(const RepoFile& file) {
    const QString path = QDir(m_folder).filePath(file.path);
    QFile part(partPath(path));
    if (!part.open(QIODevice::ReadOnly))
        return fail(QStringLiteral("%1 cannot be read back (%2).").arg(part.fileName(), part.errorString()));
    const QByteArray expected = file.sha256.isEmpty() ? file.gitSha1 : file.sha256;
    const bool sized = part.size() == file.size;
    const QByteArray digest = digestOf(part, file);
    part.close();
    if (!sized || (!expected.isEmpty() && digest != expected)) {
        QFile::remove(part.fileName());
        return fail(QStringLiteral("%1 does not match the repository's checksum (it was damaged on the way, or the "
                                   "repository changed); it was removed, so that starting again fetches it anew.")
                        .arg(file.path));
    }
    QFile::remove(path);
    if (!QFile::rename(part.fileName(), path))
        return fail(QStringLiteral("%1 cannot be renamed to %2.").arg(part.fileName(), path));
    Q_EMIT fileDone(file.path);
    fetchNext();
}

void ModelDownload::fail(const QString& message) {
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
        m_reply = nullptr;
    }
    Q_EMIT failed(message);
}

}  // namespace uio::download
