#include "icons.h"

namespace uio::ui {

QIcon icon(const QString& name) {
    return QIcon(QStringLiteral(":/icons/actions/%1.svg").arg(name));
}

}  // namespace uio::ui
