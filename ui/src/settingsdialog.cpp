#include "settingsdialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QVBoxLayout>

namespace uio::ui {

SettingsDialog::SettingsDialog(const app::AskSettings& ask, const app::ModelSettings& model, QWidget* parent)
    : QDialog(parent), m_model(model) {
    setWindowTitle(tr("Settings"));
    m_temperature = new QDoubleSpinBox(this);
    m_temperature->setObjectName(QStringLiteral("temperature"));
    m_temperature->setRange(0.0, 2.0);
    m_temperature->setSingleStep(0.1);
    m_temperature->setValue(ask.temperature);
    m_temperature->setToolTip(tr("0 always picks the most likely word; higher values vary more."));
    m_topP = new QDoubleSpinBox(this);
    m_topP->setObjectName(QStringLiteral("topP"));
    m_topP->setRange(0.05, 1.0);
    m_topP->setSingleStep(0.05);
    m_topP->setValue(ask.topP);
    m_maxTokens = new QSpinBox(this);
    m_maxTokens->setObjectName(QStringLiteral("maxTokens"));
    m_maxTokens->setRange(16, 8192);
    m_maxTokens->setValue(ask.maxNewTokens);
    m_system = new QPlainTextEdit(ask.systemPrompt, this);
    m_system->setObjectName(QStringLiteral("systemPrompt"));
    m_system->setPlaceholderText(tr("Optional instructions for every answer"));
    m_system->setMaximumHeight(80);

    m_device = new QComboBox(this);
    m_device->setObjectName(QStringLiteral("device"));
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    m_device->addItem(tr("NVIDIA GPU (CUDA)"), QStringLiteral("cuda"));
    m_device->setCurrentIndex(std::max(0, m_device->findData(model.device)));
    m_precision = new QComboBox(this);
    m_precision->setObjectName(QStringLiteral("precision"));
    m_precision->addItem(tr("f32 (exact, most memory)"), QStringLiteral("f32"));
    m_precision->addItem(tr("bf16 (half the memory)"), QStringLiteral("bf16"));
    m_precision->addItem(tr("f16 (half the memory)"), QStringLiteral("f16"));
    m_precision->setCurrentIndex(std::max(0, m_precision->findData(model.dtype)));
    m_batch = new QSpinBox(this);
    m_batch->setObjectName(QStringLiteral("batch"));
    m_batch->setRange(1, 64);
    m_batch->setValue(model.compressionBatch);
    m_batch->setToolTip(tr("Segments compressed together: more is faster on a GPU and needs more memory."));

    auto* answers = new QGroupBox(tr("Answers"), this);
    auto* answerForm = new QFormLayout(answers);
    answerForm->addRow(tr("&Temperature:"), m_temperature);
    answerForm->addRow(tr("Top-&p:"), m_topP);
    answerForm->addRow(tr("&Longest answer (tokens):"), m_maxTokens);
    answerForm->addRow(tr("&System prompt:"), m_system);
    auto* modelBox = new QGroupBox(tr("Model"), this);
    auto* modelForm = new QFormLayout(modelBox);
    modelForm->addRow(tr("&Device:"), m_device);
    modelForm->addRow(tr("P&recision:"), m_precision);
    modelForm->addRow(tr("Compression &batch:"), m_batch);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(answers);
    layout->addWidget(modelBox);
    layout->addWidget(buttons);
}

app::AskSettings SettingsDialog::askSettings() const {
    app::AskSettings ask;
    ask.temperature = m_temperature->value();
    ask.topP = m_topP->value();
    ask.maxNewTokens = m_maxTokens->value();
    ask.systemPrompt = m_system->toPlainText().trimmed();
    return ask;
}

app::ModelSettings SettingsDialog::modelSettings() const {
    app::ModelSettings model = m_model;
    model.device = m_device->currentData().toString();
    model.dtype = m_precision->currentData().toString();
    model.compressionBatch = m_batch->value();
    return model;
}

}  // namespace uio::ui
