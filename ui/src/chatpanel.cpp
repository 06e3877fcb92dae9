#include "chatpanel.h"

#include "icons.h"

#include <QApplication>
#include <QClipboard>
#include <QDesktopServices>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMap>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QShortcut>
#include <QSplitter>
#include <QTextBrowser>
#include <QTextCursor>
#include <QVBoxLayout>

namespace uio::ui {

namespace {

const QString kStreamingMarker = QStringLiteral(" …");  // after an answer that is not finished

}  // namespace

ChatPanel::ChatPanel(QWidget* parent) : QWidget(parent) {
    setAccessibleName(tr("Chat"));
    m_chats = new QListWidget(this);
    m_chats->setObjectName(QStringLiteral("chatList"));
    m_chats->setAccessibleName(tr("Chats"));
    m_chats->setContextMenuPolicy(Qt::ActionsContextMenu);
    auto* renameAction = new QAction(tr("Rename…"), m_chats);
    auto* exportAction = new QAction(tr("Export…"), m_chats);
    auto* deleteAction = new QAction(tr("Delete"), m_chats);
    m_chats->addActions({renameAction, exportAction, deleteAction});
    connect(renameAction, &QAction::triggered, this, [this] {
        if (m_chats->currentItem())
            m_chats->editItem(m_chats->currentItem());
    });
    connect(m_chats, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        Q_EMIT renameRequested(item->data(Qt::UserRole).toLongLong(), item->text());
    });
    connect(exportAction, &QAction::triggered, this, [this] {
        if (m_current)
            Q_EMIT exportRequested(m_current);
    });
    connect(deleteAction, &QAction::triggered, this, [this] {
        if (m_current)
            Q_EMIT deleteRequested(m_current);
    });
    connect(m_chats, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) {
        if (!item)
            return;
        m_current = item->data(Qt::UserRole).toLongLong();
        Q_EMIT chatSelected(m_current);
    });
    auto* newChat = new QPushButton(icon(QStringLiteral("newchat")), tr("New chat"), this);
    newChat->setObjectName(QStringLiteral("newChatButton"));
    connect(newChat, &QPushButton::clicked, this, &ChatPanel::newChatRequested);

    m_transcript = new QTextBrowser(this);
    m_transcript->setObjectName(QStringLiteral("transcript"));
    m_transcript->setAccessibleName(tr("Conversation"));
    m_transcript->setOpenLinks(false);
    connect(m_transcript, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
        if (url.scheme() != QLatin1String("source")) {
            QDesktopServices::openUrl(url);
            return;
        }
        // source:MESSAGE-SOURCE, indices into m_messages and its sources
        const QStringList at = url.path().split(QLatin1Char('-'));
        const qsizetype message = at.value(0).toLongLong(), source = at.value(1).toLongLong();
        if (at.size() == 2 && message >= 0 && message < m_messages.size() && source >= 0 &&
            source < m_messages[message].sources.size()) {
            Q_EMIT sourceActivated(m_messages[message].sources[source]);
        }
    });
    m_notice = new QLabel(this);
    m_notice->setObjectName(QStringLiteral("chatNotice"));
    m_notice->setWordWrap(true);
    m_notice->setForegroundRole(QPalette::PlaceholderText);
    m_notice->hide();

    m_input = new QPlainTextEdit(this);
    m_input->setObjectName(QStringLiteral("questionInput"));
    m_input->setAccessibleName(tr("Question"));
    m_input->setPlaceholderText(tr("Ask about the documents of this chat (Ctrl+Enter sends)"));
    m_input->setMaximumHeight(90);
    m_send = new QPushButton(icon(QStringLiteral("send")), tr("Send"), this);
    m_send->setObjectName(QStringLiteral("sendButton"));
    m_stop = new QPushButton(icon(QStringLiteral("stop")), tr("Stop"), this);
    m_stop->setObjectName(QStringLiteral("stopButton"));
    m_regenerate = new QPushButton(icon(QStringLiteral("regenerate")), tr("Regenerate"), this);
    m_regenerate->setObjectName(QStringLiteral("regenerateButton"));
    auto* copy = new QPushButton(icon(QStringLiteral("copy")), tr("Copy"), this);
    copy->setObjectName(QStringLiteral("copyButton"));
    connect(m_send, &QPushButton::clicked, this, &ChatPanel::send);
    connect(m_stop, &QPushButton::clicked, this, &ChatPanel::stopRequested);
    connect(m_regenerate, &QPushButton::clicked, this, [this] {
        if (!m_current || m_busy)
            return;
        if (!m_messages.isEmpty() && m_messages.back().role == app::MessageRow::Role::Assistant)
            m_messages.removeLast();
        m_messages << app::MessageRow{0, app::MessageRow::Role::Assistant, QString(), false, {}};
        setBusy(true);
        render();
        Q_EMIT regenerateRequested(m_current);
    });
    connect(copy, &QPushButton::clicked, this, [this] {
        for (auto it = m_messages.crbegin(); it != m_messages.crend(); ++it) {
            if (it->role == app::MessageRow::Role::Assistant) {
                QApplication::clipboard()->setText(it->content);
                return;
            }
        }
    });
    auto* sendShortcut = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), m_input);
    connect(sendShortcut, &QShortcut::activated, this, &ChatPanel::send);
    auto* stopShortcut = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    stopShortcut->setContext(Qt::WidgetWithChildrenShortcut);
    connect(stopShortcut, &QShortcut::activated, this, &ChatPanel::stopRequested);

    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(new QLabel(QStringLiteral("<b>%1</b>").arg(tr("Chats")), left));
    leftLayout->addWidget(m_chats, 1);
    leftLayout->addWidget(newChat);
    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(m_transcript, 1);
    rightLayout->addWidget(m_notice);
    rightLayout->addWidget(m_input);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch(1);
    for (QPushButton* b : {copy, m_regenerate, m_stop, m_send})
        buttons->addWidget(b);
    rightLayout->addLayout(buttons);
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 3);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
    setBusy(false);
}

void ChatPanel::setChats(const QList<app::ChatRow>& chats) {
    const QSignalBlocker blocker(m_chats);
    m_chats->clear();
    for (const app::ChatRow& chat : chats) {
        auto* item = new QListWidgetItem(chat.title, m_chats);
        item->setData(Qt::UserRole, chat.id);
        item->setFlags(item->flags() | Qt::ItemIsEditable);
        if (chat.id == m_current)
            m_chats->setCurrentItem(item);
    }
}

void ChatPanel::selectChat(qint64 id) {
    for (int i = 0; i < m_chats->count(); ++i) {
        if (m_chats->item(i)->data(Qt::UserRole).toLongLong() == id) {
            m_chats->setCurrentRow(i);
            return;
        }
    }
    m_current = id;
    Q_EMIT chatSelected(id);
}

void ChatPanel::showMessages(qint64 chatId, const QList<app::MessageRow>& messages) {
    if (chatId != m_current || m_busy)
        return;
    m_messages = messages;
    render();
}

void ChatPanel::send() {
    const QString question = m_input->toPlainText().trimmed();
    if (question.isEmpty() || m_busy)
        return;
    if (!m_current) {
        setNotice(tr("Start a chat first: select documents in the library and press New chat."));
        return;
    }
    m_messages << app::MessageRow{0, app::MessageRow::Role::User, question, true, {}}
               << app::MessageRow{0, app::MessageRow::Role::Assistant, QString(), false, {}};
    m_input->clear();
    setBusy(true);
    render();
    Q_EMIT askRequested(m_current, question);
}

void ChatPanel::appendAnswer(qint64 chatId, const QString& text) {
    if (chatId != m_current || m_messages.isEmpty())
        return;
    m_messages.back().content += text;
    if (!m_streaming) {
        render();
        return;
    }
    // Only the new text: the marker " …" at the end is replaced by the text and the marker, so a
    // long answer costs the same per piece as a short one.
    QTextCursor cursor(m_transcript->document());
    cursor.movePosition(QTextCursor::End);
    cursor.movePosition(QTextCursor::Left, QTextCursor::KeepAnchor, kStreamingMarker.size());
    cursor.insertText(text + kStreamingMarker);
    m_transcript->verticalScrollBar()->setValue(m_transcript->verticalScrollBar()->maximum());
}

void ChatPanel::finishAnswer(qint64 chatId, const QStringList& notices) {
    if (chatId != m_current)
        return;
    if (!m_messages.isEmpty())
        m_messages.back().complete = true;
    setBusy(false);
    setNotice(notices.join(QLatin1Char('\n')));
    render();
}

void ChatPanel::failAnswer(qint64 chatId, const QString& message) {
    if (chatId != m_current)
        return;
    if (!m_messages.isEmpty() && m_messages.back().role == app::MessageRow::Role::Assistant &&
        m_messages.back().content.isEmpty()) {
        m_messages.removeLast();
    }
    setBusy(false);
    setNotice(message);
    render();
}

void ChatPanel::setNotice(const QString& text) {
    m_notice->setText(text);
    m_notice->setVisible(!text.isEmpty());
}

void ChatPanel::setBusy(bool busy) {
    m_busy = busy;
    m_send->setEnabled(!busy);
    m_regenerate->setEnabled(!busy);
    m_stop->setEnabled(busy);
}

QString ChatPanel::sourcesLine(qsizetype message) const {
    // "Sources: Moby-Dick p. 12, p. 47 · tracemonkey § 3 p. 5", each place a link.
    QStringList titles;
    QMap<QString, QStringList> places;
    const QList<app::SourceRow>& sources = m_messages[message].sources;
    for (qsizetype i = 0; i < sources.size(); ++i) {
        const app::SourceRow& s = sources[i];
        if (s.kind != app::SourceRow::Kind::Passage)
            continue;
        if (!places.contains(s.title))
            titles << s.title;
        const QString place = s.place.isEmpty() ? tr("passage") : s.place;
        const QString link = QStringLiteral("[%1](source:%2-%3)").arg(place).arg(message).arg(i);
        if (!places[s.title].contains(link))
            places[s.title] << link;
    }
    if (titles.isEmpty())
        return {};
    QStringList groups;
    for (const QString& title : titles)
        groups << QStringLiteral("%1 %2").arg(title, places[title].join(QStringLiteral(", ")));
    return QStringLiteral("*%1* %2\n\n").arg(tr("Sources:"), groups.join(QStringLiteral(" · ")));
}

void ChatPanel::render() {
    // The messages as Markdown; an answer being streamed goes last as plain text, which
    // appendAnswer extends in place until the answer is finished and rendered with the rest.
    const bool streaming = m_busy && !m_messages.isEmpty() && !m_messages.back().complete &&
                           m_messages.back().role == app::MessageRow::Role::Assistant;
    QString markdown;
    for (qsizetype i = 0; i < m_messages.size(); ++i) {
        const app::MessageRow& m = m_messages[i];
        const QString who = m.role == app::MessageRow::Role::User ? tr("You") : tr("Assistant");
        if (streaming && i == m_messages.size() - 1) {
            markdown += QStringLiteral("**%1**\n\n").arg(who);
            break;
        }
        markdown += QStringLiteral("**%1**\n\n%2%3\n\n%4---\n\n")
                        .arg(who, m.content, m.complete ? QString() : kStreamingMarker, sourcesLine(i));
    }
    m_transcript->setMarkdown(markdown);
    m_streaming = streaming;
    if (streaming) {
        QTextCursor cursor(m_transcript->document());
        cursor.movePosition(QTextCursor::End);
        cursor.insertText(m_messages.back().content + kStreamingMarker);
    }
    m_transcript->verticalScrollBar()->setValue(m_transcript->verticalScrollBar()->maximum());
}

}  // namespace uio::ui
