// The library for the GUI: documents, chats and messages read and written on a worker thread with
// its own database connection, results delivered as queued signals. Added files are read one at a
// time, each by a contained reader process (readerprocess.h) that the worker thread waits for
// without blocking: chats load and the library answers while a book is being read. Pages of PDFs
// are drawn for the document pane by the same kind of process. The GUI thread never touches the
// database or the files.
#pragma once

#include "uio/app/sources.h"
#include "uio/ingest/readerprocess.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QThread>

namespace uio::app {

// Where a row of the document list stands: a library document's compression (its latest job), or
// a file being read into the library (Reading, then Unreadable if it fails).
enum class DocumentStatus { New, Queued, Running, Paused, Done, Failed, Cancelled, Reading, Unreadable };

struct DocumentRow {
    qint64 id = 0;
    QString title;
    QString authors;
    QString format;
    DocumentStatus status = DocumentStatus::New;
    qint64 tokens = -1;  // -1 until tokenized
    qint64 cacheBytes = 0;
    int pages = 0;
};

struct ChatRow {
    qint64 id = 0;
    QString title;
    QList<qint64> documents;
};

// An adapter made by fine-tuning, by its name.
struct AdapterRow {
    qint64 id = 0;
    QString name;
    QString path;
};

struct MessageRow {
    enum class Role { System, User, Assistant };
    qint64 id = 0;
    Role role = Role::User;
    QString content;
    bool complete = true;
    QList<SourceRow> sources;  // of an answer: passages placed verbatim, memories it had
};

class LibraryWorker;

// Copies the library at `from` to `to` as one consistent snapshot (SQLite's VACUUM INTO), for a
// new data folder; `from` is kept. Nothing happens when `to` exists or `from` does not. Returns
// an empty string, or what went wrong as a sentence. Call it before any service opens `from`.
QString copyLibrary(const QString& from, const QString& to);

class LibraryService : public QObject {
    Q_OBJECT

public:
    explicit LibraryService(const QString& databasePath, QObject* parent = nullptr);
    ~LibraryService() override;
    QString databasePath() const { return m_path; }

public Q_SLOTS:
    void refresh();                           // documentsChanged and chatsChanged follow
    void addFiles(const QStringList& paths);  // files and folders (searched recursively)
    void addProtectedFile(const QString& path, const QByteArray& password);
    void cancelReading(const QString& path);  // a file waiting or being read; readingCancelled follows
    void setReaderLimits(const uio::ingest::ReaderLimits& limits);  // for the files read from now on
    void removeDocument(qint64 id);
    void renameDocument(qint64 id, const QString& title);
    void createChat(const QString& title, const QList<qint64>& documents);
    void renameChat(qint64 id, const QString& title);
    void deleteChat(qint64 id);
    void loadMessages(qint64 chatId);
    void exportChat(qint64 chatId, const QString& path);  // Markdown, or JSON for a .json path
    // After libraryUnusable: renames the damaged file aside (kept for recovery), starts a new one.
    void startFresh();
    // cacheUsage follows: all compressed memory, and the part not made by this model and adapter.
    void measureCache(const QString& modelFingerprint, const QString& adapterFingerprint);
    // Removes the memory not made by this model and adapter, then gives the space back to the
    // disk; cachePurged and cacheUsage follow.
    void purgeOtherCache(const QString& modelFingerprint, const QString& adapterFingerprint);
    // Passages of every document that have the words, best first; searchFinished follows.
    void search(const QString& query);
    // The document at a place (bytes of its text; page 0: the place's own); documentOpened
    // follows, then for a PDF whose file is there, pageRendered (or pageFailed) with the words of
    // `mark` marked (by default the place's text).
    void openDocument(qint64 id, qint64 begin, qint64 end, int page = 0, const QString& mark = {});
    // Another page of a PDF, drawn by a reader process; pageRendered or pageFailed follows.
    void renderPage(qint64 id, const QString& path, int page, const QString& passage);
    void listAdapters();                                 // adaptersListed follows: those whose file is still there
    void renameAdapter(qint64 id, const QString& name);  // then adaptersListed

Q_SIGNALS:
    void documentsChanged(const QList<uio::app::DocumentRow>& documents);
    void chatsChanged(const QList<uio::app::ChatRow>& chats);
    void chatCreated(qint64 id);
    void messagesLoaded(qint64 chatId, const QList<uio::app::MessageRow>& messages);
    // A file's way in: queued, read (with progress in pages or chapters), then added, failed or
    // cancelled. Failures are that file's alone; the queue goes on.
    void readingQueued(const QString& path);
    void readingProgress(const QString& path, int done, int total);
    void documentAdded(qint64 id, bool isNew, const QString& path);
    void addFailed(const QString& path, const QString& message, bool needsPassword);
    void readingCancelled(const QString& path);
    void failed(const QString& message);  // anything else, as a sentence for the user
    // The library file cannot be opened (not a database, damaged); startFresh() offers a way on.
    void libraryUnusable(const QString& message);
    void startedFresh(const QString& keptAs);
    void exported(const QString& path);
    void cacheUsage(qint64 totalBytes, qint64 otherBytes);
    void cachePurged(qint64 freedBytes);
    void adaptersListed(const QList<uio::app::AdapterRow>& adapters);
    void searchFinished(const QString& query, const QList<uio::app::SourceRow>& passages);
    void documentOpened(const uio::app::DocumentView& view);
    // A drawn page, with the boxes of the passage's words marked (in the image's pixels).
    void pageRendered(qint64 documentId, int page, int pageCount, const QImage& image, const QList<QRectF>& marked);
    void pageFailed(qint64 documentId, int page, const QString& message);
    // Libraries made before the passage index are indexed in the background, a document at a time.
    void indexingProgress(int done, int total);

private:
    QString m_path;
    QThread m_thread;
    LibraryWorker* m_worker = nullptr;
};

}  // namespace uio::app
