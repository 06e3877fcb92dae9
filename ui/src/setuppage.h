// The first-run page: try the demo model, or choose a Hugging Face Llama folder (checked at
// once, with the loader's message when it is not usable), the compressor (a UIO adapter file, a
// new untrained adapter, or the published UltraGist with its ratio), the device (CUDA devices with their free memory,
// or the CPU) and the precision. Sends the choice as an intent; the main window loads it through the model service.
#pragma once

#include "uio/app/libraryservice.h"
#include "uio/app/modelservice.h"

#include <QWidget>

class QButtonGroup;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QTimer;

namespace uio::ui {

class SetupPage : public QWidget {
    Q_OBJECT

public:
    explicit SetupPage(QWidget* parent = nullptr);
    // Fills the fields from the remembered choice (the folder is checked again).
    void setSettings(const app::ModelSettings& settings);
    void setBackAvailable(bool available);  // a model is loaded: the page can be left unchanged

public Q_SLOTS:
    void showFolderCheck(const QString& dir, bool ok, const QString& summary);
    void setDevices(const QList<uio::app::DeviceChoice>& devices);
    void setMessage(const QString& text);                                // e.g. why the last model could not be loaded
    void setKnownAdapters(const QList<uio::app::AdapterRow>& adapters);  // made by fine-tuning
    // The checked folder holds UltraGist's compressor: chosen unless an adapter file was given.
    void offerUltraGist(const QString& dir, bool found);

Q_SIGNALS:
    void inspectRequested(const QString& dir);
    void demoRequested();
    void storyDemoRequested();
    // createAdapter: make a new, untrained adapter at settings.adapterPath first.
    void startRequested(const uio::app::ModelSettings& settings, bool createAdapter);
    void backRequested();

private:
    // Says why the current device's fastest precision is the fastest; choose: select it too.
    void showFastestPrecision(bool choose);
    void folderEdited();
    void updateStart();
    app::ModelSettings chosen() const;

    app::ModelSettings m_settings;
    QLabel* m_message;
    QLineEdit* m_folder;
    QLabel* m_folderCheck;
    QTimer* m_checkDelay;
    QString m_checkedFolder;  // the folder the last good check was for
    QRadioButton* m_useFile;
    QRadioButton* m_createNew;
    QRadioButton* m_useUltraGist;
    QLineEdit* m_ultragistSource;
    QPushButton* m_browseUltraGist;
    QComboBox* m_ratio;
    QLabel* m_ultragistNote;
    QLineEdit* m_adapter;
    QPushButton* m_browseAdapter;
    QComboBox* m_known;
    QComboBox* m_device;
    QComboBox* m_precision;
    QLabel* m_precisionWhy;  // why the device's default precision is the fastest
    QList<app::DeviceChoice> m_devices;
    QCheckBox* m_continuation;
    QPushButton* m_start;
    QPushButton* m_back;
};

}  // namespace uio::ui
