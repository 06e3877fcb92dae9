// Where the library lives, one answer for the desktop application and the command line: the
// folder Settings chose (recorded by uio-desk as "data/in_use"), else the default folder.
#pragma once

#include <QString>

namespace uio::services {

// ~/.local/share/uio-desk (the generic data location): where a new library starts.
QString defaultDataFolder();
// "/uio.sqlite3": the library's file in its folder.
QString libraryFileName();
// The folder of the library in use; made when it does not exist yet.
QString dataFolderInUse();
QString libraryPath();  // dataFolderInUse() + libraryFileName()

}  // namespace uio::services
