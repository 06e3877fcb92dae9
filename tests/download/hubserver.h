// A model hub on 127.0.0.1 for the download tests: the listing and files of a few repositories,
// HTTP ranges, a gated repository (401 without the token), a file whose bytes do not match its
// listed checksum, a connection dropped half way, and one that stalls half way until released.
#pragma once

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QSet>
#include <QString>
#include <QTcpServer>

class QTcpSocket;

struct HubFile {
    QString path;
    QByteArray bytes;
    bool lfs = true;        // listed with a sha256 (else git's blob sha1)
    bool wrongSum = false;  // listed with the checksum of other bytes
};

class HubServer : public QTcpServer {
    Q_OBJECT

public:
    HubServer();
    QString endpoint() const;
    void addRepository(const QString& id, const QList<HubFile>& files, bool gated = false);
    // The next transfer of `path` sends half its bytes, then drops the connection (drop) or
    // waits until release() (stall).
    void dropOnce(const QString& path) { m_drop.insert(path); }
    void stallOnce(const QString& path) { m_stall.insert(path); }
    void release();

    QList<QByteArray> ranges;  // the Range headers asked for, in order ("" for none)
    static constexpr const char* kToken = "hf_secret";

Q_SIGNALS:
    void stalled();

private:
    void serve(QTcpSocket* socket);
    void respond(QTcpSocket* socket, const QByteArray& request);

    struct Repository {
        QList<HubFile> files;
        bool gated = false;
    };
    QHash<QString, Repository> m_repositories;
    QSet<QString> m_drop, m_stall;
    QList<QTcpSocket*> m_stalled;
};
