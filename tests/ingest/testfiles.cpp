#include "testfiles.h"

#include <QCryptographicHash>
#include <QFile>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QRandomGenerator>
#include <quazip.h>
#include <quazipfile.h>

#include <zlib.h>

namespace testfiles {

PdfPage wrapped(const QString& prose, int width) {
    PdfPage page;
    QString line;
    for (const QString& word : prose.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        if (!line.isEmpty() && line.size() + word.size() > width) {
            page << PdfLine{line.trimmed()};
            line.clear();
        }
        line += word + QLatin1Char(' ');
    }
    if (!line.isEmpty())
        page << PdfLine{line.trimmed()};
    return page;
}

void writePdf(const QString& path, const QList<PdfPage>& pages, const QString& title) {
    QPdfWriter writer(path);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setResolution(300);
    if (!title.isEmpty())
        writer.setTitle(title);
    QPainter painter(&writer);
    for (int p = 0; p < pages.size(); ++p) {
        if (p > 0)
            writer.newPage();
        if (pages[p].isEmpty()) {
            painter.fillRect(QRect(300, 300, 1500, 2000), QColor(90, 90, 90));  // a scanned page: no text
            continue;
        }
        int y = 250;
        for (const PdfLine& line : pages[p]) {
            QFont font(QStringLiteral("DejaVu Sans"));
            font.setPointSize(line.pointSize);
            painter.setFont(font);
            painter.drawText(QPointF(200, y), line.text);
            y += line.pointSize * 5 + 20;
        }
    }
}

namespace {

QByteArray rc4(const QByteArray& key, const QByteArray& data) {
    unsigned char s[256];
    for (int i = 0; i < 256; ++i)
        s[i] = static_cast<unsigned char>(i);
    for (int i = 0, j = 0; i < 256; ++i) {
        j = (j + s[i] + static_cast<unsigned char>(key[i % key.size()])) & 0xff;
        std::swap(s[i], s[j]);
    }
    QByteArray out(data.size(), '\0');
    for (int n = 0, i = 0, j = 0; n < data.size(); ++n) {
        i = (i + 1) & 0xff;
        j = (j + s[i]) & 0xff;
        std::swap(s[i], s[j]);
        out[n] = static_cast<char>(data[n] ^ s[(s[i] + s[j]) & 0xff]);
    }
    return out;
}

QByteArray md5(const QByteArray& data) {
    return QCryptographicHash::hash(data, QCryptographicHash::Md5);
}

const QByteArray kPad = QByteArray::fromHex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A");

QByteArray padded(const QByteArray& password) {
    return (password + kPad).left(32);
}

}  // namespace

void writeEncryptedPdf(const QString& path, const QString& text, const QByteArray& password) {
    // PDF 1.4 standard security handler, revision 2 (40-bit RC4): Algorithms 3.1-3.4 of the spec.
    const QByteArray owner = padded("owner-secret");
    const QByteArray O = rc4(md5(owner).left(5), padded(password));
    const qint32 permissions = -4;
    const QByteArray id = md5("uio-desk test file");
    QByteArray p(4, '\0');
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<char>((permissions >> (8 * i)) & 0xff);
    const QByteArray fileKey = md5(padded(password) + O + p + id).left(5);
    const QByteArray U = rc4(fileKey, kPad);
    auto objectKey = [&](int object) {
        QByteArray k = fileKey;
        k += static_cast<char>(object & 0xff), k += static_cast<char>((object >> 8) & 0xff),
            k += static_cast<char>(object >> 16);
        k += '\0', k += '\0';
        return md5(k).left(10);
    };
    const QByteArray content = "BT /F1 24 Tf 72 700 Td (" + text.toLatin1() + ") Tj ET";
    const QByteArray stream = rc4(objectKey(4), content);

    QList<QByteArray> objects{
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> "
        ">>",
        "<< /Length " + QByteArray::number(stream.size()) + " >>\nstream\n" + stream + "\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Filter /Standard /V 1 /R 2 /O <" + O.toHex() + "> /U <" + U.toHex() + "> /P " +
            QByteArray::number(permissions) + " >>",
    };
    QFile file(path);
    file.open(QIODevice::WriteOnly);
    file.write(pdfFromObjects(objects, nullptr, " /Encrypt 6 0 R /ID [<" + id.toHex() + "> <" + id.toHex() + ">]"));
}

QByteArray pdfFromObjects(const QList<QByteArray>& objects, QList<qsizetype>* offsets, const QByteArray& trailerExtra,
                          bool lastFirst) {
    QByteArray pdf = "%PDF-1.4\n";
    QList<qsizetype> at(objects.size());
    for (qsizetype k = 0; k < objects.size(); ++k) {
        const qsizetype i = lastFirst ? objects.size() - 1 - k : k;
        at[i] = pdf.size();
        pdf += QByteArray::number(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const qsizetype xref = pdf.size();
    pdf += "xref\n0 " + QByteArray::number(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (const qsizetype offset : at)
        pdf += QByteArray::number(offset).rightJustified(10, '0') + " 00000 n \n";
    pdf += "trailer\n<< /Size " + QByteArray::number(objects.size() + 1) + " /Root 1 0 R" + trailerExtra +
           " >>\nstartxref\n" + QByteArray::number(xref) + "\n%%EOF\n";
    if (offsets)
        *offsets = at;
    return pdf;
}

QList<QByteArray> textPdfObjects(const QStringList& pages) {
    // 1 catalog, 2 pages, 3 font, then a page object and its content per page.
    QByteArray kids;
    for (int p = 0; p < pages.size(); ++p)
        kids += QByteArray::number(4 + 2 * p) + " 0 R ";
    QList<QByteArray> objects{
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [" + kids + "] /Count " + QByteArray::number(pages.size()) + " >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    };
    for (int p = 0; p < pages.size(); ++p) {
        QByteArray content = "BT /F1 12 Tf 72 720 Td 14 TL";
        for (const QString& line : pages[p].split(QLatin1Char('\n')))
            content += " (" + line.toLatin1() + ") '";
        content += " ET";
        objects << "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents " + QByteArray::number(5 + 2 * p) +
                       " 0 R /Resources << /Font << /F1 3 0 R >> >> >>";
        objects << "<< /Length " + QByteArray::number(content.size()) + " >>\nstream\n" + content + "\nendstream";
    }
    return objects;
}

namespace {

// `piece` repeated `repeats` times, compressed, then compressed again, without ever holding more
// than one copy. The inner stream ends each piece with a full flush, so that a compressed piece
// refers to nothing before it and may itself be repeated; it never ends (a bomb is stopped long
// before its end).
QByteArray deflateTwice(const QByteArray& piece, qint64 repeats) {
    z_stream inner{};
    deflateInit(&inner, 9);
    QByteArray once(piece.size() + 1024, '\0');
    inner.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.constData()));
    inner.avail_in = static_cast<uInt>(piece.size());
    inner.next_out = reinterpret_cast<Bytef*>(once.data());
    inner.avail_out = static_cast<uInt>(once.size());
    deflate(&inner, Z_FULL_FLUSH);
    once.resize(static_cast<qsizetype>(inner.total_out));
    deflateEnd(&inner);
    const QByteArray header = once.left(2), body = once.mid(2);

    z_stream outer{};
    deflateInit(&outer, 9);
    QByteArray out;
    QByteArray buffer(1 << 16, '\0');
    const auto feed = [&](const QByteArray& bytes, int flush) {
        outer.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.constData()));
        outer.avail_in = static_cast<uInt>(bytes.size());
        do {
            outer.next_out = reinterpret_cast<Bytef*>(buffer.data());
            outer.avail_out = static_cast<uInt>(buffer.size());
            deflate(&outer, flush);
            out.append(buffer.constData(), buffer.size() - static_cast<qsizetype>(outer.avail_out));
        } while (outer.avail_out == 0);
    };
    feed(header, Z_NO_FLUSH);
    for (qint64 i = 0; i < repeats; ++i)
        feed(body, Z_NO_FLUSH);
    feed({}, Z_FINISH);
    deflateEnd(&outer);
    return out;
}

}  // namespace

void writeBombPdf(const QString& path, qint64 inflatedBytes, bool drawsText) {
    // 1 MiB of operators, repeated: lines of text placed all over the page (every glyph becomes a
    // word the text extractor keeps: about 100 MB a second of its memory), or save/restore pairs.
    QByteArray piece;
    for (int line = 0; piece.size() < (1 << 20); ++line) {
        piece += drawsText ? "BT /F1 10 Tf " + QByteArray::number(72 + line % 5 * 100) + ' ' +
                                 QByteArray::number(50 + line / 5 % 60 * 12) + " Td (uio bomb uio bomb uio bomb) Tj ET "
                           : QByteArray("q Q q Q q Q q Q ");
    }
    const QByteArray twice = deflateTwice(piece, std::max<qint64>(1, inflatedBytes / piece.size()));
    QList<QByteArray> objects = textPdfObjects({QStringLiteral("Nothing to see here.")});
    objects[4] = "<< /Length " + QByteArray::number(twice.size()) +
                 " /Filter [/FlateDecode /FlateDecode] >>\nstream\n" + twice + "\nendstream";
    QFile file(path);
    file.open(QIODevice::WriteOnly);
    file.write(pdfFromObjects(objects));
}

void writeDeepEpub(const QString& path, int depth, const QString& sentence) {
    const QByteArray container = R"(<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>)";
    const QByteArray opf = R"(<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Deep</dc:title></metadata>
  <manifest><item id="c" href="chapter.xhtml" media-type="application/xhtml+xml"/></manifest>
  <spine><itemref idref="c"/></spine>
</package>)";
    QByteArray xhtml = "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><body>";
    xhtml.reserve(xhtml.size() + 11 * qsizetype(depth) + 200);
    for (int i = 0; i < depth; ++i)
        xhtml += "<div>";
    xhtml += "<p>" + sentence.toUtf8() + "</p>";
    for (int i = 0; i < depth; ++i)
        xhtml += "</div>";
    xhtml += "</body></html>";
    writeZip(path, {{QStringLiteral("mimetype"), "application/epub+zip"},
                    {QStringLiteral("META-INF/container.xml"), container},
                    {QStringLiteral("content.opf"), opf},
                    {QStringLiteral("chapter.xhtml"), xhtml}});
}

HostileFiles writeHostileFiles(const QString& dir) {
    HostileFiles files{dir + QStringLiteral("/bomb.pdf"), dir + QStringLiteral("/deep.epub"),
                       dir + QStringLiteral("/crash.txt"), dir + QStringLiteral("/good.md")};
    writeBombPdf(files.bomb, qint64(16) << 30);
    writeDeepEpub(files.deep, 1'000'000, QStringLiteral("The bottom of the well."));
    for (const auto& [path, text] : {std::pair{files.crash, QByteArray("The reader crashes on this file.")},
                                     {files.good, QByteArray("# Good\n\nA document that reads.\n")}}) {
        QFile file(path);
        file.open(QIODevice::WriteOnly);
        file.write(text);
    }
    qputenv("UIO_READER_TEST_CRASH", "crash.txt");
    return files;
}

QByteArray randomBytes(qsizetype n, quint32 seed) {
    QByteArray bytes(n, '\0');
    QRandomGenerator random(seed);
    for (char& c : bytes) {
        c = static_cast<char>(random.bounded(256));
    }
    return bytes;
}

void writeZip(const QString& path, const QList<QPair<QString, QByteArray>>& entries) {
    QuaZip zip(path);
    zip.open(QuaZip::mdCreate);
    for (const auto& [name, bytes] : entries) {
        QuaZipFile file(&zip);
        const bool store = name == QLatin1String("mimetype");
        file.open(QIODevice::WriteOnly, QuaZipNewInfo(name), nullptr, 0, store ? 0 : Z_DEFLATED, store ? 0 : 6);
        file.write(bytes);
        file.close();
    }
    zip.close();
}

}  // namespace testfiles
