// The main window: library on the left, chats on the right, status bar below. Shows state owned
// by the app/ services and sends them intents; does no model, database or file work itself.
#pragma once

#include "uio/app/modelservice.h"
#include "uio/ingest/readerprocess.h"

#include <QMainWindow>

class QLabel;
class QSplitter;
class QStackedWidget;

namespace uio::app {
class DownloadService;
class LibraryService;
}  // namespace uio::app

namespace uio::ui {

class ChatPanel;
class DocumentPane;
class DocumentListModel;
class LibraryPanel;
class SetupPage;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    // settings: the model to load; empty modelDir shows how to set one up.
    MainWindow(app::LibraryService& library, app::ModelService& model, const app::ModelSettings& settings,
               const app::AskSettings& ask = {}, QWidget* parent = nullptr);

    // The limits of the reader process, as remembered; passed on to the library.
    void setReaderLimits(const ingest::ReaderLimits& limits);

Q_SIGNALS:
    void settingsChanged(const uio::app::ModelSettings& settings);  // to remember for the next start
    void readerLimitsChanged(const uio::ingest::ReaderLimits& limits);
    void askSettingsChanged(const uio::app::AskSettings& settings);
    // The user chose another folder for the library; it is copied there at the next start.
    void dataFolderChanged(const QString& folder);

private:
    void buildMenus();
    void connectServices();
    void connectDocumentPane();
    void showAbout();
    void connectSetup();
    void useDemoModel();
    void useStoryDemo();
    void showSetup(const QString& message = {});
    void startModel(app::ModelSettings chosen, bool createAdapter);
    void newChat();
    void showSettings();
    void showDownloads();
    void showModel(const QString& description);
    void connectFineTuning();
    // A new run, or `run` continued from its checkpoint.
    void showFineTuneWizard(const app::FineTuneRun* run = nullptr);

    app::LibraryService& m_libraryService;
    app::ModelService& m_modelService;
    app::ModelSettings m_settings;
    app::AskSettings m_ask;
    ingest::ReaderLimits m_readerLimits = ingest::ReaderLimits::defaults();
    bool m_modelReady = false;
    QList<qint64> m_addedBeforeModel;  // new documents to compress once the model is ready
    bool m_offeredRuns = false;        // stopped fine-tuning runs are offered once per start
    QString m_modelFingerprint;        // of the loaded model and adapter, for the cache settings
    QString m_adapterFingerprint;
    QStackedWidget* m_pages;
    SetupPage* m_setup;
    QSplitter* m_main;
    DocumentListModel* m_documents;
    LibraryPanel* m_library;
    ChatPanel* m_chat;
    DocumentPane* m_pane;
    app::DownloadService* m_downloads = nullptr;  // made on first use
    QLabel* m_modelLabel;
    QLabel* m_jobLabel;
    QLabel* m_memoryLabel;
};

}  // namespace uio::ui
