// What the GUI tests share: a tiny generated model with an adapter, and screenshots saved in
// the build folder for review.
#pragma once

#include "uio/app/modelservice.h"
#include "uio/model/engine.h"
#include "uio/model/model_maker.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <QWidget>

namespace uitest {

// A tiny random Llama with tokenizer in dir/tiny and an adapter (segment length 64, 8 memory
// tokens) next to it, with room for 20000 positions; databasePath names dir/uio.sqlite3.
inline uio::app::ModelSettings makeTinyModel(const QString& dir) {
    uio::app::ModelSettings settings;
    settings.modelDir = dir + QStringLiteral("/tiny");
    uio::model::make_model(settings.modelDir.toStdString(), {"tiny", 6, uio::model::DType::F32, 0});
    // Room for the memories of a whole book (about 2000 segments of 8 positions), as a real
    // model's 4096 positions hold 100K tokens at its 32x compression.
    QFile config(settings.modelDir + QStringLiteral("/config.json"));
    if (config.open(QIODevice::ReadOnly)) {
        QJsonObject json = QJsonDocument::fromJson(config.readAll()).object();
        config.close();
        json[QStringLiteral("max_position_embeddings")] = 20000;
        if (config.open(QIODevice::WriteOnly | QIODevice::Truncate))
            config.write(QJsonDocument(json).toJson());
        config.close();  // flushed before the engine reads it
    }
    auto engine = uio::model::Engine::load(settings.modelDir.toStdString());
    engine->create_adapter({64, 8, 4, 8.0}, 1);
    settings.adapterPath = dir + QStringLiteral("/adapter.safetensors");
    engine->save_adapter(settings.adapterPath.toStdString());
    settings.databasePath = dir + QStringLiteral("/uio.sqlite3");
    return settings;
}

inline bool screenshot(QWidget& widget, const QString& name) {
    return widget.grab().save(QStringLiteral(UIO_SCREENSHOT_DIR "/") + name + QStringLiteral(".png"));
}

}  // namespace uitest
