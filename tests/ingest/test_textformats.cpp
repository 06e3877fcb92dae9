// Plain text in several encodings, Markdown, HTML, and the page clean-up on its own.

#include "testfiles.h"
#include "uio/ingest/htmltext.h"
#include "uio/ingest/ingest.h"
#include "uio/ingest/textcleanup.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::ingest;

class TestTextFormats : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void encodings_data();
    void encodings();
    void markdownHeadingsBecomeSections();
    void html();
    void millionNestedElements();
    void hyphenAcrossEmptyPages();
    void badFiles_data();
    void badFiles();
    void pageCleanup();

private:
    QString write(const QString& name, const QByteArray& bytes) {
        const QString path = m_dir->filePath(name);
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(bytes);
        return path;
    }
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestTextFormats::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestTextFormats::encodings_data() {
    QTest::addColumn<QByteArray>("bytes");
    const QString text = QStringLiteral("Grüße aus Köln — naïve café.\n\nZweiter Absatz.");
    QTest::newRow("UTF-8") << text.toUtf8();
    QTest::newRow("UTF-8 with BOM") << QByteArray("\xEF\xBB\xBF") + text.toUtf8();
    QByteArray le("\xFF\xFE"), be("\xFE\xFF");
    for (const QChar c : text) {
        le += static_cast<char>(c.unicode() & 0xff), le += static_cast<char>(c.unicode() >> 8);
        be += static_cast<char>(c.unicode() >> 8), be += static_cast<char>(c.unicode() & 0xff);
    }
    QTest::newRow("UTF-16LE") << le;
    QTest::newRow("UTF-16BE") << be;
    QTest::newRow("Latin-1") << QString(text).replace(QStringLiteral("—"), QStringLiteral("-")).toLatin1();
}

void TestTextFormats::encodings() {
    QFETCH(QByteArray, bytes);
    const IngestedDocument doc = ingestFile(write(QStringLiteral("notes.txt"), bytes));
    QCOMPARE(doc.format, QStringLiteral("txt"));
    QCOMPARE(doc.title, QStringLiteral("notes"));
    QVERIFY2(doc.text.startsWith(QStringLiteral("Grüße aus Köln ")), qPrintable(doc.text));
    QVERIFY(doc.text.endsWith(QStringLiteral("naïve café.\n\nZweiter Absatz.")));
    QVERIFY(doc.pages.isEmpty());
}

void TestTextFormats::markdownHeadingsBecomeSections() {
    const QByteArray md =
        "# The Title\n\nIntro text.\n\n## First part\n\nBody.\n\n```\n# not a heading\n```\n\n### Deeper ###\nEnd.\n";
    const IngestedDocument doc = ingestFile(write(QStringLiteral("readme.md"), md));
    QCOMPARE(doc.format, QStringLiteral("md"));
    QCOMPARE(doc.title, QStringLiteral("The Title"));
    QCOMPARE(doc.sections.size(), 3);
    QCOMPARE(doc.sections[1].title, QStringLiteral("First part"));
    QCOMPARE(doc.sections[1].level, 2);
    QVERIFY(doc.text.mid(doc.sections[1].offset).startsWith(QStringLiteral("## First part")));
    QCOMPARE(doc.sections[2].title, QStringLiteral("Deeper"));
    QVERIFY(doc.text.mid(doc.sections[2].offset).startsWith(QStringLiteral("### Deeper")));
}

void TestTextFormats::html() {
    const QByteArray html = R"(<!DOCTYPE html><html><head><title>A &amp; B</title><style>p{}</style></head>
<body><script>alert("no")</script><h1>Heading  One</h1><p>First   paragraph
spanning lines.<br>After a break.</p><!-- a comment --><ul><li>one</li><li>two &lt;3&gt;</li></ul>
<h2 id="x">Sub</h2><p>Caf&eacute;? &#233; &#x263A;</p><pre>  keep
  this</pre><p>unclosed <b>bold</body></html>)";
    const IngestedDocument doc = ingestFile(write(QStringLiteral("page.html"), html));
    QCOMPARE(doc.title, QStringLiteral("A & B"));
    QCOMPARE(doc.text,
             QStringLiteral("Heading One\n\nFirst paragraph spanning lines.\nAfter a break.\n\none\n\ntwo <3>\n\n"
                            "Sub\n\nCafé? é ☺\n\n  keep\n  this\n\nunclosed bold"));
    QCOMPARE(doc.sections.size(), 2);
    QCOMPARE(doc.sections[1].title, QStringLiteral("Sub"));
    QCOMPARE(doc.sections[1].level, 2);
    QVERIFY(doc.text.mid(doc.sections[1].offset).startsWith(QStringLiteral("Sub")));
    QCOMPARE(htmlToText(QString::fromUtf8(html)).anchors.value(QStringLiteral("x")), doc.sections[1].offset);
}

// Nesting is counted, never recursed into: a million open elements are text like any other.
void TestTextFormats::millionNestedElements() {
    QString html = QStringLiteral("<html><body>");
    for (int i = 0; i < 1'000'000; ++i)
        html += QStringLiteral("<div><span>");
    html += QStringLiteral("<h1>Deep</h1><p>The bottom of the well.</p>");
    for (int i = 0; i < 1'000'000; ++i)
        html += QStringLiteral("</span></div>");
    const HtmlText text = htmlToText(html + QStringLiteral("</body></html>"));
    QCOMPARE(text.text, QStringLiteral("Deep\n\nThe bottom of the well."));
    QCOMPARE(text.headings.size(), 1);
}

// A word hyphenated at the end of a page, then empty pages, then its rest (fuzz_text's finding:
// the empty pages were left beginning after they ended).
void TestTextFormats::hyphenAcrossEmptyPages() {
    const CleanText clean = cleanPages({QStringLiteral("The opening of a long para-"), QString(), QStringLiteral("  "),
                                        QStringLiteral("graph that ends here.")});
    QCOMPARE(clean.text, QStringLiteral("The opening of a long paragraph that ends here."));
    QCOMPARE(clean.pages.size(), 4);
    for (const PageSpan& page : clean.pages) {
        QVERIFY2(page.begin <= page.end && page.end <= clean.text.size(),
                 qPrintable(QStringLiteral("page %1: [%2, %3)").arg(page.page).arg(page.begin).arg(page.end)));
    }
}

void TestTextFormats::badFiles_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("kind");
    const QByteArray random = testfiles::randomBytes(4096, 11);
    QTest::newRow("random bytes .txt") << "noise.txt" << random << static_cast<int>(IngestError::Kind::Unsupported);
    QTest::newRow("random bytes .html") << "noise.html" << random << static_cast<int>(IngestError::Kind::Unsupported);
    QTest::newRow("random bytes .md") << "noise.md" << random << static_cast<int>(IngestError::Kind::Unsupported);
    QTest::newRow("empty") << "empty.txt" << QByteArray() << static_cast<int>(IngestError::Kind::NoText);
    QTest::newRow("only markup") << "blank.html" << QByteArray("<html><head><script>x</script></head></html>")
                                 << static_cast<int>(IngestError::Kind::NoText);
    QTest::newRow("unknown kind") << "letter.docx" << QByteArray("PK\x03\x04 not a book")
                                  << static_cast<int>(IngestError::Kind::Unsupported);
}

void TestTextFormats::badFiles() {
    QFETCH(QString, name);
    QFETCH(QByteArray, bytes);
    QFETCH(int, kind);
    try {
        ingestFile(write(name, bytes));
        QFAIL("expected an IngestError");
    } catch (const IngestError& e) {
        QCOMPARE(static_cast<int>(e.kind()), kind);
        QVERIFY2(e.message().contains(name), e.what());
    }
}

void TestTextFormats::pageCleanup() {
    const QStringList pages{
        QStringLiteral("A Running Title\nThe opening line of a para-\ngraph that goes on across\nthe page.\n- 1 -"),
        QStringLiteral("A Running Title\nA short one.\nA new paragraph after a short sentence line and\n- 2 -"),
        QStringLiteral("A Running Title\ncontinuing on the next page.\nxii"),
        QStringLiteral("A Running Title\nPage 4\nLast words.\nPage 4"),
    };
    const CleanText clean = cleanPages(pages);
    QCOMPARE(clean.text,
             QStringLiteral("The opening line of a paragraph that goes on across the page.\n\nA short one.\n\n"
                            "A new paragraph after a short sentence line and continuing on the next page.\n\n"
                            "Last words."));
    QCOMPARE(clean.pages.size(), 4);
    auto page = [&](int i) { return clean.text.mid(clean.pages[i].begin, clean.pages[i].end - clean.pages[i].begin); };
    QCOMPARE(page(0), QStringLiteral("The opening line of a paragraph that goes on across the page."));
    QCOMPARE(page(1), QStringLiteral("A short one.\n\nA new paragraph after a short sentence line and"));
    QCOMPARE(page(2), QStringLiteral("continuing on the next page."));
    QCOMPARE(page(3), QStringLiteral("Last words."));
}

QTEST_GUILESS_MAIN(TestTextFormats)
#include "test_textformats.moc"
