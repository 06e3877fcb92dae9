// The main window: library on the left, chat on the right, status bar below.
// Shows state owned by the app/ services; does no model, database or file work itself.
#pragma once

#include <QMainWindow>

class QLabel;

namespace uio::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);

private:
    void buildMenus();
    void showAbout();
};

}  // namespace uio::ui
