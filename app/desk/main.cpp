// uio-desk: the desktop application. Builds the services and the main window and hands over.

#include "uio/app/runtimesummary.h"
#include "uio/model/runtime.h"
#include "uio/ui/mainwindow.h"
#include "uio/version.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTextStream>
#include <QTimer>

#include <cstdio>
#include <cstdlib>

namespace {

// Qt aborts when it cannot reach a display; say what to do instead.
bool displayAvailable() {
#if defined(Q_OS_LINUX)
    return std::getenv("DISPLAY") || std::getenv("WAYLAND_DISPLAY") || std::getenv("QT_QPA_PLATFORM");
#else
    return true;
#endif
}

}  // namespace

int main(int argc, char* argv[]) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Read and question long documents with a local Llama-2."));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QStringLiteral("Save the main window to <png> once shown, then quit."),
                                        QStringLiteral("png"));
    parser.addOption(screenshot);

    QStringList args;
    for (int i = 0; i < argc; ++i) {
        args << QString::fromLocal8Bit(argv[i]);
    }
    // Parsed before QApplication exists so that --version and --help work without a display.
    if (!parser.parse(args)) {
        std::fprintf(stderr, "uio-desk: %s\nRun 'uio-desk --help' for the options.\n", qPrintable(parser.errorText()));
        return 2;
    }
    if (parser.isSet(version)) {
        uio::model::set_cpu_threads(0);
        QTextStream(stdout) << uio::app::runtimeSummary(QStringLiteral("uio-desk")) << '\n';
        return 0;
    }
    if (parser.isSet(help)) {
        QTextStream(stdout) << parser.helpText();
        return 0;
    }
    if (!displayAvailable()) {
        std::fprintf(stderr,
                     "uio-desk: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set).\n"
                     "Start it from a desktop session, or set QT_QPA_PLATFORM=offscreen to run without one.\n");
        return 1;
    }

    QApplication application(argc, argv);
    QApplication::setApplicationName(QStringLiteral("uio-desk"));
    QApplication::setApplicationDisplayName(QStringLiteral("UIO Desk"));
    QApplication::setApplicationVersion(QStringLiteral(UIO_VERSION_STRING));
    QApplication::setDesktopFileName(QStringLiteral("uio-desk"));
    uio::model::set_cpu_threads(0);

    uio::ui::MainWindow window;
    window.show();

    if (parser.isSet(screenshot)) {
        const QString path = parser.value(screenshot);
        QTimer::singleShot(0, &window, [&window, path] {
            if (!window.grab().save(path)) {
                std::fprintf(stderr, "uio-desk: cannot write the screenshot to %s\n", qPrintable(path));
                QApplication::exit(1);
                return;
            }
            QApplication::quit();
        });
    }
    return QApplication::exec();
}
