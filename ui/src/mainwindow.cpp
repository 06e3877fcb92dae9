#include "uio/ui/mainwindow.h"

#include "chatpanel.h"
#include "documentlistmodel.h"
#include "librarypanel.h"
#include "settingsdialog.h"
#include "uio/app/libraryservice.h"
#include "uio/version.h"

#include <QAbstractButton>
#include <QApplication>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>

// Q_INIT_RESOURCE must be used outside any namespace.
static void initResources() {
    Q_INIT_RESOURCE(uio_resources);
}

namespace uio::ui {

MainWindow::MainWindow(app::LibraryService& library, app::ModelService& model, const app::ModelSettings& settings,
                       const app::AskSettings& ask, QWidget* parent)
    : QMainWindow(parent), m_libraryService(library), m_modelService(model), m_settings(settings), m_ask(ask) {
    initResources();
    setWindowTitle(QStringLiteral("UIO Desk"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/uio-desk.svg")));

    m_documents = new DocumentListModel(this);
    m_library = new LibraryPanel(m_documents, this);
    m_chat = new ChatPanel(this);
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(m_library);
    splitter->addWidget(m_chat);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 2);
    setCentralWidget(splitter);

    m_modelLabel = new QLabel(tr("No model configured"), this);
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    m_jobLabel = new QLabel(this);
    m_jobLabel->setObjectName(QStringLiteral("jobLabel"));
    statusBar()->addWidget(m_modelLabel, 1);
    statusBar()->addPermanentWidget(m_jobLabel);
    m_memoryLabel = new QLabel(this);
    m_memoryLabel->setObjectName(QStringLiteral("memoryLabel"));
    statusBar()->addPermanentWidget(m_memoryLabel);

    buildMenus();
    connectServices();
    resize(1100, 720);
    m_libraryService.refresh();
    if (m_settings.modelDir.isEmpty()) {
        m_chat->setNotice(
            tr("No model is set up yet. Use Model › Use demo model to try UIO Desk right away (its answers "
               "are meaningless), or Model › Choose model folder… for a Hugging Face Llama-2 folder."));
    } else {
        m_modelLabel->setText(tr("Loading %1…").arg(QFileInfo(m_settings.modelDir).fileName()));
        m_modelService.configure(m_settings);
    }
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* add = file->addAction(tr("&Add documents…"), m_library, &LibraryPanel::chooseFiles);
    add->setShortcut(QKeySequence::Open);
    QAction* find = file->addAction(tr("&Find in library"), m_library, &LibraryPanel::focusSearch);
    find->setShortcut(QKeySequence::Find);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), qApp, &QApplication::quit);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* settings = edit->addAction(tr("&Settings…"), this, &MainWindow::showSettings);
    settings->setShortcut(QKeySequence::Preferences);
    settings->setObjectName(QStringLiteral("settingsAction"));

    QMenu* chat = menuBar()->addMenu(tr("&Chat"));
    QAction* newChat = chat->addAction(tr("&New chat with the selected documents"), this, &MainWindow::newChat);
    newChat->setShortcut(QKeySequence::New);

    QMenu* model = menuBar()->addMenu(tr("&Model"));
    model->addAction(tr("Use &demo model"), this, &MainWindow::useDemoModel);
    model->addAction(tr("Choose &model folder…"), this, &MainWindow::chooseModelFolder);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About UIO Desk"), this, &MainWindow::showAbout);
}

void MainWindow::connectServices() {
    using app::LibraryService;
    using app::ModelService;
    connect(&m_libraryService, &LibraryService::documentsChanged, m_documents, &DocumentListModel::setDocuments);
    connect(&m_libraryService, &LibraryService::chatsChanged, m_chat, &ChatPanel::setChats);
    connect(&m_libraryService, &LibraryService::chatCreated, m_chat, &ChatPanel::selectChat);
    connect(&m_libraryService, &LibraryService::messagesLoaded, m_chat, &ChatPanel::showMessages);
    connect(&m_libraryService, &LibraryService::failed, this,
            [this](const QString& message) { statusBar()->showMessage(message, 10000); });
    connect(&m_libraryService, &LibraryService::libraryUnusable, this, [this](const QString& message) {
        auto* box = new QMessageBox(QMessageBox::Warning, tr("The library cannot be opened"),
                                    tr("%1\n\nMove this file aside and start a new library? The old file is kept next "
                                       "to it, so nothing is deleted.")
                                        .arg(message),
                                    QMessageBox::Yes | QMessageBox::No, this);
        box->setObjectName(QStringLiteral("unusableLibraryBox"));
        box->setAttribute(Qt::WA_DeleteOnClose);
        connect(box, &QMessageBox::accepted, &m_libraryService, &LibraryService::startFresh);
        box->open();
    });
    connect(&m_libraryService, &LibraryService::startedFresh, this, [this](const QString& keptAs) {
        statusBar()->showMessage(tr("Started a new library; the old one is kept as %1").arg(keptAs), 20000);
    });
    connect(&m_libraryService, &LibraryService::documentAdded, this, [this](qint64 id, bool isNew) {
        if (isNew && m_modelReady)
            m_modelService.compress(id);
    });
    connect(&m_libraryService, &LibraryService::addFailed, this,
            [this](const QString& path, const QString& message, bool needsPassword) {
                if (!needsPassword) {
                    statusBar()->showMessage(message, 15000);
                    return;
                }
                auto* dialog = new QInputDialog(this);
                dialog->setAttribute(Qt::WA_DeleteOnClose);
                dialog->setWindowTitle(tr("Password"));
                dialog->setLabelText(message);
                dialog->setTextEchoMode(QLineEdit::Password);
                connect(dialog, &QInputDialog::textValueSelected, this, [this, path](const QString& password) {
                    m_libraryService.addProtectedFile(path, password.toUtf8());
                });
                dialog->open();
            });

    connect(m_library, &LibraryPanel::addRequested, &m_libraryService, &LibraryService::addFiles);
    connect(m_library, &LibraryPanel::compressRequested, this, [this](const QList<qint64>& ids) {
        for (const qint64 id : ids)
            m_modelService.compress(id);
    });
    connect(m_library, &LibraryPanel::pauseRequested, this, [this](const QList<qint64>& ids) {
        for (const qint64 id : ids)
            m_modelService.pause(id);
    });
    connect(m_library, &LibraryPanel::removeRequested, this, [this](const QList<qint64>& ids) {
        for (const qint64 id : ids) {
            m_modelService.cancel(id);
            m_libraryService.removeDocument(id);
        }
    });

    connect(&m_modelService, &ModelService::modelReady, this,
            [this](const QString& description, const QStringList& notices) {
                m_modelReady = true;
                showModel(description);
                if (!notices.isEmpty())
                    m_chat->setNotice(notices.join(QLatin1Char('\n')));
                m_libraryService.refresh();
            });
    connect(&m_modelService, &ModelService::modelFailed, this, [this](const QString& message) {
        m_modelReady = false;
        m_modelLabel->setText(tr("No model loaded"));
        m_chat->setNotice(tr("The model could not be loaded: %1").arg(message));
    });
    connect(&m_modelService, &ModelService::memoryInUse, this, [this](qint64 ram, qint64 gpuUsed, qint64 gpuTotal) {
        const double gib = 1024.0 * 1024.0 * 1024.0;
        QString text = tr("RAM %1 GB").arg(ram / gib, 0, 'f', 1);
        if (gpuTotal > 0) {
            text += tr(" · GPU %1 of %2 GB").arg(gpuUsed / gib, 0, 'f', 1).arg(gpuTotal / gib, 0, 'f', 0);
        }
        m_memoryLabel->setText(text);
    });
    connect(&m_modelService, &ModelService::adapterCreated, this, [this](const app::ModelSettings& settings) {
        m_settings = settings;
        Q_EMIT settingsChanged(settings);
        m_chat->setNotice(tr("A new, untrained adapter was created (%1). Answers will not use the documents "
                             "meaningfully until it is trained.")
                              .arg(settings.adapterPath));
    });
    connect(&m_modelService, &ModelService::demoCreated, this, [this](const app::ModelSettings& settings) {
        m_settings = settings;
        Q_EMIT settingsChanged(settings);
        m_chat->setNotice(tr("The demo model is a tiny random model: every answer is meaningless text."));
    });
    connect(
        &m_modelService, &ModelService::compressionProgress, this,
        [this](qint64 id, qint64 done, qint64 total, double, double eta) {
            m_documents->setProgress(id, done, total, eta);
            m_jobLabel->setText(tr("Compressing “%1”: %2 of %3").arg(m_documents->titleOf(id)).arg(done).arg(total));
        });
    connect(&m_modelService, &ModelService::compressionFinished, this, [this] {
        m_jobLabel->clear();
        m_libraryService.refresh();
    });
    connect(&m_modelService, &ModelService::compressionPaused, this, [this] {
        m_jobLabel->clear();
        m_libraryService.refresh();
    });
    connect(&m_modelService, &ModelService::compressionFailed, this, [this](qint64 id, const QString& message) {
        m_jobLabel->clear();
        m_documents->setStatus(id, QStringLiteral("failed"), message);
        statusBar()->showMessage(tr("Compression failed: %1 (select it and press Compress to retry)").arg(message),
                                 15000);
    });

    connect(m_chat, &ChatPanel::newChatRequested, this, &MainWindow::newChat);
    connect(m_chat, &ChatPanel::chatSelected, &m_libraryService, &LibraryService::loadMessages);
    connect(m_chat, &ChatPanel::askRequested, this,
            [this](qint64 chat, const QString& question) { m_modelService.ask(chat, question, m_ask); });
    connect(m_chat, &ChatPanel::regenerateRequested, this,
            [this](qint64 chat) { m_modelService.regenerate(chat, m_ask); });
    connect(m_chat, &ChatPanel::stopRequested, &m_modelService, &ModelService::stopAnswer);
    connect(m_chat, &ChatPanel::deleteRequested, &m_libraryService, &LibraryService::deleteChat);
    connect(m_chat, &ChatPanel::renameRequested, &m_libraryService, &LibraryService::renameChat);
    connect(m_chat, &ChatPanel::exportRequested, this, [this](qint64 chat) {
        const QString path =
            QFileDialog::getSaveFileName(this, tr("Export chat"), QString(), tr("Markdown (*.md);;JSON (*.json)"));
        if (!path.isEmpty())
            m_libraryService.exportChat(chat, path);
    });
    connect(&m_modelService, &ModelService::answerText, m_chat, &ChatPanel::appendAnswer);
    connect(&m_modelService, &ModelService::answerFinished, m_chat, &ChatPanel::finishAnswer);
    connect(&m_modelService, &ModelService::answerFailed, m_chat, &ChatPanel::failAnswer);
}

void MainWindow::newChat() {
    const QList<qint64> ids = m_library->selectedIds();
    if (ids.isEmpty()) {
        m_chat->setNotice(tr("Select one or more documents in the library first; the new chat asks about them."));
        return;
    }
    m_libraryService.createChat(tr("About %1").arg(m_documents->titleOf(ids.front())), ids);
}

void MainWindow::showModel(const QString& description) {
    const QString adapter = QFileInfo(m_settings.adapterPath).fileName();
    m_modelLabel->setText(adapter.isEmpty() ? description : tr("%1 · adapter %2").arg(description, adapter));
}

void MainWindow::showSettings() {
    auto* dialog = new SettingsDialog(m_ask, m_settings, this);
    dialog->setObjectName(QStringLiteral("settingsDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        m_ask = dialog->askSettings();
        Q_EMIT askSettingsChanged(m_ask);
        const app::ModelSettings chosen = dialog->modelSettings();
        const bool reload = chosen.device != m_settings.device || chosen.dtype != m_settings.dtype ||
                            chosen.compressionBatch != m_settings.compressionBatch;
        m_settings = chosen;
        Q_EMIT settingsChanged(m_settings);
        if (reload && !m_settings.modelDir.isEmpty()) {
            m_modelLabel->setText(tr("Loading %1…").arg(QFileInfo(m_settings.modelDir).fileName()));
            m_modelService.configure(m_settings);
        }
    });
    dialog->open();
}

void MainWindow::useDemoModel() {
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/demo");
    m_modelLabel->setText(tr("Making the demo model…"));
    m_modelService.useDemoModel(dir, m_libraryService.databasePath());
}

void MainWindow::chooseModelFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Hugging Face Llama folder"));
    if (dir.isEmpty())
        return;
    app::ModelSettings chosen = m_settings;
    chosen.modelDir = dir;
    chosen.databasePath = m_libraryService.databasePath();
    auto* box = new QMessageBox(QMessageBox::Question, tr("UIO adapter"),
                                tr("UIO Desk needs an adapter for this model: the file made by training (or by "
                                   "'uio adapter import'). Choose one, or create a new, untrained adapter to try "
                                   "the application; it compresses nothing useful until it is trained."),
                                QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("adapterChoiceBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton* existing = box->addButton(tr("Choose adapter file…"), QMessageBox::AcceptRole);
    QPushButton* fresh = box->addButton(tr("Create a new adapter"), QMessageBox::ActionRole);
    connect(box, &QMessageBox::buttonClicked, this, [this, chosen, existing, fresh](QAbstractButton* button) mutable {
        if (button == existing) {
            chosen.adapterPath = QFileDialog::getOpenFileName(this, tr("UIO adapter for this model"), chosen.modelDir,
                                                              tr("Adapters (*.safetensors)"));
            if (chosen.adapterPath.isEmpty())
                return;
            m_settings = chosen;
            Q_EMIT settingsChanged(m_settings);
            m_modelLabel->setText(tr("Loading %1…").arg(QFileInfo(chosen.modelDir).fileName()));
            m_modelService.configure(m_settings);
        } else if (button == fresh) {
            chosen.adapterPath = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                                 QStringLiteral("/adapters/%1.safetensors").arg(QFileInfo(chosen.modelDir).fileName());
            m_modelLabel->setText(tr("Creating an adapter for %1…").arg(QFileInfo(chosen.modelDir).fileName()));
            m_modelService.createAdapter(chosen);
        }
    });
    box->open();
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About UIO Desk"),
                       tr("<h3>UIO Desk %1</h3><p>Read and question long documents on your own machine, "
                          "with a local Llama-2 model extended by UIO memory.</p>")
                           .arg(QStringLiteral(UIO_VERSION_STRING)));
}

}  // namespace uio::ui
