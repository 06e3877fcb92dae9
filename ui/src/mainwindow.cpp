#include "uio/ui/mainwindow.h"

#include "chatpanel.h"
#include "documentlistmodel.h"
#include "documentpane.h"
#include "downloaddialog.h"
#include "finetunewizard.h"
#include "librarypanel.h"
#include "settingsdialog.h"
#include "setuppage.h"
#include "uio/app/libraryservice.h"
#include "uio/common/units.h"
#include "uio/version.h"

#include <QApplication>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>

#include <utility>

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
    m_main = new QSplitter(Qt::Horizontal, this);
    m_main->addWidget(m_library);
    m_main->addWidget(m_chat);
    m_pane = new DocumentPane(this);
    m_pane->hide();  // until a source or a document is opened
    m_main->addWidget(m_pane);
    m_main->setStretchFactor(0, 1);
    m_main->setStretchFactor(1, 2);
    m_main->setStretchFactor(2, 2);
    m_setup = new SetupPage(this);
    m_pages = new QStackedWidget(this);
    m_pages->addWidget(m_main);
    m_pages->addWidget(m_setup);
    setCentralWidget(m_pages);

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
    connectSetup();
    connectFineTuning();
    resize(1100, 720);
    m_libraryService.refresh();
    if (m_settings.modelDir.isEmpty()) {
        m_chat->setNotice(tr("No model is set up yet: Model › Set up model… chooses one, or tries the demo model."));
        showSetup();
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
    QAction* setup = model->addAction(tr("&Set up model…"), this, [this] { showSetup(); });
    setup->setObjectName(QStringLiteral("setupAction"));
    model->addAction(tr("Use &demo model"), this, &MainWindow::useDemoModel);
    model->addAction(tr("Use the &story demo"), this, &MainWindow::useStoryDemo);
    QAction* download = model->addAction(tr("&Download models…"), this, &MainWindow::showDownloads);
    download->setObjectName(QStringLiteral("downloadAction"));
    QAction* fineTune = model->addAction(tr("&Fine-tune the adapter…"), this, [this] { showFineTuneWizard(); });
    fineTune->setObjectName(QStringLiteral("fineTuneAction"));

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* about = help->addAction(tr("&About UIO Desk"), this, &MainWindow::showAbout);
    about->setObjectName(QStringLiteral("aboutAction"));
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
    connect(&m_libraryService, &LibraryService::cachePurged, this, [this](qint64 freed) {
        statusBar()->showMessage(tr("Removed %1 of compressed memory").arg(byteSize(static_cast<double>(freed))),
                                 10000);
    });
    connect(&m_libraryService, &LibraryService::startedFresh, this, [this](const QString& keptAs) {
        statusBar()->showMessage(tr("Started a new library; the old one is kept as %1").arg(keptAs), 20000);
    });
    connect(&m_libraryService, &LibraryService::readingQueued, m_documents,
            [this](const QString& path) { m_documents->setReading(path); });
    connect(&m_libraryService, &LibraryService::readingProgress, m_documents, &DocumentListModel::setReading);
    connect(&m_libraryService, &LibraryService::readingCancelled, m_documents, &DocumentListModel::removeFile);
    connect(&m_libraryService, &LibraryService::documentAdded, this,
            [this](qint64 id, bool isNew, const QString& path) {
                m_documents->removeFile(path);
                if (isNew && m_modelReady)
                    m_modelService.compress(id);
                else if (isNew)
                    m_addedBeforeModel.append(id);  // a document read while the model loads
            });
    connect(&m_libraryService, &LibraryService::addFailed, this,
            [this](const QString& path, const QString& message, bool needsPassword) {
                if (!needsPassword) {
                    m_documents->setReadFailed(path, message);
                    statusBar()->showMessage(message, 15000);
                    return;
                }
                m_documents->removeFile(path);
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
    connect(m_library, &LibraryPanel::retryReadingRequested, &m_libraryService, &LibraryService::addFiles);
    connect(m_library, &LibraryPanel::cancelReadingRequested, this, [this](const QStringList& paths) {
        for (const QString& path : paths)
            m_libraryService.cancelReading(path);
    });
    connect(m_library, &LibraryPanel::compressRequested, this, [this](const QList<qint64>& ids) {
        for (const qint64 id : ids)
            m_modelService.compress(id);
    });
    connect(m_library, &LibraryPanel::pauseRequested, this, [this](const QList<qint64>& ids) {
        for (const qint64 id : ids)
            m_modelService.pause(id);
    });
    connect(m_library, &LibraryPanel::cancelRequested, this, [this](const QList<qint64>& ids) {
        for (const qint64 id : ids)
            m_modelService.cancel(id);
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
                for (const qint64 id : std::exchange(m_addedBeforeModel, {}))
                    m_modelService.compress(id);
                m_pages->setCurrentWidget(m_main);
                showModel(description);
                if (!notices.isEmpty())
                    m_chat->setNotice(notices.join(QLatin1Char('\n')));
                m_libraryService.refresh();
            });
    connect(&m_modelService, &ModelService::modelFailed, this, [this](const QString& message) {
        m_modelReady = false;
        m_modelLabel->setText(tr("No model loaded"));
        m_chat->setNotice(tr("The model could not be loaded: %1").arg(message));
        showSetup(tr("The model could not be loaded: %1").arg(message));
    });
    connect(&m_modelService, &ModelService::modelIdentified, this,
            [this](const QString& model, const QString& adapter) {
                m_modelFingerprint = model;
                m_adapterFingerprint = adapter;
            });
    connect(&m_modelService, &ModelService::memoryInUse, this, [this](qint64 ram, qint64 gpuUsed, qint64 gpuTotal) {
        QString text = tr("RAM %1").arg(byteSize(static_cast<double>(ram)));
        if (gpuTotal > 0) {
            text += tr(" · GPU %1 of %2")
                        .arg(byteSize(static_cast<double>(gpuUsed)), byteSize(static_cast<double>(gpuTotal)));
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
    connect(&m_modelService, &ModelService::storyDemoCreated, this,
            [this](const app::ModelSettings& settings, const QString& stories) {
                m_settings = settings;
                Q_EMIT settingsChanged(settings);
                m_libraryService.addFiles({stories});  // a second start finds it already there
                m_chat->setNotice(
                    tr("The story demo is stories260K, a tiny model that writes children's stories: it continues "
                       "text and does not answer questions. Start a chat on “Mia and Pip” and type the start of a "
                       "sentence, such as “One day,”: it carries the story on with the collection's memories in "
                       "front."));
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
        m_documents->setStatus(id, app::DocumentStatus::Failed, message);
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
    // The finished answer again from the library, with its sources.
    connect(&m_modelService, &ModelService::answerFinished, &m_libraryService, &LibraryService::loadMessages);
    connect(&m_modelService, &ModelService::answerFailed, m_chat, &ChatPanel::failAnswer);
    connectDocumentPane();
}

void MainWindow::connectDocumentPane() {
    using app::LibraryService;
    auto open = [this](const app::SourceRow& place) {
        // What the model was given (or the search matched) is marked, without a snippet's brackets.
        QString mark = place.text;
        mark.remove(QLatin1Char('[')).remove(QLatin1Char(']')).remove(QStringLiteral("…"));
        m_libraryService.openDocument(place.documentId, place.begin, place.end, place.page, mark);
    };
    connect(m_chat, &ChatPanel::sourceActivated, this, open);
    connect(m_library, &LibraryPanel::openRequested, this, open);
    connect(m_library, &LibraryPanel::passageSearchRequested, &m_libraryService, &LibraryService::search);
    connect(&m_libraryService, &LibraryService::searchFinished, m_library, &LibraryPanel::showPassages);
    connect(&m_libraryService, &LibraryService::documentOpened, m_pane, &DocumentPane::showDocument);
    connect(&m_libraryService, &LibraryService::pageRendered, m_pane, &DocumentPane::showPage);
    connect(&m_libraryService, &LibraryService::pageFailed, m_pane, &DocumentPane::showPageFailure);
    connect(m_pane, &DocumentPane::pageRequested, &m_libraryService, &LibraryService::renderPage);
    connect(m_pane, &DocumentPane::closeRequested, m_pane, &QWidget::hide);
    connect(&m_libraryService, &LibraryService::indexingProgress, this, [this](int done, int total) {
        statusBar()->showMessage(done < total ? tr("Indexing documents for search: %1 of %2").arg(done).arg(total)
                                              : tr("Every document can be searched"),
                                 done < total ? 0 : 5000);
    });
}

void MainWindow::newChat() {
    const QList<qint64> ids = m_library->selectedIds();
    if (ids.isEmpty()) {
        m_chat->setNotice(tr("Select one or more documents in the library first; the new chat asks about them."));
        return;
    }
    m_libraryService.createChat(tr("About %1").arg(m_documents->titleOf(ids.front())), ids);
}

void MainWindow::connectSetup() {
    connect(m_setup, &SetupPage::inspectRequested, &m_modelService, &app::ModelService::inspectModelFolder);
    connect(&m_modelService, &app::ModelService::modelFolderInspected, m_setup, &SetupPage::showFolderCheck);
    connect(&m_modelService, &app::ModelService::ultraGistInFolder, m_setup, &SetupPage::offerUltraGist);
    connect(&m_modelService, &app::ModelService::devicesListed, m_setup, &SetupPage::setDevices);
    connect(m_setup, &SetupPage::demoRequested, this, &MainWindow::useDemoModel);
    connect(m_setup, &SetupPage::storyDemoRequested, this, &MainWindow::useStoryDemo);
    connect(m_setup, &SetupPage::startRequested, this, &MainWindow::startModel);
    connect(m_setup, &SetupPage::backRequested, this, [this] { m_pages->setCurrentWidget(m_main); });
}

void MainWindow::showDownloads() {
    if (!m_downloads)
        m_downloads = new app::DownloadService(this);  // kept: a download goes on with the dialog closed
    auto* dialog = new DownloadDialog(*m_downloads, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &DownloadDialog::useFolder, this, [this](const QString& folder) {
        showSetup(tr("Downloaded to %1: choose its adapter or compressor, then Start.").arg(folder));
        app::ModelSettings chosen = m_settings;
        chosen.modelDir = folder;
        m_setup->setSettings(chosen);
    });
    dialog->open();
}

void MainWindow::showSetup(const QString& message) {
    m_setup->setSettings(m_settings);
    m_setup->setMessage(message);
    m_setup->setBackAvailable(m_modelReady);
    m_pages->setCurrentWidget(m_setup);
    m_modelService.listDevices();
    m_libraryService.listAdapters();
}

void MainWindow::startModel(app::ModelSettings chosen, bool createAdapter) {
    chosen.databasePath = m_libraryService.databasePath();
    const QString name = QFileInfo(chosen.modelDir).fileName();
    m_modelReady = false;
    m_setup->setMessage(tr("Loading %1…").arg(name));
    if (createAdapter) {
        chosen.adapterPath = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                             QStringLiteral("/adapters/%1.safetensors").arg(name);
        m_modelLabel->setText(tr("Creating an adapter for %1…").arg(name));
        m_modelService.createAdapter(chosen);  // adapterCreated remembers the settings
        return;
    }
    m_settings = chosen;
    Q_EMIT settingsChanged(m_settings);
    m_modelLabel->setText(tr("Loading %1…").arg(name));
    m_modelService.configure(m_settings);
}

void MainWindow::showModel(const QString& description) {
    if (m_settings.ultragist) {
        m_modelLabel->setText(m_settings.ultragistRatio > 0
                                  ? tr("%1 · UltraGist %2×").arg(description).arg(m_settings.ultragistRatio)
                                  : tr("%1 · UltraGist").arg(description));
        return;
    }
    const QString adapter = QFileInfo(m_settings.adapterPath).fileName();
    m_modelLabel->setText(adapter.isEmpty() ? description : tr("%1 · adapter %2").arg(description, adapter));
}

void MainWindow::setReaderLimits(const ingest::ReaderLimits& limits) {
    m_readerLimits = limits;
    m_libraryService.setReaderLimits(limits);
    m_modelService.setReaderLimits(limits);  // the fine-tuning corpus
}

void MainWindow::showSettings() {
    const QString dataFolder = QFileInfo(m_libraryService.databasePath()).absolutePath();
    auto* dialog = new SettingsDialog(m_ask, m_settings, m_readerLimits, dataFolder, this);
    dialog->setObjectName(QStringLiteral("settingsDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(&m_libraryService, &app::LibraryService::cacheUsage, dialog, &SettingsDialog::setCacheUsage);
    connect(dialog, &SettingsDialog::purgeRequested, this,
            [this] { m_libraryService.purgeOtherCache(m_modelFingerprint, m_adapterFingerprint); });
    m_libraryService.measureCache(m_modelFingerprint, m_adapterFingerprint);
    connect(dialog, &QDialog::accepted, this, [this, dialog, dataFolder] {
        m_ask = dialog->askSettings();
        Q_EMIT askSettingsChanged(m_ask);
        const ingest::ReaderLimits reading = dialog->readerLimits();
        if (reading.memoryBytes != m_readerLimits.memoryBytes || reading.seconds != m_readerLimits.seconds) {
            setReaderLimits(reading);
            Q_EMIT readerLimitsChanged(reading);
        }
        if (dialog->dataFolder() != dataFolder) {
            Q_EMIT dataFolderChanged(dialog->dataFolder());
            statusBar()->showMessage(
                tr("The library will be copied to %1 when UIO Desk next starts.").arg(dialog->dataFolder()), 20000);
        }
        const app::ModelSettings chosen = dialog->modelSettings();
        const bool reload = chosen.device != m_settings.device || chosen.dtype != m_settings.dtype ||
                            chosen.compressionBatch != m_settings.compressionBatch ||
                            chosen.cpuThreads != m_settings.cpuThreads;
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

void MainWindow::useStoryDemo() {
    const QString dir =
        QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/story-demo");
    m_modelLabel->setText(tr("Setting up the story demo…"));
    m_modelService.useStoryDemo(dir, m_libraryService.databasePath());
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About UIO Desk"),
                       tr("<h3>UIO Desk %1</h3><p>Read and question long documents on your own machine, "
                          "with a local Llama-2 model extended by UIO memory.</p><p>Free software under the GNU "
                          "General Public License, version 3 or later.</p>")
                           .arg(QStringLiteral(UIO_VERSION_STRING)));
}

void MainWindow::connectFineTuning() {
    connect(&m_libraryService, &app::LibraryService::adaptersListed, m_setup, &SetupPage::setKnownAdapters);
    // Once per start, when the model is ready: runs a crash or a closed window left stopped.
    connect(&m_modelService, &app::ModelService::modelReady, this, [this] {
        if (!m_offeredRuns) {
            m_offeredRuns = true;
            m_modelService.listFineTuneRuns();
        }
    });
    connect(&m_modelService, &app::ModelService::fineTuneRunsListed, this, [this](const QList<app::FineTuneRun>& runs) {
        if (runs.isEmpty())
            return;
        const app::FineTuneRun run = runs.last();
        auto* box = new QMessageBox(QMessageBox::Question, tr("Fine-tuning stopped"),
                                    tr("Training “%1” stopped at step %2 of %3. Resume it where it stopped?")
                                        .arg(run.settings.name)
                                        .arg(run.step)
                                        .arg(run.settings.steps),
                                    QMessageBox::NoButton, this);
        box->setObjectName(QStringLiteral("resumeRunBox"));
        box->setAttribute(Qt::WA_DeleteOnClose);
        QPushButton* resume = box->addButton(tr("&Resume"), QMessageBox::AcceptRole);
        QPushButton* discard = box->addButton(tr("&Discard it"), QMessageBox::DestructiveRole);
        box->addButton(tr("&Later"), QMessageBox::RejectRole);
        connect(box, &QMessageBox::buttonClicked, this, [this, run, resume, discard](QAbstractButton* button) {
            if (button == resume)
                showFineTuneWizard(&run);
            else if (button == discard)
                m_modelService.cancelFineTune(run.id);
        });
        box->open();
    });
}

void MainWindow::showFineTuneWizard(const app::FineTuneRun* run) {
    if (!m_modelReady) {
        statusBar()->showMessage(tr("Fine-tuning needs a loaded model: set one up first."), 10000);
        return;
    }
    auto* wizard = run ? new FineTuneWizard(m_modelService, *run, this)
                       : new FineTuneWizard(m_modelService, m_documents->rows(), m_settings.adapterPath, this);
    wizard->setAttribute(Qt::WA_DeleteOnClose);
    connect(wizard, &FineTuneWizard::adapterReady, this,
            [this](const app::FineTuneResult& result, const QString& name, bool makeActive, bool recompress) {
                if (name != result.adapterName)
                    m_libraryService.renameAdapter(result.adapterId, name);
                statusBar()->showMessage(tr("Adapter “%1” saved").arg(name), 10000);
                if (!makeActive)
                    return;
                m_settings.adapterPath = result.adapterPath;
                m_settings.ultragist = false;  // a trained UIO adapter replaces UltraGist
                Q_EMIT settingsChanged(m_settings);
                m_modelLabel->setText(tr("Loading %1…").arg(name));
                m_modelService.configure(m_settings);
                if (recompress) {
                    for (const app::DocumentRow& row : m_documents->rows())
                        m_modelService.compress(row.id);  // new jobs: the new adapter makes other memory
                }
            });
    wizard->open();
}

}  // namespace uio::ui
