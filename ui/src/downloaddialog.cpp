#include "downloaddialog.h"

#include "uio/common/units.h"
#include "uio/download/tokenstore.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace uio::ui {

DownloadDialog::DownloadDialog(app::DownloadService& service, QWidget* parent) : QDialog(parent), m_service(service) {
    setWindowTitle(tr("Download models"));
    setObjectName(QStringLiteral("downloadDialog"));
    m_repository = new QComboBox(this);
    m_repository->setObjectName(QStringLiteral("downloadRepository"));
    m_repository->setEditable(true);
    m_repository->addItem(QStringLiteral("namespace-Pt/ultragist-llama2-7b-chat"));
    m_repository->addItem(QStringLiteral("meta-llama/Llama-2-7b-chat-hf"));
    m_repository->setToolTip(
        tr("A Hugging Face repository, as owner/name. The first suggestion is a trained "
           "compressor for Llama-2-7b-chat; the second is the model itself (gated: accept "
           "its licence on its page first)."));
    m_token = new QLineEdit(this);
    m_token->setObjectName(QStringLiteral("downloadToken"));
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setPlaceholderText(tr("Only for gated repositories (hf_…)"));
    auto* remember = new QCheckBox(download::keyringBuilt()
                                       ? tr("&Remember the token (in the system keyring, else readable only by you)")
                                       : tr("&Remember the token (readable only by you)"),
                                   this);
    remember->setObjectName(QStringLiteral("rememberToken"));
    download::loadToken(this, [this, remember](const QString& token, const QString&) {
        if (m_token->text().isEmpty() && !token.isEmpty()) {  // not over what was typed meanwhile
            m_token->setText(token);
            remember->setChecked(true);
        }
    });

    m_files = new QTreeWidget(this);
    m_files->setObjectName(QStringLiteral("downloadFiles"));
    m_files->setHeaderLabels({tr("File"), tr("Size")});
    m_files->setRootIsDecorated(false);
    m_files->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("downloadProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_status = new QLabel(
        tr("Downloads go to %1 and resume where they stopped.").arg(app::DownloadService::modelsFolder()), this);
    m_status->setObjectName(QStringLiteral("downloadStatus"));
    m_status->setWordWrap(true);

    m_start = new QPushButton(tr("&Download"), this);
    m_start->setObjectName(QStringLiteral("downloadStart"));
    m_pause = new QPushButton(tr("&Pause"), this);
    m_pause->setObjectName(QStringLiteral("downloadPause"));
    m_use = new QPushButton(tr("&Use this model…"), this);
    m_use->setObjectName(QStringLiteral("downloadUse"));
    m_use->setEnabled(false);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(m_start, QDialogButtonBox::ActionRole);
    buttons->addButton(m_pause, QDialogButtonBox::ActionRole);
    buttons->addButton(m_use, QDialogButtonBox::AcceptRole);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_start, &QPushButton::clicked, this, [this, remember] {
        if (remember->isChecked() && !m_token->text().trimmed().isEmpty()) {
            download::saveToken(m_token->text(), this, [this](const QString& problem, const QString&) {
                if (!problem.isEmpty())
                    m_status->setText(problem);
            });
        }
        startDownload();
    });
    connect(m_pause, &QPushButton::clicked, &m_service, &app::DownloadService::pause);
    connect(m_use, &QPushButton::clicked, this, [this] {
        Q_EMIT useFolder(m_folder);
        accept();
    });

    connect(&m_service, &app::DownloadService::listed, this,
            [this](const QString& folder, const QList<download::RepoFile>& files, qint64 total) {
                m_folder = folder;
                m_files->clear();
                for (const download::RepoFile& f : files)
                    new QTreeWidgetItem(m_files, {f.path, byteSize(static_cast<double>(f.size))});
                m_status->setText(
                    tr("%1 files, %2, into %3").arg(files.size()).arg(byteSize(static_cast<double>(total)), folder));
            });
    connect(&m_service, &app::DownloadService::progress, this, [this](const download::DownloadProgress& p) {
        m_progress->setValue(p.total > 0 ? static_cast<int>(p.done * 1000 / p.total) : 0);
        m_status->setText(tr("%1 of %2 · %3/s · %4 left · %5")
                              .arg(byteSize(static_cast<double>(p.done)), byteSize(static_cast<double>(p.total)),
                                   byteSize(p.bytesPerSecond), duration(static_cast<int>(p.etaSeconds)), p.file));
    });
    connect(&m_service, &app::DownloadService::finished, this, [this](const QString& folder) {
        m_folder = folder;
        m_progress->setValue(1000);
        m_status->setText(tr("Done, every file checked: %1").arg(folder));
        setRunning(false);
        m_use->setEnabled(true);
    });
    connect(&m_service, &app::DownloadService::failed, this, [this](const QString& message) {
        m_status->setText(message);
        setRunning(false);
    });
    connect(&m_service, &app::DownloadService::paused, this, [this] {
        m_status->setText(tr("Paused. Download resumes where it stopped, now or after a restart."));
        setRunning(false);
    });

    auto* form = new QFormLayout;
    form->addRow(tr("&Repository:"), m_repository);
    form->addRow(tr("Access &token:"), m_token);
    form->addRow(QString(), remember);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_files, 1);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    setRunning(false);
    resize(640, 420);
}

void DownloadDialog::startDownload() {
    const QString repository = m_repository->currentText().trimmed();
    if (const QString problem = download::checkRepositoryId(repository); !problem.isEmpty()) {
        m_status->setText(problem);
        return;
    }
    m_use->setEnabled(false);
    m_status->setText(tr("Asking for the list of files…"));
    setRunning(true);
    m_service.start(repository, m_token->text().trimmed(), qEnvironmentVariable("UIO_HUB_ENDPOINT"));
}

void DownloadDialog::setRunning(bool running) {
    m_start->setEnabled(!running);
    m_pause->setEnabled(running);
    m_repository->setEnabled(!running);
}

}  // namespace uio::ui
