// RMSNorm against a naive double-precision loop and a value worked out by hand.

#include "rms_norm.h"

#include <ATen/ATen.h>
#include <QTest>

#include <cmath>

class TestRmsNorm : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void handComputedValue();
    void matchesNaiveLoop_data();
    void matchesNaiveLoop();
};

void TestRmsNorm::handComputedValue() {
    // x = [1, 2, 3, 4]: mean of squares 7.5, so y = x / sqrt(7.5 + eps) * w.
    const auto x = at::tensor({1.0f, 2.0f, 3.0f, 4.0f});
    const auto w = at::tensor({1.0f, 1.0f, 2.0f, 0.5f});
    const auto y = uio::model::rms_norm(x, w, 1e-6);
    const double inv = 1.0 / std::sqrt(7.5 + 1e-6);
    const double expected[] = {1.0 * inv, 2.0 * inv, 6.0 * inv, 2.0 * inv};
    for (int i = 0; i < 4; ++i) {
        QVERIFY2(std::abs(y[i].item<float>() - expected[i]) < 1e-6, qPrintable(QString::number(i)));
    }
}

void TestRmsNorm::matchesNaiveLoop_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<double>("tolerance");
    QTest::newRow("f32") << static_cast<int>(at::kFloat) << 1e-6;
    QTest::newRow("bf16") << static_cast<int>(at::kBFloat16) << 5e-2;
    QTest::newRow("f16") << static_cast<int>(at::kHalf) << 5e-3;
}

void TestRmsNorm::matchesNaiveLoop() {
    QFETCH(int, dtype);
    QFETCH(double, tolerance);
    at::manual_seed(7);
    const int64_t rows = 5, channels = 64;
    const auto x = at::randn({rows, channels}, at::kDouble);
    const auto w = at::rand({channels}, at::kDouble) + 0.5;
    const auto type = static_cast<at::ScalarType>(dtype);
    const auto y = uio::model::rms_norm(x.to(type), w.to(type), 1e-5).to(at::kDouble);
    QCOMPARE(y.scalar_type(), at::kDouble);

    double max_diff = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
        double sum_sq = 0.0;
        for (int64_t c = 0; c < channels; ++c) {
            sum_sq += std::pow(x[r][c].item<double>(), 2);
        }
        const double inv = 1.0 / std::sqrt(sum_sq / channels + 1e-5);
        for (int64_t c = 0; c < channels; ++c) {
            const double expected = x[r][c].item<double>() * inv * w[c].item<double>();
            max_diff = std::max(max_diff, std::abs(y[r][c].item<double>() - expected));
        }
    }
    qInfo("max |difference| = %.3g (tolerance %.1g)", max_diff, tolerance);
    QVERIFY(max_diff < tolerance);
}

QTEST_APPLESS_MAIN(TestRmsNorm)
#include "test_rms_norm.moc"
