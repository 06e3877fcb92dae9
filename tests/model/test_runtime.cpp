// Thread settings reach both libtorch and OpenBLAS.

#include "uio/model/runtime.h"

#include <QTest>

class TestRuntime : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void setsThreadsOfBothPools_data();
    void setsThreadsOfBothPools();
    void reportsLinkedLibtorch();
};

void TestRuntime::setsThreadsOfBothPools_data() {
    QTest::addColumn<int>("threads");
    QTest::newRow("one") << 1;
    QTest::newRow("two") << 2;
}

void TestRuntime::setsThreadsOfBothPools() {
    QFETCH(int, threads);
    uio::model::set_cpu_threads(threads);
    const uio::model::RuntimeInfo info = uio::model::runtime_info();
    QCOMPARE(info.n_cpu_threads, threads);
    if (info.blas.rfind("OpenBLAS", 0) == 0) {
        QCOMPARE(info.n_blas_threads, threads);
    }
}

void TestRuntime::reportsLinkedLibtorch() {
    const uio::model::RuntimeInfo info = uio::model::runtime_info();
    QVERIFY(!info.torch_version.empty());
    QVERIFY(info.n_cuda_devices >= 0);
    QCOMPARE(info.cuda_available, info.n_cuda_devices > 0);
}

QTEST_APPLESS_MAIN(TestRuntime)
#include "test_runtime.moc"
