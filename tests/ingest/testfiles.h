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

// Prose as the lines of a page, broken at spaces before `width` characters.
PdfPage wrapped(const QString& prose, int width = 70);

// One page per entry, lines drawn top to bottom; a page with no lines gets a filled shape only.
void writePdf(const QString& path, const QList<PdfPage>& pages, const QString& title = {});

// A one-page PDF whose content says `text`, encrypted with the user password `password`.
void writeEncryptedPdf(const QString& path, const QString& text, const QByteArray& password);

// A PDF written byte by byte from its objects (numbered from 1, object 1 the catalog), with its
// cross-reference table and trailer (plus `trailerExtra` entries); `offsets` gets each object's
// byte offset. `lastFirst` writes the objects in reverse order, the table still right.
QByteArray pdfFromObjects(const QList<QByteArray>& objects, QList<qsizetype>* offsets = nullptr,
                          const QByteArray& trailerExtra = {}, bool lastFirst = false);

// The objects of a plain PDF: one page per entry, its text in Helvetica, content not compressed.
QList<QByteArray> textPdfObjects(const QStringList& pages);

// A one-page PDF of a few kilobytes whose content stream, compressed twice, inflates to about
// `inflatedBytes` of operators: a decompression bomb. Text-drawing ones fill the extractor's memory;
// otherwise save/restore pairs only take time.
void writeBombPdf(const QString& path, qint64 inflatedBytes, bool drawsText = true);

// An EPUB whose one chapter nests `depth` <div> elements around a sentence.
void writeDeepEpub(const QString& path, int depth, const QString& sentence);

// The files built to hurt a reader, beside a good one, in `dir`: a 16 GiB decompression bomb
// (bomb.pdf), a million nested elements (deep.epub), crash.txt (the reader crashes on it: the
// test-only switch UIO_READER_TEST_CRASH is set to its name) and good.md.
struct HostileFiles {
    QString bomb, deep, crash, good;
};
HostileFiles writeHostileFiles(const QString& dir);

// n bytes of noise, the same for the same seed: the "random-byte file" of every format.
QByteArray randomBytes(qsizetype n, quint32 seed);

// A zip with these entries (name, bytes); "mimetype" first and stored, as EPUB wants.
void writeZip(const QString& path, const QList<QPair<QString, QByteArray>>& entries);

}  // namespace testfiles
