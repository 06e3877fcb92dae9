#include "readerprotocol.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStringDecoder>

#include <cstring>

namespace uio::ingest::reader {

namespace {

constexpr qsizetype kMaxLine = 128;
constexpr qsizetype kMaxHeaderBytes = qsizetype(64) << 20;
constexpr qsizetype kMaxMessageBytes = 64 << 10;
constexpr int kMaxProgress = 100'000'000;
constexpr int kMaxPageSide = 8000;  // pixels: a page drawn for the screen is far smaller
constexpr qsizetype kMaxWords = 200'000;

const QList<std::pair<IngestError::Kind, QByteArray>>& kindNames() {
    using K = IngestError::Kind;
    static const QList<std::pair<K, QByteArray>> names{
        {K::Unreadable, "unreadable"},        {K::Damaged, "damaged"},      {K::NeedsPassword, "needs-password"},
        {K::WrongPassword, "wrong-password"}, {K::NoText, "no-text"},       {K::Unsupported, "unsupported"},
        {K::Encrypted, "encrypted"},          {K::TooLarge, "too-large"},   {K::Cancelled, "cancelled"},
        {K::MemoryLimit, "memory-limit"},     {K::TimeLimit, "time-limit"}, {K::ReaderFailed, "reader-failed"},
    };
    return names;
}

// A non-negative decimal number of at most 12 digits, or -1.
qint64 number(const QByteArray& field) {
    if (field.isEmpty() || field.size() > 12)
        return -1;
    for (const char c : field) {
        if (c < '0' || c > '9')
            return -1;
    }
    return field.toLongLong();
}

// Errors only the parent can know of: a child that claims them is not believed.
bool parentOnly(IngestError::Kind kind) {
    return kind == IngestError::Kind::Cancelled || kind == IngestError::Kind::TimeLimit ||
           kind == IngestError::Kind::ReaderFailed;
}

bool isInt(const QJsonValue& v) {
    return v.isDouble() && v.toDouble() == static_cast<double>(v.toInteger());
}

}  // namespace

QByteArray kindName(IngestError::Kind kind) {
    for (const auto& [k, name] : kindNames()) {
        if (k == kind)
            return name;
    }
    return "damaged";
}

std::optional<IngestError::Kind> kindFromName(const QByteArray& name) {
    for (const auto& [k, n] : kindNames()) {
        if (n == name)
            return k;
    }
    return std::nullopt;
}

QByteArray helloRecord() {
    return "uio-reader " + QByteArray::number(kVersion) + '\n';
}

QByteArray progressRecord(int done, int total) {
    return "progress " + QByteArray::number(done) + ' ' + QByteArray::number(total) + '\n';
}

QByteArray documentRecord(const IngestedDocument& document) {
    QJsonArray sections, pages, warnings;
    for (const Section& s : document.sections)
        sections.append(QJsonArray{s.title, s.level, static_cast<qint64>(s.offset)});
    for (const PageSpan& p : document.pages)
        pages.append(QJsonArray{p.page, static_cast<qint64>(p.begin), static_cast<qint64>(p.end)});
    for (const QString& w : document.warnings)
        warnings.append(w);
    const QByteArray header = QJsonDocument(QJsonObject{{QStringLiteral("title"), document.title},
                                                        {QStringLiteral("authors"), document.authors},
                                                        {QStringLiteral("format"), document.format},
                                                        {QStringLiteral("sha256"), document.sha256},
                                                        {QStringLiteral("sections"), sections},
                                                        {QStringLiteral("pages"), pages},
                                                        {QStringLiteral("warnings"), warnings}})
                                  .toJson(QJsonDocument::Compact);
    const QByteArray text = document.text.toUtf8();
    return "document " + QByteArray::number(header.size()) + ' ' + QByteArray::number(text.size()) + '\n' + header +
           text;
}

QByteArray errorRecord(IngestError::Kind kind, const QString& message) {
    const QByteArray text = message.left(kMaxMessageBytes / 4).toUtf8();  // whole characters, in bounds
    return "error " + kindName(kind) + ' ' + QByteArray::number(text.size()) + '\n' + text;
}

QByteArray pageRecord(const RenderedPage& page) {
    QJsonArray words;
    for (const WordBox& w : page.words)
        words.append(QJsonArray{w.box.x(), w.box.y(), w.box.width(), w.box.height(), w.text});
    const QByteArray header = QJsonDocument(QJsonObject{{QStringLiteral("page"), page.page},
                                                        {QStringLiteral("pages"), page.pageCount},
                                                        {QStringLiteral("width"), page.image.width()},
                                                        {QStringLiteral("height"), page.image.height()},
                                                        {QStringLiteral("words"), words}})
                                  .toJson(QJsonDocument::Compact);
    const QImage image = page.image.convertToFormat(QImage::Format_ARGB32);
    QByteArray pixels;
    pixels.reserve(static_cast<qsizetype>(image.width()) * image.height() * 4);
    for (int y = 0; y < image.height(); ++y)
        pixels.append(reinterpret_cast<const char*>(image.constScanLine(y)), qsizetype(image.width()) * 4);
    return "page " + QByteArray::number(header.size()) + ' ' + QByteArray::number(pixels.size()) + '\n' + header +
           pixels;
}

void OutputParser::feed(const QByteArray& bytes) {
    if (m_state != State::Reading)
        return;  // nothing may follow the final record; what does is ignored
    m_buffer.append(bytes);
    parse();
}

std::optional<std::pair<int, int>> OutputParser::takeProgress() {
    return std::exchange(m_progress, std::nullopt);
}

void OutputParser::malformed(const QString& why) {
    m_state = State::Malformed;
    m_errorMessage = why;
    m_buffer.clear();
}

void OutputParser::parse() {
    while (m_state == State::Reading) {
        if (m_need > 0) {
            if (m_buffer.size() < m_need)
                return;
            const QList<QByteArray> fields = m_recordLine.split(' ');
            const QByteArray body = m_buffer.left(m_need);
            m_buffer.remove(0, m_need);
            m_need = 0;
            if (fields[0] == "error") {
                QStringDecoder utf8(QStringDecoder::Utf8,
                                    QStringDecoder::Flag::ConvertInitialBom | QStringDecoder::Flag::Stateless);
                m_errorMessage = utf8(body);
                m_errorKind = *kindFromName(fields[1]);
                if (utf8.hasError() || m_errorMessage.trimmed().isEmpty())
                    return malformed(QStringLiteral("an error record without a readable message"));
                m_state = State::Error;
            } else if (fields[0] == "page") {
                const qsizetype headerBytes = number(fields[1]);
                if (finishPage(body.left(headerBytes), body.mid(headerBytes)))
                    m_state = State::Page;
            } else {
                const qsizetype headerBytes = number(fields[1]);
                if (finishDocument(body.left(headerBytes), body.mid(headerBytes)))
                    m_state = State::Document;
            }
            return;
        }
        const qsizetype end = m_buffer.indexOf('\n');
        if (end < 0) {
            if (m_buffer.size() > kMaxLine)
                malformed(QStringLiteral("a record line longer than %1 bytes").arg(kMaxLine));
            return;
        }
        if (end > kMaxLine)
            return malformed(QStringLiteral("a record line longer than %1 bytes").arg(kMaxLine));
        const QByteArray line = m_buffer.left(end);
        m_buffer.remove(0, end + 1);
        const QList<QByteArray> fields = line.split(' ');
        if (!m_greeted) {
            if (line != helloRecord().chopped(1))
                return malformed(QStringLiteral("not a reader of version %1 (it said '%2')")
                                     .arg(kVersion)
                                     .arg(QString::fromLatin1(line.left(40))));
            m_greeted = true;
        } else if (fields[0] == "progress" && fields.size() == 3) {
            const qint64 done = number(fields[1]), total = number(fields[2]);
            if (done < 0 || total < 0 || done > total || total > kMaxProgress)
                return malformed(QStringLiteral("progress out of range"));
            m_progress = {static_cast<int>(done), static_cast<int>(total)};
        } else if (fields[0] == "document" && fields.size() == 3) {
            const qint64 header = number(fields[1]), text = number(fields[2]);
            if (header <= 0 || header > kMaxHeaderBytes || text < 0 || text > m_maxTextBytes)
                return malformed(QStringLiteral("a document record of impossible size"));
            m_recordLine = line;
            m_need = header + text;
            if (m_need == 0)
                return malformed(QStringLiteral("an empty document record"));
        } else if (fields[0] == "page" && fields.size() == 3) {
            const qint64 header = number(fields[1]), pixels = number(fields[2]);
            if (header <= 0 || header > kMaxHeaderBytes || pixels <= 0 ||
                pixels > qint64(kMaxPageSide) * kMaxPageSide * 4)
                return malformed(QStringLiteral("a page record of impossible size"));
            m_recordLine = line;
            m_need = header + pixels;
        } else if (fields[0] == "error" && fields.size() == 3 && kindFromName(fields[1]) &&
                   !parentOnly(*kindFromName(fields[1]))) {
            const qint64 bytes = number(fields[2]);
            if (bytes <= 0 || bytes > kMaxMessageBytes)
                return malformed(QStringLiteral("an error record of impossible size"));
            m_recordLine = line;
            m_need = bytes;
        } else {
            return malformed(QStringLiteral("an unknown record '%1'").arg(QString::fromLatin1(line.left(40))));
        }
    }
}

bool OutputParser::finishDocument(const QByteArray& headerBytes, const QByteArray& textBytes) {
    QJsonParseError error;
    const QJsonDocument json = QJsonDocument::fromJson(headerBytes, &error);
    if (error.error != QJsonParseError::NoError || !json.isObject()) {
        malformed(QStringLiteral("a document header that is not a JSON object"));
        return false;
    }
    QStringDecoder utf8(QStringDecoder::Utf8,
                        QStringDecoder::Flag::ConvertInitialBom | QStringDecoder::Flag::Stateless);
    IngestedDocument d;
    d.text = utf8(textBytes);
    if (utf8.hasError()) {
        malformed(QStringLiteral("document text that is not UTF-8"));
        return false;
    }
    const QJsonObject h = json.object();
    for (const char* key : {"title", "authors", "format", "sha256"}) {
        if (!h.value(QLatin1String(key)).isString()) {
            malformed(QStringLiteral("a document header without '%1'").arg(QLatin1String(key)));
            return false;
        }
    }
    d.title = h.value(QStringLiteral("title")).toString();
    d.authors = h.value(QStringLiteral("authors")).toString();
    d.format = h.value(QStringLiteral("format")).toString();
    d.sha256 = h.value(QStringLiteral("sha256")).toString();
    static const QStringList formats{QStringLiteral("pdf"), QStringLiteral("epub"), QStringLiteral("txt"),
                                     QStringLiteral("md"), QStringLiteral("html")};
    static const QRegularExpression hex(QStringLiteral("^[0-9a-f]{64}$"));
    if (!formats.contains(d.format) || !hex.match(d.sha256).hasMatch()) {
        malformed(QStringLiteral("a document header with an unknown format or a bad checksum"));
        return false;
    }
    const qsizetype length = d.text.size();
    for (const QJsonValue& v : h.value(QStringLiteral("sections")).toArray()) {
        const QJsonArray s = v.toArray();
        if (s.size() != 3 || !s[0].isString() || !isInt(s[1]) || !isInt(s[2]) || s[1].toInteger() < 1 ||
            s[1].toInteger() > 64 || s[2].toInteger() < 0 || s[2].toInteger() > length) {
            malformed(QStringLiteral("a section outside the text"));
            return false;
        }
        d.sections.append(
            Section{s[0].toString(), static_cast<int>(s[1].toInteger()), static_cast<qsizetype>(s[2].toInteger())});
    }
    int lastPage = 0;
    for (const QJsonValue& v : h.value(QStringLiteral("pages")).toArray()) {
        const QJsonArray p = v.toArray();
        if (p.size() != 3 || !isInt(p[0]) || !isInt(p[1]) || !isInt(p[2]) || p[0].toInteger() <= lastPage ||
            p[0].toInteger() > kMaxProgress || p[1].toInteger() < 0 || p[1].toInteger() > p[2].toInteger() ||
            p[2].toInteger() > length) {
            malformed(QStringLiteral("a page outside the text or out of order"));
            return false;
        }
        lastPage = static_cast<int>(p[0].toInteger());
        d.pages.append(
            PageSpan{lastPage, static_cast<qsizetype>(p[1].toInteger()), static_cast<qsizetype>(p[2].toInteger())});
    }
    for (const QJsonValue& v : h.value(QStringLiteral("warnings")).toArray()) {
        if (!v.isString()) {
            malformed(QStringLiteral("a warning that is not text"));
            return false;
        }
        d.warnings.append(v.toString());
    }
    m_document = std::move(d);
    return true;
}

bool OutputParser::finishPage(const QByteArray& headerBytes, const QByteArray& pixels) {
    QJsonParseError error;
    const QJsonDocument json = QJsonDocument::fromJson(headerBytes, &error);
    if (error.error != QJsonParseError::NoError || !json.isObject()) {
        malformed(QStringLiteral("a page header that is not a JSON object"));
        return false;
    }
    const QJsonObject h = json.object();
    for (const char* key : {"page", "pages", "width", "height"}) {
        if (!isInt(h.value(QLatin1String(key)))) {
            malformed(QStringLiteral("a page header without '%1'").arg(QLatin1String(key)));
            return false;
        }
    }
    const qint64 width = h.value(QStringLiteral("width")).toInteger();
    const qint64 height = h.value(QStringLiteral("height")).toInteger();
    const qint64 page = h.value(QStringLiteral("page")).toInteger();
    const qint64 pages = h.value(QStringLiteral("pages")).toInteger();
    if (width < 1 || height < 1 || width > kMaxPageSide || height > kMaxPageSide ||
        width * height * 4 != pixels.size() || page < 1 || page > pages || pages > kMaxProgress) {
        malformed(QStringLiteral("a page of impossible size or number"));
        return false;
    }
    RenderedPage p;
    p.page = static_cast<int>(page);
    p.pageCount = static_cast<int>(pages);
    p.image = QImage(static_cast<int>(width), static_cast<int>(height), QImage::Format_ARGB32);
    for (int y = 0; y < p.image.height(); ++y)
        std::memcpy(p.image.scanLine(y), pixels.constData() + qsizetype(y) * width * 4, static_cast<size_t>(width) * 4);
    const QJsonArray words = h.value(QStringLiteral("words")).toArray();
    if (words.size() > kMaxWords) {
        malformed(QStringLiteral("a page with too many words"));
        return false;
    }
    const QRectF bounds(0, 0, static_cast<double>(width), static_cast<double>(height));
    for (const QJsonValue& v : words) {
        const QJsonArray w = v.toArray();
        if (w.size() != 5 || !w[0].isDouble() || !w[1].isDouble() || !w[2].isDouble() || !w[3].isDouble() ||
            !w[4].isString()) {
            malformed(QStringLiteral("a word box that is not [x, y, width, height, text]"));
            return false;
        }
        const QRectF box(w[0].toDouble(), w[1].toDouble(), w[2].toDouble(), w[3].toDouble());
        p.words.append({box.intersected(bounds), w[4].toString().left(256)});
    }
    m_page = std::move(p);
    return true;
}

}  // namespace uio::ingest::reader
