// The wizard's first three pages: what to train on, where to start from, and how long. Each
// explains on the page what is missing or wrong and keeps Next disabled until it is fixed.
#pragma once

#include "uio/app/finetune.h"

#include <QWizardPage>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QTimer;
class QToolButton;
class QWidget;

namespace uio::ui {

class FineTuneWizard;

// Library documents (ticked) and files or folders added from disk; the token count, the number
// of samples and the held-out share come from the model thread, which reads and tokenises them.
class CorpusPage : public QWizardPage {
    Q_OBJECT

public:
    explicit CorpusPage(FineTuneWizard* wizard);
    void initializePage() override;
    bool isComplete() const override;

private:
    void corpusChanged();
    void showCount();

    FineTuneWizard* m_wizard;
    QListWidget* m_documents;
    QListWidget* m_files;
    QPushButton* m_removeFile;
    QLabel* m_summary;
    QTimer* m_recount;
    int m_pending = 0;  // counts asked for and not yet answered
    app::CorpusCount m_count;
    bool m_counted = false;
};

// The active adapter, another adapter file, or a fresh one of a chosen shape.
class StartPage : public QWizardPage {
    Q_OBJECT

public:
    explicit StartPage(FineTuneWizard* wizard);
    bool isComplete() const override;
    bool validatePage() override;

private:
    QString problem() const;

    FineTuneWizard* m_wizard;
    QRadioButton* m_active;
    QRadioButton* m_file;
    QRadioButton* m_fresh;
    QLineEdit* m_path;
    QWidget* m_shape;
    QSpinBox* m_segmentLength;
    QSpinBox* m_memoryTokens;
    QSpinBox* m_rank;
    QDoubleSpinBox* m_alpha;
    QLabel* m_problem;
};

// Presets and the advanced settings, with the corpus in samples and an estimate of the run.
class SettingsPage : public QWizardPage {
    Q_OBJECT

public:
    explicit SettingsPage(FineTuneWizard* wizard);
    void initializePage() override;
    bool isComplete() const override;

private:
    void readSettings();
    void showPreset(app::FineTunePreset preset);
    void showMatchingPreset();
    void update();
    QString problem() const;

    FineTuneWizard* m_wizard;
    QRadioButton* m_quick;
    QRadioButton* m_standard;
    QRadioButton* m_thorough;
    QToolButton* m_advancedToggle;
    QWidget* m_advanced;
    QSpinBox* m_steps;
    QDoubleSpinBox* m_learningRate;
    QSpinBox* m_segments;
    QSpinBox* m_window;
    QCheckBox* m_compensate;
    QCheckBox* m_recompute;
    QSpinBox* m_seed;
    QComboBox* m_device;
    QComboBox* m_precision;
    QLabel* m_corpus;
    QLabel* m_estimate;
    QLabel* m_problem;
    QTimer* m_reestimate;
    app::CorpusCount m_count;
    bool m_counted = false;
    int m_pending = 0;
    bool m_loading = false;  // widgets set from the settings: no feedback loop
};

}  // namespace uio::ui
