// Downloading a model repository from a hub: a real HTTP server on 127.0.0.1 (hubserver.h) with the
// hub's listing and files. Files arrive whole and checked; a gated repository needs the token; a
// dropped connection resumes with a range; a pause keeps the partial file for the next start; a
// file that does not match its checksum is refused and removed. No test touches the internet.

#include "hubserver.h"
#include "patience.h"
#include "uio/download/modeldownload.h"
#include "uio/download/tokenstore.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using uio::download::HubRepository;
using uio::download::ModelDownload;

namespace {

QByteArray noise(qsizetype n, quint32 seed) {
    QByteArray bytes(n, Qt::Uninitialized);
    QRandomGenerator random(seed);
    for (char& c : bytes)
        c = static_cast<char>(random.bounded(256));
    return bytes;
}

QByteArray contents(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

}  // namespace

class TestDownload : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void listingIsChecked_data();
    void listingIsChecked();
    void downloadsAndChecksEveryFile();
    void gatedRepositoryNeedsTheToken();
    void droppedConnectionResumesWithARange();
    void pausedDownloadResumesInANewRun();
    void fileThatDoesNotMatchIsRemoved();
    void commandLine();
    void savedTokenIsReadBack();

private:
    HubRepository repository(const QString& id) const {
        HubRepository r;
        r.endpoint = m_server.endpoint();
        r.id = id;
        return r;
    }
    // Runs a download to its end; the message when it failed, else an empty string.
    QString run(ModelDownload& download);
    bool ended(ModelDownload& download, QSignalSpy& finished, QSignalSpy& failed);

    HubServer m_server;
    QTemporaryDir m_dir;
    QList<HubFile> m_files;
};

void TestDownload::initTestCase() {
    QVERIFY(m_server.isListening());
    QVERIFY(m_dir.isValid());
    m_files = {{QStringLiteral("config.json"), R"({"model_type": "llama"})", false, false},
               {QStringLiteral("model.safetensors"), noise(3 << 20, 1), true, false},
               {QStringLiteral("sub/tokenizer.model"), noise(5000, 2), true, false}};
    m_server.addRepository(QStringLiteral("owner/model"), m_files);
    m_server.addRepository(QStringLiteral("owner/gated"), m_files, true);
    m_server.addRepository(QStringLiteral("owner/flaky"), m_files);
    m_server.addRepository(QStringLiteral("owner/slow"), m_files);
    m_server.addRepository(QStringLiteral("owner/bad"),
                           {m_files[0], {QStringLiteral("model.safetensors"), noise(4096, 3), true, true}});
}

bool TestDownload::ended(ModelDownload& download, QSignalSpy& finished, QSignalSpy& failed) {
    download.start();
    return QTest::qWaitFor([&] { return finished.count() + failed.count() == 1; }, uio::test::kPatienceMs);
}

QString TestDownload::run(ModelDownload& download) {
    QSignalSpy finished(&download, &ModelDownload::finished);
    QSignalSpy failed(&download, &ModelDownload::failed);
    if (!ended(download, finished, failed))
        return QStringLiteral("neither finished nor failed");
    return failed.isEmpty() ? QString() : failed.first().at(0).toString();
}

void TestDownload::listingIsChecked_data() {
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<bool>("good");
    QTest::newRow("files") << QByteArray(R"([{"type":"file","path":"a/b.json","size":3,"oid":")" + QByteArray(40, 'a') +
                                         R"("}])")
                           << true;
    QTest::newRow("not a list") << QByteArray(R"({"error":"x"})") << false;
    QTest::newRow("parent folder") << QByteArray(R"([{"type":"file","path":"../evil","size":3}])") << false;
    QTest::newRow("absolute") << QByteArray(R"([{"type":"file","path":"/etc/passwd","size":3}])") << false;
    QTest::newRow("dot segments") << QByteArray(R"([{"type":"file","path":"a/../../b","size":3}])") << false;
    QTest::newRow("no size") << QByteArray(R"([{"type":"file","path":"a"}])") << false;
}

void TestDownload::listingIsChecked() {
    QFETCH(QByteArray, json);
    QFETCH(bool, good);
    bool parsed = true;
    try {
        const auto files = uio::download::parseListing(json);
        QCOMPARE(files.size(), 1);
        QCOMPARE(files.front().gitSha1, QByteArray(40, 'a'));
    } catch (const std::runtime_error&) {
        parsed = false;
    }
    QCOMPARE(parsed, good);
    QVERIFY(uio::download::checkRepositoryId(QStringLiteral("a/b")).isEmpty());
    QVERIFY(!uio::download::checkRepositoryId(QStringLiteral("../b")).isEmpty());
    QVERIFY(!uio::download::checkRepositoryId(QStringLiteral("a/b/c")).isEmpty());
}

void TestDownload::downloadsAndChecksEveryFile() {
    const QString folder = m_dir.filePath(QStringLiteral("model"));
    ModelDownload download(repository(QStringLiteral("owner/model")), folder);
    QSignalSpy progress(&download, &ModelDownload::progress);
    QCOMPARE(run(download), QString());
    for (const HubFile& f : m_files)
        QCOMPARE(contents(folder + QLatin1Char('/') + f.path), f.bytes);
    QVERIFY(!QFile::exists(folder + QStringLiteral("/model.safetensors.part")));
    const auto last = progress.last().at(0).value<uio::download::DownloadProgress>();
    QCOMPARE(last.done, last.total);
    // A second run finds everything there and fetches nothing.
    const qsizetype asked = m_server.ranges.size();
    ModelDownload again(repository(QStringLiteral("owner/model")), folder);
    QCOMPARE(run(again), QString());
    QCOMPARE(m_server.ranges.size(), asked);
}

void TestDownload::gatedRepositoryNeedsTheToken() {
    const QString folder = m_dir.filePath(QStringLiteral("gated"));
    ModelDownload without(repository(QStringLiteral("owner/gated")), folder);
    const QString refused = run(without);
    QVERIFY2(refused.contains(QStringLiteral("gated")) && refused.contains(QStringLiteral("access token")),
             qPrintable(refused));
    ModelDownload wrong(repository(QStringLiteral("owner/gated")), folder, QStringLiteral("hf_wrong"));
    QVERIFY2(run(wrong).contains(QStringLiteral("token was refused")), "a wrong token is named as such");
    ModelDownload with(repository(QStringLiteral("owner/gated")), folder, QString::fromLatin1(HubServer::kToken));
    QCOMPARE(run(with), QString());
    QCOMPARE(contents(folder + QStringLiteral("/model.safetensors")), m_files[1].bytes);
}

void TestDownload::droppedConnectionResumesWithARange() {
    const QString folder = m_dir.filePath(QStringLiteral("flaky"));
    m_server.dropOnce(QStringLiteral("model.safetensors"));
    m_server.ranges.clear();
    ModelDownload download(repository(QStringLiteral("owner/flaky")), folder);
    QCOMPARE(run(download), QString());
    QCOMPARE(contents(folder + QStringLiteral("/model.safetensors")), m_files[1].bytes);
    // The second request for the big file asked for the rest only.
    QList<QByteArray> asked;
    for (const QByteArray& r : m_server.ranges)
        if (!r.isEmpty())
            asked << r;
    QCOMPARE(asked.size(), 1);
    QVERIFY2(asked.front().startsWith("bytes=") && !asked.front().startsWith("bytes=0-"), asked.front().constData());
}

void TestDownload::pausedDownloadResumesInANewRun() {
    const QString folder = m_dir.filePath(QStringLiteral("slow"));
    m_server.stallOnce(QStringLiteral("model.safetensors"));
    {
        ModelDownload download(repository(QStringLiteral("owner/slow")), folder);
        QSignalSpy stalled(&m_server, &HubServer::stalled);
        QSignalSpy progress(&download, &ModelDownload::progress);
        QSignalSpy paused(&download, &ModelDownload::paused);
        download.start();
        UIO_TRY_VERIFY(!stalled.isEmpty() && !progress.isEmpty() &&
                       progress.last().at(0).value<uio::download::DownloadProgress>().fileDone ==
                           m_files[1].bytes.size() / 2);
        download.pause();
        UIO_TRY_COMPARE(paused.count(), 1);
        m_server.release();
    }
    QCOMPARE(QFileInfo(folder + QStringLiteral("/model.safetensors.part")).size(), m_files[1].bytes.size() / 2);
    QVERIFY(!QFile::exists(folder + QStringLiteral("/model.safetensors")));
    m_server.ranges.clear();
    ModelDownload resumed(repository(QStringLiteral("owner/slow")), folder);
    QCOMPARE(run(resumed), QString());
    QCOMPARE(contents(folder + QStringLiteral("/model.safetensors")), m_files[1].bytes);
    QVERIFY(m_server.ranges.contains("bytes=" + QByteArray::number(m_files[1].bytes.size() / 2) + '-'));
}

void TestDownload::fileThatDoesNotMatchIsRemoved() {
    const QString folder = m_dir.filePath(QStringLiteral("bad"));
    ModelDownload download(repository(QStringLiteral("owner/bad")), folder);
    const QString message = run(download);
    QVERIFY2(message.contains(QStringLiteral("does not match the repository's checksum")), qPrintable(message));
    QVERIFY(!QFile::exists(folder + QStringLiteral("/model.safetensors")));
    QVERIFY(!QFile::exists(folder + QStringLiteral("/model.safetensors.part")));
    QVERIFY(QFile::exists(folder + QStringLiteral("/config.json")));  // what was good stays
}

void TestDownload::commandLine() {
    const QString folder = m_dir.filePath(QStringLiteral("cli"));
    const QString token = m_dir.filePath(QStringLiteral("token"));
    QVERIFY(uio::download::writeToken(QString::fromLatin1(HubServer::kToken), token).isEmpty());
    QCOMPARE(QFile::permissions(token),
             QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadUser | QFileDevice::WriteUser);
    QProcess uio;
    uio.start(
        QStringLiteral(UIO_BINARY),
        {QStringLiteral("download"), QStringLiteral("owner/gated"), QStringLiteral("--endpoint"), m_server.endpoint(),
         QStringLiteral("--token-file"), token, QStringLiteral("--out"), folder, QStringLiteral("--json")});
    // The server runs on this thread: the process is waited for by events, not by blocking.
    QSignalSpy ended(&uio, &QProcess::finished);
    UIO_TRY_COMPARE(ended.count(), 1);
    QVERIFY2(uio.exitCode() == 0, uio.readAllStandardError().constData());
    QVERIFY(uio.readAllStandardOutput().contains("\"event\":\"done\""));
    QCOMPARE(contents(folder + QStringLiteral("/sub/tokenizer.model")), m_files[2].bytes);
}

void TestDownload::savedTokenIsReadBack() {
    // Where no keyring answers (this test's environment: no session bus), a file only its owner
    // may read; where one does, the keyring and no file. Either way the token comes back.
    QStandardPaths::setTestModeEnabled(true);  // the configuration folder is a test one
    QFile::remove(uio::download::tokenFile());
    QString problem = QStringLiteral("not answered"), where;
    QObject context;
    uio::download::saveToken(QStringLiteral("hf_saved"), &context, [&](const QString& p, const QString& at) {
        problem = p;
        where = at;
    });
    UIO_TRY_VERIFY(problem != QStringLiteral("not answered"));
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    if (where == uio::download::tokenFile()) {
        QCOMPARE(QFile::permissions(where) & (QFileDevice::ReadOther | QFileDevice::ReadGroup),
                 QFileDevice::Permissions());
    } else {
        QVERIFY(!QFile::exists(uio::download::tokenFile()));
    }
    QString found;
    QCOMPARE(uio::download::loadTokenNow(&found), QStringLiteral("hf_saved"));
    QCOMPARE(found, where);
    qInfo("the token was kept in %s", qPrintable(where));
    QFile::remove(uio::download::tokenFile());
    QStandardPaths::setTestModeEnabled(false);
}

QTEST_GUILESS_MAIN(TestDownload)
#include "test_download.moc"
