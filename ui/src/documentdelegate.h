// Draws a library row: the title and facts as text, and a progress bar under them while the
// document is being compressed.
#pragma once

#include <QStyledItemDelegate>

namespace uio::ui {

class DocumentDelegate : public QStyledItemDelegate {
    Q_OBJECT

public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

private:
    static int barHeight(const QStyleOptionViewItem& option);
};

}  // namespace uio::ui
