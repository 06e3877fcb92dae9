#include "finetunepages.h"

#include "finetunewizard.h"
#include "uio/common/units.h"
#include "uio/ingest/ingest.h"

#include <QApplication>
#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QDirIterator>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPointer>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QThreadPool>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace uio::ui {

namespace {

QLabel* explanation(QWidget* parent, const QString& name) {
    auto* label = new QLabel(parent);
    label->setObjectName(name);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

QTimer* debounce(QObject* parent, int ms) {
    auto* timer = new QTimer(parent);
    timer->setSingleShot(true);
    timer->setInterval(ms);
    return timer;
}

}  // namespace

// ---- CorpusPage ------------------------------------------------------------------------------

CorpusPage::CorpusPage(FineTuneWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
    setTitle(tr("What should the adapter learn from?"));
    setSubTitle(
        tr("Pick documents from the library, or add files and folders. A tenth of the text is kept aside to "
           "measure the result."));
    m_documents = new QListWidget(this);
    m_documents->setObjectName(QStringLiteral("corpusDocuments"));
    m_documents->setAccessibleName(tr("Library documents"));
    for (const app::DocumentRow& row : wizard->documents()) {
        auto* item = new QListWidgetItem(
            row.tokens > 0 ? tr("%1 (%2 tokens)").arg(row.title).arg(row.tokens) : row.title, m_documents);
        item->setData(Qt::UserRole, row.id);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(Qt::Unchecked);
    }
    connect(m_documents, &QListWidget::itemChanged, this, &CorpusPage::corpusChanged);

    m_files = new QListWidget(this);
    m_files->setObjectName(QStringLiteral("corpusFiles"));
    m_files->setAccessibleName(tr("Files"));
    m_files->setSelectionMode(QAbstractItemView::ExtendedSelection);
    auto* addFiles = new QPushButton(tr("Add &files…"), this);
    auto* addFolder = new QPushButton(tr("Add f&older…"), this);
    m_removeFile = new QPushButton(tr("&Remove"), this);
    m_removeFile->setEnabled(false);
    connect(addFiles, &QPushButton::clicked, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(
            this, tr("Documents to train on"), {},
            tr("Documents (%1)").arg(ingest::readableNameFilters().join(QLatin1Char(' '))));
        for (const QString& file : files)
            m_files->addItem(file);
        corpusChanged();
    });
    connect(addFolder, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder of documents to train on"));
        if (dir.isEmpty())
            return;
        // A large folder tree takes a while to walk: not on the GUI thread.
        m_summary->setText(tr("Looking for documents in %1…").arg(QDir::toNativeSeparators(dir)));
        QThreadPool::globalInstance()->start([page = QPointer<CorpusPage>(this), dir] {
            QStringList found;
            QDirIterator it(dir, ingest::readableNameFilters(), QDir::Files, QDirIterator::Subdirectories);
            while (it.hasNext())
                found << it.next();
            QMetaObject::invokeMethod(
                qApp,
                [page, found] {
                    if (!page)
                        return;  // the wizard closed meanwhile
                    page->m_files->addItems(found);
                    page->corpusChanged();
                },
                Qt::QueuedConnection);
        });
    });
    connect(m_files, &QListWidget::itemSelectionChanged, this,
            [this] { m_removeFile->setEnabled(!m_files->selectedItems().isEmpty()); });
    connect(m_removeFile, &QPushButton::clicked, this, [this] {
        qDeleteAll(m_files->selectedItems());
        corpusChanged();
    });

    m_summary = explanation(this, QStringLiteral("corpusSummary"));
    m_recount = debounce(this, 250);
    connect(m_recount, &QTimer::timeout, this, [this] {
        ++m_pending;
        m_wizard->model().countCorpus(m_wizard->settings());
    });
    connect(&wizard->model(), &app::ModelService::corpusCounted, this, [this](const app::CorpusCount& count) {
        if (m_pending == 0)
            return;  // another page asked
        if (--m_pending == 0) {
            m_count = count;
            m_counted = true;
            showCount();
        }
    });
    connect(&wizard->model(), &app::ModelService::fineTuneFailed, this, [this](qint64 run, const QString& message) {
        if (run == 0 && m_pending > 0) {
            m_pending = 0;
            m_counted = false;
            m_summary->setText(tr("The corpus could not be read: %1").arg(message));
            Q_EMIT completeChanged();
        }
    });

    auto* fileButtons = new QVBoxLayout;
    fileButtons->addWidget(addFiles);
    fileButtons->addWidget(addFolder);
    fileButtons->addWidget(m_removeFile);
    fileButtons->addStretch();
    auto* fileRow = new QHBoxLayout;
    fileRow->addWidget(m_files, 1);
    fileRow->addLayout(fileButtons);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Documents in the library:"), this));
    layout->addWidget(m_documents, 2);
    layout->addWidget(new QLabel(tr("Files and folders:"), this));
    layout->addLayout(fileRow, 1);
    layout->addWidget(m_summary);
}

void CorpusPage::initializePage() {
    corpusChanged();
}

void CorpusPage::corpusChanged() {
    app::FineTuneSettings& s = m_wizard->settings();
    s.documentIds.clear();
    s.files.clear();
    for (int i = 0; i < m_documents->count(); ++i) {
        if (m_documents->item(i)->checkState() == Qt::Checked)
            s.documentIds << m_documents->item(i)->data(Qt::UserRole).toLongLong();
    }
    for (int i = 0; i < m_files->count(); ++i)
        s.files << m_files->item(i)->text();
    m_counted = false;
    if (s.documentIds.isEmpty() && s.files.isEmpty()) {
        m_recount->stop();
        m_summary->setText(tr("The corpus is empty: tick documents of the library or add files."));
    } else {
        m_summary->setText(tr("Counting the tokens…"));
        m_recount->start();
    }
    Q_EMIT completeChanged();
}

void CorpusPage::showCount() {
    const app::FineTuneSettings& s = m_wizard->settings();
    const int l = m_count.segmentLength;
    QString text;
    if (m_count.tokens < 2LL * l) {
        text = tr("The corpus holds %1 tokens, less than two segments of %2 tokens: the adapter learns by compressing "
                  "one segment and predicting the next. Add documents.")
                   .arg(m_count.tokens)
                   .arg(l);
    } else {
        const qint64 samples = app::samplesIn(m_count.streamTokens, s.segments, l);
        const qint64 heldOut = app::heldOutOf(samples);
        text = tr("%1 tokens in %2. Cut into samples of %3 segments of %4 tokens: %5 for training, %6 held out to "
                  "measure the result.")
                   .arg(m_count.tokens)
                   .arg(m_count.streamTokens.size() == 1 ? tr("1 document")
                                                         : tr("%1 documents").arg(m_count.streamTokens.size()))
                   .arg(s.segments)
                   .arg(l)
                   .arg(samples - heldOut)
                   .arg(heldOut);
    }
    if (!m_count.problems.isEmpty())
        text += QLatin1Char('\n') + tr("Left out: %1").arg(m_count.problems.join(QLatin1Char(' ')));
    m_summary->setText(text);
    Q_EMIT completeChanged();
}

bool CorpusPage::isComplete() const {
    return m_counted && m_pending == 0 && m_count.tokens >= 2LL * m_count.segmentLength && m_count.problems.isEmpty();
}

// ---- StartPage -------------------------------------------------------------------------------

StartPage::StartPage(FineTuneWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
    setTitle(tr("Where should training start?"));
    setSubTitle(
        tr("Continuing an adapter keeps what it learned; a fresh one starts from nothing and needs more "
           "steps."));
    const QString active = QFileInfo(wizard->activeAdapter()).completeBaseName();
    m_active = new QRadioButton(tr("The &active adapter (%1)").arg(active.isEmpty() ? tr("none") : active), this);
    m_active->setObjectName(QStringLiteral("startActive"));
    m_active->setEnabled(!active.isEmpty());
    m_file = new QRadioButton(tr("Another adapter &file:"), this);
    m_file->setObjectName(QStringLiteral("startFile"));
    m_fresh = new QRadioButton(tr("A f&resh adapter"), this);
    m_fresh->setObjectName(QStringLiteral("startFresh"));
    auto* group = new QButtonGroup(this);
    for (QRadioButton* b : {m_active, m_file, m_fresh})
        group->addButton(b);
    (active.isEmpty() ? m_fresh : m_active)->setChecked(true);

    m_path = new QLineEdit(this);
    m_path->setObjectName(QStringLiteral("startPath"));
    m_path->setAccessibleName(tr("Adapter file"));
    auto* browse = new QPushButton(tr("&Browse…"), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("UIO adapter"), {}, tr("Adapters (*.safetensors)"));
        if (!file.isEmpty()) {
            m_path->setText(file);
            m_file->setChecked(true);
        }
    });

    m_shape = new QWidget(this);
    m_segmentLength = new QSpinBox(m_shape);
    m_segmentLength->setObjectName(QStringLiteral("segmentLength"));
    m_segmentLength->setRange(16, 8192);
    m_segmentLength->setValue(m_wizard->settings().segmentLength);
    m_segmentLength->setToolTip(tr("Tokens per compressed segment (1024 in the method)."));
    m_memoryTokens = new QSpinBox(m_shape);
    m_memoryTokens->setObjectName(QStringLiteral("memoryTokens"));
    m_memoryTokens->setRange(1, 1024);
    m_memoryTokens->setValue(m_wizard->settings().memoryTokens);
    m_memoryTokens->setToolTip(tr("Memory vectors per segment: 32 is 32x compression of 1024 tokens, 128 is 8x."));
    m_rank = new QSpinBox(m_shape);
    m_rank->setObjectName(QStringLiteral("rank"));
    m_rank->setRange(1, 1024);
    m_rank->setValue(m_wizard->settings().rank);
    m_alpha = new QDoubleSpinBox(m_shape);
    m_alpha->setObjectName(QStringLiteral("alpha"));
    m_alpha->setRange(1, 8192);
    m_alpha->setValue(m_wizard->settings().alpha);
    auto* shapeForm = new QFormLayout(m_shape);
    shapeForm->addRow(tr("Segment length:"), m_segmentLength);
    shapeForm->addRow(tr("Memory tokens per segment:"), m_memoryTokens);
    shapeForm->addRow(tr("LoRA rank:"), m_rank);
    shapeForm->addRow(tr("LoRA alpha:"), m_alpha);
    shapeForm->setContentsMargins(24, 0, 0, 0);
    m_problem = explanation(this, QStringLiteral("startProblem"));

    auto* fileRow = new QHBoxLayout;
    fileRow->addWidget(m_file);
    fileRow->addWidget(m_path, 1);
    fileRow->addWidget(browse);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_active);
    layout->addLayout(fileRow);
    layout->addWidget(m_fresh);
    layout->addWidget(m_shape);
    layout->addWidget(m_problem);
    layout->addStretch();

    auto changed = [this] {
        m_shape->setEnabled(m_fresh->isChecked());
        m_problem->setText(problem());
        Q_EMIT completeChanged();
    };
    for (QRadioButton* b : {m_active, m_file, m_fresh})
        connect(b, &QRadioButton::toggled, this, changed);
    connect(m_path, &QLineEdit::textChanged, this, changed);
    for (QSpinBox* box : {m_segmentLength, m_memoryTokens, m_rank})
        connect(box, &QSpinBox::valueChanged, this, changed);
    changed();
}

QString StartPage::problem() const {
    if (m_file->isChecked() && !QFileInfo(m_path->text().trimmed()).isFile())
        return tr("Choose an adapter file that exists (a .safetensors file made by training).");
    if (m_fresh->isChecked() && m_segmentLength->value() % m_memoryTokens->value() != 0)
        return tr("The segment length must be a multiple of the memory tokens: %1 tokens do not split into %2 "
                  "equal parts.")
            .arg(m_segmentLength->value())
            .arg(m_memoryTokens->value());
    return {};
}

bool StartPage::isComplete() const {
    return problem().isEmpty();
}

bool StartPage::validatePage() {
    app::FineTuneSettings& s = m_wizard->settings();
    s.startAdapter = m_fresh->isChecked()  ? app::kFreshAdapter
                     : m_file->isChecked() ? m_path->text().trimmed()
                                           : QString();
    s.segmentLength = m_segmentLength->value();
    s.memoryTokens = m_memoryTokens->value();
    s.rank = m_rank->value();
    s.alpha = m_alpha->value();
    return true;
}

// ---- SettingsPage ----------------------------------------------------------------------------

SettingsPage::SettingsPage(FineTuneWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
    setTitle(tr("How long should it train?"));
    setSubTitle(tr("A preset sets the steps and the learning rate; the advanced settings are the method's own."));
    setCommitPage(true);
    setButtonText(QWizard::CommitButton, tr("Start &training"));

    m_quick = new QRadioButton(tr("&Quick: 200 steps, to try it out"), this);
    m_quick->setObjectName(QStringLiteral("presetQuick"));
    m_standard = new QRadioButton(tr("&Standard: 1000 steps"), this);
    m_standard->setObjectName(QStringLiteral("presetStandard"));
    m_thorough = new QRadioButton(tr("T&horough: 4000 steps, a wider window"), this);
    m_thorough->setObjectName(QStringLiteral("presetThorough"));
    auto* presets = new QButtonGroup(this);
    for (QRadioButton* b : {m_quick, m_standard, m_thorough})
        presets->addButton(b);
    connect(m_quick, &QRadioButton::clicked, this, [this] { showPreset(app::FineTunePreset::Quick); });
    connect(m_standard, &QRadioButton::clicked, this, [this] { showPreset(app::FineTunePreset::Standard); });
    connect(m_thorough, &QRadioButton::clicked, this, [this] { showPreset(app::FineTunePreset::Thorough); });

    m_advancedToggle = new QToolButton(this);
    m_advancedToggle->setObjectName(QStringLiteral("advancedToggle"));
    m_advancedToggle->setText(tr("&Advanced"));
    m_advancedToggle->setCheckable(true);
    m_advancedToggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_advancedToggle->setArrowType(Qt::RightArrow);
    m_advancedToggle->setAutoRaise(true);
    m_advanced = new QWidget(this);
    m_advanced->setVisible(false);
    connect(m_advancedToggle, &QToolButton::toggled, this, [this](bool open) {
        m_advanced->setVisible(open);
        m_advancedToggle->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
    });

    m_steps = new QSpinBox(m_advanced);
    m_steps->setObjectName(QStringLiteral("steps"));
    m_steps->setRange(0, 1000000);
    m_learningRate = new QDoubleSpinBox(m_advanced);
    m_learningRate->setObjectName(QStringLiteral("learningRate"));
    m_learningRate->setDecimals(6);
    m_learningRate->setRange(1e-6, 1.0);
    m_learningRate->setSingleStep(1e-5);
    m_segments = new QSpinBox(m_advanced);
    m_segments->setObjectName(QStringLiteral("segments"));
    m_segments->setRange(2, 256);
    m_segments->setToolTip(tr("Segments per sample (T): how far back the memories must reach."));
    m_window = new QSpinBox(m_advanced);
    m_window->setObjectName(QStringLiteral("window"));
    m_window->setRange(1, 256);
    m_window->setToolTip(tr("Encoder graphs kept at once (S): more is exact for longer, and needs more memory."));
    m_compensate = new QCheckBox(tr("Unbiased (compensate for the segments the window drops)"), m_advanced);
    m_compensate->setObjectName(QStringLiteral("compensate"));
    m_recompute = new QCheckBox(tr("Save memory: recompute layers in the backward pass (slower)"), m_advanced);
    m_recompute->setObjectName(QStringLiteral("recompute"));
    m_seed = new QSpinBox(m_advanced);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setRange(0, 1000000);
    m_device = new QComboBox(m_advanced);
    m_device->setObjectName(QStringLiteral("trainingDevice"));
    m_device->addItem(tr("Where the model is loaded"), QString());
    m_precision = new QComboBox(m_advanced);
    m_precision->setObjectName(QStringLiteral("trainingPrecision"));
    m_precision->addItem(tr("As the model is loaded"), QString());
    m_precision->addItem(tr("bf16: half the memory (adapters stay f32)"), QStringLiteral("bf16"));
    m_precision->addItem(tr("f16: half the memory (adapters stay f32)"), QStringLiteral("f16"));
    m_precision->addItem(tr("f32: exact, twice the memory"), QStringLiteral("f32"));
    connect(&wizard->model(), &app::ModelService::devicesListed, this, [this](const QList<app::DeviceChoice>& devices) {
        while (m_device->count() > 1)
            m_device->removeItem(1);
        for (const app::DeviceChoice& d : devices) {
            m_device->addItem(tr("%1 (%2 free)").arg(d.name, byteSize(static_cast<double>(d.freeBytes))), d.id);
        }
        m_device->setCurrentIndex(std::max(0, m_device->findData(m_wizard->settings().device)));
    });
    for (QComboBox* box : {m_device, m_precision})
        connect(box, &QComboBox::currentIndexChanged, this, &SettingsPage::readSettings);
    auto* form = new QFormLayout(m_advanced);
    form->addRow(tr("Steps:"), m_steps);
    form->addRow(tr("Learning rate:"), m_learningRate);
    form->addRow(tr("Segments per sample:"), m_segments);
    form->addRow(tr("Window:"), m_window);
    form->addRow(QString(), m_compensate);
    form->addRow(QString(), m_recompute);
    form->addRow(tr("Seed:"), m_seed);
    form->addRow(tr("Device:"), m_device);
    form->addRow(tr("Precision:"), m_precision);
    form->addRow(QString(), explanation(m_advanced, QStringLiteral("device")));
    for (QSpinBox* box : {m_steps, m_segments, m_window, m_seed})
        connect(box, &QSpinBox::valueChanged, this, &SettingsPage::readSettings);
    connect(m_learningRate, &QDoubleSpinBox::valueChanged, this, &SettingsPage::readSettings);
    for (QCheckBox* box : {m_compensate, m_recompute})
        connect(box, &QCheckBox::toggled, this, &SettingsPage::readSettings);

    m_corpus = explanation(this, QStringLiteral("settingsCorpus"));
    m_estimate = explanation(this, QStringLiteral("estimate"));
    m_problem = explanation(this, QStringLiteral("settingsProblem"));
    m_reestimate = debounce(this, 300);
    connect(m_reestimate, &QTimer::timeout, this, [this] { m_wizard->model().estimateFineTune(m_wizard->settings()); });
    connect(&wizard->model(), &app::ModelService::fineTuneEstimated, this, [this](const app::FineTuneEstimate& e) {
        findChild<QLabel*>(QStringLiteral("device"))
            ->setText(m_wizard->settings().device.isEmpty() && m_wizard->settings().dtype.isEmpty()
                          ? tr("Trains on %1, as the model is loaded.").arg(e.device)
                          : tr("Trains on %1: the model is loaded there for the run and back after it.").arg(e.device));
        QString text = tr("About %1 on %2. Memory: about %3 of %4 available. Disk: %5 for checkpoints and the "
                          "adapter, %6 free.")
                           .arg(duration(e.seconds), e.device, byteSize(e.memoryBytes),
                                byteSize(e.availableMemoryBytes), byteSize(e.diskBytes), byteSize(e.freeDiskBytes));
        if (e.availableMemoryBytes > 0 && e.memoryBytes > e.availableMemoryBytes)
            text +=
                QLatin1Char('\n') + tr("⚠ This will probably not fit: turn on recomputing layers, use fewer segments "
                                       "per sample or a smaller window, or free memory.");
        if (e.diskBytes > e.freeDiskBytes)
            text +=
                QLatin1Char('\n') +
                tr("⚠ The disk is too full for the checkpoints: free %1.").arg(byteSize(e.diskBytes - e.freeDiskBytes));
        m_estimate->setText(text);
    });
    connect(&wizard->model(), &app::ModelService::corpusCounted, this, [this](const app::CorpusCount& count) {
        if (m_pending == 0 || --m_pending > 0)
            return;  // the corpus page's count, or not the latest
        m_count = count;
        m_counted = true;
        update();
    });

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_quick);
    layout->addWidget(m_standard);
    layout->addWidget(m_thorough);
    layout->addWidget(m_advancedToggle);
    layout->addWidget(m_advanced);
    layout->addWidget(m_corpus);
    layout->addWidget(m_estimate);
    layout->addWidget(m_problem);
    layout->addStretch();
}

void SettingsPage::initializePage() {
    const app::FineTuneSettings& s = m_wizard->settings();
    m_loading = true;
    m_steps->setValue(s.steps);
    m_learningRate->setValue(s.learningRate);
    m_segments->setValue(s.segments);
    m_window->setValue(s.window);
    m_compensate->setChecked(s.compensate);
    m_recompute->setChecked(s.recompute);
    m_seed->setValue(static_cast<int>(s.seed));
    m_precision->setCurrentIndex(std::max(0, m_precision->findData(s.dtype)));
    m_device->setCurrentIndex(std::max(0, m_device->findData(s.device)));
    m_loading = false;
    if (m_device->count() == 1)
        m_wizard->model().listDevices();
    showMatchingPreset();
    m_counted = false;
    m_corpus->setText(tr("Counting the tokens…"));
    m_estimate->setText(tr("Estimating…"));
    ++m_pending;
    m_wizard->model().countCorpus(s);  // the starting adapter decides the segment length
    update();
}

void SettingsPage::showPreset(app::FineTunePreset preset) {
    app::applyPreset(m_wizard->settings(), preset);
    initializePage();
}

void SettingsPage::readSettings() {
    if (m_loading)
        return;
    app::FineTuneSettings& s = m_wizard->settings();
    s.learningRate = m_learningRate->value();
    s.segments = m_segments->value();
    s.window = m_window->value();
    s.compensate = m_compensate->isChecked();
    s.recompute = m_recompute->isChecked();
    s.seed = static_cast<quint64>(m_seed->value());
    s.device = m_device->currentData().toString();
    s.dtype = m_precision->currentData().toString();
    app::setSteps(s, m_steps->value());
    showMatchingPreset();
    update();
}

void SettingsPage::showMatchingPreset() {
    // A preset stays ticked while the settings are its own; changed ones are nobody's.
    const std::pair<QRadioButton*, app::FineTunePreset> presets[] = {{m_quick, app::FineTunePreset::Quick},
                                                                     {m_standard, app::FineTunePreset::Standard},
                                                                     {m_thorough, app::FineTunePreset::Thorough}};
    m_quick->group()->setExclusive(false);
    for (const auto& [button, preset] : presets) {
        app::FineTuneSettings expected = m_wizard->settings();
        app::applyPreset(expected, preset);
        button->setChecked(expected == m_wizard->settings());
    }
    m_quick->group()->setExclusive(true);
}

void SettingsPage::update() {
    const app::FineTuneSettings& s = m_wizard->settings();
    if (m_counted) {
        const qint64 samples = app::samplesIn(m_count.streamTokens, s.segments, m_count.segmentLength);
        m_corpus->setText(tr("The corpus makes %1 samples of %2 segments of %3 tokens; %4 held out.")
                              .arg(samples)
                              .arg(s.segments)
                              .arg(m_count.segmentLength)
                              .arg(app::heldOutOf(samples)));
    }
    m_problem->setText(problem());
    if (s.steps > 0)
        m_reestimate->start();
    Q_EMIT completeChanged();
}

QString SettingsPage::problem() const {
    const app::FineTuneSettings& s = m_wizard->settings();
    if (s.steps < 1)
        return tr("Training needs at least one step.");
    if (m_counted) {
        const qint64 samples = app::samplesIn(m_count.streamTokens, s.segments, m_count.segmentLength);
        if (samples < 2)
            return tr("The corpus makes %1 of %2 segments of %3 tokens; training needs two (one is held out). Use "
                      "fewer segments per sample, or add documents.")
                .arg(samples == 1 ? tr("1 sample") : tr("%1 samples").arg(samples))
                .arg(s.segments)
                .arg(m_count.segmentLength);
    }
    return {};
}

bool SettingsPage::isComplete() const {
    return m_counted && problem().isEmpty();
}

}  // namespace uio::ui
