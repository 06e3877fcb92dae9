// Model › Download models…: a Hugging Face repository (suggested: the UltraGist checkpoint and
// Llama-2-7b-chat), an access token for gated ones (kept readable only by the user), the files
// with their sizes, progress with speed and time left, pause and resume (also after a restart).
// A finished download is offered to the setup page.
#pragma once

#include "uio/app/downloadservice.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTreeWidget;

namespace uio::ui {

class DownloadDialog : public QDialog {
    Q_OBJECT

public:
    DownloadDialog(app::DownloadService& service, QWidget* parent = nullptr);

Q_SIGNALS:
    void useFolder(const QString& folder);  // a finished download, for the setup page

private:
    void startDownload();
    void setRunning(bool running);

    app::DownloadService& m_service;
    QComboBox* m_repository;
    QLineEdit* m_token;
    QTreeWidget* m_files;
    QProgressBar* m_progress;
    QLabel* m_status;
    QPushButton* m_start;
    QPushButton* m_pause;
    QPushButton* m_use;
    QString m_folder;
};

}  // namespace uio::ui
