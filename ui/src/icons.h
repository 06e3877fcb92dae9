// The application's action icons: SVG in resources/icons/actions, drawn at whatever size and
// device pixel ratio a control asks for. Mid-tone colours read on light and dark palettes alike.
#pragma once

#include <QIcon>
#include <QString>

namespace uio::ui {

// name: the file's base name, e.g. "send". The theme's icon of the same purpose is not used, so
// the application looks the same on every desktop.
QIcon icon(const QString& name);

}  // namespace uio::ui
