#include "uio/download/tokenstore.h"

#include "uio/download/hubrepository.h"

#include <QEventLoop>
#include <QFile>

#ifdef UIO_HAVE_KEYCHAIN
#include <qt6keychain/keychain.h>
#endif

namespace uio::download {

namespace {

const QString kService = QStringLiteral("uio-desk");
const QString kKey = QStringLiteral("huggingface-token");
const QString kKeyring = QStringLiteral("the system keyring");

void fromFile(const std::function<void(const QString&, const QString&)>& done) {
    const QString token = readToken();
    done(token, token.isEmpty() ? QString() : tokenFile());
}

}  // namespace

bool keyringBuilt() {
#ifdef UIO_HAVE_KEYCHAIN
    return true;
#else
    return false;
#endif
}

void loadToken(QObject* context, const std::function<void(const QString& token, const QString& where)>& done) {
#ifdef UIO_HAVE_KEYCHAIN
    auto* job = new QKeychain::ReadPasswordJob(kService, context);
    job->setAutoDelete(true);
    job->setKey(kKey);
    QObject::connect(job, &QKeychain::Job::finished, context, [job, done] {
        const QString token = job->error() == QKeychain::NoError ? job->textData().trimmed() : QString();
        if (!token.isEmpty())
            done(token, kKeyring);
        else
            fromFile(done);  // no keyring, or nothing in it
    });
    job->start();
#else
    Q_UNUSED(context);
    fromFile(done);
#endif
}

void saveToken(const QString& token, QObject* context,
               const std::function<void(const QString& problem, const QString& where)>& done) {
    const auto toFile = [token, done] { done(writeToken(token), tokenFile()); };
#ifdef UIO_HAVE_KEYCHAIN
    auto* job = new QKeychain::WritePasswordJob(kService, context);
    job->setAutoDelete(true);
    job->setKey(kKey);
    job->setTextData(token.trimmed());
    QObject::connect(job, &QKeychain::Job::finished, context, [job, done, toFile] {
        if (job->error() != QKeychain::NoError) {
            toFile();
            return;
        }
        QFile::remove(tokenFile());  // one copy, in the keyring
        done({}, kKeyring);
    });
    job->start();
#else
    Q_UNUSED(context);
    toFile();
#endif
}

QString loadTokenNow(QString* where) {
    QObject context;
    QEventLoop loop;
    QString token;
    bool finished = false;
    loadToken(&context, [&](const QString& found, const QString& at) {
        token = found;
        if (where)
            *where = at;
        finished = true;
        loop.quit();
    });
    if (!finished)
        loop.exec();
    return token;
}

}  // namespace uio::download
