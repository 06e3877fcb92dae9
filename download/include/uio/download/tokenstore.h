// Where the access token for gated repositories is kept: the system keyring (the Secret Service or
// KWallet, through QtKeychain) when one answers, else the file tokenFile() that only its owner may
// read. Only one copy: a token saved to the keyring removes the file.
#pragma once

#include <QObject>
#include <QString>

#include <functional>

namespace uio::download {

// Whether this build can use a keyring at all (QtKeychain was found).
bool keyringBuilt();

// Asynchronous: `done` runs on `context`'s thread with the token (empty when none is kept) and
// where it was found ("the system keyring", a file path, or empty).
void loadToken(QObject* context, const std::function<void(const QString& token, const QString& where)>& done);
// `done` gets what went wrong as a sentence (empty on success) and where the token went.
void saveToken(const QString& token, QObject* context,
               const std::function<void(const QString& problem, const QString& where)>& done);

// The same as loadToken, waiting in a local event loop: for the command line.
QString loadTokenNow(QString* where = nullptr);

}  // namespace uio::download
