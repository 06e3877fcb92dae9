// Chats: the list of chats, the transcript with Markdown rendered, the question box; Send,
// Stop, Regenerate, Copy. The answer streams into the transcript as it arrives; under a finished
// answer its sources, each a link that opens the document pane at that place.
#pragma once

#include "uio/app/libraryservice.h"

#include <QWidget>

class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QTextBrowser;

namespace uio::ui {

class ChatPanel : public QWidget {
    Q_OBJECT

public:
    explicit ChatPanel(QWidget* parent = nullptr);
    qint64 currentChat() const { return m_current; }

public Q_SLOTS:
    void setChats(const QList<uio::app::ChatRow>& chats);
    void selectChat(qint64 id);
    void showMessages(qint64 chatId, const QList<uio::app::MessageRow>& messages);
    void appendAnswer(qint64 chatId, const QString& text);
    void finishAnswer(qint64 chatId, const QStringList& notices);
    void failAnswer(qint64 chatId, const QString& message);
    void send();
    void setNotice(const QString& text);

Q_SIGNALS:
    void chatSelected(qint64 chatId);
    void newChatRequested();
    void askRequested(qint64 chatId, const QString& question);
    void stopRequested();
    void regenerateRequested(qint64 chatId);
    void deleteRequested(qint64 chatId);
    void renameRequested(qint64 chatId, const QString& title);
    void exportRequested(qint64 chatId);
    void sourceActivated(const uio::app::SourceRow& source);

private:
    void render();
    QString sourcesLine(qsizetype message) const;  // Markdown, empty without passages
    void setBusy(bool busy);

    QListWidget* m_chats;
    QTextBrowser* m_transcript;
    QLabel* m_notice;
    QPlainTextEdit* m_input;
    QPushButton* m_send;
    QPushButton* m_stop;
    QPushButton* m_regenerate;
    qint64 m_current = 0;
    QList<app::MessageRow> m_messages;
    bool m_streaming = false;  // the transcript ends with the answer being streamed, as plain text
    bool m_busy = false;
};

}  // namespace uio::ui
