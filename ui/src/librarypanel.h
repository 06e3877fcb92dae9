// The library: documents with their status and compression progress, search by title and inside
// documents (passages with snippets), add by dialog or drag and drop, compress (resume, retry),
// pause, cancel, remove, open in the document pane. Emits intents; owns no data.
#pragma once

#include "uio/app/sources.h"

#include <QWidget>

class QLineEdit;
class QListWidget;
class QTimer;
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
    // What the library found inside documents for the search field's words.
    void showPassages(const QString& query, const QList<uio::app::SourceRow>& passages);
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
    void passageSearchRequested(const QString& query);
    void openRequested(const uio::app::SourceRow& place);  // a found passage, or a document from its start

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
    QListWidget* m_passages;
    QTimer* m_searchPause;  // the search inside documents waits for a pause in typing
    QList<app::SourceRow> m_found;
};

}  // namespace uio::ui
