// A `uio` subcommand: its name, a one-line summary for `uio --help`, and its entry point, which
// gets the arguments after the command name and returns the process exit code.
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

}  // namespace uio::cli
