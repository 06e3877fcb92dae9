#include "documentviews.h"

#include "uio/storage/documents.h"
#include "uio/storage/passages.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <nlohmann/json.hpp>
#include <set>

namespace uio::app {

namespace {

QString normalWord(const QString& word) {
    static const QRegularExpression edges(QStringLiteral("^\\W+|\\W+$"));
    return QString(word).remove(edges).toCaseFolded();
}

// Pages of a document by byte offset, from its stored page map ([[page, begin, end], ...]).
int pageAt(const std::string& pageMapJson, qint64 offset) {
    const auto pages = nlohmann::json::parse(pageMapJson, nullptr, false);
    if (!pages.is_array())
        return 0;
    int last = 0;
    for (const auto& p : pages) {
        if (!p.is_array() || p.size() != 3 || !p[0].is_number_integer() || !p[2].is_number_integer())
            continue;
        last = p[0].get<int>();
        if (offset < p[2].get<qint64>())
            return last;
    }
    return last;
}

}  // namespace

QList<SourceRow> sourcesFromJson(const std::string& json) {
    QList<SourceRow> rows;
    const QJsonArray sources = QJsonDocument::fromJson(QByteArray::fromStdString(json)).array();
    for (const QJsonValue& value : sources) {
        const QJsonObject s = value.toObject();
        SourceRow row;
        row.kind =
            s[QStringLiteral("kind")] == QLatin1String("memory") ? SourceRow::Kind::Memory : SourceRow::Kind::Passage;
        row.documentId = s[QStringLiteral("document_id")].toInteger();
        row.title = s[QStringLiteral("title")].toString();
        row.place = s[QStringLiteral("place")].toString();
        row.page = static_cast<int>(s[QStringLiteral("page")].toInteger());
        row.begin = s[QStringLiteral("begin")].toInteger();
        row.end = s[QStringLiteral("end")].toInteger();
        row.text = s[QStringLiteral("text")].toString();
        rows << row;
    }
    return rows;
}

QList<SourceRow> searchPassages(storage::Database& db, const QString& query, int limit) {
    QList<SourceRow> rows;
    storage::Documents documents(db);
    for (const storage::PassageHit& hit : storage::Passages(db).search(query.toStdString(), {}, limit)) {
        const storage::Passage& p = hit.passage;
        const auto document = documents.get(p.document_id);
        SourceRow row;
        row.documentId = p.document_id;
        row.title = QString::fromStdString(document ? document->title : std::string());
        row.page = p.page_first ? static_cast<int>(*p.page_first) : 0;
        if (!p.section.empty())
            row.place = QStringLiteral("§ ") + QString::fromStdString(p.section);
        if (row.page > 0)
            row.place = (row.place + QStringLiteral(" p. %1").arg(row.page)).trimmed();
        row.begin = p.begin;
        row.end = p.end;
        row.text = QString::fromStdString(hit.snippet).simplified();
        rows << row;
    }
    return rows;
}

DocumentView viewDocument(storage::Database& db, qint64 id, qint64 begin, qint64 end, int page) {
    storage::Documents documents(db);
    const auto document = documents.get(id);
    const auto text = documents.text(id);
    if (!document || !text)
        throw std::runtime_error("the document is no longer in the library");
    DocumentView view;
    view.id = id;
    view.title = QString::fromStdString(document->title);
    view.format = QString::fromStdString(document->format);
    view.sourcePath = QString::fromStdString(document->source_path);
    view.pageCount = document->page_count ? static_cast<int>(*document->page_count) : 0;
    const std::string& utf8 = text->text;
    const auto clamp = [&](qint64 offset) {
        return static_cast<size_t>(std::clamp<qint64>(offset, 0, static_cast<qint64>(utf8.size())));
    };
    view.text = QString::fromStdString(utf8);
    // Byte offsets to UTF-16 offsets (a place cut inside a character counts from its start).
    view.highlightBegin = static_cast<int>(QString::fromUtf8(utf8.data(), static_cast<qsizetype>(clamp(begin))).size());
    view.highlightEnd = static_cast<int>(QString::fromUtf8(utf8.data(), static_cast<qsizetype>(clamp(end))).size());
    view.passage = QString::fromUtf8(utf8.data() + clamp(begin), static_cast<qsizetype>(clamp(end) - clamp(begin)));
    view.page = page > 0 ? page : pageAt(text->page_map_json, begin);
    return view;
}

QList<QRectF> passageBoxes(const QList<ingest::WordBox>& words, const QString& passage) {
    std::set<QString> wanted;
    for (const QString& w : passage.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts)) {
        if (const QString n = normalWord(w); !n.isEmpty())
            wanted.insert(n);
    }
    // Runs of words the passage has; a run must be long enough not to be chance.
    const qsizetype minimum = std::min<qsizetype>(4, static_cast<qsizetype>(wanted.size()));
    QList<QRectF> boxes;
    qsizetype start = 0;
    for (qsizetype i = 0; i <= words.size(); ++i) {
        const bool in = i < words.size() && wanted.count(normalWord(words[i].text)) > 0;
        if (in)
            continue;
        if (i - start >= std::max<qsizetype>(1, minimum)) {
            for (qsizetype k = start; k < i; ++k)
                boxes << words[k].box;
        }
        start = i + 1;
    }
    return boxes;
}

}  // namespace uio::app
