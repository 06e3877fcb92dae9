// The document beside the chat: a PDF's page as drawn by a reader process, the passage's words
// marked, or the text of any document with the passage marked. Shows what the library sends and
// asks it for other pages; never reads a file itself.
#pragma once

#include "uio/app/sources.h"

#include <QImage>
#include <QWidget>

class QLabel;
class QScrollArea;
class QStackedWidget;
class QTextBrowser;
class QToolButton;

namespace uio::ui {

class DocumentPane : public QWidget {
    Q_OBJECT

public:
    explicit DocumentPane(QWidget* parent = nullptr);
    qint64 documentId() const { return m_view.id; }
    int page() const { return m_page; }  // of the drawn page on show; 0 while the text shows
    bool showsDrawnPage() const;
    int markedBoxes() const { return m_marked; }

public Q_SLOTS:
    void showDocument(const uio::app::DocumentView& view);
    void showPage(qint64 documentId, int page, int pageCount, const QImage& image, const QList<QRectF>& marked);
    void showPageFailure(qint64 documentId, int page, const QString& message);

Q_SIGNALS:
    void pageRequested(qint64 documentId, const QString& path, int page, const QString& passage);
    void closeRequested();

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void requestPage(int page);
    void fitPage();

    QLabel* m_title;
    QLabel* m_where;
    QToolButton* m_previous;
    QToolButton* m_next;
    QToolButton* m_asText;
    QStackedWidget* m_stack;
    QScrollArea* m_scroll;
    QLabel* m_image;
    QTextBrowser* m_text;
    app::DocumentView m_view;
    int m_page = 0;
    int m_marked = 0;
    QImage m_drawn;            // the page as drawn, the passage marked
    double m_firstMark = 0.0;  // where the first mark is, as a share of the page's height
};

}  // namespace uio::ui
