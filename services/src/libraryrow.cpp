#include "uio/services/libraryrow.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace uio::services {

storage::NewDocument libraryRow(const ingest::IngestedDocument& doc, const QString& sourcePath) {
    storage::NewDocument row;
    row.sha256 = doc.sha256.toStdString();
    row.title = doc.title.toStdString();
    row.authors = doc.authors.toStdString();
    row.source_path = QFileInfo(sourcePath).absoluteFilePath().toStdString();
    row.format = doc.format.toStdString();
    row.text = doc.text.toStdString();
    QJsonArray sections, pages;
    for (const ingest::Section& s : doc.sections) {
        sections.append(QJsonObject{{QStringLiteral("title"), s.title},
                                    {QStringLiteral("level"), s.level},
                                    {QStringLiteral("offset"), static_cast<qint64>(s.offset)}});
    }
    for (const ingest::PageSpan& p : doc.pages) {
        pages.append(QJsonArray{p.page, static_cast<qint64>(p.begin), static_cast<qint64>(p.end)});
    }
    row.sections_json = QJsonDocument(sections).toJson(QJsonDocument::Compact).toStdString();
    row.page_map_json = QJsonDocument(pages).toJson(QJsonDocument::Compact).toStdString();
    if (!doc.pages.isEmpty()) {
        row.page_count = doc.pages.size();
    }
    return row;
}

}  // namespace uio::services
