#include "documentdelegate.h"

#include "documentlistmodel.h"

#include <QApplication>
#include <QPainter>
#include <QStyleOptionProgressBar>

namespace uio::ui {

namespace {

bool showsProgress(const QModelIndex& index) {
    const auto status = static_cast<app::DocumentStatus>(index.data(DocumentListModel::StatusRole).toInt());
    return (status == app::DocumentStatus::Running || status == app::DocumentStatus::Reading) &&
           index.data(DocumentListModel::ProgressRole).isValid();
}

}  // namespace

int DocumentDelegate::barHeight(const QStyleOptionViewItem& option) {
    return option.fontMetrics.height() / 2 + 4;
}

QSize DocumentDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const {
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    // Every row keeps room for the bar, so rows do not jump when compression starts.
    size.rheight() += barHeight(option) + 4;
    return size;
}

void DocumentDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const {
    QStyleOptionViewItem text = option;
    const int bar = barHeight(option) + 4;
    text.rect.setBottom(option.rect.bottom() - bar);
    // The background spans the whole row, the text only the part above the bar.
    QStyleOptionViewItem background = option;
    initStyleOption(&background, index);
    background.text.clear();
    background.icon = QIcon();
    const QWidget* widget = option.widget;
    QStyle* style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &background, painter, widget);
    QStyledItemDelegate::paint(painter, text, index);
    if (!showsProgress(index))
        return;

    QStyleOptionProgressBar progress;
    progress.initFrom(widget);
    progress.rect = QRect(option.rect.left() + 6, option.rect.bottom() - bar + 1, option.rect.width() - 12, bar - 4);
    progress.minimum = 0;
    progress.maximum = 1000;
    progress.progress = qRound(1000 * index.data(DocumentListModel::ProgressRole).toDouble());
    progress.textVisible = false;
    progress.state |= QStyle::State_Horizontal;
    style->drawControl(QStyle::CE_ProgressBar, &progress, painter, widget);
}

}  // namespace uio::ui
