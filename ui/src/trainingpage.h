// The wizard's last two pages: the run as it trains (loss and held-out perplexity drawn as they
// come, speed, time left, memory; pause, resume, cancel), and its result (perplexity before and
// after, with and without memories; a name; whether to use it now).
#pragma once

#include "uio/app/finetune.h"

#include <QWizardPage>

#include <utility>

class QCheckBox;
class QLabel;
class QLineEdit;
class QLineSeries;
class QPushButton;
class QValueAxis;

namespace uio::ui {

class FineTuneWizard;

class TrainingPage : public QWizardPage {
    Q_OBJECT

public:
    explicit TrainingPage(FineTuneWizard* wizard);
    void initializePage() override;
    bool isComplete() const override;

private:
    void show(const app::FineTuneProgress& p);
    void setRunning(bool running);

    FineTuneWizard* m_wizard;
    qint64 m_runId = 0;
    bool m_finished = false;
    QLineSeries* m_loss;
    QLineSeries* m_perplexity;
    QValueAxis* m_lossSteps;
    QValueAxis* m_lossValues;
    QValueAxis* m_perplexitySteps;
    QValueAxis* m_perplexityValues;
    std::pair<double, double> m_lossSeen, m_perplexitySeen;  // lowest and highest so far
    QLabel* m_status;
    QLabel* m_speed;
    QPushButton* m_pause;
    QPushButton* m_cancel;
};

class ResultPage : public QWizardPage {
    Q_OBJECT

public:
    explicit ResultPage(FineTuneWizard* wizard);
    void initializePage() override;
    bool validatePage() override;

private:
    FineTuneWizard* m_wizard;
    QLabel* m_table;
    QLineEdit* m_name;
    QCheckBox* m_makeActive;
    QCheckBox* m_recompress;
};

}  // namespace uio::ui
