#include "uio/services/libraryrow.h"

#include "uio/storage/passages.h"

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
    // Ingestion counts UTF-16 code units; the library counts bytes of the UTF-8 text.
    std::vector<int64_t> offsets;
    for (const ingest::Section& s : doc.sections)
        offsets.push_back(s.offset);
    for (const ingest::PageSpan& p : doc.pages) {
        offsets.push_back(p.begin);
        offsets.push_back(p.end);
    }
    const std::vector<int64_t> bytes = storage::utf8_offsets(row.text, offsets);
    size_t next = 0;
    QJsonArray sections, pages;
    for (const ingest::Section& s : doc.sections) {
        sections.append(QJsonObject{{QStringLiteral("title"), s.title},
                                    {QStringLiteral("level"), s.level},
                                    {QStringLiteral("offset"), static_cast<qint64>(bytes[next++])}});
    }
    for (const ingest::PageSpan& p : doc.pages) {
        const auto begin = static_cast<qint64>(bytes[next++]);
        pages.append(QJsonArray{p.page, begin, static_cast<qint64>(bytes[next++])});
    }
    row.sections_json = QJsonDocument(sections).toJson(QJsonDocument::Compact).toStdString();
    row.page_map_json = QJsonDocument(pages).toJson(QJsonDocument::Compact).toStdString();
    if (!doc.pages.isEmpty()) {
        row.page_count = doc.pages.size();
    }
    return row;
}

}  // namespace uio::services
