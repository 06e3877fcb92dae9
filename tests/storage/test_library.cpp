// Opening a library: migrations from the first schema, refusing newer and damaged files,
// and a full disk that loses nothing already saved.

#include "migrations.h"
#include "uio/common/checksum.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/jobs.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"
#include "uio/storage/passages.h"
#include "uio/storage/statement.h"

#include <QCryptographicHash>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace uio::storage;

namespace {

QByteArray fileHash(const QString& path) {
    QFile f(path);
    f.open(QIODevice::ReadOnly);
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

NewDocument sampleDocument(const std::string& sha) {
    NewDocument d;
    d.sha256 = sha;
    d.title = "Moby-Dick";
    d.format = "txt";
    d.text = "Call me Ishmael.";
    return d;
}

}  // namespace

class TestLibrary : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void createsTheCurrentSchema();
    void migratesAFileOfTheFirstSchema();
    void refusesANewerLibraryAndLeavesItUntouched();
    void negativeVersionIsDamage();
    void chatListedButMissingById();
    void notADatabaseAndDamagedFiles();
    void fullDiskLosesNothing();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString path() const { return m_dir->filePath(QStringLiteral("uio.sqlite3")); }
};

void TestLibrary::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestLibrary::createsTheCurrentSchema() {
    Library library(path().toStdString());
    QCOMPARE(library.schema_version(), Library::latest_schema_version());
    QCOMPARE(library.integrity_check(), std::string("ok"));
    Statement mode(library.db(), "PRAGMA journal_mode");
    QVERIFY(mode.step());
    QCOMPARE(mode.column_text(0), std::string("wal"));
}

void TestLibrary::migratesAFileOfTheFirstSchema() {
    {
        Database db(path().toStdString());
        migrate(db, 1);  // a library written by the first release, as it wrote it
        QCOMPARE(db.user_version(), 1);
        db.exec("INSERT INTO documents(id, sha256, title, format, added_at) VALUES (1, 'aa', 'Moby-Dick', 'txt', 0)");
        // Its maps counted UTF-16 code units: "Ç" is one unit and two bytes, "𝄞" two units and four bytes.
        db.exec(
            "INSERT INTO document_texts(document_id, text, sections, page_map) VALUES (1, "
            "'Ç𝄞 Call me Ishmael. Some years ago', '[{\"title\":\"Loomings\",\"level\":1,\"offset\":4}]', "
            "'[[1,0,19],[2,19,33]]')");
    }
    Library library(path().toStdString());
    QCOMPARE(library.schema_version(), Library::latest_schema_version());
    Documents documents(library.db());
    QCOMPARE(documents.list().size(), size_t(1));
    QCOMPARE(documents.list().front().document.title, std::string("Moby-Dick"));
    // Indexed on the first chance, its maps rewritten in bytes of the UTF-8 text.
    Passages passages(library.db());
    QCOMPARE(passages.unindexed_count(), int64_t(1));
    QCOMPARE(passages.index_next(), std::optional<int64_t>(1));
    QCOMPARE(passages.unindexed_count(), int64_t(0));
    QCOMPARE(passages.index_next(), std::optional<int64_t>());
    QCOMPARE(documents.text(1)->sections_json, std::string(R"([{"level":1,"offset":7,"title":"Loomings"}])"));
    QCOMPARE(documents.text(1)->page_map_json, std::string("[[1,0,22],[2,22,36]]"));
    const auto hits = passages.search("Who is Ishmael?", {1});
    QCOMPARE(hits.size(), size_t(1));
    QCOMPARE(hits.front().passage.section, std::string("Loomings"));
    QVERIFY2(hits.front().snippet.find("[Ishmael]") != std::string::npos, hits.front().snippet.c_str());
    // The later tables work on the migrated file.
    Chats chats(library.db());
    const int64_t chat = chats.create("About whales", {documents.list().front().document.id});
    QCOMPARE(chats.get(chat)->document_ids.size(), size_t(1));
    QCOMPARE(library.integrity_check(), std::string("ok"));
}

void TestLibrary::refusesANewerLibraryAndLeavesItUntouched() {
    {
        Library library(path().toStdString());
        library.db().set_user_version(Library::latest_schema_version() + 1);
        library.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    const QByteArray before = fileHash(path());
    try {
        Library library(path().toStdString());
        QFAIL("expected a StorageError");
    } catch (const StorageError& e) {
        QCOMPARE(e.kind(), StorageError::Kind::NewerVersion);
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("newer UIO Desk")), e.what());
    }
    QCOMPARE(fileHash(path()), before);
}

// A negative user_version once indexed the migrations out of range (fuzz_library's finding).
void TestLibrary::negativeVersionIsDamage() {
    {
        Library library(path().toStdString());
        library.db().set_user_version(-3);
    }
    try {
        Library library(path().toStdString());
        QFAIL("expected a StorageError");
    } catch (const StorageError& e) {
        QCOMPARE(e.kind(), StorageError::Kind::Damaged);
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("impossible schema version -3")), e.what());
    }
}

// In this damaged file a scan of the chats table yields a chat that a lookup by id does not find;
// listing the chats once copied that missing chat out of an empty optional (fuzz_library's finding).
// The untrusted tests run under AddressSanitizer too, where the old code failed at once.
void TestLibrary::chatListedButMissingById() {
    QVERIFY(QFile::copy(QStringLiteral(UIO_SOURCE_DIR "/fuzz/corpus/fuzz_library/finding-chat-missing-by-id"), path()));
    QFile::setPermissions(path(), QFile::ReadOwner | QFile::WriteOwner);
    try {
        Library library(path().toStdString());
        const std::vector<Chat> chats = Chats(library.db()).list();
        QCOMPARE(chats.size(), size_t{3});
        QVERIFY(!Chats(library.db()).get(chats.front().id));  // the one a lookup misses
    } catch (const StorageError& e) {
        QFAIL(e.what());  // this damage is past what opening and listing look at
    }
}

void TestLibrary::notADatabaseAndDamagedFiles() {
    {
        QFile f(path());
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(8192, 'z'));
    }
    try {
        Library library(path().toStdString());
        QFAIL("expected a StorageError");
    } catch (const StorageError& e) {
        QCOMPARE(e.kind(), StorageError::Kind::NotADatabase);
    }
    const auto aside = Library::move_aside(path().toStdString());
    QVERIFY(QFile::exists(QString::fromStdString(aside.string())));
    QVERIFY(!QFile::exists(path()));
    Library fresh(path().toStdString());  // a new start, the old file kept
    QCOMPARE(fresh.integrity_check(), std::string("ok"));

    // A library whose pages were overwritten in the middle.
    const QString damaged = m_dir->filePath(QStringLiteral("damaged.sqlite3"));
    {
        Library library(damaged.toStdString());
        Documents documents(library.db());
        for (int i = 0; i < 50; ++i)
            documents.add(sampleDocument("sha" + std::to_string(i)));
        library.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    {
        QFile f(damaged);
        QVERIFY(f.open(QIODevice::ReadWrite));
        const qint64 size = f.size();
        f.seek(size / 3);  // the middle third: table pages, past the header
        f.write(QByteArray(size / 3, '\x5a'));
    }
    try {
        Library library(damaged.toStdString());
        Documents(library.db()).list();
        QVERIFY(library.integrity_check() != "ok");
    } catch (const StorageError& e) {
        QVERIFY2(e.kind() == StorageError::Kind::Damaged || e.kind() == StorageError::Kind::NotADatabase, e.what());
    }
}

void TestLibrary::fullDiskLosesNothing() {
    Library library(path().toStdString());
    MemoryCache cache(library.db());
    Documents documents(library.db());
    documents.add(sampleDocument("kept"));
    const int64_t key = cache.key_id({"kept", "m", "a", 64, 8, "f32"});
    std::vector<std::byte> bytes(256 * 1024, std::byte{7});
    const SegmentInfo info{0, 0, 64, {2, 8, 64}, "f32", uio::blob_checksum(bytes)};
    cache.put(key, info, bytes);

    Statement pages(library.db(), "PRAGMA page_count");
    pages.step();
    library.db().exec("PRAGMA max_page_count = " + std::to_string(pages.column_int(0) + 10));
    std::vector<std::byte> big(4 * 1024 * 1024, std::byte{9});
    try {
        cache.put(key, SegmentInfo{1, 64, 128, {2, 8, 64}, "f32", uio::blob_checksum(big)}, big);
        QFAIL("expected a StorageError");
    } catch (const StorageError& e) {
        QCOMPARE(e.kind(), StorageError::Kind::DiskFull);
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("free some space")), e.what());
    }
    QCOMPARE(library.integrity_check(), std::string("ok"));
    QCOMPARE(cache.indices(key), std::vector<int64_t>{0});
    QVERIFY(cache.get(key, 0)->bytes == bytes);
    QCOMPARE(documents.list().size(), size_t(1));
}

QTEST_APPLESS_MAIN(TestLibrary)
#include "test_library.moc"
