// uio-desk: the desktop application. Builds the services and the main window and hands over.

#include "uio/app/libraryservice.h"
#include "uio/app/modelservice.h"
#include "uio/common/units.h"
#include "uio/model/runtime.h"
#include "uio/services/librarypaths.h"
#include "uio/services/runtimesummary.h"
#include "uio/ui/mainwindow.h"
#include "uio/version.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QMessageBox>
#include <QSettings>
#include <QTextStream>
#include <QTimer>

#include <algorithm>
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
    parser.addPositionalArgument(QStringLiteral("files"),
                                 QStringLiteral("Documents or folders to add to the library (PDF, EPUB, text, "
                                                "Markdown, HTML), as when opened from a file manager."),
                                 QStringLiteral("[files...]"));

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
        QTextStream(stdout) << uio::services::runtimeSummary(QStringLiteral("uio-desk")) << '\n';
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
    QApplication::setOrganizationName(QStringLiteral("uio-desk"));
    QApplication::setApplicationDisplayName(QStringLiteral("UIO Desk"));
    QApplication::setApplicationVersion(QStringLiteral(UIO_VERSION_STRING));
    QApplication::setDesktopFileName(QStringLiteral("io.github.uio_desk.UioDesk"));  // installer/
    uio::model::keep_freed_buffers();
    uio::model::set_cpu_threads(0);

    // One library file for the application and the command line: ~/.local/share/uio-desk, or the
    // folder chosen in the settings, where the library is copied the first time it is used.
    QSettings settings;
    const QString defaultDir = uio::services::defaultDataFolder();
    const QString libraryName = uio::services::libraryFileName();
    QString dataDir = settings.value(QStringLiteral("data/folder"), defaultDir).toString();
    const QString usedDir = settings.value(QStringLiteral("data/in_use"), dataDir).toString();
    QString moveProblem;
    if (usedDir != dataDir) {
        if (!QDir().mkpath(dataDir)) {
            moveProblem = QStringLiteral("%1 cannot be created").arg(dataDir);
        } else {
            moveProblem = uio::app::copyLibrary(usedDir + libraryName, dataDir + libraryName);
        }
        if (!moveProblem.isEmpty()) {
            dataDir = usedDir;  // keep working with the library where it is
            settings.setValue(QStringLiteral("data/folder"), usedDir);
        }
    }
    QDir().mkpath(dataDir);
    settings.setValue(QStringLiteral("data/in_use"), dataDir);
    uio::app::ModelSettings modelSettings;
    modelSettings.modelDir = settings.value(QStringLiteral("model/dir")).toString();
    modelSettings.adapterPath = settings.value(QStringLiteral("model/adapter")).toString();
    modelSettings.ultragist =
        settings.value(QStringLiteral("model/compressor")).toString() == QLatin1String("ultragist");
    modelSettings.ultragistSource = settings.value(QStringLiteral("model/ultragist_source")).toString();
    modelSettings.ultragistRatio = settings.value(QStringLiteral("model/ultragist_ratio"), 0).toInt();
    modelSettings.device = settings.value(QStringLiteral("model/device"), QStringLiteral("cpu")).toString();
    const QString fastest = QString::fromStdString(uio::model::dtype_name(uio::model::fastest_cpu_precision().dtype));
    modelSettings.dtype = settings.value(QStringLiteral("model/dtype"), fastest).toString();
    modelSettings.compressionBatch = settings.value(QStringLiteral("model/batch"), 4).toInt();
    modelSettings.cpuThreads = settings.value(QStringLiteral("model/threads"), 0).toInt();
    modelSettings.continuation = settings.value(QStringLiteral("model/continuation"), false).toBool();
    modelSettings.databasePath = dataDir + libraryName;
    uio::app::AskSettings ask;
    ask.temperature = settings.value(QStringLiteral("answers/temperature"), ask.temperature).toDouble();
    ask.topP = settings.value(QStringLiteral("answers/top_p"), ask.topP).toDouble();
    ask.maxNewTokens = settings.value(QStringLiteral("answers/max_new_tokens"), ask.maxNewTokens).toInt();
    ask.systemPrompt = settings.value(QStringLiteral("answers/system_prompt")).toString();
    ask.passageShare =
        std::clamp(settings.value(QStringLiteral("answers/passage_share"), ask.passageShare).toDouble(), 0.0, 0.75);
    ask.untrainedMemories = settings.value(QStringLiteral("answers/untrained_memories"), false).toBool();

    uio::app::LibraryService library(modelSettings.databasePath);
    uio::app::ModelService model;
    uio::ui::MainWindow window(library, model, modelSettings, ask);
    const uio::ingest::ReaderLimits readerDefaults = uio::ingest::ReaderLimits::defaults();
    // Within the Settings dialog's ranges, whatever the file says.
    window.setReaderLimits(
        {std::clamp<qint64>(
             settings.value(QStringLiteral("reading/memory_mb"), readerDefaults.memoryBytes / uio::kMegabyte)
                 .toLongLong(),
             256, 1000 * 1000) *
             uio::kMegabyte,
         std::clamp(settings.value(QStringLiteral("reading/seconds"), readerDefaults.seconds).toInt(), 5, 24 * 3600)});
    QObject::connect(&window, &uio::ui::MainWindow::readerLimitsChanged, [](const uio::ingest::ReaderLimits& chosen) {
        QSettings remembered;
        remembered.setValue(QStringLiteral("reading/memory_mb"), chosen.memoryBytes / uio::kMegabyte);
        remembered.setValue(QStringLiteral("reading/seconds"), chosen.seconds);
    });
    QObject::connect(&window, &uio::ui::MainWindow::settingsChanged, [](const uio::app::ModelSettings& chosen) {
        QSettings remembered;
        remembered.setValue(QStringLiteral("model/dir"), chosen.modelDir);
        remembered.setValue(QStringLiteral("model/adapter"), chosen.adapterPath);
        remembered.setValue(QStringLiteral("model/compressor"),
                            chosen.ultragist ? QStringLiteral("ultragist") : QStringLiteral("uio"));
        remembered.setValue(QStringLiteral("model/ultragist_source"), chosen.ultragistSource);
        remembered.setValue(QStringLiteral("model/ultragist_ratio"), chosen.ultragistRatio);
        remembered.setValue(QStringLiteral("model/continuation"), chosen.continuation);
        remembered.setValue(QStringLiteral("model/device"), chosen.device);
        remembered.setValue(QStringLiteral("model/dtype"), chosen.dtype);
        remembered.setValue(QStringLiteral("model/batch"), chosen.compressionBatch);
        remembered.setValue(QStringLiteral("model/threads"), chosen.cpuThreads);
    });
    QObject::connect(&window, &uio::ui::MainWindow::dataFolderChanged,
                     [](const QString& folder) { QSettings().setValue(QStringLiteral("data/folder"), folder); });
    QObject::connect(&window, &uio::ui::MainWindow::askSettingsChanged, [](const uio::app::AskSettings& chosen) {
        QSettings remembered;
        remembered.setValue(QStringLiteral("answers/temperature"), chosen.temperature);
        remembered.setValue(QStringLiteral("answers/top_p"), chosen.topP);
        remembered.setValue(QStringLiteral("answers/max_new_tokens"), chosen.maxNewTokens);
        remembered.setValue(QStringLiteral("answers/system_prompt"), chosen.systemPrompt);
        remembered.setValue(QStringLiteral("answers/passage_share"), chosen.passageShare);
        remembered.setValue(QStringLiteral("answers/untrained_memories"), chosen.untrainedMemories);
    });
    window.show();
    QStringList files;
    for (const QString& file : parser.positionalArguments())
        files << QFileInfo(file).absoluteFilePath();
    if (!files.isEmpty())
        library.addFiles(files);
    if (!moveProblem.isEmpty()) {
        QMessageBox::warning(&window, QStringLiteral("UIO Desk"),
                             QStringLiteral("The library could not be copied to the new data folder (%1). UIO Desk "
                                            "goes on with the library in %2; choose another folder in Settings.")
                                 .arg(moveProblem, dataDir));
    }

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
