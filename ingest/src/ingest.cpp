#include "uio/ingest/ingest.h"

#include "uio/ingest/htmltext.h"
#include "uio/ingest/textcleanup.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStringDecoder>

#include <utility>

namespace uio::ingest {

namespace {

constexpr qint64 kMaxTextFileBytes = qint64(512) << 20;

[[noreturn]] void unreadable(const QString& path) {
    throw IngestError(
        IngestError::Kind::Unreadable,
        QStringLiteral("%1 cannot be read: check that the file exists and that you may open it.").arg(path));
}

QByteArray readAllChecked(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        unreadable(path);
    }
    if (file.size() > kMaxTextFileBytes) {
        throw IngestError(
            IngestError::Kind::TooLarge,
            QStringLiteral("%1 is larger than 512 MB; split it into smaller files.").arg(QFileInfo(path).fileName()));
    }
    return file.readAll();
}

QString sha256Of(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        unreadable(path);
    }
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&file);
    return QString::fromLatin1(hash.result().toHex());
}

// Markdown stays text; ATX headings ("# Title") become sections.
QList<Section> markdownHeadings(const QString& text) {
    static const QRegularExpression heading(QStringLiteral("^(#{1,6})\\s+(.+?)\\s*#*\\s*$"),
                                            QRegularExpression::MultilineOption);
    QList<Section> sections;
    bool inFence = false;
    qsizetype offset = 0;
    for (const QString& line : text.split(QLatin1Char('\n'))) {
        if (line.startsWith(QLatin1String("```")))
            inFence = !inFence;
        const auto m = heading.match(line);
        if (!inFence && m.hasMatch())
            sections << Section{m.captured(2), static_cast<int>(m.captured(1).size()), offset};
        offset += line.size() + 1;
    }
    return sections;
}

}  // namespace

QString decodeText(const QByteArray& bytes) {
    if (bytes.startsWith("\xEF\xBB\xBF"))
        return QString::fromUtf8(bytes.mid(3));
    if (bytes.startsWith("\xFF\xFE"))
        return QStringDecoder(QStringDecoder::Utf16LE)(bytes.mid(2));
    if (bytes.startsWith("\xFE\xFF"))
        return QStringDecoder(QStringDecoder::Utf16BE)(bytes.mid(2));
    QStringDecoder utf8(QStringDecoder::Utf8);
    const QString text = utf8(bytes);
    if (!utf8.hasError())
        return text;
    return QString::fromLatin1(bytes);
}

// Extension -> format, for files whose content does not say.
constexpr std::pair<const char*, const char*> kExtensions[] = {
    {"pdf", "pdf"},     {"epub", "epub"}, {"txt", "txt"},  {"text", "txt"},   {"md", "md"},
    {"markdown", "md"}, {"html", "html"}, {"htm", "html"}, {"xhtml", "html"},
};

QString detectFormat(const QString& path) {
    QFile file(path);
    QByteArray head;
    if (file.open(QIODevice::ReadOnly))
        head = file.read(64);
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (head.startsWith("%PDF-"))
        return QStringLiteral("pdf");
    if (head.startsWith("PK\x03\x04") &&
        (head.mid(30, 28) == "mimetypeapplication/epub+zip" || suffix == QLatin1String("epub"))) {
        return QStringLiteral("epub");
    }
    if (suffix.isEmpty())
        return QStringLiteral("txt");
    for (const auto& [extension, format] : kExtensions) {
        if (suffix == QLatin1String(extension))
            return QString::fromLatin1(format);
    }
    return {};
}

QStringList readableNameFilters() {
    QStringList filters;
    for (const auto& [extension, format] : kExtensions)
        filters << QStringLiteral("*.") + QLatin1String(extension);
    return filters;
}

IngestedDocument readTextFile(const QString& path, const QString& format) {
    const QByteArray bytes = readAllChecked(path);
    if (bytes.contains('\0') && !bytes.startsWith("\xFF\xFE") && !bytes.startsWith("\xFE\xFF")) {
        throw IngestError(
            IngestError::Kind::Unsupported,
            QStringLiteral("%1 is not a text file (it contains binary data).").arg(QFileInfo(path).fileName()));
    }
    const QString raw = decodeText(bytes);
    IngestedDocument doc;
    doc.format = format;
    if (format == QLatin1String("html")) {
        const HtmlText html = htmlToText(raw);
        doc.title = html.title;
        doc.text = html.text;
        doc.sections = html.headings;
    } else {
        doc.text = normaliseText(raw);
        if (format == QLatin1String("md"))
            doc.sections = markdownHeadings(doc.text);
    }
    if (doc.text.trimmed().isEmpty()) {
        throw IngestError(IngestError::Kind::NoText,
                          QStringLiteral("%1 contains no text.").arg(QFileInfo(path).fileName()));
    }
    if (doc.title.isEmpty() && !doc.sections.isEmpty() && doc.sections.front().level == 1)
        doc.title = doc.sections.front().title;
    if (doc.title.isEmpty())
        doc.title = QFileInfo(path).completeBaseName();
    return doc;
}

IngestedDocument ingestFile(const QString& path, const IngestOptions& options) {
    if (!QFileInfo(path).isReadable() || !QFileInfo(path).isFile()) {
        unreadable(path);
    }
    const QString format = detectFormat(path);
    IngestedDocument doc;
    if (format == QLatin1String("pdf")) {
        doc = readPdf(path, options);
    } else if (format == QLatin1String("epub")) {
        doc = readEpub(path, options);
    } else if (!format.isEmpty()) {
        doc = readTextFile(path, format);
    } else {
        throw IngestError(
            IngestError::Kind::Unsupported,
            QStringLiteral("%1: this kind of file is not supported. UIO Desk reads PDF, EPUB, text, Markdown and HTML.")
                .arg(QFileInfo(path).fileName()));
    }
    doc.sha256 = sha256Of(path);
    return doc;
}

}  // namespace uio::ingest
