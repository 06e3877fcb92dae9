#include "documentpane.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QScrollArea>
#include <QScrollBar>
#include <QStackedWidget>
#include <QTextBrowser>
#include <QToolButton>
#include <QVBoxLayout>

namespace uio::ui {

namespace {

const QColor kMark(255, 214, 0, 110);  // the passage, over a page or behind the text

}  // namespace

DocumentPane::DocumentPane(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("documentPane"));
    setAccessibleName(tr("Document"));
    m_title = new QLabel(this);
    m_title->setObjectName(QStringLiteral("documentTitle"));
    m_title->setTextFormat(Qt::PlainText);
    m_title->setWordWrap(true);
    QFont bold = m_title->font();
    bold.setBold(true);
    m_title->setFont(bold);
    m_where = new QLabel(this);
    m_where->setObjectName(QStringLiteral("documentWhere"));
    m_where->setForegroundRole(QPalette::PlaceholderText);
    m_where->setWordWrap(true);
    auto button = [this](const QString& name, const QString& text, const QString& tip) {
        auto* b = new QToolButton(this);
        b->setObjectName(name);
        b->setText(text);
        b->setToolTip(tip);
        b->setAccessibleName(tip);
        return b;
    };
    m_previous = button(QStringLiteral("previousPage"), QStringLiteral("‹"), tr("Previous page"));
    m_next = button(QStringLiteral("nextPage"), QStringLiteral("›"), tr("Next page"));
    m_asText = button(QStringLiteral("showText"), tr("Text"), tr("Show the document's text"));
    auto* close = button(QStringLiteral("closeDocument"), QStringLiteral("×"), tr("Close the document"));
    connect(m_previous, &QToolButton::clicked, this, [this] { requestPage(m_page - 1); });
    connect(m_next, &QToolButton::clicked, this, [this] { requestPage(m_page + 1); });
    connect(m_asText, &QToolButton::clicked, this, [this] {
        m_stack->setCurrentWidget(m_text);
        m_page = 0;
    });
    connect(close, &QToolButton::clicked, this, &DocumentPane::closeRequested);

    m_image = new QLabel(this);
    m_image->setObjectName(QStringLiteral("pageImage"));
    m_image->setAlignment(Qt::AlignHCenter | Qt::AlignTop);
    m_scroll = new QScrollArea(this);
    m_scroll->setWidget(m_image);
    m_scroll->setWidgetResizable(true);
    m_scroll->setAlignment(Qt::AlignHCenter);
    m_text = new QTextBrowser(this);
    m_text->setObjectName(QStringLiteral("documentText"));
    m_text->setAccessibleName(tr("Document text"));
    m_stack = new QStackedWidget(this);
    m_stack->addWidget(m_text);
    m_stack->addWidget(m_scroll);

    auto* top = new QHBoxLayout;
    top->addWidget(m_title, 1);
    for (QToolButton* b : {m_previous, m_next, m_asText, close})
        top->addWidget(b);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addWidget(m_where);
    layout->addWidget(m_stack, 1);
    m_previous->setEnabled(false);
    m_next->setEnabled(false);
}

bool DocumentPane::showsDrawnPage() const {
    return m_stack->currentWidget() == m_scroll;
}

void DocumentPane::showDocument(const app::DocumentView& view) {
    const bool same = view.id == m_view.id && view.text.size() == m_view.text.size();
    m_view = view;
    m_title->setText(view.title);
    m_where->setText(view.page > 0 ? tr("Page %1 of %2").arg(view.page).arg(view.pageCount) : QString());
    if (!same)
        m_text->setPlainText(view.text);  // a book is set once, not for every source clicked
    QTextCursor cursor(m_text->document());
    cursor.setPosition(std::min(view.highlightBegin, static_cast<int>(view.text.size())));
    cursor.setPosition(std::min(view.highlightEnd, static_cast<int>(view.text.size())), QTextCursor::KeepAnchor);
    QTextEdit::ExtraSelection mark;
    mark.cursor = cursor;
    mark.format.setBackground(kMark);
    m_text->setExtraSelections({mark});
    // The passage near the top of the view: to its end, then back to its start.
    QTextCursor end(m_text->document());
    end.setPosition(cursor.selectionEnd());
    m_text->setTextCursor(end);
    m_text->ensureCursorVisible();
    QTextCursor start(m_text->document());
    start.setPosition(cursor.selectionStart());
    m_text->setTextCursor(start);
    m_text->ensureCursorVisible();
    m_stack->setCurrentWidget(m_text);
    m_page = 0;
    m_marked = 0;
    m_asText->setEnabled(false);
    m_previous->setEnabled(false);
    m_next->setEnabled(false);
    show();
}

void DocumentPane::showPage(qint64 documentId, int page, int pageCount, const QImage& image,
                            const QList<QRectF>& marked) {
    if (documentId != m_view.id)
        return;  // an answer for a document no longer on show
    QImage drawn = image.convertToFormat(QImage::Format_ARGB32_Premultiplied);
    {
        QPainter painter(&drawn);
        for (const QRectF& box : marked)
            painter.fillRect(box.adjusted(-1, -1, 1, 1), kMark);
    }
    m_drawn = drawn;
    m_firstMark = marked.isEmpty() ? 0.0 : marked.front().top() / std::max(1, drawn.height());
    m_stack->setCurrentWidget(m_scroll);
    fitPage();
    m_page = page;
    m_marked = static_cast<int>(marked.size());
    m_view.pageCount = pageCount;
    m_where->setText(tr("Page %1 of %2").arg(page).arg(pageCount));
    m_previous->setEnabled(page > 1);
    m_next->setEnabled(page < pageCount);
    m_asText->setEnabled(true);
    // The marked passage near the top of the view.
    m_scroll->verticalScrollBar()->setValue(static_cast<int>(m_firstMark * m_image->height()) - 40);
}

void DocumentPane::fitPage() {
    if (m_drawn.isNull())
        return;
    const int width = std::max(200, m_scroll->viewport()->width() - 4);  // the page as wide as the pane
    m_image->setPixmap(QPixmap::fromImage(m_drawn.scaledToWidth(width, Qt::SmoothTransformation)));
    m_image->adjustSize();
}

void DocumentPane::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    fitPage();
}

void DocumentPane::showPageFailure(qint64 documentId, int page, const QString& message) {
    if (documentId != m_view.id)
        return;
    m_where->setText(tr("Page %1 cannot be shown (%2); here is the text.").arg(page).arg(message));
    m_stack->setCurrentWidget(m_text);
    m_page = 0;
}

void DocumentPane::requestPage(int page) {
    if (page < 1 || (m_view.pageCount > 0 && page > m_view.pageCount))
        return;
    m_where->setText(tr("Drawing page %1…").arg(page));
    // The passage is marked on its own page only.
    Q_EMIT pageRequested(m_view.id, m_view.sourcePath, page, page == m_view.page ? m_view.passage : QString());
}

}  // namespace uio::ui
