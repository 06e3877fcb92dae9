// Fine-tuning the adapter on the user's own documents, step by step: the corpus, the starting
// adapter, the settings with an estimate of time, memory and disk, the training with live
// charts, the result. The run itself trains on the model thread (ModelService); closing the
// wizard mid-run pauses it at a checkpoint, and the main window offers it again at the next start.
#pragma once

#include "uio/app/finetune.h"
#include "uio/app/libraryservice.h"
#include "uio/app/modelservice.h"

#include <QWizard>

namespace uio::ui {

class FineTuneWizard : public QWizard {
    Q_OBJECT

public:
    enum PageId { CorpusPageId, StartPageId, SettingsPageId, TrainingPageId, ResultPageId };

    // documents: the library's; activeAdapter: the file of the adapter in use.
    FineTuneWizard(app::ModelService& model, const QList<app::DocumentRow>& documents, const QString& activeAdapter,
                   QWidget* parent = nullptr);
    // Opens on the training page and continues `run` from its last checkpoint.
    FineTuneWizard(app::ModelService& model, const app::FineTuneRun& run, QWidget* parent = nullptr);

    app::ModelService& model() { return m_model; }
    app::FineTuneSettings& settings() { return m_settings; }
    const QList<app::DocumentRow>& documents() const { return m_documents; }
    QString activeAdapter() const { return m_activeAdapter; }
    const app::FineTuneRun* resumedRun() const { return m_resumed ? &m_run : nullptr; }
    bool training() const { return m_training; }
    void setTraining(bool training) { m_training = training; }
    void setResult(const app::FineTuneResult& result) { m_result = result; }
    const app::FineTuneResult& result() const { return m_result; }

Q_SIGNALS:
    // From the result page, on Finish: the trained adapter, what the user named it, and whether
    // to make it the active one and compress the library again with it.
    void adapterReady(const uio::app::FineTuneResult& result, const QString& name, bool makeActive, bool recompress);

public Q_SLOTS:
    void reject() override;  // mid-run: the run pauses at a checkpoint instead of being lost

private:
    void addPages();

    app::ModelService& m_model;
    app::FineTuneSettings m_settings;
    QList<app::DocumentRow> m_documents;
    QString m_activeAdapter;
    app::FineTuneRun m_run;
    bool m_resumed = false;
    bool m_training = false;
    app::FineTuneResult m_result;
};

}  // namespace uio::ui
