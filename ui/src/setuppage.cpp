#include "setuppage.h"

#include "icons.h"
#include "uio/common/units.h"

#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QTimer>
#include <QVBoxLayout>

namespace uio::ui {

SetupPage::SetupPage(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("setupPage"));
    setAccessibleName(tr("Model setup"));

    auto* title = new QLabel(QStringLiteral("<h2>%1</h2>").arg(tr("Set up the model")), this);
    auto* intro = new QLabel(tr("UIO Desk answers questions with a Llama-2 model on this computer. Nothing is "
                                "sent anywhere. Try it at once with the demo model, or choose a model you have "
                                "downloaded."),
                             this);
    intro->setWordWrap(true);
    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("setupMessage"));
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_message->setVisible(false);

    auto* demoBox = new QGroupBox(tr("Try it without a download"), this);
    auto* demo = new QPushButton(tr("Use the &demo model"), demoBox);
    demo->setObjectName(QStringLiteral("demoButton"));
    auto* demoNote = new QLabel(tr("A tiny random model, made in a second: every feature works, but every answer "
                                   "is <b>meaningless text</b>."),
                                demoBox);
    demoNote->setWordWrap(true);
    auto* storyDemo = new QPushButton(tr("Use the &story demo"), demoBox);
    storyDemo->setObjectName(QStringLiteral("storyDemoButton"));
    auto* storyNote = new QLabel(tr("A real, tiny model that writes children's stories (stories260K, MIT licence), "
                                    "with a trained adapter and a story collection for the library. It "
                                    "<b>continues stories</b>; it does not answer questions."),
                                 demoBox);
    storyNote->setWordWrap(true);
    auto* demoLayout = new QGridLayout(demoBox);
    demoLayout->addWidget(storyDemo, 0, 0);
    demoLayout->addWidget(storyNote, 0, 1);
    demoLayout->addWidget(demo, 1, 0);
    demoLayout->addWidget(demoNote, 1, 1);
    demoLayout->setColumnStretch(1, 1);
    connect(demo, &QPushButton::clicked, this, &SetupPage::demoRequested);
    connect(storyDemo, &QPushButton::clicked, this, &SetupPage::storyDemoRequested);

    auto* modelBox = new QGroupBox(tr("Your model"), this);
    m_folder = new QLineEdit(modelBox);
    m_folder->setObjectName(QStringLiteral("modelFolder"));
    m_folder->setAccessibleName(tr("Model folder"));
    m_folder->setPlaceholderText(
        tr("A Hugging Face Llama-2 folder: config.json, *.safetensors, tokenizer.model or tokenizer.json"));
    auto* browseFolder = new QPushButton(tr("&Browse…"), modelBox);
    connect(browseFolder, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Hugging Face Llama folder"), m_folder->text());
        if (!dir.isEmpty()) {
            m_folder->setText(dir);
            folderEdited();
        }
    });
    m_folderCheck = new QLabel(modelBox);
    m_folderCheck->setObjectName(QStringLiteral("folderCheck"));
    m_folderCheck->setWordWrap(true);
    m_folderCheck->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_checkDelay = new QTimer(this);
    m_checkDelay->setSingleShot(true);
    m_checkDelay->setInterval(400);  // typing a path checks once it pauses
    connect(m_checkDelay, &QTimer::timeout, this, &SetupPage::folderEdited);
    connect(m_folder, &QLineEdit::textEdited, this, [this] {
        m_checkedFolder.clear();
        m_folderCheck->clear();
        updateStart();
        m_checkDelay->start();
    });

    m_useFile = new QRadioButton(tr("Adapter &file:"), modelBox);
    m_useFile->setObjectName(QStringLiteral("useAdapterFile"));
    m_createNew =
        new QRadioButton(tr("Create a &new adapter (untrained: train it before relying on answers)"), modelBox);
    m_createNew->setObjectName(QStringLiteral("createAdapter"));
    m_useUltraGist =
        new QRadioButton(tr("&UltraGist, the published trained compressor for Llama-2-7b-chat:"), modelBox);
    m_useUltraGist->setObjectName(QStringLiteral("useUltraGist"));
    m_ultragistSource = new QLineEdit(modelBox);
    m_ultragistSource->setObjectName(QStringLiteral("ultragistSource"));
    m_ultragistSource->setAccessibleName(tr("UltraGist file"));
    m_ultragistSource->setPlaceholderText(
        tr("Empty when the model folder is the UltraGist download; else the file 'uio ultragist extract' wrote"));
    m_browseUltraGist = new QPushButton(tr("Bro&wse…"), modelBox);
    connect(m_browseUltraGist, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("UltraGist tensors"), m_folder->text(),
                                                          tr("Safetensors (*.safetensors)"));
        if (!file.isEmpty())
            m_ultragistSource->setText(file);
    });
    m_ratio = new QComboBox(modelBox);
    m_ratio->setObjectName(QStringLiteral("ultragistRatio"));
    m_ratio->setAccessibleName(tr("Compression ratio"));
    m_ratio->addItem(tr("Automatic: by each document's length"), 0);
    for (const int r : {2, 4, 8, 16, 32})
        m_ratio->addItem(tr("%1× (%2 memory rows per 1024 tokens)").arg(r).arg(1024 / r), r);
    m_ultragistNote = new QLabel(tr("UltraGist keeps more of a short document and less of a long one; it was "
                                    "trained on one document at a time, so chats over several documents are "
                                    "outside what it learnt."),
                                 modelBox);
    m_ultragistNote->setWordWrap(true);
    auto* adapterChoice = new QButtonGroup(this);
    adapterChoice->addButton(m_useFile);
    adapterChoice->addButton(m_createNew);
    adapterChoice->addButton(m_useUltraGist);
    connect(m_useUltraGist, &QRadioButton::toggled, this, &SetupPage::updateStart);
    m_useFile->setChecked(true);
    m_adapter = new QLineEdit(modelBox);
    m_adapter->setObjectName(QStringLiteral("adapterFile"));
    m_adapter->setAccessibleName(tr("Adapter file"));
    m_adapter->setPlaceholderText(tr("The .safetensors file made by training or by 'uio adapter import'"));
    m_browseAdapter = new QPushButton(tr("Br&owse…"), modelBox);
    connect(m_browseAdapter, &QPushButton::clicked, this, [this] {
        const QString file =
            QFileDialog::getOpenFileName(this, tr("UIO adapter"), m_folder->text(), tr("Adapters (*.safetensors)"));
        if (!file.isEmpty())
            m_adapter->setText(file);
        updateStart();
    });
    connect(m_adapter, &QLineEdit::textChanged, this, &SetupPage::updateStart);
    connect(m_useFile, &QRadioButton::toggled, this, &SetupPage::updateStart);

    m_device = new QComboBox(modelBox);
    m_device->setObjectName(QStringLiteral("setupDevice"));
    m_device->setAccessibleName(tr("Device"));
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    m_precision = new QComboBox(modelBox);
    m_precision->setObjectName(QStringLiteral("setupPrecision"));
    m_precision->setAccessibleName(tr("Precision"));
    m_precision->addItem(tr("bf16: half the memory; fast on a GPU and on CPUs with native bf16"),
                         QStringLiteral("bf16"));
    m_precision->addItem(tr("f16: half the memory"), QStringLiteral("f16"));
    m_precision->addItem(tr("f32: exact, twice the memory"), QStringLiteral("f32"));
    m_precision->addItem(tr("int8: a quarter of the memory, fastest answers on a CPU"), QStringLiteral("int8"));
    m_precisionWhy = new QLabel(modelBox);
    m_precisionWhy->setObjectName(QStringLiteral("precisionWhy"));
    m_precisionWhy->setWordWrap(true);
    // A device the user picks gets its fastest precision; the CPU's depends on its instruction set.
    connect(m_device, &QComboBox::activated, this, [this] { showFastestPrecision(true); });

    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(m_folder, 1);
    folderRow->addWidget(browseFolder);
    m_known = new QComboBox(modelBox);
    m_known->setObjectName(QStringLiteral("knownAdapters"));
    m_known->setAccessibleName(tr("Your fine-tuned adapters"));
    m_known->setVisible(false);
    connect(m_known, &QComboBox::activated, this, [this](int index) {
        const QString path = m_known->itemData(index).toString();
        if (!path.isEmpty()) {
            m_adapter->setText(path);
            m_useFile->setChecked(true);
        }
    });
    auto* adapterRow = new QHBoxLayout;
    adapterRow->addWidget(m_useFile);
    adapterRow->addWidget(m_known);
    adapterRow->addWidget(m_adapter, 1);
    adapterRow->addWidget(m_browseAdapter);
    auto* form = new QFormLayout(modelBox);
    auto* folderLabel = new QLabel(tr("Model &folder:"), modelBox);
    folderLabel->setBuddy(m_folder);
    form->addRow(folderLabel, folderRow);
    form->addRow(QString(), m_folderCheck);
    form->addRow(tr("Compressor:"), adapterRow);
    form->addRow(QString(), m_createNew);
    auto* ultragistRow = new QHBoxLayout;
    ultragistRow->addWidget(m_ultragistSource, 1);
    ultragistRow->addWidget(m_browseUltraGist);
    form->addRow(QString(), m_useUltraGist);
    form->addRow(QString(), ultragistRow);
    auto* ratioLabel = new QLabel(tr("&Ratio:"), modelBox);
    ratioLabel->setBuddy(m_ratio);
    form->addRow(ratioLabel, m_ratio);
    form->addRow(QString(), m_ultragistNote);
    form->addRow(tr("&Device:"), m_device);
    form->addRow(tr("&Precision:"), m_precision);
    form->addRow(QString(), m_precisionWhy);
    m_continuation = new QCheckBox(tr("A base model that continues text (not a chat model): chats carry on a "
                                      "running text instead of answering"),
                                   modelBox);
    m_continuation->setObjectName(QStringLiteral("continuationMode"));
    form->addRow(QString(), m_continuation);

    m_start = new QPushButton(icon(QStringLiteral("start")), tr("&Start"), this);
    m_start->setObjectName(QStringLiteral("startButton"));
    m_start->setDefault(true);
    m_start->setEnabled(false);
    connect(m_start, &QPushButton::clicked, this,
            [this] { Q_EMIT startRequested(chosen(), m_createNew->isChecked()); });
    m_back = new QPushButton(tr("Back to the library"), this);
    m_back->setObjectName(QStringLiteral("backButton"));
    m_back->setVisible(false);
    connect(m_back, &QPushButton::clicked, this, &SetupPage::backRequested);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_back);
    buttons->addStretch(1);
    buttons->addWidget(m_start);

    auto* column = new QVBoxLayout;
    column->addWidget(title);
    column->addWidget(intro);
    column->addWidget(m_message);
    column->addWidget(demoBox);
    column->addWidget(modelBox);
    column->addLayout(buttons);
    column->addStretch(1);
    auto* centred = new QHBoxLayout(this);  // a readable line length on a wide window
    centred->addStretch(1);
    centred->addLayout(column, 4);
    centred->addStretch(1);
}

void SetupPage::setSettings(const app::ModelSettings& settings) {
    m_settings = settings;
    m_folder->setText(settings.modelDir);
    m_adapter->setText(settings.adapterPath);
    m_ultragistSource->setText(settings.ultragistSource);
    m_ratio->setCurrentIndex(std::max(0, m_ratio->findData(settings.ultragistRatio)));
    (settings.ultragist ? m_useUltraGist : m_useFile)->setChecked(true);
    const int device = m_device->findData(settings.device);
    if (device >= 0)
        m_device->setCurrentIndex(device);
    m_precision->setCurrentIndex(std::max(0, m_precision->findData(settings.dtype)));
    m_continuation->setChecked(settings.continuation);
    folderEdited();
}

void SetupPage::setBackAvailable(bool available) {
    m_back->setVisible(available);
}

void SetupPage::setMessage(const QString& text) {
    m_message->setText(text);
    m_message->setVisible(!text.isEmpty());
}

void SetupPage::folderEdited() {
    m_checkDelay->stop();
    const QString dir = m_folder->text().trimmed();
    m_checkedFolder.clear();
    updateStart();
    if (dir.isEmpty()) {
        m_folderCheck->clear();
        return;
    }
    m_folderCheck->setText(tr("Checking…"));
    Q_EMIT inspectRequested(dir);
}

void SetupPage::showFolderCheck(const QString& dir, bool ok, const QString& summary) {
    if (dir != m_folder->text().trimmed())
        return;  // an answer for a path since edited
    m_checkedFolder = ok ? dir : QString();
    // Text marks for the result so that it does not rest on colour alone.
    m_folderCheck->setText(ok ? tr("✓ %1").arg(summary) : tr("✗ This folder cannot be used: %1").arg(summary));
    updateStart();
}

void SetupPage::setDevices(const QList<app::DeviceChoice>& devices) {
    m_devices = devices;
    m_device->clear();
    for (const app::DeviceChoice& d : devices) {
        const QString label = d.id == QLatin1String("cpu")
                                  ? tr("%1 (%2 of RAM free)").arg(d.name, byteSize(static_cast<double>(d.freeBytes)))
                                  : tr("%1 (%2 of %3 free)")
                                        .arg(d.name, byteSize(static_cast<double>(d.freeBytes)),
                                             byteSize(static_cast<double>(d.totalBytes)));
        m_device->addItem(label, d.id);
    }
    // First run: the fastest device, which comes first, in its fastest precision; later, the
    // device and precision chosen before.
    const int keep = m_settings.modelDir.isEmpty() ? -1 : m_device->findData(m_settings.device);
    m_device->setCurrentIndex(keep >= 0 ? keep : 0);
    showFastestPrecision(keep < 0);
}

void SetupPage::showFastestPrecision(bool choose) {
    const QString id = m_device->currentData().toString();
    for (const app::DeviceChoice& d : std::as_const(m_devices)) {
        if (d.id != id || d.fastestDtype.isEmpty())
            continue;
        if (choose)
            m_precision->setCurrentIndex(std::max(0, m_precision->findData(d.fastestDtype)));
        m_precisionWhy->setText(tr("%1 is the fastest here: %2.").arg(d.fastestDtype, d.whyFastest));
    }
}

void SetupPage::updateStart() {
    m_adapter->setEnabled(m_useFile->isChecked());
    m_browseAdapter->setEnabled(m_useFile->isChecked());
    const bool ultragist = m_useUltraGist->isChecked();
    for (QWidget* w : std::initializer_list<QWidget*>{m_ultragistSource, m_browseUltraGist, m_ratio, m_ultragistNote})
        w->setEnabled(ultragist);
    const bool adapterChosen = ultragist || m_createNew->isChecked() || !m_adapter->text().trimmed().isEmpty();
    m_start->setEnabled(!m_checkedFolder.isEmpty() && adapterChosen);
}

app::ModelSettings SetupPage::chosen() const {
    app::ModelSettings settings = m_settings;
    settings.modelDir = m_checkedFolder;
    settings.adapterPath = m_useFile->isChecked() ? m_adapter->text().trimmed() : QString();
    settings.ultragist = m_useUltraGist->isChecked();
    settings.ultragistSource = m_ultragistSource->text().trimmed();
    settings.ultragistRatio = m_ratio->currentData().toInt();
    settings.device = m_device->currentData().toString();
    settings.dtype = m_precision->currentData().toString();
    settings.continuation = m_continuation->isChecked();
    return settings;
}

void SetupPage::offerUltraGist(const QString& dir, bool found) {
    if (dir != m_checkedFolder || !found)
        return;
    m_folderCheck->setText(m_folderCheck->text() + QLatin1Char(' ') +
                           tr("It includes UltraGist's trained compressor."));
    if (m_adapter->text().trimmed().isEmpty() && !m_createNew->isChecked())
        m_useUltraGist->setChecked(true);
}

void SetupPage::setKnownAdapters(const QList<app::AdapterRow>& adapters) {
    m_known->clear();
    m_known->addItem(tr("Your adapters…"));
    for (const app::AdapterRow& a : adapters)
        m_known->addItem(a.name, a.path);
    m_known->setVisible(!adapters.isEmpty());
}

}  // namespace uio::ui
