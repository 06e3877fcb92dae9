// desk_driver: uio-desk's main window and services, driven as a person would, for scripts/soak.sh
// (not a ctest test). The process is meant to be killed in the middle of an answer.
//   desk_driver ask MODEL_DIR ADAPTER DB QUESTION    a new chat on document 1, the question sent with
//                                                    Ctrl+Enter; prints "piece N" as the answer streams
//   desk_driver check MODEL_DIR ADAPTER DB QUESTION  the window opened again: the last chat shows the
//                                                    question and an answer marked unfinished ("…")
// Exit status 0 when the step did what it says; 1 with the reason on stderr otherwise.

#include "uio/app/libraryservice.h"
#include "uio/app/modelservice.h"
#include "uio/model/runtime.h"
#include "uio/ui/mainwindow.h"

#include <QApplication>
#include <QLabel>
#include <QListView>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTest>
#include <QTextBrowser>

#include <cstdio>

namespace {

constexpr int kPatienceMs = 10 * 60 * 1000;

int fail(const char* why) {
    std::fprintf(stderr, "desk_driver: %s\n", why);
    return 1;
}

}  // namespace

int main(int argc, char* argv[]) {
    QApplication application(argc, argv);
    const QStringList args = QApplication::arguments();
    if (args.size() != 6 || (args[1] != QLatin1String("ask") && args[1] != QLatin1String("check")))
        return fail("usage: desk_driver ask|check MODEL_DIR ADAPTER DB QUESTION");
    uio::model::set_cpu_threads(0);
    uio::app::ModelSettings settings;
    settings.modelDir = args[2];
    settings.adapterPath = args[3];
    settings.databasePath = args[4];
    const QString question = args[5];
    uio::app::AskSettings ask;
    ask.temperature = 0.0;         // greedy: the tiny random model repeats itself and never ends
    ask.maxNewTokens = 1'000'000;  // so the answer is still streaming when the process is killed

    uio::app::LibraryService library(settings.databasePath);
    uio::app::ModelService model;
    uio::ui::MainWindow window(library, model, settings, ask);
    window.show();
    if (!QTest::qWaitForWindowExposed(&window, kPatienceMs))
        return fail("the window was not shown");
    auto* chats = window.findChild<QListWidget*>(QStringLiteral("chatList"));
    auto* transcript = window.findChild<QTextBrowser*>(QStringLiteral("transcript"));

    if (args[1] == QLatin1String("check")) {
        if (!QTest::qWaitFor([&] { return chats->count() > 0; }, kPatienceMs))
            return fail("no chat in the library");
        chats->setCurrentRow(0);  // most recently updated first
        const QString unfinished = question + QStringLiteral("\n");
        if (!QTest::qWaitFor([&] { return transcript->toPlainText().contains(question); }, kPatienceMs))
            return fail("the question is not in the reopened chat");
        const QString text = transcript->toPlainText();
        if (!text.trimmed().endsWith(QStringLiteral(" …")))
            return fail("the answer is not shown as unfinished");
        if (text.size() < unfinished.size() + 20)
            return fail("the partial answer is not there");
        std::printf("ok: %lld characters, answer unfinished\n", static_cast<long long>(text.size()));
        return 0;
    }

    auto* modelLabel = window.findChild<QLabel*>(QStringLiteral("modelLabel"));
    auto* list = window.findChild<QListView*>(QStringLiteral("documentList"));
    if (!QTest::qWaitFor(
            [&] { return modelLabel->text().contains(QStringLiteral("cpu")) && list->model()->rowCount() > 0; },
            kPatienceMs)) {
        return fail("the model or the library did not come up");
    }
    list->setCurrentIndex(list->model()->index(0, 0));
    const int before = chats->count();
    QTest::mouseClick(window.findChild<QPushButton*>(QStringLiteral("newChatButton")), Qt::LeftButton);
    if (!QTest::qWaitFor([&] { return chats->count() > before; }, kPatienceMs))
        return fail("New chat made no chat");
    int pieces = 0;
    QObject::connect(&model, &uio::app::ModelService::answerText, [&pieces] {
        std::printf("piece %d\n", ++pieces);
        std::fflush(stdout);
    });
    auto* input = window.findChild<QPlainTextEdit*>(QStringLiteral("questionInput"));
    input->setPlainText(question);
    QTest::keyClick(input, Qt::Key_Return, Qt::ControlModifier);
    return QApplication::exec();  // until killed
}
