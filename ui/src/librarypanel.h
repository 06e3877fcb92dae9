// The library: documents with their status and compression progress, search by title, add by
// dialog or drag and drop, compress (resume, retry), pause, cancel, remove. Emits intents; owns no data.
#pragma once

#include <QWidget>

class QLineEdit;
class QListView;
class QSortFilterProxyModel;

namespace uio::ui {

class DocumentListModel;

class LibraryPanel : public QWidget {
    Q_OBJECT

public:
    LibraryPanel(DocumentListModel* model, QWidget* parent = nullptr);
    QList<qint64> selectedIds() const;
    void focusSearch();
    void chooseFiles();  // the Add dialog

Q_SIGNALS:
    void addRequested(const QStringList& paths);
    void compressRequested(const QList<qint64>& ids);
    void pauseRequested(const QList<qint64>& ids);
    void cancelRequested(const QList<qint64>& ids);  // stops compressing; what is stored stays
    void removeRequested(const QList<qint64>& ids);
    void retryReadingRequested(const QStringList& paths);  // files that could not be read
    void cancelReadingRequested(const QStringList& paths);
    void selectionChanged();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void askToRemove();
    void showContextMenu(const QPoint& position);
    void showFileMenu(const QPoint& position, const QString& path, bool failed);

    DocumentListModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QLineEdit* m_search;
    QListView* m_list;
};

}  // namespace uio::ui
