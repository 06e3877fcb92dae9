#include "uio/app/downloadservice.h"

#include "uio/services/librarypaths.h"

namespace uio::app {

DownloadService::DownloadService(QObject* parent) : QObject(parent) {
    qRegisterMetaType<download::DownloadProgress>();
    qRegisterMetaType<QList<download::RepoFile>>();
    m_thread.setObjectName(QStringLiteral("download"));
    m_thread.start();
}

DownloadService::~DownloadService() {
    // The download is deleted on its own thread as that thread ends (it aborts the transfer; the
    // partial file stays).
    m_thread.quit();
    m_thread.wait();
}

QString DownloadService::modelsFolder() {
    return services::dataFolderInUse() + QStringLiteral("/models");
}

void DownloadService::start(const QString& repository, const QString& token, const QString& endpoint) {
    if (m_download)
        QMetaObject::invokeMethod(m_download, &QObject::deleteLater, Qt::QueuedConnection);
    download::HubRepository where;
    where.id = repository.trimmed();
    if (!endpoint.isEmpty())
        where.endpoint = endpoint;
    const QString folder = download::folderFor(modelsFolder(), where.id);
    m_download = new download::ModelDownload(where, folder, token);
    m_download->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_download, &QObject::deleteLater);
    connect(
        m_download, &download::ModelDownload::listed, this,
        [this, folder](const QList<download::RepoFile>& files, qint64 total) { Q_EMIT listed(folder, files, total); });
    connect(m_download, &download::ModelDownload::progress, this, &DownloadService::progress);
    connect(m_download, &download::ModelDownload::finished, this, &DownloadService::finished);
    connect(m_download, &download::ModelDownload::failed, this, &DownloadService::failed);
    connect(m_download, &download::ModelDownload::paused, this, &DownloadService::paused);
    QMetaObject::invokeMethod(m_download, &download::ModelDownload::start, Qt::QueuedConnection);
}

void DownloadService::pause() {
    if (m_download)
        QMetaObject::invokeMethod(m_download, &download::ModelDownload::pause, Qt::QueuedConnection);
}

}  // namespace uio::app
