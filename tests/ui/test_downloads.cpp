// Model › Download models… against a hub on 127.0.0.1: a repository's files listed with their
// sizes, downloaded with progress, and the finished folder handed to the setup page, checked there.

#include "hubserver.h"
#include "patience.h"
#include "uio/app/downloadservice.h"
#include "uio/app/libraryservice.h"
#include "uio/ui/mainwindow.h"
#include "uitest.h"

#include <QAction>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTreeWidget>

class TestDownloads : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void downloadAndUseAModel();
};

void TestDownloads::downloadAndUseAModel() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // The tiny model's files, served as a repository.
    const uio::app::ModelSettings tiny = uitest::makeTinyModel(dir.path());
    QList<HubFile> files;
    for (const QString& name :
         {QStringLiteral("config.json"), QStringLiteral("model.safetensors"), QStringLiteral("tokenizer.model")}) {
        QFile file(tiny.modelDir + QLatin1Char('/') + name);
        QVERIFY(file.open(QIODevice::ReadOnly));
        files << HubFile{name, file.readAll(), name != QLatin1String("config.json"), false};
    }
    HubServer hub;
    QVERIFY(hub.isListening());
    hub.addRepository(QStringLiteral("tiny-owner/tiny-llama"), files);
    qputenv("UIO_HUB_ENDPOINT", hub.endpoint().toUtf8());
    QDir(uio::app::DownloadService::modelsFolder() + QStringLiteral("/tiny-owner--tiny-llama")).removeRecursively();

    uio::app::LibraryService library(dir.filePath(QStringLiteral("library.sqlite3")));
    uio::app::ModelService model;
    uio::ui::MainWindow window(library, model, {});
    window.resize(1000, 700);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window, uio::test::kPatienceMs));
    window.findChild<QAction*>(QStringLiteral("downloadAction"))->trigger();
    QDialog* dialog = nullptr;
    UIO_TRY_VERIFY((dialog = window.findChild<QDialog*>(QStringLiteral("downloadDialog"))) && dialog->isVisible());
    dialog->findChild<QComboBox*>(QStringLiteral("downloadRepository"))
        ->setCurrentText(QStringLiteral("tiny-owner/tiny-llama"));
    dialog->findChild<QPushButton*>(QStringLiteral("downloadStart"))->click();
    auto* status = dialog->findChild<QLabel*>(QStringLiteral("downloadStatus"));
    UIO_TRY_VERIFY2(status->text().startsWith(QStringLiteral("Done")), qPrintable(status->text()));
    QCOMPARE(dialog->findChild<QTreeWidget*>(QStringLiteral("downloadFiles"))->topLevelItemCount(), 3);
    QVERIFY(uitest::screenshot(*dialog, QStringLiteral("uio-desk-download")));

    // The folder goes to the setup page, which checks it as a model.
    dialog->findChild<QPushButton*>(QStringLiteral("downloadUse"))->click();
    auto* folder = window.findChild<QLineEdit*>(QStringLiteral("modelFolder"));
    QVERIFY(folder->text().endsWith(QStringLiteral("tiny-owner--tiny-llama")));
    auto* check = window.findChild<QLabel*>(QStringLiteral("folderCheck"));
    UIO_TRY_VERIFY2(check->text().startsWith(QStringLiteral("✓")), qPrintable(check->text()));
}

QTEST_MAIN(TestDownloads)
#include "test_downloads.moc"
