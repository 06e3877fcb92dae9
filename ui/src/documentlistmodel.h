// The library's documents for views: rows from LibraryService, live compression progress from
// ModelService. Roles carry what a delegate needs; display text is one line per document.
#pragma once

#include "uio/app/libraryservice.h"

#include <QAbstractListModel>
#include <QHash>

namespace uio::ui {

class DocumentListModel : public QAbstractListModel {
    Q_OBJECT

public:
    enum Role { IdRole = Qt::UserRole + 1, StatusRole, ProgressRole };

    using QAbstractListModel::QAbstractListModel;

    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
    }
    QVariant data(const QModelIndex& index, int role) const override;

    void setDocuments(const QList<app::DocumentRow>& rows);
    void setProgress(qint64 id, qint64 done, qint64 total, double etaSeconds);
    void setStatus(qint64 id, const QString& status, const QString& detail = {});
    qint64 idAt(int row) const { return m_rows.value(row).id; }
    const QList<app::DocumentRow>& rows() const { return m_rows; }
    QString titleOf(qint64 id) const;

private:
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
