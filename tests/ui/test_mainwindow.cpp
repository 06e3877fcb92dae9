// The main window builds, shows and renders on the offscreen platform.

#include "uio/ui/mainwindow.h"

#include <QImage>
#include <QLabel>
#include <QMenuBar>
#include <QStatusBar>
#include <QTest>

class TestMainWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void rendersAtItsSize();
    void hasLibraryAndChatPanels();
};

void TestMainWindow::rendersAtItsSize() {
    uio::ui::MainWindow window;
    window.resize(900, 600);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    const QImage image = window.grab().toImage();
    const qreal ratio = window.devicePixelRatioF();
    QCOMPARE(image.size(), QSize(qRound(900 * ratio), qRound(600 * ratio)));
    // Not a blank image: the panels, menu and status bar drew something.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7) {
        for (int x = 0; x < image.width(); x += 7) {
            colours.insert(image.pixel(x, y));
        }
    }
    QVERIFY2(colours.size() > 2, qPrintable(QStringLiteral("%1 colours").arg(colours.size())));
}

void TestMainWindow::hasLibraryAndChatPanels() {
    uio::ui::MainWindow window;
    QStringList names;
    for (const QWidget* widget : window.findChildren<QWidget*>()) {
        names << widget->accessibleName();
    }
    QVERIFY(names.contains(QStringLiteral("Library")));
    QVERIFY(names.contains(QStringLiteral("Chat")));
    QVERIFY(!window.menuBar()->actions().isEmpty());
    QCOMPARE(window.statusBar()->currentMessage(), QStringLiteral("No model configured"));
}

QTEST_MAIN(TestMainWindow)
#include "test_mainwindow.moc"
