// The library's documents for views: rows from LibraryService, live compression progress from
// ModelService, and below them the files still being read or that could not be read (with the
// reason, to retry or dismiss). Roles carry what a delegate needs.
#pragma once

#include "uio/app/libraryservice.h"

#include <QAbstractListModel>
#include <QHash>

namespace uio::ui {

class DocumentListModel : public QAbstractListModel {
    Q_OBJECT

public:
    // StatusRole is an app::DocumentStatus (as int). IdRole is 0 and PathRole the file for a file
    // being read; its status is then Reading or Unreadable.
    enum Role { IdRole = Qt::UserRole + 1, StatusRole, ProgressRole, PathRole };

    using QAbstractListModel::QAbstractListModel;

    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : static_cast<int>(m_rows.size() + m_files.size());
    }
    QVariant data(const QModelIndex& index, int role) const override;

    void setDocuments(const QList<app::DocumentRow>& rows);
    void setProgress(qint64 id, qint64 done, qint64 total, double etaSeconds);
    void setStatus(qint64 id, app::DocumentStatus status, const QString& detail = {});
    qint64 idAt(int row) const { return m_rows.value(row).id; }
    const QList<app::DocumentRow>& rows() const { return m_rows; }
    QString titleOf(qint64 id) const;

    // Files on their way in: queued or read (total 0 until the reader knows it), failed, or gone.
    void setReading(const QString& path, int done = 0, int total = 0);
    void setReadFailed(const QString& path, const QString& message);
    void removeFile(const QString& path);

private:
    struct File {
        QString path;
        int done = 0, total = 0;
        QString failure;  // empty while it is being read
    };
    QVariant fileData(const File& file, int role) const;
    int fileRow(const QString& path) const;
    QList<File> m_files;
    struct Progress {
        qint64 done = 0, total = 0;
        double eta = 0;
    };
    int rowOf(qint64 id) const;
    QList<app::DocumentRow> m_rows;
    QHash<qint64, Progress> m_progress;
    QHash<qint64, QString> m_detail;  // e.g. the reason a job failed
};

}  // namespace uio::ui
