#include "finetunewizard.h"

#include "finetunepages.h"
#include "trainingpage.h"

#include <QDateTime>
#include <QMessageBox>

namespace uio::ui {

FineTuneWizard::FineTuneWizard(app::ModelService& model, const QList<app::DocumentRow>& documents,
                               const QString& activeAdapter, QWidget* parent)
    : QWizard(parent), m_model(model), m_documents(documents), m_activeAdapter(activeAdapter) {
    m_settings.name =
        tr("Fine-tuned %1").arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd HH:mm")));
    app::applyPreset(m_settings, app::FineTunePreset::Standard);
    addPages();
}

FineTuneWizard::FineTuneWizard(app::ModelService& model, const app::FineTuneRun& run, QWidget* parent)
    : QWizard(parent), m_model(model), m_settings(run.settings), m_run(run), m_resumed(true) {
    addPages();
    setStartId(TrainingPageId);
}

void FineTuneWizard::addPages() {
    setWindowTitle(tr("Fine-tune the adapter"));
    setObjectName(QStringLiteral("fineTuneWizard"));
    setWizardStyle(QWizard::ModernStyle);
    setOption(QWizard::NoBackButtonOnLastPage);
    setPage(CorpusPageId, new CorpusPage(this));
    setPage(StartPageId, new StartPage(this));
    setPage(SettingsPageId, new SettingsPage(this));
    setPage(TrainingPageId, new TrainingPage(this));
    setPage(ResultPageId, new ResultPage(this));
    resize(760, 600);
}

void FineTuneWizard::reject() {
    if (m_training) {
        const auto answer = QMessageBox::question(
            this, tr("Training is running"),
            tr("Pause the training and close? It stops at the next step and keeps a checkpoint; UIO Desk offers "
               "to resume it the next time it starts."),
            QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes);
        if (answer != QMessageBox::Yes)
            return;
        m_model.pauseFineTune();
    }
    QWizard::reject();
}

}  // namespace uio::ui
