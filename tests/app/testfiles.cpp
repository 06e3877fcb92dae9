#include "testfiles.h"

#include <QCryptographicHash>
#include <QFile>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QRandomGenerator>
#include <quazip.h>
#include <quazipfile.h>

namespace testfiles {

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
    QByteArray pdf = "%PDF-1.4\n";
    QList<qsizetype> offsets;
    for (int i = 0; i < objects.size(); ++i) {
        offsets << pdf.size();
        pdf += QByteArray::number(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const qsizetype xref = pdf.size();
    pdf += "xref\n0 " + QByteArray::number(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (const qsizetype offset : offsets)
        pdf += QByteArray::number(offset).rightJustified(10, '0') + " 00000 n \n";
    pdf += "trailer\n<< /Size " + QByteArray::number(objects.size() + 1) + " /Root 1 0 R /Encrypt 6 0 R /ID [<" +
           id.toHex() + "> <" + id.toHex() + ">] >>\nstartxref\n" + QByteArray::number(xref) + "\n%%EOF\n";
    QFile file(path);
    file.open(QIODevice::WriteOnly);
    file.write(pdf);
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
