#include "hubserver.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QUrl>

HubServer::HubServer() {
    listen(QHostAddress::LocalHost, 0);
    connect(this, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket* socket = nextPendingConnection())
            serve(socket);
    });
}

QString HubServer::endpoint() const {
    return QStringLiteral("http://127.0.0.1:%1").arg(serverPort());
}

void HubServer::addRepository(const QString& id, const QList<HubFile>& files, bool gated) {
    m_repositories.insert(id, {files, gated});
}

void HubServer::release() {
    for (QTcpSocket* socket : std::exchange(m_stalled, {}))
        socket->disconnectFromHost();  // the rest never comes: the client sees a dropped transfer
}

void HubServer::serve(QTcpSocket* socket) {
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    auto* buffer = new QByteArray;
    connect(socket, &QObject::destroyed, [buffer] { delete buffer; });
    connect(socket, &QTcpSocket::readyRead, this, [this, socket, buffer] {
        buffer->append(socket->readAll());
        if (buffer->contains("\r\n\r\n")) {
            respond(socket, *buffer);
            buffer->clear();
        }
    });
}

void HubServer::respond(QTcpSocket* socket, const QByteArray& request) {
    const QList<QByteArray> lines = request.split('\n');
    const QList<QByteArray> first = lines.value(0).trimmed().split(' ');
    const QString target = QUrl::fromPercentEncoding(first.value(1));
    QByteArray range, authorization;
    for (const QByteArray& line : lines) {
        if (line.toLower().startsWith("range:"))
            range = line.mid(6).trimmed();
        if (line.toLower().startsWith("authorization:"))
            authorization = line.mid(14).trimmed();
    }
    auto send = [socket](int status, const QByteArray& reason, const QByteArray& body, const QByteArray& extra = {}) {
        socket->write("HTTP/1.1 " + QByteArray::number(status) + ' ' + reason + "\r\nContent-Length: " +
                      QByteArray::number(body.size()) + "\r\nConnection: close\r\n" + extra + "\r\n" + body);
        socket->disconnectFromHost();
    };
    for (auto it = m_repositories.cbegin(); it != m_repositories.cend(); ++it) {
        const Repository& repository = it.value();
        const bool listing = target.startsWith(QStringLiteral("/api/models/") + it.key() + QStringLiteral("/tree/"));
        const QString prefix = QLatin1Char('/') + it.key() + QStringLiteral("/resolve/main/");
        if (!listing && !target.startsWith(prefix))
            continue;
        if (repository.gated && authorization != QByteArray("Bearer ") + kToken)
            return send(401, "Unauthorized", "{\"error\":\"gated\"}");
        if (listing) {
            QJsonArray entries{QJsonObject{{QStringLiteral("type"), QStringLiteral("directory")},
                                           {QStringLiteral("path"), QStringLiteral("sub")}}};
            for (const HubFile& f : repository.files) {
                const QByteArray listed = f.wrongSum ? f.bytes + "x" : f.bytes;
                QJsonObject entry{{QStringLiteral("type"), QStringLiteral("file")},
                                  {QStringLiteral("path"), f.path},
                                  {QStringLiteral("size"), static_cast<qint64>(f.bytes.size())}};
                const QByteArray blob = "blob " + QByteArray::number(listed.size()) + '\0' + listed;
                entry[QStringLiteral("oid")] =
                    QString::fromLatin1(QCryptographicHash::hash(blob, QCryptographicHash::Sha1).toHex());
                if (f.lfs) {
                    entry[QStringLiteral("lfs")] = QJsonObject{
                        {QStringLiteral("oid"),
                         QString::fromLatin1(QCryptographicHash::hash(listed, QCryptographicHash::Sha256).toHex())},
                        {QStringLiteral("size"), static_cast<qint64>(f.bytes.size())}};
                }
                entries.append(entry);
            }
            return send(200, "OK", QJsonDocument(entries).toJson(QJsonDocument::Compact));
        }
        const QString path = target.mid(prefix.size());
        for (const HubFile& f : repository.files) {
            if (f.path != path)
                continue;
            ranges << range;
            qint64 from = 0;
            if (range.startsWith("bytes="))
                from = range.mid(6).split('-').value(0).toLongLong();
            if (from >= f.bytes.size())
                return send(416, "Range Not Satisfiable", {});
            const QByteArray body = f.bytes.mid(from);
            const QByteArray head =
                "HTTP/1.1 " + QByteArray(from > 0 ? "206 Partial Content" : "200 OK") +
                "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\nConnection: close\r\n" +
                (from > 0
                     ? "Content-Range: bytes " + QByteArray::number(from) + '-' +
                           QByteArray::number(f.bytes.size() - 1) + '/' + QByteArray::number(f.bytes.size()) + "\r\n"
                     : QByteArray()) +
                "\r\n";
            if (m_drop.remove(path)) {  // half, then the connection goes
                connect(socket, &QTcpSocket::bytesWritten, socket, [socket] {
                    if (socket->bytesToWrite() == 0)
                        socket->abort();
                });
                socket->write(head + body.left(body.size() / 2));
                return;
            }
            if (m_stall.remove(path)) {  // half, then nothing until released
                socket->write(head + body.left(body.size() / 2));
                m_stalled << socket;
                Q_EMIT stalled();
                return;
            }
            socket->write(head + body);
            socket->disconnectFromHost();
            return;
        }
        return send(404, "Not Found", {});
    }
    send(404, "Not Found", "{\"error\":\"Repository not found\"}");
}
