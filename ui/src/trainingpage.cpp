#include "trainingpage.h"

#include "finetunewizard.h"
#include "uio/common/units.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>
#include <QValueAxis>

#include <cmath>

namespace uio::ui {

namespace {

// A chart of one series against the step, its axes kept for rescaling as points arrive.
QChartView* chartOf(QLineSeries* series, const QString& title, QValueAxis** steps, QValueAxis** values,
                    QWidget* parent) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->hide();
    chart->addSeries(series);
    *steps = new QValueAxis(chart);
    (*steps)->setLabelFormat(QStringLiteral("%d"));
    (*steps)->setTitleText(QObject::tr("step"));
    *values = new QValueAxis(chart);
    chart->addAxis(*steps, Qt::AlignBottom);
    chart->addAxis(*values, Qt::AlignLeft);
    series->attachAxis(*steps);
    series->attachAxis(*values);
    auto* view = new QChartView(chart, parent);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumHeight(180);
    return view;
}

// Widens `seen` (lowest, highest) by value and shows it with a margin.
void extend(QValueAxis* axis, std::pair<double, double>& seen, double value) {
    if (!std::isfinite(value))
        return;
    seen = {std::min(seen.first, value), std::max(seen.second, value)};
    const double margin = std::max(1e-3, 0.05 * (seen.second - seen.first));
    axis->setRange(std::max(0.0, seen.first - margin), seen.second + margin);
}

}  // namespace

TrainingPage::TrainingPage(FineTuneWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
    setTitle(tr("Training"));
    setSubTitle(
        tr("Questions and compression wait while the adapter trains. Pausing keeps a checkpoint; so does "
           "closing this window."));
    m_loss = new QLineSeries(this);
    m_loss->setName(tr("Training loss"));
    m_perplexity = new QLineSeries(this);
    m_perplexity->setName(tr("Held-out perplexity with memories"));
    m_perplexity->setPointsVisible(true);  // a few evaluations: each one shows
    auto* lossView = chartOf(m_loss, tr("Training loss"), &m_lossSteps, &m_lossValues, this);
    lossView->setObjectName(QStringLiteral("lossChart"));
    auto* perplexityView =
        chartOf(m_perplexity, tr("Held-out perplexity with memories"), &m_perplexitySteps, &m_perplexityValues, this);
    perplexityView->setObjectName(QStringLiteral("perplexityChart"));

    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("trainingStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_speed = new QLabel(this);
    m_speed->setObjectName(QStringLiteral("trainingSpeed"));
    m_pause = new QPushButton(tr("&Pause"), this);
    m_pause->setObjectName(QStringLiteral("pauseTraining"));
    m_cancel = new QPushButton(tr("&Cancel run"), this);
    m_cancel->setObjectName(QStringLiteral("cancelTraining"));

    connect(m_pause, &QPushButton::clicked, this, [this] {
        if (m_wizard->training()) {
            m_pause->setEnabled(false);
            m_status->setText(tr("Pausing after this step…"));
            m_wizard->model().pauseFineTune();
        } else {
            setRunning(true);
            if (m_runId > 0)
                m_wizard->model().resumeFineTune(m_runId);
            else
                m_wizard->model().startFineTune(m_wizard->settings());  // it failed before it began
        }
    });
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        const auto answer = QMessageBox::question(
            this, tr("Cancel the run"),
            tr("Stop training and delete this run's checkpoints? What it learned so far is lost."),
            QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
        if (answer == QMessageBox::Yes && m_runId > 0)
            m_wizard->model().cancelFineTune(m_runId);
    });

    app::ModelService& model = wizard->model();
    connect(&model, &app::ModelService::fineTuneStarted, this, [this](qint64 id) {
        if (m_runId == 0 && m_wizard->training())
            m_runId = id;
    });
    connect(&model, &app::ModelService::fineTuneProgress, this, [this](const app::FineTuneProgress& p) {
        if (p.runId == m_runId)
            show(p);
    });
    connect(&model, &app::ModelService::fineTunePaused, this, [this](qint64 id) {
        if (id != m_runId)
            return;
        setRunning(false);
        m_status->setText(tr("Paused at a checkpoint. Resume continues exactly where it stopped."));
    });
    connect(&model, &app::ModelService::fineTuneFailed, this, [this](qint64 id, const QString& message) {
        if (!m_wizard->training() || (id != m_runId && id != 0))
            return;
        setRunning(false);
        m_pause->setText(tr("&Try again"));
        m_status->setText(tr("Training stopped: %1").arg(message));
    });
    connect(&model, &app::ModelService::fineTuneCancelled, this, [this](qint64 id) {
        if (id != m_runId)
            return;
        m_wizard->setTraining(false);
        m_wizard->QWizard::reject();
    });
    connect(&model, &app::ModelService::fineTuneFinished, this, [this](const app::FineTuneResult& result) {
        if (result.runId != m_runId)
            return;
        m_wizard->setTraining(false);
        m_wizard->setResult(result);
        m_finished = true;
        m_pause->setEnabled(false);
        m_cancel->setEnabled(false);
        m_speed->setText(m_speed->text().section(QStringLiteral(" · "), 0, 1));  // no time left to show
        m_status->setText(
            tr("Done: the adapter is saved as “%1”. Next shows how it compares.").arg(result.adapterName));
        Q_EMIT completeChanged();
    });

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_speed, 1);
    buttons->addWidget(m_pause);
    buttons->addWidget(m_cancel);
    auto* charts = new QHBoxLayout;
    charts->addWidget(lossView);
    charts->addWidget(perplexityView);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(charts, 1);
    layout->addWidget(m_status);
    layout->addLayout(buttons);
}

void TrainingPage::initializePage() {
    const app::FineTuneSettings& s = m_wizard->settings();
    m_lossSteps->setRange(0, std::max(1, s.steps));
    m_perplexitySteps->setRange(0, std::max(1, s.steps));
    m_lossSeen = m_perplexitySeen = {HUGE_VAL, -HUGE_VAL};  // widened by the first points
    setRunning(true);
    if (const app::FineTuneRun* run = m_wizard->resumedRun()) {
        m_runId = run->id;
        for (const app::FineTuneProgress& p : run->history)
            show(p);
        m_status->setText(tr("Resuming “%1” at step %2 of %3…").arg(s.name).arg(run->step).arg(s.steps));
        m_wizard->model().resumeFineTune(run->id);
    } else {
        m_status->setText(tr("Reading the corpus and measuring the adapter before training…"));
        m_wizard->model().startFineTune(s);
    }
}

void TrainingPage::setRunning(bool running) {
    m_wizard->setTraining(running);
    m_pause->setEnabled(true);
    m_pause->setText(running ? tr("&Pause") : tr("&Resume"));
}

void TrainingPage::show(const app::FineTuneProgress& p) {
    if (p.evaluation) {
        m_perplexity->append(static_cast<double>(p.step), p.perplexityWithMemory);
        extend(m_perplexityValues, m_perplexitySeen, p.perplexityWithMemory);
        if (p.perplexityWithoutMemory > 0) {
            m_status->setText(tr("Step %1 of %2. Held-out perplexity %3 with memories, %4 for each segment alone.")
                                  .arg(p.step)
                                  .arg(p.steps)
                                  .arg(p.perplexityWithMemory, 0, 'f', 2)
                                  .arg(p.perplexityWithoutMemory, 0, 'f', 2));
        }
        return;
    }
    m_loss->append(static_cast<double>(p.step), p.loss);
    extend(m_lossValues, m_lossSeen, p.loss);
    if (p.tokensPerSecond > 0) {
        m_speed->setText(tr("Step %1 of %2 · %3 tokens/s · %4 left · %5 in use")
                             .arg(p.step)
                             .arg(p.steps)
                             .arg(qRound(p.tokensPerSecond))
                             .arg(duration(p.etaSeconds), byteSize(p.memoryBytes)));
    }
}

bool TrainingPage::isComplete() const {
    return m_finished;
}

ResultPage::ResultPage(FineTuneWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
    setTitle(tr("Result"));
    setSubTitle(
        tr("Perplexity on the held-out text: lower is better. “With memories” is how the adapter is used; "
           "“each segment alone” is the base model without them."));
    setFinalPage(true);
    m_table = new QLabel(this);
    m_table->setObjectName(QStringLiteral("resultTable"));
    m_table->setTextFormat(Qt::RichText);
    m_name = new QLineEdit(this);
    m_name->setObjectName(QStringLiteral("adapterName"));
    m_name->setAccessibleName(tr("Name of the new adapter"));
    m_makeActive = new QCheckBox(tr("Use it for questions from now on"), this);
    m_makeActive->setObjectName(QStringLiteral("makeActive"));
    m_makeActive->setChecked(true);
    m_recompress = new QCheckBox(tr("Compress the library again with it (the old memory stays until you remove it "
                                    "in Settings)"),
                                 this);
    m_recompress->setObjectName(QStringLiteral("recompress"));
    connect(m_makeActive, &QCheckBox::toggled, m_recompress, &QCheckBox::setEnabled);
    connect(m_name, &QLineEdit::textChanged, this, &QWizardPage::completeChanged);
    auto* form = new QFormLayout;
    form->addRow(tr("&Name:"), m_name);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_table);
    layout->addLayout(form);
    layout->addWidget(m_makeActive);
    layout->addWidget(m_recompress);
    layout->addStretch();
}

void ResultPage::initializePage() {
    const app::FineTuneResult& r = m_wizard->result();
    auto cell = [](double value) { return value > 0 ? QString::number(value, 'f', 2) : QStringLiteral("–"); };
    m_table->setText(tr("<table cellpadding='4'><tr><th></th><th>Before</th><th>After</th></tr>"
                        "<tr><td>With memories</td><td align='right'>%1</td><td align='right'><b>%2</b></td></tr>"
                        "<tr><td>Each segment alone</td><td align='right'>%3</td><td align='right'>%4</td></tr>"
                        "</table>")
                         .arg(cell(r.before), cell(r.after), cell(r.beforeWithoutMemory), cell(r.afterWithoutMemory)));
    m_name->setText(r.adapterName);
}

bool ResultPage::validatePage() {
    const QString name = m_name->text().trimmed();
    Q_EMIT m_wizard->adapterReady(m_wizard->result(), name.isEmpty() ? m_wizard->result().adapterName : name,
                                  m_makeActive->isChecked(), m_recompress->isChecked() && m_makeActive->isChecked());
    return true;
}

}  // namespace uio::ui
