#include "uio/app/finetune.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>

namespace uio::app {

QByteArray toJson(const FineTuneSettings& s) {
    QJsonArray documents, files;
    for (const qint64 id : s.documentIds)
        documents.append(id);
    for (const QString& file : s.files)
        files.append(file);
    const QJsonObject o{
        {QStringLiteral("name"), s.name},
        {QStringLiteral("documents"), documents},
        {QStringLiteral("files"), files},
        {QStringLiteral("start_adapter"), s.startAdapter},
        {QStringLiteral("segment_length"), s.segmentLength},
        {QStringLiteral("memory_tokens"), s.memoryTokens},
        {QStringLiteral("rank"), s.rank},
        {QStringLiteral("alpha"), s.alpha},
        {QStringLiteral("segments"), s.segments},
        {QStringLiteral("window"), s.window},
        {QStringLiteral("steps"), s.steps},
        {QStringLiteral("accumulation"), s.accumulation},
        {QStringLiteral("learning_rate"), s.learningRate},
        {QStringLiteral("compensate"), s.compensate},
        {QStringLiteral("recompute"), s.recompute},
        {QStringLiteral("seed"), QString::number(s.seed)},  // 64 bits do not fit a JSON double
        {QStringLiteral("eval_every"), s.evalEvery},
        {QStringLiteral("checkpoint_every"), s.checkpointEvery},
        {QStringLiteral("device"), s.device},
        {QStringLiteral("dtype"), s.dtype},
    };
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

FineTuneSettings fineTuneSettingsFromJson(const QByteArray& json) {
    const QJsonObject o = QJsonDocument::fromJson(json).object();
    FineTuneSettings s;
    s.name = o[QStringLiteral("name")].toString();
    for (const auto& id : o[QStringLiteral("documents")].toArray())
        s.documentIds << static_cast<qint64>(id.toDouble());
    for (const auto& file : o[QStringLiteral("files")].toArray())
        s.files << file.toString();
    s.startAdapter = o[QStringLiteral("start_adapter")].toString();
    s.segmentLength = o[QStringLiteral("segment_length")].toInt(s.segmentLength);
    s.memoryTokens = o[QStringLiteral("memory_tokens")].toInt(s.memoryTokens);
    s.rank = o[QStringLiteral("rank")].toInt(s.rank);
    s.alpha = o[QStringLiteral("alpha")].toDouble(s.alpha);
    s.segments = o[QStringLiteral("segments")].toInt(s.segments);
    s.window = o[QStringLiteral("window")].toInt(s.window);
    s.steps = o[QStringLiteral("steps")].toInt(s.steps);
    s.accumulation = o[QStringLiteral("accumulation")].toInt(s.accumulation);
    s.learningRate = o[QStringLiteral("learning_rate")].toDouble(s.learningRate);
    s.compensate = o[QStringLiteral("compensate")].toBool(s.compensate);
    s.recompute = o[QStringLiteral("recompute")].toBool(s.recompute);
    s.seed = o[QStringLiteral("seed")].toString().toULongLong();
    s.evalEvery = o[QStringLiteral("eval_every")].toInt(s.evalEvery);
    s.checkpointEvery = o[QStringLiteral("checkpoint_every")].toInt(s.checkpointEvery);
    s.device = o[QStringLiteral("device")].toString();
    s.dtype = o[QStringLiteral("dtype")].toString();
    return s;
}

qint64 samplesIn(const QList<qint64>& streamTokens, int segments, int segmentLength) {
    const qint64 sampleTokens = static_cast<qint64>(std::max(1, segments)) * std::max(1, segmentLength);
    qint64 samples = 0;
    for (const qint64 tokens : streamTokens)
        samples += tokens / sampleTokens;
    return samples;
}

qint64 heldOutOf(qint64 samples) {
    return samples < 2 ? 0 : std::clamp<qint64>(std::llround(0.1 * static_cast<double>(samples)), 1, samples - 1);
}

void applyPreset(FineTuneSettings& s, FineTunePreset preset) {
    switch (preset) {
        case FineTunePreset::Quick:
            s.steps = 200, s.learningRate = 3e-4, s.window = 2;
            break;
        case FineTunePreset::Standard:
            s.steps = 1000, s.learningRate = 1e-4, s.window = 2;
            break;
        case FineTunePreset::Thorough:
            s.steps = 4000, s.learningRate = 1e-4, s.window = 4;
            break;
    }
    setSteps(s, s.steps);
}

void setSteps(FineTuneSettings& s, int steps) {
    s.steps = steps;
    s.evalEvery = std::max(1, steps / 10);
    s.checkpointEvery = std::max(1, steps / 20);
}

}  // namespace uio::app
