#include "settingsdialog.h"

#include "uio/common/units.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include <cmath>

namespace uio::ui {

SettingsDialog::SettingsDialog(const app::AskSettings& ask, const app::ModelSettings& model,
                               const ingest::ReaderLimits& reading, const QString& dataFolder, QWidget* parent)
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
    m_passageShare = new QSpinBox(this);
    m_passageShare->setObjectName(QStringLiteral("passageShare"));
    m_passageShare->setRange(0, 75);
    m_passageShare->setSuffix(tr(" % of the model's window"));
    m_passageShare->setValue(static_cast<int>(std::lround(ask.passageShare * 100)));
    m_passageShare->setToolTip(
        tr("Passages the question points to go into the model's window word for word, so that names, numbers "
           "and quotations come out exact. The rest of the window holds the documents' memories."));
    m_untrainedMemories = new QCheckBox(tr("Use memories of an &untrained adapter"), this);
    m_untrainedMemories->setObjectName(QStringLiteral("untrainedMemories"));
    m_untrainedMemories->setChecked(ask.untrainedMemories);
    m_untrainedMemories->setToolTip(
        tr("An adapter that was never trained makes memories the model cannot read; they may mislead it. "
           "Without them, answers come from passages only."));

    m_device = new QComboBox(this);
    m_device->setObjectName(QStringLiteral("device"));
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    m_device->addItem(tr("NVIDIA GPU (CUDA)"), QStringLiteral("cuda"));
    if (m_device->findData(model.device) < 0)  // a particular GPU, chosen on the setup page
        m_device->addItem(tr("NVIDIA GPU (%1)").arg(model.device), model.device);
    m_device->setCurrentIndex(m_device->findData(model.device));
    m_precision = new QComboBox(this);
    m_precision->setObjectName(QStringLiteral("precision"));
    m_precision->addItem(tr("f32 (exact, most memory)"), QStringLiteral("f32"));
    m_precision->addItem(tr("bf16 (half the memory)"), QStringLiteral("bf16"));
    m_precision->addItem(tr("f16 (half the memory)"), QStringLiteral("f16"));
    m_precision->addItem(tr("int8 (a quarter of the memory; CPU only)"), QStringLiteral("int8"));
    m_precision->setCurrentIndex(std::max(0, m_precision->findData(model.dtype)));
    m_batch = new QSpinBox(this);
    m_batch->setObjectName(QStringLiteral("batch"));
    m_batch->setRange(1, 64);
    m_batch->setValue(model.compressionBatch);
    m_batch->setToolTip(tr("Segments compressed together: more is faster on a GPU and needs more memory."));

    m_threads = new QSpinBox(this);
    m_threads->setObjectName(QStringLiteral("threads"));
    m_threads->setRange(0, 4 * QThread::idealThreadCount());
    m_threads->setSpecialValueText(tr("one per core (%1)").arg(QThread::idealThreadCount()));
    m_threads->setValue(model.cpuThreads);
    m_threads->setToolTip(
        tr("CPU threads for the model. Fewer leave the computer more responsive while a "
           "book is compressed."));

    m_readerMemory = new QSpinBox(this);
    m_readerMemory->setObjectName(QStringLiteral("readerMemory"));
    m_readerMemory->setRange(256, 1000 * 1000);
    m_readerMemory->setSingleStep(256);
    m_readerMemory->setSuffix(tr(" MB"));
    m_readerMemory->setValue(static_cast<int>(reading.memoryBytes / kMegabyte));
    m_readerTime = new QSpinBox(this);
    m_readerTime->setObjectName(QStringLiteral("readerTime"));
    m_readerTime->setRange(5, 24 * 3600);
    m_readerTime->setSingleStep(30);
    m_readerTime->setSuffix(tr(" s"));
    m_readerTime->setValue(reading.seconds);
    const QString readerNote =
        tr("Each added file is read by its own process, stopped at these limits so that a "
           "damaged or hostile file cannot take the computer's memory or time.");
    m_readerMemory->setToolTip(readerNote);
    m_readerTime->setToolTip(readerNote);

    m_dataFolder = new QLineEdit(dataFolder, this);
    m_dataFolder->setObjectName(QStringLiteral("dataFolder"));
    m_dataFolder->setAccessibleName(tr("Data folder"));
    m_dataFolder->setReadOnly(true);
    auto* changeFolder = new QPushButton(tr("C&hange…"), this);
    connect(changeFolder, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the library"), m_dataFolder->text());
        if (!dir.isEmpty())
            m_dataFolder->setText(dir);
    });
    auto* folderNote = new QLabel(tr("The library is copied to a new folder when UIO Desk next starts; the old "
                                     "file stays until you delete it."),
                                  this);
    folderNote->setWordWrap(true);
    folderNote->setForegroundRole(QPalette::PlaceholderText);
    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(m_dataFolder, 1);
    folderRow->addWidget(changeFolder);

    m_cacheUsage = new QLabel(tr("Measuring…"), this);
    m_cacheUsage->setObjectName(QStringLiteral("cacheUsage"));
    m_cacheUsage->setWordWrap(true);
    m_purge = new QPushButton(tr("Remove memory of &other models and adapters"), this);
    m_purge->setObjectName(QStringLiteral("purgeButton"));
    m_purge->setEnabled(false);
    connect(m_purge, &QPushButton::clicked, this, [this] {
        m_purge->setEnabled(false);
        m_cacheUsage->setText(tr("Removing…"));
        Q_EMIT purgeRequested();
    });

    auto* answers = new QGroupBox(tr("Answers"), this);
    auto* answerForm = new QFormLayout(answers);
    answerForm->addRow(tr("&Temperature:"), m_temperature);
    answerForm->addRow(tr("Top-&p:"), m_topP);
    answerForm->addRow(tr("&Longest answer (tokens):"), m_maxTokens);
    answerForm->addRow(tr("&System prompt:"), m_system);
    answerForm->addRow(tr("&Passages word for word:"), m_passageShare);
    answerForm->addRow(QString(), m_untrainedMemories);
    auto* modelBox = new QGroupBox(tr("Model"), this);
    auto* modelForm = new QFormLayout(modelBox);
    modelForm->addRow(tr("&Device:"), m_device);
    modelForm->addRow(tr("P&recision:"), m_precision);
    modelForm->addRow(tr("Compression &batch:"), m_batch);
    modelForm->addRow(tr("CPU &threads:"), m_threads);
    auto* documents = new QGroupBox(tr("Reading documents"), this);
    auto* documentForm = new QFormLayout(documents);
    documentForm->addRow(tr("Memory &limit per file:"), m_readerMemory);
    documentForm->addRow(tr("Time li&mit per file:"), m_readerTime);
    auto* storage = new QGroupBox(tr("Storage"), this);
    auto* storageForm = new QFormLayout(storage);
    auto* folderLabel = new QLabel(tr("Data &folder:"), this);
    folderLabel->setBuddy(changeFolder);
    storageForm->addRow(folderLabel, folderRow);
    storageForm->addRow(QString(), folderNote);
    storageForm->addRow(tr("Compressed memory:"), m_cacheUsage);
    storageForm->addRow(QString(), m_purge);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(answers);
    layout->addWidget(modelBox);
    layout->addWidget(documents);
    layout->addWidget(storage);
    layout->addWidget(buttons);
    setMinimumWidth(560);
}

app::AskSettings SettingsDialog::askSettings() const {
    app::AskSettings ask;
    ask.temperature = m_temperature->value();
    ask.topP = m_topP->value();
    ask.maxNewTokens = m_maxTokens->value();
    ask.systemPrompt = m_system->toPlainText().trimmed();
    ask.passageShare = m_passageShare->value() / 100.0;
    ask.untrainedMemories = m_untrainedMemories->isChecked();
    return ask;
}

app::ModelSettings SettingsDialog::modelSettings() const {
    app::ModelSettings model = m_model;
    model.device = m_device->currentData().toString();
    model.dtype = m_precision->currentData().toString();
    model.compressionBatch = m_batch->value();
    model.cpuThreads = m_threads->value();
    return model;
}

ingest::ReaderLimits SettingsDialog::readerLimits() const {
    return {m_readerMemory->value() * kMegabyte, m_readerTime->value()};
}

QString SettingsDialog::dataFolder() const {
    return m_dataFolder->text();
}

void SettingsDialog::setCacheUsage(qint64 totalBytes, qint64 otherBytes) {
    const auto mb = [](qint64 bytes) { return byteSize(static_cast<double>(bytes)); };
    m_cacheUsage->setText(
        otherBytes > 0 ? tr("%1, of which %2 was made by other models or adapters").arg(mb(totalBytes), mb(otherBytes))
                       : tr("%1, all for the model and adapter in use").arg(mb(totalBytes)));
    m_purge->setEnabled(otherBytes > 0);
}

}  // namespace uio::ui
