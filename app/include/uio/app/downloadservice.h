// Model downloads for the GUI: one repository at a time, fetched on a thread of its own (writing
// and checking files of gigabytes never touches the GUI thread), results as queued signals.
#pragma once

#include "uio/download/modeldownload.h"

#include <QObject>
#include <QThread>

namespace uio::app {

class DownloadService : public QObject {
    Q_OBJECT

public:
    explicit DownloadService(QObject* parent = nullptr);
    ~DownloadService() override;  // a running download is paused: its partial file stays

    // The models folder: where downloads go and the setup page looks.
    static QString modelsFolder();

public Q_SLOTS:
    // Replaces any download under way (paused first). The token may be empty.
    void start(const QString& repository, const QString& token, const QString& endpoint = {});
    void pause();

Q_SIGNALS:
    void listed(const QString& folder, const QList<uio::download::RepoFile>& files, qint64 totalBytes);
    void progress(const uio::download::DownloadProgress& progress);
    void finished(const QString& folder);
    void failed(const QString& message);
    void paused();

private:
    QThread m_thread;
    download::ModelDownload* m_download = nullptr;  // lives on m_thread
};

}  // namespace uio::app

Q_DECLARE_METATYPE(uio::download::DownloadProgress)
