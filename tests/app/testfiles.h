// Inputs for the ingestion tests, built by the tests themselves: PDFs drawn with QPainter on
// QPdfWriter, an encrypted PDF written byte by byte (RC4, standard security handler revision 2),
// and EPUB zips written with QuaZip.
#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>

namespace testfiles {

struct PdfLine {
    QString text;
    int pointSize = 12;
};
using PdfPage = QList<PdfLine>;  // an empty page list entry draws only a picture (a "scan")

// One page per entry, lines drawn top to bottom; a page with no lines gets a filled shape only.
void writePdf(const QString& path, const QList<PdfPage>& pages, const QString& title = {});

// A one-page PDF whose content says `text`, encrypted with the user password `password`.
void writeEncryptedPdf(const QString& path, const QString& text, const QByteArray& password);

// n bytes of noise, the same for the same seed: the "random-byte file" of every format.
QByteArray randomBytes(qsizetype n, quint32 seed);

// A zip with these entries (name, bytes); "mimetype" first and stored, as EPUB wants.
void writeZip(const QString& path, const QList<QPair<QString, QByteArray>>& entries);

}  // namespace testfiles
