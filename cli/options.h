// Options and helpers that several `uio` commands share.
#pragma once

#include "uio/model/engine.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QJsonDocument>
#include <QString>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <vector>

namespace uio::cli {

// A usage error: main() prints it with a pointer to --help and exits with 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// --help was given: main() prints the text on stdout and exits with 0.
class HelpRequested : public std::runtime_error {
public:
    explicit HelpRequested(const QString& text) : std::runtime_error(text.toStdString()) {}
};

// Parses `args` for command `name`; --help throws HelpRequested with the command's help. The first
// takes no positional arguments; the second leaves them to the command, checked after --help.
void parse(QCommandLineParser& parser, const QString& name, const QStringList& args);
void parseWithArguments(QCommandLineParser& parser, const QString& name, const QStringList& args);

// A command made of verbs (`uio bench gemm`): with no verb or --help, the list of verbs as help.
[[noreturn]] void verbHelp(const QString& name, const QList<std::pair<QString, QString>>& verbs);

// The value of a required option, or a UsageError naming it.
QString required(const QCommandLineParser& parser, const QString& option);
int intValue(const QCommandLineParser& parser, const QString& option, int fallback);
double doubleValue(const QCommandLineParser& parser, const QString& option, double fallback);

// "1,2,3" (spaces allowed) -> ids.
std::vector<int32_t> parseIds(const QString& text);

// --model, --device, --dtype.
void addModelOptions(QCommandLineParser& parser);
std::unique_ptr<model::Engine> openEngine(const QCommandLineParser& parser);

// --adapter, or --ultragist with --ultragist-ratio: the compressor.
void addAdapterOption(QCommandLineParser& parser);
// Loads the compressor given, if any; false when none was.
bool loadAdapter(model::Engine& engine, const QCommandLineParser& parser);
// --ultragist-ratio: 0 for auto.
int64_t ultragistRatio(const QCommandLineParser& parser);
// A UsageError unless a compressor was given.
void requireCompressor(const QCommandLineParser& parser);

// While one is alive, Ctrl+C raises the flag instead of ending the program, so that a command
// stops cleanly (a checkpoint, a paused job, the text so far); the default returns with it.
class InterruptFlag {
public:
    InterruptFlag();
    ~InterruptFlag();
    InterruptFlag(const InterruptFlag&) = delete;
    InterruptFlag& operator=(const InterruptFlag&) = delete;
    const std::atomic<bool>* get() const;
    bool raised() const { return get()->load(); }
};

QString readTextFile(const QString& path);
void printJson(const QJsonDocument& document);  // one line on stdout

}  // namespace uio::cli
