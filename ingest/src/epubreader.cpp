// EPUB 2 and 3: META-INF/container.xml -> OPF -> spine; chapter titles from the EPUB 3 nav
// document or the EPUB 2 NCX. The zip is checked before anything is extracted.

#include "uio/ingest/htmltext.h"
#include "uio/ingest/ingest.h"
#include "uio/ingest/textcleanup.h"

#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QUrl>
#include <QXmlStreamReader>
#include <quazip.h>
#include <quazipfile.h>

namespace uio::ingest {

namespace {

constexpr qint64 kMaxTotalBytes = qint64(1) << 30;  // 1 GiB uncompressed in all
constexpr qint64 kMaxEntryBytes = qint64(256) << 20;
constexpr double kMaxRatio = 200.0;  // uncompressed / compressed, for entries above 1 MiB

[[noreturn]] void fail(IngestError::Kind kind, const QString& message) {
    throw IngestError(kind, message);
}

class Epub {
public:
    Epub(const QString& path) : m_zip(path), m_name(QFileInfo(path).fileName()) {
        if (!m_zip.open(QuaZip::mdUnzip)) {
            fail(IngestError::Kind::Damaged, QStringLiteral("%1 is not a valid EPUB (the zip cannot be read). "
                                                            "Try exporting it again from the program that made it.")
                                                 .arg(m_name));
        }
        qint64 total = 0;
        for (const QuaZipFileInfo64& info : m_zip.getFileInfoList64()) {
            const QString entry = info.name;
            if (entry.startsWith(u'/') || entry.contains(u'\\') || entry.split(u'/').contains(QStringLiteral(".."))) {
                fail(IngestError::Kind::Damaged,
                     QStringLiteral("%1 contains an entry with an unsafe path (%2); it was not opened.")
                         .arg(m_name, entry));
            }
            total += static_cast<qint64>(info.uncompressedSize);
            const bool bomb =
                info.uncompressedSize > (1u << 20) &&
                static_cast<double>(info.uncompressedSize) > kMaxRatio * std::max<quint64>(info.compressedSize, 1);
            if (bomb || static_cast<qint64>(info.uncompressedSize) > kMaxEntryBytes || total > kMaxTotalBytes) {
                fail(IngestError::Kind::TooLarge, QStringLiteral("%1 unpacks to far more data than an e-book holds "
                                                                 "(a zip bomb?); it was not opened.")
                                                      .arg(m_name));
            }
            m_entries.insert(entry, info.uncompressedSize);
        }
    }

    bool has(const QString& entry) const { return m_entries.contains(entry); }

    QByteArray read(const QString& entry) {
        if (!m_entries.contains(entry) || !m_zip.setCurrentFile(entry))
            return {};
        QuaZipFile file(&m_zip);
        if (!file.open(QIODevice::ReadOnly))
            return {};
        // Never more than the declared size: the header could lie.
        const QByteArray bytes = file.read(static_cast<qint64>(m_entries.value(entry)) + 1);
        if (bytes.size() > static_cast<qsizetype>(m_entries.value(entry)) || file.getZipError() != UNZ_OK) {
            fail(IngestError::Kind::Damaged, QStringLiteral("%1: the entry %2 is damaged.").arg(m_name, entry));
        }
        return bytes;
    }

    const QString& name() const { return m_name; }

private:
    QuaZip m_zip;
    QString m_name;
    QHash<QString, quint64> m_entries;
};

struct ManifestItem {
    QString href;  // relative to the zip root
    QString mediaType;
    QString properties;
};

QString resolve(const QString& base, const QString& href) {
    const QString path = QUrl(href).path();  // drops "#fragment", decodes %20
    return QDir::cleanPath(base.isEmpty() ? path : base + QLatin1Char('/') + path);
}

QString fragment(const QString& href) {
    return QUrl(href).fragment();
}

// (href, title, level) in reading order from an EPUB 3 nav document.
QList<std::tuple<QString, QString, int>> readNav(const QByteArray& xml) {
    QList<std::tuple<QString, QString, int>> entries;
    QXmlStreamReader reader(xml);
    int navDepth = 0, listDepth = 0;
    bool inToc = false;
    QString href, title;
    bool inLink = false;
    while (!reader.atEnd()) {
        reader.readNext();
        if (reader.isStartElement()) {
            const auto name = reader.name();
            if (name == QLatin1String("nav")) {
                ++navDepth;
                inToc = reader.attributes().value(QStringLiteral("http://www.idpf.org/2007/ops"),
                                                  QStringLiteral("type")) == QLatin1String("toc");
            } else if (inToc && name == QLatin1String("ol")) {
                ++listDepth;
            } else if (inToc && name == QLatin1String("a")) {
                inLink = true;
                href = reader.attributes().value(QStringLiteral("href")).toString();
                title.clear();
            }
        } else if (reader.isCharacters() && inLink) {
            title += reader.text();
        } else if (reader.isEndElement()) {
            const auto name = reader.name();
            if (name == QLatin1String("a") && inLink) {
                inLink = false;
                entries.append({href, title.simplified(), std::max(1, listDepth)});
            } else if (name == QLatin1String("ol") && inToc) {
                --listDepth;
            } else if (name == QLatin1String("nav")) {
                --navDepth;
                inToc = false;
            }
        }
    }
    return entries;
}

// (href, title, level) from an EPUB 2 NCX.
QList<std::tuple<QString, QString, int>> readNcx(const QByteArray& xml) {
    QList<std::tuple<QString, QString, int>> entries;
    QXmlStreamReader reader(xml);
    int depth = 0;
    QString title;
    bool inText = false;
    while (!reader.atEnd()) {
        reader.readNext();
        if (reader.isStartElement()) {
            if (reader.name() == QLatin1String("navPoint")) {
                ++depth;
                title.clear();
            } else if (reader.name() == QLatin1String("text")) {
                inText = true;
            } else if (reader.name() == QLatin1String("content")) {
                entries.append(
                    {reader.attributes().value(QStringLiteral("src")).toString(), title.simplified(), depth});
            }
        } else if (reader.isCharacters() && inText) {
            title += reader.text();
        } else if (reader.isEndElement()) {
            if (reader.name() == QLatin1String("text"))
                inText = false;
            if (reader.name() == QLatin1String("navPoint"))
                --depth;
        }
    }
    return entries;
}

}  // namespace

IngestedDocument readEpub(const QString& path, const IngestOptions& options) {
    Epub epub(path);
    IngestedDocument doc;
    doc.format = QStringLiteral("epub");

    // DRM: encryption.xml naming anything but (obfuscated) fonts.
    if (epub.has(QStringLiteral("META-INF/encryption.xml"))) {
        QXmlStreamReader reader(epub.read(QStringLiteral("META-INF/encryption.xml")));
        while (!reader.atEnd()) {
            reader.readNext();
            if (reader.isStartElement() && reader.name() == QLatin1String("CipherReference")) {
                const QString uri = reader.attributes().value(QStringLiteral("URI")).toString().toLower();
                const bool font = uri.endsWith(QLatin1String(".otf")) || uri.endsWith(QLatin1String(".ttf")) ||
                                  uri.endsWith(QLatin1String(".woff")) || uri.endsWith(QLatin1String(".woff2"));
                if (!font) {
                    fail(IngestError::Kind::Encrypted,
                         QStringLiteral("%1 is protected by DRM and cannot be read. Add a DRM-free copy of the book.")
                             .arg(epub.name()));
                }
            }
        }
    }

    // container.xml -> the OPF package document.
    QString opfPath;
    {
        QXmlStreamReader reader(epub.read(QStringLiteral("META-INF/container.xml")));
        while (!reader.atEnd() && opfPath.isEmpty()) {
            reader.readNext();
            if (reader.isStartElement() && reader.name() == QLatin1String("rootfile")) {
                opfPath = reader.attributes().value(QStringLiteral("full-path")).toString();
            }
        }
    }
    if (opfPath.isEmpty() || !epub.has(opfPath)) {
        fail(IngestError::Kind::Damaged,
             QStringLiteral("%1 is not a valid EPUB (META-INF/container.xml does not name its package).")
                 .arg(epub.name()));
    }
    const QString base = QFileInfo(opfPath).path() == QLatin1String(".") ? QString() : QFileInfo(opfPath).path();

    QHash<QString, ManifestItem> manifest;
    QStringList spine;
    QString ncxId;
    {
        QXmlStreamReader reader(epub.read(opfPath));
        QString element;
        while (!reader.atEnd()) {
            reader.readNext();
            if (reader.isStartElement()) {
                element = reader.name().toString();
                const auto a = reader.attributes();
                if (element == QLatin1String("item")) {
                    manifest.insert(a.value(QStringLiteral("id")).toString(),
                                    {resolve(base, a.value(QStringLiteral("href")).toString()),
                                     a.value(QStringLiteral("media-type")).toString(),
                                     a.value(QStringLiteral("properties")).toString()});
                } else if (element == QLatin1String("itemref")) {
                    spine << a.value(QStringLiteral("idref")).toString();
                } else if (element == QLatin1String("spine")) {
                    ncxId = a.value(QStringLiteral("toc")).toString();
                }
            } else if (reader.isCharacters() && !reader.isWhitespace()) {
                if (element == QLatin1String("title") && doc.title.isEmpty())
                    doc.title = reader.text().toString().simplified();
                if (element == QLatin1String("creator")) {
                    doc.authors += (doc.authors.isEmpty() ? QString() : QStringLiteral(", ")) +
                                   reader.text().toString().simplified();
                }
            } else if (reader.isEndElement()) {
                element.clear();
            }
        }
        if (reader.hasError()) {
            fail(IngestError::Kind::Damaged, QStringLiteral("%1: the package document is not valid XML (%2).")
                                                 .arg(epub.name(), reader.errorString()));
        }
    }
    if (spine.isEmpty()) {
        fail(IngestError::Kind::Damaged, QStringLiteral("%1 has no reading order (empty spine).").arg(epub.name()));
    }

    // The text of each spine item, in order; where each file and anchor starts.
    QHash<QString, qsizetype> fileStart;
    QHash<QString, qsizetype> anchorStart;  // "file#id"
    QList<Section> headings;
    QString text;
    for (int i = 0; i < spine.size(); ++i) {
        if (options.cancel && options.cancel->load()) {
            fail(IngestError::Kind::Cancelled, QStringLiteral("cancelled"));
        }
        if (options.progress)
            options.progress(i, static_cast<int>(spine.size()));
        const ManifestItem item = manifest.value(spine[i]);
        if (item.href.isEmpty() || !epub.has(item.href)) {
            doc.warnings << QStringLiteral("The chapter \"%1\" listed in the reading order is missing; it was skipped.")
                                .arg(item.href.isEmpty() ? spine[i] : item.href);
            continue;
        }
        const HtmlText chapter = htmlToText(decodeText(epub.read(item.href)));
        if (chapter.text.isEmpty()) {
            fileStart.insert(item.href, text.size());
            continue;
        }
        if (!text.isEmpty())
            text += QStringLiteral("\n\n");
        const qsizetype start = text.size();
        fileStart.insert(item.href, start);
        for (auto it = chapter.anchors.begin(); it != chapter.anchors.end(); ++it) {
            anchorStart.insert(item.href + QLatin1Char('#') + it.key(), start + it.value());
        }
        for (Section heading : chapter.headings) {
            heading.offset += start;
            headings << heading;
        }
        text += chapter.text;
    }
    if (options.progress)
        options.progress(static_cast<int>(spine.size()), static_cast<int>(spine.size()));

    // Chapter titles: the nav document (EPUB 3), else the NCX (EPUB 2), else the headings.
    QList<std::tuple<QString, QString, int>> toc;
    QString tocBase;
    for (const ManifestItem& item : manifest) {
        if (item.properties.split(u' ').contains(QStringLiteral("nav"))) {
            toc = readNav(epub.read(item.href));
            tocBase = QFileInfo(item.href).path();
        }
    }
    if (toc.isEmpty() && manifest.contains(ncxId)) {
        toc = readNcx(epub.read(manifest.value(ncxId).href));
        tocBase = QFileInfo(manifest.value(ncxId).href).path();
    }
    if (tocBase == QLatin1String("."))
        tocBase.clear();
    for (const auto& [href, title, level] : toc) {
        const QString file = resolve(tocBase, href);
        const QString anchor = fragment(href);
        const qsizetype offset = !anchor.isEmpty() && anchorStart.contains(file + QLatin1Char('#') + anchor)
                                     ? anchorStart.value(file + QLatin1Char('#') + anchor)
                                     : fileStart.value(file, -1);
        if (offset >= 0 && !title.isEmpty())
            doc.sections << Section{title, level, offset};
    }
    if (doc.sections.isEmpty())
        doc.sections = headings;

    doc.text = text;
    if (doc.text.trimmed().isEmpty()) {
        fail(IngestError::Kind::NoText, QStringLiteral("%1 contains no text (only images?).").arg(epub.name()));
    }
    if (doc.title.isEmpty())
        doc.title = QFileInfo(path).completeBaseName();
    return doc;
}

}  // namespace uio::ingest
