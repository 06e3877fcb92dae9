// EPUB 2 (NCX) and EPUB 3 (nav) zipped by the test, and every kind of broken or hostile EPUB.

#include "testfiles.h"
#include "uio/ingest/ingest.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::ingest;

namespace {

using Entries = QList<QPair<QString, QByteArray>>;

const QByteArray kContainer = R"(<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>)";

QByteArray chapter(const QString& heading, const QString& body, const QString& extra = {}) {
    return QStringLiteral(R"(<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title><style>p { color: red; }</style>
<script>var hidden = "do not show";</script></head>
<body><h1>%1</h1><p>%2</p>%3</body></html>)")
        .arg(heading, body, extra)
        .toUtf8();
}

Entries epub2() {
    const QByteArray opf = R"(<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:title>Moby-Dick</dc:title><dc:creator>Herman Melville</dc:creator>
  </metadata>
  <manifest>
    <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
    <item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/>
    <item id="c2" href="text/two.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine toc="ncx"><itemref idref="c2"/><itemref idref="c1"/></spine>
</package>)";
    const QByteArray ncx = R"(<?xml version="1.0"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>
  <navPoint id="a"><navLabel><text>Loomings</text></navLabel><content src="text/two.xhtml"/></navPoint>
  <navPoint id="b"><navLabel><text>The Carpet-Bag</text></navLabel><content src="text/one.xhtml"/>
    <navPoint id="c"><navLabel><text>A Detail</text></navLabel><content src="text/one.xhtml#detail"/></navPoint>
  </navPoint>
</navMap></ncx>)";
    return {{QStringLiteral("mimetype"), "application/epub+zip"},
            {QStringLiteral("META-INF/container.xml"), kContainer},
            {QStringLiteral("OEBPS/content.opf"), opf},
            {QStringLiteral("OEBPS/toc.ncx"), ncx},
            {QStringLiteral("OEBPS/text/one.xhtml"),
             chapter(QStringLiteral("Chapter 2"), QStringLiteral("I stuffed a shirt or two into my old carpet-bag."),
                     QStringLiteral("<p id=\"detail\">A detail &amp; more.</p>"))},
            {QStringLiteral("OEBPS/text/two.xhtml"),
             chapter(QStringLiteral("Chapter 1"),
                     QStringLiteral("Call me Ishmael. Some years ago&#8212;never mind how long."))}};
}

Entries epub3() {
    const QByteArray opf = R"(<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Flatland</dc:title>
    <dc:creator>Edwin A. Abbott</dc:creator></metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="p1" href="part1.xhtml" media-type="application/xhtml+xml"/>
    <item id="p2" href="part2.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine><itemref idref="p1"/><itemref idref="p2"/></spine>
</package>)";
    const QByteArray nav = R"(<?xml version="1.0"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>
<nav epub:type="toc"><ol><li><a href="part1.xhtml">Part I: This World</a>
  <ol><li><a href="part1.xhtml#sec2">Of the Climate</a></li></ol></li>
  <li><a href="part2.xhtml">Part II: Other Worlds</a></li></ol></nav></body></html>)";
    return {{QStringLiteral("mimetype"), "application/epub+zip"},
            {QStringLiteral("META-INF/container.xml"), kContainer},
            {QStringLiteral("OEBPS/content.opf"), opf},
            {QStringLiteral("OEBPS/nav.xhtml"), nav},
            {QStringLiteral("OEBPS/part1.xhtml"),
             chapter(QStringLiteral("This World"), QStringLiteral("I call our world Flatland."),
                     QStringLiteral("<h2 id=\"sec2\">Of the Climate</h2><p>As with you, there are four points.</p>"))},
            {QStringLiteral("OEBPS/part2.xhtml"),
             chapter(QStringLiteral("Other Worlds"), QStringLiteral("How I had a vision."))}};
}

}  // namespace

class TestEpub : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void epub2WithNcx();
    void epub3WithNav();
    void missingSpineItemIsSkipped();
    void refusals_data();
    void refusals();

private:
    QString write(const Entries& entries) {
        const QString path = m_dir->filePath(QStringLiteral("book%1.epub").arg(++m_count));
        testfiles::writeZip(path, entries);
        return path;
    }
    std::unique_ptr<QTemporaryDir> m_dir;
    int m_count = 0;
};

void TestEpub::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestEpub::epub2WithNcx() {
    const IngestedDocument doc = ingestFile(write(epub2()));
    QCOMPARE(doc.format, QStringLiteral("epub"));
    QCOMPARE(doc.title, QStringLiteral("Moby-Dick"));
    QCOMPARE(doc.authors, QStringLiteral("Herman Melville"));
    QCOMPARE(doc.text,
             QStringLiteral("Chapter 1\n\nCall me Ishmael. Some years ago—never mind how long.\n\n"
                            "Chapter 2\n\nI stuffed a shirt or two into my old carpet-bag.\n\nA detail & more."));
    QVERIFY(!doc.text.contains(QStringLiteral("hidden")));
    QCOMPARE(doc.sections.size(), 3);
    QCOMPARE(doc.sections[0].title, QStringLiteral("Loomings"));
    QCOMPARE(doc.sections[0].offset, 0);
    QCOMPARE(doc.sections[1].title, QStringLiteral("The Carpet-Bag"));
    QVERIFY(doc.text.mid(doc.sections[1].offset).startsWith(QStringLiteral("Chapter 2")));
    QCOMPARE(doc.sections[2].level, 2);
    QVERIFY(doc.text.mid(doc.sections[2].offset).startsWith(QStringLiteral("A detail")));
    QVERIFY(doc.warnings.isEmpty());
}

void TestEpub::epub3WithNav() {
    const IngestedDocument doc = ingestFile(write(epub3()));
    QCOMPARE(doc.title, QStringLiteral("Flatland"));
    QCOMPARE(doc.sections.size(), 3);
    QCOMPARE(doc.sections[0].title, QStringLiteral("Part I: This World"));
    QCOMPARE(doc.sections[1].title, QStringLiteral("Of the Climate"));
    QCOMPARE(doc.sections[1].level, 2);
    QVERIFY(doc.text.mid(doc.sections[1].offset).startsWith(QStringLiteral("Of the Climate\n\nAs with you")));
    QVERIFY(doc.text.mid(doc.sections[2].offset).startsWith(QStringLiteral("Other Worlds")));
}

void TestEpub::missingSpineItemIsSkipped() {
    Entries entries = epub2();
    entries.removeIf([](const auto& e) { return e.first == QLatin1String("OEBPS/text/one.xhtml"); });
    const IngestedDocument doc = ingestFile(write(entries));
    QCOMPARE(doc.warnings.size(), 1);
    QVERIFY(doc.warnings.front().contains(QStringLiteral("one.xhtml")));
    QVERIFY(doc.text.startsWith(QStringLiteral("Chapter 1")));
    QVERIFY(!doc.text.contains(QStringLiteral("Chapter 2")));
}

void TestEpub::refusals_data() {
    QTest::addColumn<QString>("defect");
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("message");
    QTest::newRow("zip bomb") << "bomb" << static_cast<int>(IngestError::Kind::TooLarge) << "zip bomb";
    QTest::newRow("path traversal") << "traversal" << static_cast<int>(IngestError::Kind::Damaged) << "unsafe path";
    QTest::newRow("absolute path") << "absolute" << static_cast<int>(IngestError::Kind::Damaged) << "unsafe path";
    QTest::newRow("DRM") << "drm" << static_cast<int>(IngestError::Kind::Encrypted) << "DRM";
    QTest::newRow("no container") << "nocontainer" << static_cast<int>(IngestError::Kind::Damaged) << "container.xml";
    QTest::newRow("truncated zip") << "truncated" << static_cast<int>(IngestError::Kind::Damaged) << "not a valid EPUB";
    QTest::newRow("random bytes") << "random" << static_cast<int>(IngestError::Kind::Damaged) << "not a valid EPUB";
    QTest::newRow("broken package XML") << "badopf" << static_cast<int>(IngestError::Kind::Damaged) << "not valid XML";
}

void TestEpub::refusals() {
    QFETCH(QString, defect);
    QFETCH(int, kind);
    QFETCH(QString, message);
    Entries entries = epub2();
    QString path;
    if (defect == QLatin1String("bomb")) {
        entries << QPair<QString, QByteArray>{QStringLiteral("OEBPS/padding.bin"), QByteArray(64 << 20, '\0')};
    } else if (defect == QLatin1String("traversal")) {
        entries << QPair<QString, QByteArray>{QStringLiteral("OEBPS/../../evil.sh"), "rm -rf ~"};
    } else if (defect == QLatin1String("absolute")) {
        entries << QPair<QString, QByteArray>{QStringLiteral("/etc/passwd"), "x"};
    } else if (defect == QLatin1String("drm")) {
        entries << QPair<QString, QByteArray>{QStringLiteral("META-INF/encryption.xml"),
                                              R"(<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#"><CipherData>
<CipherReference URI="OEBPS/text/one.xhtml"/></CipherData></EncryptedData></encryption>)"};
    } else if (defect == QLatin1String("nocontainer")) {
        entries.removeIf([](const auto& e) { return e.first == QLatin1String("META-INF/container.xml"); });
    } else if (defect == QLatin1String("badopf")) {
        for (auto& e : entries) {
            if (e.first == QLatin1String("OEBPS/content.opf"))
                e.second.chop(30);
        }
    }
    path = write(entries);
    if (defect == QLatin1String("truncated") || defect == QLatin1String("random")) {
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadWrite));
        if (defect == QLatin1String("truncated")) {
            f.resize(f.size() / 2);
        } else {
            f.resize(0);
            f.write(testfiles::randomBytes(5000, 3));
        }
    }
    try {
        ingestFile(path);
        QFAIL("expected an IngestError");
    } catch (const IngestError& e) {
        QCOMPARE(static_cast<int>(e.kind()), kind);
        QVERIFY2(e.message().contains(message), e.what());
    }
}

QTEST_GUILESS_MAIN(TestEpub)
#include "test_epub.moc"
