#include "uio/app/libraryservice.h"

#include "documentviews.h"
#include "uio/ingest/ingest.h"
#include "uio/services/libraryrow.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/jobs.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"
#include "uio/storage/passages.h"
#include "uio/storage/statement.h"

#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <memory>

namespace uio::app {

namespace {

MessageRow::Role messageRole(storage::Role role) {
    switch (role) {
        case storage::Role::User:
            return MessageRow::Role::User;
        case storage::Role::Assistant:
            return MessageRow::Role::Assistant;
        case storage::Role::System:
            break;
    }
    return MessageRow::Role::System;
}

DocumentStatus documentStatus(const std::optional<storage::JobState>& job) {
    if (!job)
        return DocumentStatus::New;
    switch (*job) {
        case storage::JobState::Queued:
            return DocumentStatus::Queued;
        case storage::JobState::Running:
            return DocumentStatus::Running;
        case storage::JobState::Paused:
            return DocumentStatus::Paused;
        case storage::JobState::Done:
            return DocumentStatus::Done;
        case storage::JobState::Failed:
            return DocumentStatus::Failed;
        case storage::JobState::Cancelled:
            return DocumentStatus::Cancelled;
    }
    return DocumentStatus::Failed;
}

}  // namespace

// Runs on the service's thread with the only connection it uses.
class LibraryWorker : public QObject {
    Q_OBJECT

public:
    LibraryWorker(LibraryService& service, QString path) : m_service(service), m_path(std::move(path)) {}

    // Every call: open on first use, report failures as sentences, never throw out of the thread.
    template <typename Fn>
    void guarded(Fn fn) {
        try {
            if (!m_library) {
                try {
                    m_library = std::make_unique<storage::Library>(m_path.toStdString());
                } catch (const storage::StorageError& e) {
                    const bool unusable = e.kind() == storage::StorageError::Kind::NotADatabase ||
                                          e.kind() == storage::StorageError::Kind::Damaged;
                    if (!unusable) {
                        throw;
                    }
                    Q_EMIT m_service.libraryUnusable(QString::fromUtf8(e.what()));
                    return;
                }
            }
            fn(*m_library);
        } catch (const std::exception& e) {
            Q_EMIT m_service.failed(QString::fromUtf8(e.what()));
        }
    }

    void startFresh() {
        try {
            m_library.reset();
            const auto kept = storage::Library::move_aside(m_path.toStdString());
            m_library = std::make_unique<storage::Library>(m_path.toStdString());
            Q_EMIT m_service.startedFresh(QString::fromStdString(kept.string()));
            refresh(*m_library);
        } catch (const std::exception& e) {
            Q_EMIT m_service.failed(QString::fromUtf8(e.what()));
        }
    }

    void refresh(storage::Library& library) {
        QList<DocumentRow> documents;
        for (const auto& d : storage::Documents(library.db()).list()) {
            documents << DocumentRow{d.document.id,
                                     QString::fromStdString(d.document.title),
                                     QString::fromStdString(d.document.authors),
                                     QString::fromStdString(d.document.format),
                                     documentStatus(d.job_state),
                                     d.document.token_count ? *d.document.token_count : -1,
                                     d.cache_bytes,
                                     d.document.page_count ? static_cast<int>(*d.document.page_count) : 0};
        }
        Q_EMIT m_service.documentsChanged(documents);
        QList<ChatRow> chats;
        for (const auto& c : storage::Chats(library.db()).list()) {
            chats << ChatRow{c.id, QString::fromStdString(c.title),
                             QList<qint64>(c.document_ids.begin(), c.document_ids.end())};
        }
        Q_EMIT m_service.chatsChanged(chats);
    }

    // Files wait in a queue; one reader process at a time, watched from this thread's event loop.
    void enqueue(const QStringList& paths, const QByteArray& password) {
        for (const QString& path : paths) {
            m_queue.append({path, password});
            Q_EMIT m_service.readingQueued(path);
        }
        readNext();
    }

    void cancelReading(const QString& path) {
        if (m_reader && m_reader->path() == path) {
            m_reader->cancel();
            return;
        }
        m_queue.removeIf([&](const PendingRead& r) { return r.path == path; });
        Q_EMIT m_service.readingCancelled(path);  // also for a row whose reading is long over
    }

    void setReaderLimits(const ingest::ReaderLimits& limits) { m_limits = limits; }

    // A document of a library made before the passage index, per turn of the event loop, so
    // that whatever else is asked waits for one document at most.
    void startIndexing() {
        if (m_indexTotal == 0)
            indexNext();  // else a chain of indexNext is under way
    }

    void indexNext() {
        const int total = std::exchange(m_indexTotal, 0);  // 0 again if this fails: the next refresh retries
        guarded([this, total](storage::Library& library) {
            storage::Passages passages(library.db());
            const int all = total > 0 ? total : static_cast<int>(passages.unindexed_count());
            if (all == 0 || !passages.index_next())
                return;
            const int left = static_cast<int>(passages.unindexed_count());
            Q_EMIT m_service.indexingProgress(all - left, all);
            if (left > 0) {
                m_indexTotal = all;
                QMetaObject::invokeMethod(this, &LibraryWorker::indexNext, Qt::QueuedConnection);
            }
        });
    }

    // One page at a time: a newer request replaces the one being drawn.
    void renderPage(qint64 id, const QString& path, int page, const QString& passage) {
        if (m_pageReader) {
            // Its answer would be for a page no longer asked for: dropped now, the process killed
            // when it is deleted.
            m_pageReader->disconnect(this);
            m_pageReader.release()->deleteLater();
        }
        m_pageReader = std::make_unique<ingest::ReaderProcess>(m_limits);
        ingest::ReaderProcess* reader = m_pageReader.get();
        connect(reader, &ingest::ReaderProcess::rendered, this,
                [this, id, passage, reader](const ingest::RenderedPage& drawn) {
                    Q_EMIT m_service.pageRendered(id, drawn.page, drawn.pageCount, drawn.image,
                                                  passageBoxes(drawn.words, passage));
                    pageDone(reader);
                });
        connect(reader, &ingest::ReaderProcess::failed, this,
                [this, id, page, reader](ingest::IngestError::Kind, const QString& message) {
                    Q_EMIT m_service.pageFailed(id, page, message);
                    pageDone(reader);
                });
        reader->startRender(path, page, 110);
    }

private:
    void pageDone(ingest::ReaderProcess* reader) {
        if (m_pageReader.get() == reader)
            m_pageReader.release()->deleteLater();
    }

    struct PendingRead {
        QString path;
        QByteArray password;
    };

    void readNext() {
        if (m_reader || m_queue.isEmpty())
            return;
        const PendingRead next = m_queue.takeFirst();
        const QString path = next.path;
        m_reader = std::make_unique<ingest::ReaderProcess>(m_limits);
        connect(m_reader.get(), &ingest::ReaderProcess::progress, this,
                [this, path](int done, int total) { Q_EMIT m_service.readingProgress(path, done, total); });
        connect(m_reader.get(), &ingest::ReaderProcess::finished, this,
                [this, path](const ingest::IngestedDocument& doc) {
                    QString problem = tr("The library cannot be opened, so the document was not added.");
                    guarded([&](storage::Library& library) {
                        try {
                            const auto added = storage::Documents(library.db()).add(services::libraryRow(doc, path));
                            problem.clear();
                            Q_EMIT m_service.documentAdded(added.id, added.is_new, path);
                            refresh(library);
                        } catch (const std::exception& e) {  // a full disk: the file's row says so, with Retry
                            problem = QString::fromUtf8(e.what());
                        }
                    });
                    if (!problem.isEmpty())
                        Q_EMIT m_service.addFailed(path, problem, false);
                    readerDone();
                });
        connect(m_reader.get(), &ingest::ReaderProcess::failed, this,
                [this, path](ingest::IngestError::Kind kind, const QString& message) {
                    if (kind == ingest::IngestError::Kind::Cancelled) {
                        Q_EMIT m_service.readingCancelled(path);
                    } else {
                        const bool needsPassword = kind == ingest::IngestError::Kind::NeedsPassword ||
                                                   kind == ingest::IngestError::Kind::WrongPassword;
                        Q_EMIT m_service.addFailed(path, message, needsPassword);
                    }
                    readerDone();
                });
        m_reader->start(path, next.password);
    }

    // Called from the reader's own signal: it is deleted once that signal has returned, and the
    // next file starts from the event loop (a reader that fails at once does not recurse).
    void readerDone() {
        m_reader.release()->deleteLater();
        QMetaObject::invokeMethod(this, &LibraryWorker::readNext, Qt::QueuedConnection);
    }

    QList<PendingRead> m_queue;
    std::unique_ptr<ingest::ReaderProcess> m_reader;
    std::unique_ptr<ingest::ReaderProcess> m_pageReader;
    int m_indexTotal = 0;
    ingest::ReaderLimits m_limits = ingest::ReaderLimits::defaults();

    LibraryService& m_service;
    QString m_path;
    std::unique_ptr<storage::Library> m_library;
};

namespace {

QStringList expand(const QStringList& paths) {
    QStringList files;
    for (const QString& path : paths) {
        if (QFileInfo(path).isDir()) {
            QDirIterator it(path, QDir::Files, QDirIterator::Subdirectories);
            while (it.hasNext()) {
                const QString file = it.next();
                if (!ingest::detectFormat(file).isEmpty())
                    files << file;
            }
        } else {
            files << path;
        }
    }
    files.sort();
    return files;
}

}  // namespace

LibraryService::LibraryService(const QString& databasePath, QObject* parent) : QObject(parent), m_path(databasePath) {
    qRegisterMetaType<QList<DocumentRow>>();
    qRegisterMetaType<QList<ChatRow>>();
    qRegisterMetaType<QList<MessageRow>>();
    qRegisterMetaType<QList<AdapterRow>>();
    qRegisterMetaType<QList<SourceRow>>();
    qRegisterMetaType<DocumentView>();
    qRegisterMetaType<QList<QRectF>>();
    m_worker = new LibraryWorker(*this, databasePath);
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.setObjectName(QStringLiteral("library"));
    m_thread.start();
}

LibraryService::~LibraryService() {
    m_thread.quit();
    m_thread.wait();
}

void LibraryService::refresh() {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker] {
            w->guarded([w](storage::Library& library) { w->refresh(library); });
            w->startIndexing();
        },
        Qt::QueuedConnection);
}

void LibraryService::search(const QString& query) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, this, query] {
            w->guarded([&](storage::Library& library) {
                Q_EMIT searchFinished(query, searchPassages(library.db(), query, 30));
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::openDocument(qint64 id, qint64 begin, qint64 end, int page, const QString& mark) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, this, id, begin, end, page, mark] {
            w->guarded([&](storage::Library& library) {
                DocumentView view = viewDocument(library.db(), id, begin, end, page);
                if (!mark.isEmpty())
                    view.passage = mark;
                Q_EMIT documentOpened(view);
                if (view.format == QLatin1String("pdf") && view.page > 0 && QFileInfo::exists(view.sourcePath))
                    w->renderPage(id, view.sourcePath, view.page, view.passage);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::renderPage(qint64 id, const QString& path, int page, const QString& passage) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, id, path, page, passage] { w->renderPage(id, path, page, passage); },
        Qt::QueuedConnection);
}

void LibraryService::addFiles(const QStringList& paths) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, paths] { w->enqueue(expand(paths), {}); }, Qt::QueuedConnection);
}

void LibraryService::addProtectedFile(const QString& path, const QByteArray& password) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, path, password] { w->enqueue({path}, password); }, Qt::QueuedConnection);
}

void LibraryService::cancelReading(const QString& path) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, path] { w->cancelReading(path); }, Qt::QueuedConnection);
}

void LibraryService::setReaderLimits(const ingest::ReaderLimits& limits) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, limits] { w->setReaderLimits(limits); }, Qt::QueuedConnection);
}

void LibraryService::removeDocument(qint64 id) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, id] {
            w->guarded([&](storage::Library& library) {
                storage::Documents(library.db()).remove(id);
                w->refresh(library);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::renameDocument(qint64 id, const QString& title) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, id, title] {
            w->guarded([&](storage::Library& library) {
                storage::Documents(library.db()).rename(id, title.toStdString());
                w->refresh(library);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::createChat(const QString& title, const QList<qint64>& documents) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, this, title, documents] {
            w->guarded([&](storage::Library& library) {
                const int64_t id =
                    storage::Chats(library.db())
                        .create(title.toStdString(), std::vector<int64_t>(documents.begin(), documents.end()));
                w->refresh(library);
                Q_EMIT chatCreated(id);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::renameChat(qint64 id, const QString& title) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, id, title] {
            w->guarded([&](storage::Library& library) {
                storage::Chats(library.db()).rename(id, title.toStdString());
                w->refresh(library);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::deleteChat(qint64 id) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, id] {
            w->guarded([&](storage::Library& library) {
                storage::Chats(library.db()).remove(id);
                w->refresh(library);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::loadMessages(qint64 chatId) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, this, chatId] {
            w->guarded([&](storage::Library& library) {
                QList<MessageRow> rows;
                for (const auto& m : storage::Chats(library.db()).messages(chatId)) {
                    rows << MessageRow{m.id, messageRole(m.role), QString::fromStdString(m.content), m.complete,
                                       sourcesFromJson(m.sources_json)};
                }
                Q_EMIT messagesLoaded(chatId, rows);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::startFresh() {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker] { w->startFresh(); }, Qt::QueuedConnection);
}

void LibraryService::exportChat(qint64 chatId, const QString& path) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, this, chatId, path] {
            w->guarded([&](storage::Library& library) {
                storage::Chats chats(library.db());
                const std::string text = path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive)
                                             ? chats.export_json(chatId)
                                             : chats.export_markdown(chatId);
                QFile file(path);
                if (!file.open(QIODevice::WriteOnly) || file.write(text.data(), static_cast<qint64>(text.size())) < 0) {
                    throw std::runtime_error(path.toStdString() +
                                             " cannot be written: " + file.errorString().toStdString());
                }
                Q_EMIT exported(path);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::measureCache(const QString& modelFingerprint, const QString& adapterFingerprint) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, this, model = modelFingerprint.toStdString(), adapter = adapterFingerprint.toStdString()] {
            w->guarded([&](storage::Library& library) {
                const auto usage = storage::MemoryCache(library.db()).usage(model, adapter);
                Q_EMIT cacheUsage(usage.total_bytes, usage.other_bytes);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::listAdapters() {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, this] {
            w->guarded([&](storage::Library& library) {
                QList<AdapterRow> rows;
                for (const auto& a : storage::Training(library.db()).adapters()) {
                    const QString path = QString::fromStdString(a.path);
                    if (QFileInfo::exists(path))
                        rows << AdapterRow{a.id, QString::fromStdString(a.name), path};
                }
                Q_EMIT adaptersListed(rows);
            });
        },
        Qt::QueuedConnection);
}

void LibraryService::renameAdapter(qint64 id, const QString& name) {
    QMetaObject::invokeMethod(
        m_worker,
        [id, name, w = m_worker] {
            w->guarded([&](storage::Library& library) {
                storage::Training(library.db()).rename_adapter(id, name.toStdString());
            });
        },
        Qt::QueuedConnection);
    listAdapters();
}

void LibraryService::purgeOtherCache(const QString& modelFingerprint, const QString& adapterFingerprint) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, this, model = modelFingerprint.toStdString(), adapter = adapterFingerprint.toStdString()] {
            w->guarded([&](storage::Library& library) {
                storage::MemoryCache cache(library.db());
                const int64_t freed = cache.purge_other(model, adapter);
                try {
                    library.db().exec("VACUUM");  // the file shrinks; without it the pages are only reused
                } catch (const storage::StorageError&) {
                    // Busy (a compression is writing): the space is reused by the next memory instead.
                }
                Q_EMIT cachePurged(freed);
                const auto usage = cache.usage(model, adapter);
                Q_EMIT cacheUsage(usage.total_bytes, usage.other_bytes);
                w->refresh(library);
            });
        },
        Qt::QueuedConnection);
}

QString copyLibrary(const QString& from, const QString& to) {
    if (QFileInfo::exists(to) || !QFileInfo::exists(from))
        return {};
    try {
        storage::Library library(from.toStdString());
        storage::Statement copy(library.db(), "VACUUM INTO ?");
        copy.bind(1, to.toStdString()).run();
        return {};
    } catch (const std::exception& e) {
        QFile::remove(to);  // never leave half a library behind
        return QString::fromUtf8(e.what());
    }
}

}  // namespace uio::app

#include "libraryservice.moc"
