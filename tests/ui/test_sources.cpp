// Sources and the document pane, as a user meets them: a PDF found by words inside it (Ctrl+F,
// Enter) opens beside the chat on its page; an answer lists its sources, and clicking one shows
// the page drawn by the reader with the passage marked; a document double-clicked in the library
// opens at its start. Real services, a tiny generated model, a PDF written by the test.

#include "documentpane.h"
#include "patience.h"
#include "testfiles.h"
#include "uio/app/libraryservice.h"
#include "uio/model/synthetic_text.h"
#include "uio/ui/mainwindow.h"
#include "uitest.h"

#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QTextBrowser>
#include <QToolButton>

namespace {

const QString kNeedle = QStringLiteral("The café owner Zoë kept the golden compass in the third drawer.");

// The link of the first source under an answer, clicked where it is drawn.
bool clickFirstSource(QTextBrowser* transcript) {
    QTextDocument* document = transcript->document();
    for (QTextBlock block = document->begin(); block.isValid(); block = block.next()) {
        for (auto it = block.begin(); !it.atEnd(); ++it) {
            const QTextFragment fragment = it.fragment();
            if (!fragment.charFormat().isAnchor() ||
                !fragment.charFormat().anchorHref().startsWith(QLatin1String("source:")))
                continue;
            QTextCursor cursor(document);
            cursor.setPosition(fragment.position() + 1);
            transcript->setTextCursor(cursor);
            transcript->ensureCursorVisible();
            QTest::mouseClick(transcript->viewport(), Qt::LeftButton, {}, transcript->cursorRect(cursor).center());
            return true;
        }
    }
    return false;
}

}  // namespace

class TestSources : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void searchAnswerAndClickASource();

private:
    QTemporaryDir m_dir;
    uio::app::ModelSettings m_settings;
    QString m_pdf;
};

void TestSources::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_settings = uitest::makeTinyModel(m_dir.path());
    // Segments of 256 tokens: passages go word for word into one live segment beside the question.
    auto engine = uio::model::Engine::load(m_settings.modelDir.toStdString());
    engine->create_adapter({256, 8, 4, 8.0}, 1);
    m_settings.adapterPath = m_dir.filePath(QStringLiteral("adapter256.safetensors"));
    engine->save_adapter(m_settings.adapterPath.toStdString());
    // Twelve pages of prose; the sentence alone on page 9.
    QList<testfiles::PdfPage> pages;
    for (int p = 1; p <= 12; ++p) {
        testfiles::PdfPage page =
            testfiles::wrapped(QString::fromStdString(uio::model::synthetic_text(300 + p, 200, 300)));
        if (p == 9)
            page.insert(12, testfiles::PdfLine{kNeedle});
        pages << page;
    }
    m_pdf = m_dir.filePath(QStringLiteral("voyage.pdf"));
    testfiles::writePdf(m_pdf, pages, QStringLiteral("The Voyage"));
}

void TestSources::searchAnswerAndClickASource() {
    uio::app::AskSettings ask;
    ask.temperature = 0.0;
    ask.maxNewTokens = 6;
    uio::app::LibraryService library(m_settings.databasePath);
    uio::app::ModelService model;
    uio::ui::MainWindow window(library, model, m_settings, ask);
    window.resize(1400, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window, uio::test::kPatienceMs));
    QSignalSpy added(&library, &uio::app::LibraryService::documentAdded);
    library.addFiles({m_pdf});
    UIO_TRY_COMPARE(added.count(), 1);
    const qint64 id = added.first().at(0).toLongLong();

    // Ctrl+F, the words, Enter: passages inside the document, the sentence's page first.
    QTest::keyClick(&window, Qt::Key_F, Qt::ControlModifier);
    auto* search = window.findChild<QLineEdit*>(QStringLiteral("librarySearch"));
    QVERIFY(search->hasFocus());
    QTest::keyClicks(search, QStringLiteral("golden compass"));
    QTest::keyClick(search, Qt::Key_Return);
    auto* passages = window.findChild<QListWidget*>(QStringLiteral("passageList"));
    UIO_TRY_VERIFY(passages->isVisible() && passages->count() > 0 &&
                   passages->item(0)->text().contains(QStringLiteral("p. 9")));
    QVERIFY2(passages->item(0)->text().contains(QStringLiteral("[golden] [compass]")),
             qPrintable(passages->item(0)->text()));
    auto* pane = window.findChild<QWidget*>(QStringLiteral("documentPane"));
    QVERIFY(!pane->isVisible());
    passages->setCurrentRow(0);
    Q_EMIT passages->itemActivated(passages->item(0));
    auto* where = window.findChild<QLabel*>(QStringLiteral("documentWhere"));
    auto* image = window.findChild<QLabel*>(QStringLiteral("pageImage"));
    UIO_TRY_VERIFY(pane->isVisible() && image->isVisible() && where->text() == QStringLiteral("Page 9 of 12"));
    QVERIFY(uitest::screenshot(window, QStringLiteral("uio-desk-search-pane")));

    // A chat about it; the answer's sources name page 9.
    UIO_TRY_VERIFY(window.findChild<QLabel*>(QStringLiteral("modelLabel"))->text().contains(QStringLiteral("cpu")));
    auto* list = window.findChild<QListView*>(QStringLiteral("documentList"));
    search->clear();
    UIO_TRY_COMPARE(list->model()->rowCount(), 1);
    list->setCurrentIndex(list->model()->index(0, 0));
    QSignalSpy chats(&library, &uio::app::LibraryService::chatCreated);
    QSignalSpy loaded(&library, &uio::app::LibraryService::messagesLoaded);
    QTest::keyClick(&window, Qt::Key_N, Qt::ControlModifier);
    UIO_TRY_COMPARE(chats.count(), 1);
    UIO_TRY_VERIFY(loaded.count() > 0);  // the new chat is the current one
    auto* input = window.findChild<QPlainTextEdit*>(QStringLiteral("questionInput"));
    input->setPlainText(QStringLiteral("Where did Zoë keep the golden compass?"));
    QTest::keyClick(input, Qt::Key_Return, Qt::ControlModifier);
    auto* transcript = window.findChild<QTextBrowser*>(QStringLiteral("transcript"));
    auto* notice = window.findChild<QLabel*>(QStringLiteral("chatNotice"));
    UIO_TRY_VERIFY2(transcript->toPlainText().contains(QStringLiteral("Sources: The Voyage p. 9")),
                    qPrintable(transcript->toPlainText() + QStringLiteral(" | ") + notice->text()));
    QVERIFY2(notice->text().contains(QStringLiteral("passage")), qPrintable(notice->text()));

    // Clicking the source: page 9 drawn, with the passage's words marked.
    pane->hide();
    QVERIFY(clickFirstSource(transcript));
    UIO_TRY_VERIFY(pane->isVisible() && image->isVisible() && where->text() == QStringLiteral("Page 9 of 12"));
    QVERIFY(!image->pixmap().isNull());
    auto* documentPane = qobject_cast<uio::ui::DocumentPane*>(pane);
    QVERIFY(documentPane->showsDrawnPage());
    QCOMPARE(documentPane->page(), 9);
    QVERIFY2(documentPane->markedBoxes() >= 10, qPrintable(QString::number(documentPane->markedBoxes())));
    QVERIFY(uitest::screenshot(window, QStringLiteral("uio-desk-source-pane")));
    // The page's own text holds the sentence the source quoted.
    auto* text = window.findChild<QTextBrowser*>(QStringLiteral("documentText"));
    QVERIFY(text->toPlainText().contains(kNeedle));
    QVERIFY2(text->extraSelections().value(0).cursor.selectedText().contains(QStringLiteral("golden compass")),
             qPrintable(text->extraSelections().value(0).cursor.selectedText()));

    // The next page, then the document from the library at its start.
    window.findChild<QToolButton*>(QStringLiteral("nextPage"))->click();
    UIO_TRY_COMPARE(where->text(), QStringLiteral("Page 10 of 12"));
    window.findChild<QToolButton*>(QStringLiteral("closeDocument"))->click();
    QVERIFY(!pane->isVisible());
    const QRect row = list->visualRect(list->model()->index(0, 0));
    QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, row.center());  // a double click starts with a press
    QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, row.center());
    UIO_TRY_VERIFY2(pane->isVisible() && where->text() == QStringLiteral("Page 1 of 12"), qPrintable(where->text()));
    QCOMPARE(window.findChild<QLabel*>(QStringLiteral("documentTitle"))->text(), QStringLiteral("The Voyage"));
    Q_UNUSED(id);
}

QTEST_MAIN(TestSources)
#include "test_sources.moc"
