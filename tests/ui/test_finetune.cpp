// The fine-tuning wizard on the offscreen platform with real services, a tiny generated model
// and a library of real text documents: a run from the menu to a registered, active adapter;
// invalid choices explained and blocking; a run closed mid-way offered again at the next start,
// resumed from its checkpoint and finished; a cancelled run gone. Every page is saved as a
// screenshot for review.

#include "patience.h"
#include "uio/app/libraryservice.h"
#include "uio/ui/mainwindow.h"
#include "uitest.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QChartView>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QListView>
#include <QListWidget>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QWizard>

using uio::app::FineTuneRun;
using uio::app::ModelService;

namespace {

// Sentences of a small vocabulary: text the tiny tokenizer cuts into many tokens.
QString generatedText(int sentences, int seed) {
    const QStringList words{QStringLiteral("river"),  QStringLiteral("stone"),  QStringLiteral("lamp"),
                            QStringLiteral("garden"), QStringLiteral("winter"), QStringLiteral("letter"),
                            QStringLiteral("quiet"),  QStringLiteral("window"), QStringLiteral("north"),
                            QStringLiteral("bread")};
    QString text;
    quint32 state = static_cast<quint32>(seed) * 2654435761u + 1;
    for (int s = 0; s < sentences; ++s) {
        for (int w = 0; w < 9; ++w) {
            state = state * 1664525u + 1013904223u;
            text += words[static_cast<int>((state >> 16) % static_cast<quint32>(words.size()))] + QLatin1Char(' ');
        }
        text += QStringLiteral("end.\n");
    }
    return text;
}

// Clicks `button` of the next message box that opens, from inside its own event loop: looks for
// it on every turn of the loop until it is there, however late that is.
void answerNextMessageBox(QMessageBox::StandardButton button) {
    auto* poll = new QTimer;
    QObject::connect(poll, &QTimer::timeout, [poll, button] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            poll->stop();
            poll->deleteLater();
            box->button(button)->click();
        }
    });
    poll->start(10);
}

}  // namespace

class TestFineTune : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void wizardTrainsAndRegistersAnAdapter();
    void closedRunIsResumedAtTheNextStart();
    void cancelledRunIsGone();

private:
    // A main window over the library with the tiny model loaded.
    struct Desk {
        uio::app::LibraryService library;
        ModelService model;
        QSignalSpy ready{&model, &ModelService::modelReady};  // before the window starts loading
        uio::ui::MainWindow window;
        Desk(const QString& db, const uio::app::ModelSettings& settings)
            : library(db), window(library, model, settings) {}
    };
    std::unique_ptr<Desk> openDesk();
    QWizard* openWizard(Desk& desk);
    // The wizard on its settings page with the long document as the corpus and `steps` steps of
    // two-segment samples, ready to start; nullptr when a page did not get there.
    QWizard* readyToTrain(Desk& desk, int steps);
    // Ticks the library document whose title starts with `title` (and unticks the others).
    static void tickOnly(QWizard* wizard, const QString& title);
    static void setSteps(QWizard* wizard, int steps, int segments);

    QTemporaryDir m_dir;
    uio::app::ModelSettings m_settings;
};

void TestFineTune::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_settings = uitest::makeTinyModel(m_dir.path());  // adapter: segment length 64, 8 memory tokens
    uio::app::LibraryService library(m_settings.databasePath);
    QSignalSpy added(&library, &uio::app::LibraryService::documentAdded);
    QStringList files;
    for (const auto& [name, sentences] : {std::pair{QStringLiteral("Long notes"), 220}, {QStringLiteral("Short"), 1}}) {
        const QString path = m_dir.filePath(name + QStringLiteral(".txt"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(generatedText(sentences, sentences).toUtf8());
        files << path;
    }
    library.addFiles(files);
    UIO_TRY_COMPARE(added.count(), 2);
}

std::unique_ptr<TestFineTune::Desk> TestFineTune::openDesk() {
    auto desk = std::make_unique<Desk>(m_settings.databasePath, m_settings);
    desk->window.show();
    if (!QTest::qWaitForWindowExposed(&desk->window, uio::test::kPatienceMs) ||
        !QTest::qWaitFor([&] { return desk->ready.count() > 0; }, uio::test::kPatienceMs))
        return nullptr;
    return desk;
}

QWizard* TestFineTune::openWizard(Desk& desk) {
    // The wizard offers the library's documents and needs the loaded model: wait for both rows to
    // reach the window, and for the window itself to show the model loaded (its label says on what).
    auto* list = desk.window.findChild<QListView*>(QStringLiteral("documentList"));
    auto* modelLabel = desk.window.findChild<QLabel*>(QStringLiteral("modelLabel"));
    const auto ready = [&] {
        return list->model()->rowCount() >= 2 && modelLabel->text().contains(QStringLiteral("cpu"));
    };
    if (!list || !modelLabel || !QTest::qWaitFor(ready, uio::test::kPatienceMs))
        return nullptr;
    desk.window.findChild<QAction*>(QStringLiteral("fineTuneAction"))->trigger();
    auto* wizard = desk.window.findChild<QWizard*>(QStringLiteral("fineTuneWizard"));
    if (wizard && !QTest::qWaitForWindowExposed(wizard, uio::test::kPatienceMs))
        return nullptr;
    return wizard;
}

QWizard* TestFineTune::readyToTrain(Desk& desk, int steps) {
    QWizard* wizard = openWizard(desk);
    if (!wizard)
        return nullptr;
    tickOnly(wizard, QStringLiteral("Long notes"));
    if (!QTest::qWaitFor([&] { return wizard->button(QWizard::NextButton)->isEnabled(); }, uio::test::kPatienceMs))
        return nullptr;
    wizard->button(QWizard::NextButton)->click();
    wizard->button(QWizard::NextButton)->click();
    setSteps(wizard, steps, 2);
    if (!QTest::qWaitFor([&] { return wizard->button(QWizard::CommitButton)->isEnabled(); }, uio::test::kPatienceMs))
        return nullptr;
    return wizard;
}

void TestFineTune::tickOnly(QWizard* wizard, const QString& title) {
    auto* documents = wizard->findChild<QListWidget*>(QStringLiteral("corpusDocuments"));
    for (int i = 0; i < documents->count(); ++i) {
        QListWidgetItem* item = documents->item(i);
        item->setCheckState(item->text().startsWith(title) ? Qt::Checked : Qt::Unchecked);
    }
}

void TestFineTune::setSteps(QWizard* wizard, int steps, int segments) {
    auto* toggle = wizard->findChild<QToolButton*>(QStringLiteral("advancedToggle"));
    if (!toggle->isChecked())
        toggle->click();
    wizard->findChild<QSpinBox*>(QStringLiteral("segments"))->setValue(segments);
    wizard->findChild<QSpinBox*>(QStringLiteral("steps"))->setValue(steps);
}

void TestFineTune::wizardTrainsAndRegistersAnAdapter() {
    auto desk = openDesk();
    QVERIFY(desk);
    QWizard* wizard = openWizard(*desk);
    QVERIFY(wizard);
    QAbstractButton* next = wizard->button(QWizard::NextButton);

    // 1. Corpus: empty, then too short, then enough.
    auto* summary = wizard->findChild<QLabel*>(QStringLiteral("corpusSummary"));
    QVERIFY2(summary->text().contains(QStringLiteral("empty")), qPrintable(summary->text()));
    QVERIFY(!next->isEnabled());
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-1-corpus-empty")));
    tickOnly(wizard, QStringLiteral("Short"));
    UIO_TRY_VERIFY(summary->text().contains(QStringLiteral("less than two segments")));
    QVERIFY(!next->isEnabled());
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-1-corpus-short")));
    tickOnly(wizard, QStringLiteral("Long notes"));
    UIO_TRY_VERIFY(summary->text().contains(QStringLiteral("held out")));
    QVERIFY2(next->isEnabled(), qPrintable(summary->text()));
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-1-corpus")));

    // 2. Starting point: the active adapter.
    next->click();
    QCOMPARE(wizard->currentId(), 1);
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-2-start")));

    // 3. Settings: zero steps and a sample longer than the corpus are refused, with why.
    next->click();
    QCOMPARE(wizard->currentId(), 2);
    QAbstractButton* commit = wizard->button(QWizard::CommitButton);
    auto* problem = wizard->findChild<QLabel*>(QStringLiteral("settingsProblem"));
    setSteps(wizard, 0, 2);
    UIO_TRY_VERIFY(problem->text().contains(QStringLiteral("at least one step")));
    QVERIFY(!commit->isEnabled());
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-3-settings-zero-steps")));
    setSteps(wizard, 200, 256);
    UIO_TRY_VERIFY(problem->text().contains(QStringLiteral("needs two")));
    QVERIFY(!commit->isEnabled());
    setSteps(wizard, 200, 2);
    // In bf16 while the model is loaded in f32: loaded for the run in bf16, and back after.
    auto* precision = wizard->findChild<QComboBox*>(QStringLiteral("trainingPrecision"));
    precision->setCurrentIndex(precision->findData(QStringLiteral("bf16")));
    auto* estimate = wizard->findChild<QLabel*>(QStringLiteral("estimate"));
    UIO_TRY_VERIFY(commit->isEnabled() && estimate->text().contains(QStringLiteral("cpu, bf16")));
    QVERIFY(problem->text().isEmpty());
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-3-settings")));

    // 4. Training: the loss is drawn as it comes; pause and resume on the way.
    QSignalSpy progress(&desk->model, &ModelService::fineTuneProgress);
    QSignalSpy paused(&desk->model, &ModelService::fineTunePaused);
    QSignalSpy finished(&desk->model, &ModelService::fineTuneFinished);
    QSignalSpy loaded(&desk->model, &ModelService::modelReady);
    commit->click();
    QCOMPARE(wizard->currentId(), 3);
    auto* pause = wizard->findChild<QPushButton*>(QStringLiteral("pauseTraining"));
    auto* status = wizard->findChild<QLabel*>(QStringLiteral("trainingStatus"));
    UIO_TRY_VERIFY2(progress.count() >= 3, qPrintable(status->text()));
    pause->click();
    UIO_TRY_VERIFY(paused.count() > 0);
    QVERIFY(finished.isEmpty());
    UIO_TRY_VERIFY(pause->text().contains(QStringLiteral("Resume")));
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-4-training-paused")));
    pause->click();
    UIO_TRY_COMPARE(finished.count(), 1);
    UIO_TRY_COMPARE(loaded.count(), 4);  // bf16 for the run, f32 at the pause, and again for the rest
    QVERIFY2(loaded.first().first().toString().contains(QStringLiteral("bf16")),
             qPrintable(loaded.first().first().toString()));
    QVERIFY2(loaded.last().first().toString().contains(QStringLiteral("f32")),
             qPrintable(loaded.last().first().toString()));
    auto* loss = wizard->findChild<QChartView*>(QStringLiteral("lossChart"));
    const auto* series = qobject_cast<QLineSeries*>(loss->chart()->series().value(0));
    QCOMPARE(series->count(), 200);  // one point per step, none twice across the pause
    UIO_TRY_VERIFY(wizard->button(QWizard::NextButton)->isEnabled());
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-4-training")));

    // 5. Result: before and after; renamed, made active, and offered in the setup.
    wizard->button(QWizard::NextButton)->click();
    QCOMPARE(wizard->currentId(), 4);
    const auto result = finished.first().first().value<uio::app::FineTuneResult>();
    QVERIFY(QFileInfo::exists(result.adapterPath));
    QVERIFY(result.before > 0 && result.after > 0);
    QVERIFY(wizard->findChild<QLabel*>(QStringLiteral("resultTable"))->text().contains(QStringLiteral("Before")));
    QVERIFY(uitest::screenshot(*wizard, QStringLiteral("finetune-5-result")));
    wizard->findChild<QLineEdit*>(QStringLiteral("adapterName"))->setText(QStringLiteral("My notes"));
    QSignalSpy settingsChanged(&desk->window, &uio::ui::MainWindow::settingsChanged);
    QSignalSpy reloaded(&desk->model, &ModelService::modelReady);
    wizard->button(QWizard::FinishButton)->click();
    UIO_TRY_VERIFY(reloaded.count() > 0);
    QCOMPARE(settingsChanged.count(), 1);
    QCOMPARE(settingsChanged.first().first().value<uio::app::ModelSettings>().adapterPath, result.adapterPath);
    QSignalSpy listed(&desk->library, &uio::app::LibraryService::adaptersListed);
    desk->library.listAdapters();
    UIO_TRY_VERIFY(listed.count() > 0);
    const auto adapters = listed.last().first().value<QList<uio::app::AdapterRow>>();
    QVERIFY(std::any_of(adapters.begin(), adapters.end(), [&](const uio::app::AdapterRow& a) {
        return a.name == QStringLiteral("My notes") && a.path == result.adapterPath;
    }));
}

void TestFineTune::closedRunIsResumedAtTheNextStart() {
    qint64 stoppedAt = 0;
    {
        auto desk = openDesk();
        QVERIFY(desk);
        // Closed, the wizard deletes itself: it is watched through a QPointer.
        const QPointer<QWizard> wizard = readyToTrain(*desk, 60);  // a checkpoint every 3 steps
        QVERIFY(wizard);
        QSignalSpy progress(&desk->model, &ModelService::fineTuneProgress);
        QSignalSpy paused(&desk->model, &ModelService::fineTunePaused);
        wizard->button(QWizard::CommitButton)->click();
        UIO_TRY_VERIFY(progress.count() >= 8);
        answerNextMessageBox(QMessageBox::Yes);  // "Pause the training and close?"
        wizard->reject();
        UIO_TRY_VERIFY(paused.count() > 0);
        QVERIFY(!wizard || !wizard->isVisible());
        stoppedAt = progress.last().first().value<uio::app::FineTuneProgress>().step;
    }  // the program closes

    auto desk = openDesk();  // and starts again: the run is offered
    QVERIFY(desk);
    QMessageBox* offer = nullptr;
    UIO_TRY_VERIFY(offer = desk->window.findChild<QMessageBox*>(QStringLiteral("resumeRunBox")));
    QVERIFY2(offer->text().contains(QStringLiteral("stopped at step")), qPrintable(offer->text()));
    QVERIFY(uitest::screenshot(*offer, QStringLiteral("finetune-resume-offer")));
    QSignalSpy progress(&desk->model, &ModelService::fineTuneProgress);
    QSignalSpy finished(&desk->model, &ModelService::fineTuneFinished);
    for (QAbstractButton* button : offer->buttons()) {
        if (button->text().contains(QStringLiteral("Resume")))
            button->click();
    }
    auto* wizard = desk->window.findChild<QWizard*>(QStringLiteral("fineTuneWizard"));
    QVERIFY(wizard);
    QCOMPARE(wizard->currentId(), 3);
    // The chart shows the steps before the stop at once.
    const auto* series = qobject_cast<QLineSeries*>(
        wizard->findChild<QChartView*>(QStringLiteral("lossChart"))->chart()->series().value(0));
    QVERIFY(series->count() >= stoppedAt);
    UIO_TRY_COMPARE(finished.count(), 1);
    // It went on from its last checkpoint, not from the start.
    const auto first = progress.first().first().value<uio::app::FineTuneProgress>();
    QVERIFY2(first.step > 0 && first.step <= stoppedAt, qPrintable(QString::number(first.step)));
    UIO_TRY_VERIFY(wizard->button(QWizard::NextButton)->isEnabled());
    wizard->button(QWizard::NextButton)->click();
    QCOMPARE(wizard->currentId(), 4);
    wizard->button(QWizard::FinishButton)->click();
}

void TestFineTune::cancelledRunIsGone() {
    auto desk = openDesk();
    QVERIFY(desk);
    const QPointer<QWizard> wizard = readyToTrain(*desk, 200);  // closed, it deletes itself
    QVERIFY(wizard);
    QSignalSpy progress(&desk->model, &ModelService::fineTuneProgress);
    QSignalSpy cancelled(&desk->model, &ModelService::fineTuneCancelled);
    wizard->button(QWizard::CommitButton)->click();
    UIO_TRY_VERIFY(progress.count() >= 2);
    answerNextMessageBox(QMessageBox::Yes);  // "delete this run's checkpoints?"
    wizard->findChild<QPushButton*>(QStringLiteral("cancelTraining"))->click();
    UIO_TRY_VERIFY(cancelled.count() > 0);
    UIO_TRY_VERIFY(!wizard || !wizard->isVisible());
    QSignalSpy listed(&desk->model, &ModelService::fineTuneRunsListed);
    desk->model.listFineTuneRuns();
    UIO_TRY_VERIFY(listed.count() > 0);
    QVERIFY(listed.first().first().value<QList<FineTuneRun>>().isEmpty());
}

QTEST_MAIN(TestFineTune)
#include "test_finetune.moc"
