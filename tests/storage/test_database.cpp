// Database, Statement and Transaction on a real SQLite file.

#include "uio/storage/database.h"
#include "uio/storage/statement.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using uio::storage::Database;
using uio::storage::Statement;
using uio::storage::StorageError;
using uio::storage::Transaction;

class TestDatabase : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void writesAndReadsARowThroughAFile();
    void opensInWalModeWithForeignKeys();
    void transactionRollsBackUnlessCommitted();
    void errorsCarrySqliteMessage();
    void refusesAFileThatIsNotADatabase();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::filesystem::path dbPath() const { return (m_dir->path() + QStringLiteral("/test.sqlite3")).toStdString(); }
};

void TestDatabase::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestDatabase::writesAndReadsARowThroughAFile() {
    const std::vector<std::byte> blob{std::byte{0}, std::byte{1}, std::byte{255}};
    {
        Database db(dbPath());
        db.exec("CREATE TABLE note(id INTEGER PRIMARY KEY, title TEXT, weight REAL, data BLOB)");
        Statement insert(db, "INSERT INTO note(title, weight, data) VALUES (?, ?, ?)");
        insert.bind(1, std::string_view("Grüße")).bind(2, 0.25).bind_blob(3, blob).run();
    }
    QVERIFY(QFile::exists(QString::fromStdString(dbPath().string())));

    Database reopened(dbPath());
    Statement select(reopened, "SELECT id, title, weight, data FROM note");
    QVERIFY(select.step());
    QCOMPARE(select.column_int(0), 1);
    QCOMPARE(select.column_text(1), std::string("Grüße"));
    QCOMPARE(select.column_double(2), 0.25);
    QVERIFY(select.column_blob(3) == blob);
    QVERIFY(!select.step());
}

void TestDatabase::opensInWalModeWithForeignKeys() {
    Database db(dbPath());
    db.use_wal();
    Statement mode(db, "PRAGMA journal_mode");
    QVERIFY(mode.step());
    QCOMPARE(mode.column_text(0), std::string("wal"));
    Statement keys(db, "PRAGMA foreign_keys");
    QVERIFY(keys.step());
    QCOMPARE(keys.column_int(0), 1);
    QCOMPARE(db.user_version(), 0);
    db.set_user_version(3);
    QCOMPARE(db.user_version(), 3);
}

void TestDatabase::transactionRollsBackUnlessCommitted() {
    Database db(dbPath());
    db.exec("CREATE TABLE t(x INTEGER)");
    {
        Transaction abandoned(db);
        db.exec("INSERT INTO t VALUES (1)");
    }
    {
        Transaction kept(db);
        db.exec("INSERT INTO t VALUES (2)");
        kept.commit();
    }
    Statement rows(db, "SELECT group_concat(x) FROM t");
    QVERIFY(rows.step());
    QCOMPARE(rows.column_text(0), std::string("2"));
}

void TestDatabase::errorsCarrySqliteMessage() {
    Database db(dbPath());
    try {
        Statement bad(db, "SELECT * FROM missing_table");
        QFAIL("expected a StorageError");
    } catch (const StorageError& e) {
        QVERIFY2(std::string(e.what()).find("no such table: missing_table") != std::string::npos, e.what());
        QVERIFY(e.code() != 0);
    }
}

void TestDatabase::refusesAFileThatIsNotADatabase() {
    QFile file(QString::fromStdString(dbPath().string()));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(4096, 'x'));
    file.close();
    try {
        Database db(dbPath());
        QFAIL("expected a StorageError");
    } catch (const StorageError& e) {
        QVERIFY2(std::string(e.what()).find("not a usable database") != std::string::npos, e.what());
    }
    // The file is left as it was.
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), QByteArray(4096, 'x'));
}

QTEST_APPLESS_MAIN(TestDatabase)
#include "test_database.moc"
