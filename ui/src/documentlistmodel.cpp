#include "documentlistmodel.h"

#include "uio/common/units.h"

#include <QFileInfo>

namespace uio::ui {

namespace {

QString statusText(app::DocumentStatus status) {
    using S = app::DocumentStatus;
    switch (status) {
        case S::New:
            return DocumentListModel::tr("not compressed");
        case S::Queued:
            return DocumentListModel::tr("queued");
        case S::Running:
            return DocumentListModel::tr("compressing");
        case S::Paused:
            return DocumentListModel::tr("paused");
        case S::Done:
            return DocumentListModel::tr("ready");
        case S::Failed:
            return DocumentListModel::tr("failed");
        case S::Cancelled:
            return DocumentListModel::tr("cancelled");
        case S::Reading:
            return DocumentListModel::tr("reading");
        case S::Unreadable:
            return DocumentListModel::tr("could not be read");
    }
    return {};
}

}  // namespace

QVariant DocumentListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    if (index.row() >= m_rows.size())
        return fileData(m_files[index.row() - m_rows.size()], role);
    const app::DocumentRow& d = m_rows[index.row()];
    switch (role) {
        case Qt::DisplayRole: {
            QString status = statusText(d.status);
            const auto p = m_progress.find(d.id);
            if (d.status == app::DocumentStatus::Running && p != m_progress.end() && p->total > 0) {
                status = tr("compressing %1% (%2 left)").arg(100 * p->done / p->total).arg(duration(p->eta));
            } else if (d.status == app::DocumentStatus::Failed && m_detail.contains(d.id)) {
                status = tr("failed: %1 (Compress retries)").arg(m_detail.value(d.id));
            }
            QStringList facts{status};
            if (d.pages > 0)
                facts << (d.pages == 1 ? tr("1 page") : tr("%1 pages").arg(d.pages));
            if (d.tokens >= 0)
                facts << tr("%1 tokens").arg(d.tokens);
            if (d.cacheBytes > 0)
                facts << tr("%1 cached").arg(byteSize(static_cast<double>(d.cacheBytes)));
            return d.title + QStringLiteral("\n") + facts.join(QStringLiteral(" · "));
        }
        case Qt::ToolTipRole:
            return m_detail.value(d.id, d.authors);
        case Qt::AccessibleTextRole:
            return d.title + QStringLiteral(", ") + statusText(d.status);
        case IdRole:
            return d.id;
        case StatusRole:
            return static_cast<int>(d.status);
        case ProgressRole: {
            const auto p = m_progress.find(d.id);
            return p == m_progress.end() || p->total == 0 ? QVariant() : QVariant(double(p->done) / double(p->total));
        }
        default:
            return {};
    }
}

QVariant DocumentListModel::fileData(const File& file, int role) const {
    const QString name = QFileInfo(file.path).fileName();
    const bool failed = !file.failure.isEmpty();
    switch (role) {
        case Qt::DisplayRole: {
            QString status = tr("waiting to be read");
            if (failed) {
                status = tr("could not be read (right-click to retry or dismiss)");
            } else if (file.total > 1) {
                status = tr("reading, %1 of %2").arg(file.done).arg(file.total);
            } else if (file.total == 1) {
                status = tr("reading");
            }
            return name + QStringLiteral("\n") + status;
        }
        case Qt::ToolTipRole:
            return failed ? file.failure : file.path;
        case Qt::AccessibleTextRole:
            return name + QStringLiteral(", ") +
                   (failed ? tr("could not be read: %1").arg(file.failure) : tr("reading"));
        case IdRole:
            return qint64(0);
        case PathRole:
            return file.path;
        case StatusRole:
            return static_cast<int>(failed ? app::DocumentStatus::Unreadable : app::DocumentStatus::Reading);
        case ProgressRole:
            return failed || file.total <= 1 ? QVariant() : QVariant(double(file.done) / double(file.total));
        default:
            return {};
    }
}

int DocumentListModel::fileRow(const QString& path) const {
    for (int i = 0; i < m_files.size(); ++i) {
        if (m_files[i].path == path)
            return i;
    }
    return -1;
}

void DocumentListModel::setReading(const QString& path, int done, int total) {
    const int row = fileRow(path);
    if (row < 0) {
        const int at = static_cast<int>(m_rows.size() + m_files.size());
        beginInsertRows({}, at, at);
        m_files.append({path, done, total, {}});
        endInsertRows();
        return;
    }
    m_files[row] = {path, done, total, {}};
    const QModelIndex changed = index(static_cast<int>(m_rows.size()) + row);
    Q_EMIT dataChanged(changed, changed);
}

void DocumentListModel::setReadFailed(const QString& path, const QString& message) {
    setReading(path);
    const int row = fileRow(path);
    m_files[row].failure = message;
    const QModelIndex changed = index(static_cast<int>(m_rows.size()) + row);
    Q_EMIT dataChanged(changed, changed);
}

void DocumentListModel::removeFile(const QString& path) {
    const int row = fileRow(path);
    if (row < 0)
        return;
    const int at = static_cast<int>(m_rows.size()) + row;
    beginRemoveRows({}, at, at);
    m_files.removeAt(row);
    endRemoveRows();
}

void DocumentListModel::setDocuments(const QList<app::DocumentRow>& rows) {
    beginResetModel();
    m_rows = rows;
    endResetModel();
}

int DocumentListModel::rowOf(qint64 id) const {
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i].id == id)
            return i;
    }
    return -1;
}

QString DocumentListModel::titleOf(qint64 id) const {
    const int row = rowOf(id);
    return row < 0 ? QString() : m_rows[row].title;
}

void DocumentListModel::setProgress(qint64 id, qint64 done, qint64 total, double etaSeconds) {
    m_progress[id] = {done, total, etaSeconds};
    const int row = rowOf(id);
    if (row < 0)
        return;
    m_rows[row].status = app::DocumentStatus::Running;
    Q_EMIT dataChanged(index(row), index(row));
}

void DocumentListModel::setStatus(qint64 id, app::DocumentStatus status, const QString& detail) {
    const int row = rowOf(id);
    if (row < 0)
        return;
    m_rows[row].status = status;
    if (detail.isEmpty()) {
        m_detail.remove(id);
    } else {
        m_detail[id] = detail;
    }
    Q_EMIT dataChanged(index(row), index(row));
}

}  // namespace uio::ui
