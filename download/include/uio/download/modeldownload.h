// Fetches a model repository into a folder: lists it, then downloads each file that is not there
// yet into "<file>.part", resuming a partial one with an HTTP range, checks it against the
// listing's sha256 (or git blob sha1) and only then gives it its name. A dropped connection is
// retried from where it stopped; pausing, or closing the program, keeps the partial file for the
// next start. Lives on a thread with an event loop; signals come from it.
#pragma once

#include "uio/download/hubrepository.h"

#include <QElapsedTimer>
#include <QFile>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>

class QNetworkReply;

namespace uio::download {

struct DownloadProgress {
    QString file;
    qint64 fileDone = 0;
    qint64 fileSize = 0;
    qint64 done = 0;  // all files
    qint64 total = 0;
    double bytesPerSecond = 0.0;
    double etaSeconds = 0.0;
};

class ModelDownload : public QObject {
    Q_OBJECT

public:
    ModelDownload(HubRepository repository, QString folder, QString token = {}, QObject* parent = nullptr);
    ~ModelDownload() override;

    void start();  // listed, progress..., then finished or failed (or paused)
    void pause();  // stops within one network read; the partial file stays
    QString folder() const { return m_folder; }
    QList<RepoFile> files() const { return m_files; }

    // Consecutive failed attempts on one file before the download gives up.
    static constexpr int kAttempts = 4;

Q_SIGNALS:
    void listed(const QList<uio::download::RepoFile>& files, qint64 totalBytes);
    void progress(const uio::download::DownloadProgress& progress);
    void fileDone(const QString& path);
    void finished(const QString& folder);
    void failed(const QString& message);
    void paused();

private:
    void fetchNext();
    void fetch(const RepoFile& file);
    void readData();
    void transferEnded();
    void finishFile(const RepoFile& file);
    void fail(const QString& message);
    QNetworkRequest request(const QUrl& url) const;
    QString httpProblem(QNetworkReply* reply, const QString& what) const;

    HubRepository m_repository;
    QString m_folder;
    QString m_token;
    QNetworkAccessManager m_network;
    QList<RepoFile> m_files;
    qsizetype m_current = -1;
    QPointer<QNetworkReply> m_reply;
    QFile m_part;
    bool m_appending = false;  // the server honoured the range: its bytes follow the partial file
    bool m_pausing = false;
    int m_attempts = 0;
    qint64 m_doneBefore = 0;  // bytes of the files before the current one
    qint64 m_total = 0;
    QElapsedTimer m_clock;
    qint64 m_rateBytes = 0;  // since m_rateClock started, for the speed
    QElapsedTimer m_rateClock;
    double m_rate = 0.0;
};

}  // namespace uio::download
