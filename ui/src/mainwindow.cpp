#include "uio/ui/mainwindow.h"

#include "uio/version.h"

#include <QApplication>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSplitter>
#include <QStatusBar>
#include <QVBoxLayout>

// Q_INIT_RESOURCE must be used outside any namespace.
static void initResources() {
    Q_INIT_RESOURCE(uio_resources);
}

namespace uio::ui {

namespace {

QWidget* makePanel(const QString& title, const QString& emptyText, QWidget* parent) {
    auto* panel = new QWidget(parent);
    panel->setAccessibleName(title);
    auto* layout = new QVBoxLayout(panel);
    auto* heading = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), panel);
    auto* empty = new QLabel(emptyText, panel);
    empty->setAlignment(Qt::AlignCenter);
    empty->setWordWrap(true);
    empty->setForegroundRole(QPalette::PlaceholderText);
    layout->addWidget(heading);
    layout->addWidget(empty, 1);
    return panel;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    initResources();
    setWindowTitle(QStringLiteral("UIO Desk"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/uio-desk.svg")));

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(makePanel(tr("Library"), tr("No documents yet."), splitter));
    splitter->addWidget(makePanel(tr("Chat"), tr("Add a document to start asking questions."), splitter));
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 2);
    setCentralWidget(splitter);

    buildMenus();
    statusBar()->showMessage(tr("No model configured"));
    resize(1100, 720);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* quit = file->addAction(tr("&Quit"), qApp, &QApplication::quit);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About UIO Desk"), this, &MainWindow::showAbout);
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About UIO Desk"),
                       tr("<h3>UIO Desk %1</h3><p>Read and question long documents on your own machine, "
                          "with a local Llama-2 model extended by UIO memory.</p>")
                           .arg(QStringLiteral(UIO_VERSION_STRING)));
}

}  // namespace uio::ui
