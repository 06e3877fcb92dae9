// Pieces the `uio bench` subcommands share.
#pragma once

#include "uio/model/ceilings.h"
#include "uio/model/config.h"

#include <QJsonObject>
#include <QStringList>

#include <string>
#include <vector>

namespace uio::cli {

QJsonObject machineJson(const std::string& device);
QJsonObject modelJson(const model::LlamaConfig& c);
double median(std::vector<double> values);
// A GPU reaches its peak only on large products; 2048 is already large for a CPU.
int64_t gemmSizeFor(const std::string& device);

int benchCompress(const QStringList& args);
int benchDecodeMemory(const QStringList& args);
int benchStorage(const QStringList& args);
int benchChat(const QStringList& args);
int benchMemory(const QStringList& args);
int benchTrain(const QStringList& args);

}  // namespace uio::cli
