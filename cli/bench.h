// Pieces the `uio bench` subcommands share.
#pragma once

#include "uio/model/ceilings.h"
#include "uio/model/config.h"
#include "uio/model/engine.h"

#include <QCommandLineParser>
#include <QJsonObject>
#include <QStringList>

#include <string>
#include <vector>

namespace uio::cli {

QJsonObject machineJson(const std::string& device);
QJsonObject modelJson(const model::LlamaConfig& c);
double median(std::vector<double> values);
// A bench's JSON: its name, the machine, the engine's device, dtype and model shape, and `figures`.
QJsonObject benchResult(const QString& bench, const model::Engine& engine, const QJsonObject& figures);
// A GPU reaches its peak only on large products; 2048 is already large for a CPU.
int64_t gemmSizeFor(const std::string& device);
// n token ids drawn from the vocabulary (no special tokens), the same for the same seed.
std::vector<int32_t> randomTokens(const model::LlamaConfig& c, size_t n, uint32_t seed);
// The integers of a comma-separated option, or of `fallback` when it is not given.
std::vector<int32_t> listValue(const QCommandLineParser& parser, const QString& option, const QString& fallback);

int benchCompress(const QStringList& args);
int benchDecodeMemory(const QStringList& args);
int benchStorage(const QStringList& args);
int benchChat(const QStringList& args);
int benchSearch(const QStringList& args);
int benchMemory(const QStringList& args);
int benchTrain(const QStringList& args);

}  // namespace uio::cli
