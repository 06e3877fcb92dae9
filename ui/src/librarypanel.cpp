#include "librarypanel.h"

#include "documentdelegate.h"
#include "documentlistmodel.h"
#include "icons.h"
#include "uio/ingest/ingest.h"

#include <QDragEnterEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTimer>
#include <QVBoxLayout>

namespace uio::ui {

LibraryPanel::LibraryPanel(DocumentListModel* model, QWidget* parent) : QWidget(parent), m_model(model) {
    setAccessibleName(tr("Library"));
    setAcceptDrops(true);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(model);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);

    m_search = new QLineEdit(this);
    m_search->setObjectName(QStringLiteral("librarySearch"));
    m_search->setPlaceholderText(tr("Search titles and inside documents (Ctrl+F)"));
    m_search->setAccessibleName(tr("Search the library"));
    m_search->setClearButtonEnabled(true);
    m_searchPause = new QTimer(this);
    m_searchPause->setSingleShot(true);
    m_searchPause->setInterval(250);
    connect(m_searchPause, &QTimer::timeout, this, [this] {
        if (m_search->text().trimmed().size() >= 3)
            Q_EMIT passageSearchRequested(m_search->text().trimmed());
    });
    connect(m_search, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        if (text.trimmed().size() < 3) {
            m_passages->clear();
            m_passages->hide();
        }
        m_searchPause->start();
    });
    connect(m_search, &QLineEdit::returnPressed, this, [this] {
        m_searchPause->stop();
        if (!m_search->text().trimmed().isEmpty())
            Q_EMIT passageSearchRequested(m_search->text().trimmed());
    });
    m_passages = new QListWidget(this);
    m_passages->setObjectName(QStringLiteral("passageList"));
    m_passages->setAccessibleName(tr("Passages found inside documents"));
    m_passages->setWordWrap(true);
    m_passages->setAlternatingRowColors(true);
    m_passages->hide();
    connect(m_passages, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        const qsizetype row = m_passages->row(item);
        if (row >= 0 && row < m_found.size())
            Q_EMIT openRequested(m_found[row]);
    });

    m_list = new QListView(this);
    m_list->setObjectName(QStringLiteral("documentList"));
    m_list->setAccessibleName(tr("Documents"));
    m_list->setModel(m_proxy);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setAlternatingRowColors(true);
    m_list->setWordWrap(true);
    m_list->setItemDelegate(new DocumentDelegate(m_list));
    m_list->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_list, &QListView::customContextMenuRequested, this, &LibraryPanel::showContextMenu);
    connect(m_list->selectionModel(), &QItemSelectionModel::selectionChanged, this, &LibraryPanel::selectionChanged);
    connect(m_list, &QListView::doubleClicked, this, [this](const QModelIndex& index) {
        app::SourceRow start;
        start.documentId = index.data(DocumentListModel::IdRole).toLongLong();
        if (start.documentId > 0)
            Q_EMIT openRequested(start);
    });

    auto button = [this](const QString& text, const QString& name) {
        auto* b = new QPushButton(icon(name.chopped(6)), text, this);  // "addButton" -> add.svg
        b->setObjectName(name);
        b->setAccessibleName(text);
        return b;
    };
    auto* add = button(tr("Add…"), QStringLiteral("addButton"));
    auto* compress = button(tr("Compress"), QStringLiteral("compressButton"));
    auto* pause = button(tr("Pause"), QStringLiteral("pauseButton"));
    auto* remove = button(tr("Remove…"), QStringLiteral("removeButton"));
    connect(add, &QPushButton::clicked, this, &LibraryPanel::chooseFiles);
    connect(compress, &QPushButton::clicked, this, [this] { Q_EMIT compressRequested(selectedIds()); });
    connect(pause, &QPushButton::clicked, this, [this] { Q_EMIT pauseRequested(selectedIds()); });
    compress->setToolTip(tr("Compress the selected documents, or resume or retry them"));
    connect(remove, &QPushButton::clicked, this, &LibraryPanel::askToRemove);

    auto* heading = new QLabel(QStringLiteral("<b>%1</b>").arg(tr("Library")), this);
    auto* buttons = new QHBoxLayout;
    for (QPushButton* b : {add, compress, pause, remove})
        buttons->addWidget(b);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(heading);
    layout->addWidget(m_search);
    layout->addWidget(m_list, 1);
    layout->addWidget(m_passages, 1);
    layout->addLayout(buttons);
}

void LibraryPanel::askToRemove() {
    const auto ids = selectedIds();
    if (ids.isEmpty())
        return;
    auto* box = new QMessageBox(
        QMessageBox::Question, tr("Remove documents"),
        (ids.size() == 1 ? tr("Remove “%1” and its compressed memory from the library? The file stays on disk.")
                               .arg(m_model->titleOf(ids.front()))
                         : tr("Remove %1 documents and their compressed memory from the library? The files stay on "
                              "disk.")
                               .arg(ids.size())),
        QMessageBox::Yes | QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("removeBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::accepted, this, [this, ids] { Q_EMIT removeRequested(ids); });
    box->open();
}

void LibraryPanel::showContextMenu(const QPoint& position) {
    const QModelIndex clicked = m_list->indexAt(position);
    const QString path = clicked.data(DocumentListModel::PathRole).toString();
    if (!path.isEmpty()) {
        showFileMenu(position, path,
                     static_cast<app::DocumentStatus>(clicked.data(DocumentListModel::StatusRole).toInt()) ==
                         app::DocumentStatus::Unreadable);
        return;
    }
    const auto ids = selectedIds();
    if (ids.isEmpty())
        return;
    QMenu menu(this);
    menu.addAction(icon(QStringLiteral("compress")), tr("Compress, resume or retry"), this,
                   [this, ids] { Q_EMIT compressRequested(ids); });
    menu.addAction(icon(QStringLiteral("pause")), tr("Pause"), this, [this, ids] { Q_EMIT pauseRequested(ids); });
    menu.addAction(tr("Cancel compression"), this, [this, ids] { Q_EMIT cancelRequested(ids); });
    menu.addSeparator();
    menu.addAction(icon(QStringLiteral("remove")), tr("Remove…"), this, &LibraryPanel::askToRemove);
    menu.exec(m_list->viewport()->mapToGlobal(position));
}

// A file on its way in: cancel it while it is read; retry or dismiss it once it failed.
void LibraryPanel::showFileMenu(const QPoint& position, const QString& path, bool failed) {
    QMenu menu(this);
    menu.setObjectName(QStringLiteral("fileMenu"));
    if (failed) {
        menu.addAction(tr("Retry"), this, [this, path] { Q_EMIT retryReadingRequested({path}); });
        menu.addAction(tr("Dismiss"), this, [this, path] { m_model->removeFile(path); });
    } else {
        menu.addAction(tr("Cancel reading"), this, [this, path] { Q_EMIT cancelReadingRequested({path}); });
    }
    menu.exec(m_list->viewport()->mapToGlobal(position));
}

QList<qint64> LibraryPanel::selectedIds() const {
    QList<qint64> ids;
    for (const QModelIndex& index : m_list->selectionModel()->selectedIndexes()) {
        if (const qint64 id = index.data(DocumentListModel::IdRole).toLongLong(); id > 0)
            ids << id;
    }
    return ids;
}

void LibraryPanel::showPassages(const QString& query, const QList<app::SourceRow>& passages) {
    if (query != m_search->text().trimmed())
        return;  // the user typed on meanwhile
    m_found = passages;
    m_passages->clear();
    for (const app::SourceRow& p : passages) {
        auto* item = new QListWidgetItem(QStringLiteral("%1\n%2").arg(p.label(), p.text), m_passages);
        item->setToolTip(p.text);
    }
    if (passages.isEmpty())
        new QListWidgetItem(tr("No passage has these words."), m_passages);
    m_passages->show();
}

void LibraryPanel::focusSearch() {
    m_search->setFocus(Qt::ShortcutFocusReason);
}

void LibraryPanel::chooseFiles() {
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Add documents"), QString(),
        tr("Documents (%1);;All files (*)").arg(ingest::readableNameFilters().join(QLatin1Char(' '))));
    if (!files.isEmpty())
        Q_EMIT addRequested(files);
}

void LibraryPanel::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void LibraryPanel::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls()) {
        if (url.isLocalFile())
            paths << url.toLocalFile();
    }
    if (!paths.isEmpty())
        Q_EMIT addRequested(paths);
    event->acceptProposedAction();
}

}  // namespace uio::ui
