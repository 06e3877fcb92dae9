// Settings: how answers are generated, and the device and precision the model runs with.
#pragma once

#include "uio/app/modelservice.h"

#include <QDialog>

class QComboBox;
class QDoubleSpinBox;
class QPlainTextEdit;
class QSpinBox;

namespace uio::ui {

class SettingsDialog : public QDialog {
    Q_OBJECT

public:
    SettingsDialog(const app::AskSettings& ask, const app::ModelSettings& model, QWidget* parent = nullptr);
    app::AskSettings askSettings() const;
    app::ModelSettings modelSettings() const;  // the given one with device, precision and batch changed

private:
    app::ModelSettings m_model;
    QDoubleSpinBox* m_temperature;
    QDoubleSpinBox* m_topP;
    QSpinBox* m_maxTokens;
    QPlainTextEdit* m_system;
    QComboBox* m_device;
    QComboBox* m_precision;
    QSpinBox* m_batch;
};

}  // namespace uio::ui
