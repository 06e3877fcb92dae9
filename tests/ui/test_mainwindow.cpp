// The desktop application on the offscreen platform with real services, a tiny generated model
// and a real library file: add a document, watch it compress, ask about it, see the answer stream
// in. Screenshots of each step are saved next to the test for review.

#include "uio/app/libraryservice.h"
#include "uio/app/modelservice.h"
#include "uio/model/engine.h"
#include "uio/model/model_maker.h"
#include "uio/model/synthetic_text.h"
#include "uio/ui/mainwindow.h"

#include <QAbstractItemModel>
#include <QAction>
#include <QDialog>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>

class TestMainWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void withoutAModelExplainsTheSetup();
    void addCompressAndAsk();
    void damagedLibraryIsMovedAside();

private:
    void screenshot(QWidget& window, const QString& name) {
        QVERIFY(window.grab().save(QStringLiteral(UIO_SCREENSHOT_DIR "/") + name + QStringLiteral(".png")));
    }
    QTemporaryDir m_dir;
    uio::app::ModelSettings m_settings;
};

void TestMainWindow::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_settings.modelDir = m_dir.filePath(QStringLiteral("tiny"));
    uio::model::make_model(m_settings.modelDir.toStdString(), {"tiny", 6, uio::model::DType::F32, 0});
    auto engine = uio::model::Engine::load(m_settings.modelDir.toStdString());
    engine->create_adapter({64, 8, 4, 8.0}, 1);
    m_settings.adapterPath = m_dir.filePath(QStringLiteral("adapter.safetensors"));
    engine->save_adapter(m_settings.adapterPath.toStdString());
    m_settings.databasePath = m_dir.filePath(QStringLiteral("uio.sqlite3"));
}

void TestMainWindow::withoutAModelExplainsTheSetup() {
    uio::app::LibraryService library(m_dir.filePath(QStringLiteral("empty.sqlite3")));
    uio::app::ModelService model;
    uio::ui::MainWindow window(library, model, {});
    window.resize(900, 600);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const QImage image = window.grab().toImage();
    QCOMPARE(image.size(), QSize(qRound(900 * window.devicePixelRatioF()), qRound(600 * window.devicePixelRatioF())));
    auto* notice = window.findChild<QLabel*>(QStringLiteral("chatNotice"));
    QVERIFY(notice && notice->isVisible());
    QVERIFY(notice->text().contains(QStringLiteral("Use demo model")));
    QTest::keyClick(&window, Qt::Key_F, Qt::ControlModifier);
    QTRY_VERIFY(window.findChild<QLineEdit*>(QStringLiteral("librarySearch"))->hasFocus());
    screenshot(window, QStringLiteral("uio-desk-no-model"));

    // Model › Use demo model: a tiny random model is made and loaded, and called meaningless.
    if (qEnvironmentVariableIsEmpty("XDG_DATA_HOME"))
        QSKIP("run through ctest, which keeps the demo model in the build tree");
    QSignalSpy demo(&model, &uio::app::ModelService::demoCreated);
    for (QAction* action : window.findChildren<QAction*>()) {
        if (action->text().contains(QStringLiteral("demo model")))
            action->trigger();
    }
    QTRY_VERIFY_WITH_TIMEOUT(
        window.findChild<QLabel*>(QStringLiteral("modelLabel"))->text().contains(QStringLiteral("cpu")), 60000);
    QCOMPARE(demo.count(), 1);
    QVERIFY(notice->text().contains(QStringLiteral("meaningless")));
}

void TestMainWindow::addCompressAndAsk() {
    uio::app::LibraryService library(m_settings.databasePath);
    uio::app::ModelService model;
    uio::ui::MainWindow window(library, model, m_settings);
    window.resize(1100, 720);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QTRY_VERIFY_WITH_TIMEOUT(
        window.findChild<QLabel*>(QStringLiteral("modelLabel"))->text().contains(QStringLiteral("cpu")), 30000);
    QTRY_VERIFY(window.findChild<QLabel*>(QStringLiteral("memoryLabel"))->text().startsWith(QStringLiteral("RAM ")));

    const QString text = m_dir.filePath(QStringLiteral("voyage.txt"));
    QFile file(text);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromStdString(uio::model::synthetic_text(8, 1000, 500)));
    file.close();
    library.addFiles({text});  // what the Add dialog and drag and drop do
    auto* list = window.findChild<QListView*>(QStringLiteral("documentList"));
    QTRY_COMPARE_WITH_TIMEOUT(list->model()->rowCount(), 1, 30000);
    QTRY_VERIFY_WITH_TIMEOUT(list->model()->index(0, 0).data().toString().contains(QStringLiteral("ready")), 60000);
    QVERIFY(list->model()->index(0, 0).data().toString().contains(QStringLiteral("voyage")));
    screenshot(window, QStringLiteral("uio-desk-library"));

    list->setCurrentIndex(list->model()->index(0, 0));
    QTest::mouseClick(window.findChild<QPushButton*>(QStringLiteral("newChatButton")), Qt::LeftButton);
    auto* chats = window.findChild<QListWidget*>(QStringLiteral("chatList"));
    QTRY_COMPARE_WITH_TIMEOUT(chats->count(), 1, 10000);
    auto* input = window.findChild<QPlainTextEdit*>(QStringLiteral("questionInput"));
    input->setPlainText(QStringLiteral("What happens in the story?"));
    auto* send = window.findChild<QPushButton*>(QStringLiteral("sendButton"));
    QTest::mouseClick(send, Qt::LeftButton);
    QVERIFY(!send->isEnabled());  // busy while the answer streams
    QTRY_VERIFY_WITH_TIMEOUT(send->isEnabled(), 60000);
    const QString transcript = window.findChild<QTextBrowser*>(QStringLiteral("transcript"))->toPlainText();
    QVERIFY2(transcript.contains(QStringLiteral("What happens in the story?")), qPrintable(transcript));
    QVERIFY2(transcript.contains(QStringLiteral("Assistant")),
             qPrintable(transcript + window.findChild<QLabel*>(QStringLiteral("chatNotice"))->text()));
    screenshot(window, QStringLiteral("uio-desk-chat"));

    // Settings reach the window (which asks with them) and the program (which remembers them).
    QSignalSpy changed(&window, &uio::ui::MainWindow::askSettingsChanged);
    window.findChild<QAction*>(QStringLiteral("settingsAction"))->trigger();
    auto* dialog = window.findChild<QDialog*>(QStringLiteral("settingsDialog"));
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    screenshot(*dialog, QStringLiteral("uio-desk-settings"));
    dialog->findChild<QDoubleSpinBox*>(QStringLiteral("temperature"))->setValue(0.0);
    dialog->findChild<QSpinBox*>(QStringLiteral("maxTokens"))->setValue(32);
    dialog->accept();
    QCOMPARE(changed.count(), 1);
    const auto chosen = changed.at(0).at(0).value<uio::app::AskSettings>();
    QCOMPARE(chosen.temperature, 0.0);
    QCOMPARE(chosen.maxNewTokens, 32);

    // Regenerate answers the same question again in place.
    QTest::mouseClick(window.findChild<QPushButton*>(QStringLiteral("regenerateButton")), Qt::LeftButton);
    QVERIFY(!send->isEnabled());
    QTRY_VERIFY_WITH_TIMEOUT(send->isEnabled(), 60000);
    const QString again = window.findChild<QTextBrowser*>(QStringLiteral("transcript"))->toPlainText();
    QCOMPARE(again.count(QStringLiteral("What happens in the story?")), 1);
    QCOMPARE(again.count(QStringLiteral("Assistant")), 1);
}

void TestMainWindow::damagedLibraryIsMovedAside() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("uio.sqlite3"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(8192, 'x'));
    file.close();
    uio::app::LibraryService library(path);
    uio::app::ModelService model;
    uio::ui::MainWindow window(library, model, {});
    window.show();
    QMessageBox* box = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((box = window.findChild<QMessageBox*>(QStringLiteral("unusableLibraryBox"))), 10000);
    QVERIFY(box->text().contains(QStringLiteral("not a usable database")));
    screenshot(*box, QStringLiteral("uio-desk-damaged-library"));
    box->button(QMessageBox::Yes)->click();
    QTRY_VERIFY_WITH_TIMEOUT(window.statusBar()->currentMessage().contains(QStringLiteral("kept as")), 10000);
    const QStringList kept = QDir(dir.path()).entryList({QStringLiteral("uio.sqlite3.damaged-*")});
    QCOMPARE(kept.size(), 1);
    QFile old(dir.filePath(kept.front()));
    QVERIFY(old.open(QIODevice::ReadOnly));
    QCOMPARE(old.readAll(), QByteArray(8192, 'x'));  // nothing lost
}

QTEST_MAIN(TestMainWindow)
#include "test_mainwindow.moc"
