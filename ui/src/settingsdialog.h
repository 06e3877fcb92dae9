// Settings: how answers are generated; the device, precision and threads the model runs with;
// the limits of the process that reads each added document; where the library lives; how much
// compressed memory is stored, and removing what is stale.
#pragma once

#include "uio/app/modelservice.h"
#include "uio/ingest/readerprocess.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QPlainTextEdit;
class QSpinBox;

namespace uio::ui {

class SettingsDialog : public QDialog {
    Q_OBJECT

public:
    SettingsDialog(const app::AskSettings& ask, const app::ModelSettings& model, const ingest::ReaderLimits& reading,
                   const QString& dataFolder, QWidget* parent = nullptr);
    app::AskSettings askSettings() const;
    app::ModelSettings modelSettings() const;  // the given one with device, precision, batch, threads changed
    QString dataFolder() const;
    ingest::ReaderLimits readerLimits() const;

public Q_SLOTS:
    void setCacheUsage(qint64 totalBytes, qint64 otherBytes);

Q_SIGNALS:
    void purgeRequested();  // remove the memory not made by the current model and adapter

private:
    app::ModelSettings m_model;
    QDoubleSpinBox* m_temperature;
    QDoubleSpinBox* m_topP;
    QSpinBox* m_maxTokens;
    QPlainTextEdit* m_system;
    QSpinBox* m_passageShare;
    QCheckBox* m_untrainedMemories;
    QComboBox* m_device;
    QComboBox* m_precision;
    QSpinBox* m_batch;
    QSpinBox* m_threads;
    QSpinBox* m_readerMemory;
    QSpinBox* m_readerTime;
    QLineEdit* m_dataFolder;
    QLabel* m_cacheUsage;
    QPushButton* m_purge;
};

}  // namespace uio::ui
