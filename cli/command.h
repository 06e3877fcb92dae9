// A `uio` subcommand: its name, a one-line summary for `uio --help`, and its entry point, which
// gets the arguments after the command name and returns the process exit code. Commands throw
// on failure; main() prints the message to stderr and exits with 1.
#pragma once

#include <QString>
#include <QStringList>

#include <functional>

namespace uio::cli {

struct Command {
    QString name;
    QString summary;
    std::function<int(const QStringList& args)> run;
};

int runInfo(const QStringList& args);
int runTokenize(const QStringList& args);
int runGenerate(const QStringList& args);
int runScore(const QStringList& args);
int runMakeModel(const QStringList& args);
int runExport(const QStringList& args);
int runBench(const QStringList& args);
int runAdapter(const QStringList& args);
int runCompress(const QStringList& args);
int runIngest(const QStringList& args);
int runLibrary(const QStringList& args);
int runChat(const QStringList& args);
int runSearch(const QStringList& args);
int runCache(const QStringList& args);
int runTrain(const QStringList& args);
int runDownload(const QStringList& args);
int runExperiment(const QStringList& args);
int runUltraGist(const QStringList& args);
int compressDocument(const QStringList& args);   // uio compress --db --doc
int experimentStories(const QStringList& args);  // uio experiment stories

}  // namespace uio::cli
