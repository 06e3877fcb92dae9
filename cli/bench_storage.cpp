// uio bench storage: memory-cache write and read MB/s for 8 and 32 MiB segments, next to writing
// and reading the same bytes as plain files on the same disk (neither side calls fsync; the
// library runs SQLite in WAL mode with synchronous=NORMAL, as the application does).

#include "bench.h"
#include "command.h"
#include "options.h"
#include "uio/common/checksum.h"
#include "uio/storage/library.h"
#include "uio/storage/memory_cache.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cstdio>

namespace uio::cli {

namespace {

double mbPerSecond(double bytes, qint64 nanoseconds) {
    return bytes / (1 << 20) / (nanoseconds / 1e9);
}

}  // namespace

int benchStorage(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Measure memory-cache write/read MB/s against plain files."));
    parser.addOptions({
        {QStringLiteral("dir"), QStringLiteral("Folder on the disk to measure (default: a temporary folder)."),
         QStringLiteral("dir")},
        {QStringLiteral("count"), QStringLiteral("Segments per size (default 16)."), QStringLiteral("n")},
    });
    parse(parser, QStringLiteral("bench storage"), args);
    const int count = intValue(parser, QStringLiteral("count"), 16);
    QTemporaryDir dir(parser.isSet(QStringLiteral("dir"))
                          ? parser.value(QStringLiteral("dir")) + QStringLiteral("/uio-bench-XXXXXX")
                          : QString());
    if (!dir.isValid())
        throw std::runtime_error("cannot create a temporary folder to measure in");

    QJsonArray rows;
    for (const int mib : {8, 32}) {
        std::vector<std::byte> bytes(static_cast<size_t>(mib) << 20);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<std::byte>((i * 2654435761u) >> 24);
        const uint64_t checksum = blob_checksum(bytes);
        const double total = static_cast<double>(bytes.size()) * count;

        storage::Library library(dir.filePath(QStringLiteral("bench-%1.sqlite3").arg(mib)).toStdString());
        storage::MemoryCache cache(library.db());
        const int64_t key = cache.key_id({"bench", "m", "a", 1024, 32, "u8"});
        QElapsedTimer timer;
        timer.start();
        for (int i = 0; i < count; ++i)
            cache.put(key, {i, 0, 1, {static_cast<int64_t>(bytes.size())}, "u8", checksum}, bytes);
        const qint64 dbWrite = timer.nsecsElapsed();
        timer.restart();
        for (int i = 0; i < count; ++i) {
            if (!cache.get(key, i))
                throw std::runtime_error("a segment did not read back");
        }
        const qint64 dbRead = timer.nsecsElapsed();

        timer.restart();
        for (int i = 0; i < count; ++i) {
            std::FILE* f =
                std::fopen(dir.filePath(QStringLiteral("plain-%1-%2").arg(mib).arg(i)).toLocal8Bit().constData(), "wb");
            if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
                throw std::runtime_error("plain write failed");
            std::fclose(f);
        }
        const qint64 fileWrite = timer.nsecsElapsed();
        timer.restart();
        std::vector<std::byte> back(bytes.size());
        for (int i = 0; i < count; ++i) {
            std::FILE* f =
                std::fopen(dir.filePath(QStringLiteral("plain-%1-%2").arg(mib).arg(i)).toLocal8Bit().constData(), "rb");
            if (!f || std::fread(back.data(), 1, back.size(), f) != back.size())
                throw std::runtime_error("plain read failed");
            std::fclose(f);
            if (blob_checksum(back) != checksum)
                throw std::runtime_error("plain read differs");  // same work as the cache
        }
        const qint64 fileRead = timer.nsecsElapsed();
        rows.append(QJsonObject{{QStringLiteral("segment_mib"), mib},
                                {QStringLiteral("count"), count},
                                {QStringLiteral("cache_write_mb_s"), mbPerSecond(total, dbWrite)},
                                {QStringLiteral("cache_read_mb_s"), mbPerSecond(total, dbRead)},
                                {QStringLiteral("file_write_mb_s"), mbPerSecond(total, fileWrite)},
                                {QStringLiteral("file_read_mb_s"), mbPerSecond(total, fileRead)}});
    }
    printJson(QJsonDocument(QJsonObject{{QStringLiteral("bench"), QStringLiteral("storage")},
                                        {QStringLiteral("machine"), machineJson("cpu")},
                                        {QStringLiteral("results"), rows}}));
    return 0;
}

}  // namespace uio::cli
