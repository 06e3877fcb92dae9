// The one-row kernels of matvec.h against float64 loops written here, on every instruction set
// this processor can run, for shapes with and without a remainder of rows; and dense() against
// libtorch's own product (dense_reference).

#include "matmul.h"
#include "matvec.h"
#include "uio/model/runtime.h"

#include <ATen/ATen.h>
#include <QTest>

#include <cmath>

using namespace uio::model;

namespace {

// float64 y = W x with W given as float64 (out, in).
std::vector<double> reference(const at::Tensor& w64, const at::Tensor& x64) {
    const auto w = w64.accessor<double, 2>();
    const auto x = x64.accessor<double, 1>();
    std::vector<double> y(static_cast<size_t>(w64.size(0)), 0.0);
    for (int64_t o = 0; o < w64.size(0); ++o)
        for (int64_t i = 0; i < w64.size(1); ++i)
            y[static_cast<size_t>(o)] += w[o][i] * x[i];
    return y;
}

// max |y - want| / (sum |w| |x| of the row): the error relative to the size of the sum.
double worstRelative(const float* y, const std::vector<double>& want, const at::Tensor& w64, const at::Tensor& x64) {
    const auto scale = w64.abs().matmul(x64.abs());
    double worst = 0.0;
    for (size_t o = 0; o < want.size(); ++o)
        worst = std::max(worst, std::fabs(y[o] - want[o]) / scale[static_cast<int64_t>(o)].item<double>());
    return worst;
}

}  // namespace

class TestMatvec : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void kernelsMatchFloat64_data();
    void kernelsMatchFloat64();
    void denseMatchesLibtorch();
    void cleanupTestCase() { matvec_use_isa("avx512") || matvec_use_isa("avx2") || matvec_use_isa("generic"); }
};

void TestMatvec::kernelsMatchFloat64_data() {
    QTest::addColumn<QString>("isa");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("threads");
    for (const char* isa : {"generic", "avx2", "avx512"}) {
        QTest::addRow("%s 37x64, 1 thread", isa) << QString::fromLatin1(isa) << 37 << 64 << 1;
        QTest::addRow("%s 203x256, 2 threads", isa) << QString::fromLatin1(isa) << 203 << 256 << 2;
        QTest::addRow("%s 130x72 (no full vectors), 2 threads", isa) << QString::fromLatin1(isa) << 130 << 72 << 2;
    }
}

void TestMatvec::kernelsMatchFloat64() {
    QFETCH(QString, isa);
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(int, threads);
    if (!matvec_use_isa(isa.toStdString()))
        QSKIP("this processor cannot run that instruction set");
    at::manual_seed(rows * 1000 + cols);
    const auto x = at::randn({cols});
    const auto x64 = x.to(at::kDouble);
    std::vector<float> y(static_cast<size_t>(rows));

    // f32: the sum of `cols` products in f32, any order: a few units of f32 rounding.
    const auto w = at::randn({rows, cols});
    matvec_f32(w.data_ptr<float>(), x.data_ptr<float>(), y.data(), rows, cols, threads);
    const auto w64 = w.to(at::kDouble);
    const double f32 = worstRelative(y.data(), reference(w64, x64), w64, x64);

    // bf16 weights: exact once widened, so the same tolerance against the widened weights.
    const auto wb = at::randn({rows, cols}).to(at::kBFloat16);
    matvec_bf16(reinterpret_cast<const uint16_t*>(wb.data_ptr<at::BFloat16>()), x.data_ptr<float>(), y.data(), rows,
                cols, threads);
    const auto wb64 = wb.to(at::kDouble);
    const double bf16 = worstRelative(y.data(), reference(wb64, x64), wb64, x64);

    // int8 in groups of 8 (72 = 9 groups) or 32, with their scales: exact weights q * scale.
    const int64_t group = cols % 32 == 0 ? 32 : 8;
    const auto q = at::randint(-127, 128, {rows, cols}, at::kChar);
    const auto scales = at::rand({rows, cols / group}) * 0.01 + 1e-3;
    matvec_int8({q.data_ptr<int8_t>(), scales.data_ptr<float>(), group}, x.data_ptr<float>(), y.data(), rows, cols,
                threads);
    const auto wq64 = q.to(at::kDouble) * scales.to(at::kDouble).repeat_interleave(group, 1);
    const double int8 = worstRelative(y.data(), reference(wq64, x64), wq64, x64);

    // Attention's weighted sum of value rows: y = V^T p, V (rows, head width) with the widths of
    // heads (64) and a width that is not a whole number of vectors (36).
    double weighted = 0.0;
    for (const int64_t d : {int64_t(64), int64_t(36)}) {
        const auto v = at::randn({rows, d});
        const auto vb = at::randn({rows, d}).to(at::kBFloat16);
        const auto p = at::rand({rows});
        std::vector<float> out(static_cast<size_t>(d));
        for (const bool narrow : {false, true}) {
            if (narrow)
                weighted_rows_bf16(reinterpret_cast<const uint16_t*>(vb.data_ptr<at::BFloat16>()), p.data_ptr<float>(),
                                   out.data(), rows, d);
            else
                weighted_rows_f32(v.data_ptr<float>(), p.data_ptr<float>(), out.data(), rows, d);
            const auto v64 = (narrow ? vb : v).to(at::kDouble).t().contiguous();  // (d, rows)
            const auto p64 = p.to(at::kDouble);
            weighted = std::max(weighted, worstRelative(out.data(), reference(v64, p64), v64, p64));
        }
    }

    qInfo("%s: max error relative to sum |w||x|: f32 %.2g, bf16 %.2g, int8 %.2g, weighted rows %.2g (tolerance 1e-6)",
          matvec_isa(), f32, bf16, int8, weighted);
    QVERIFY(weighted < 1e-6);
    QCOMPARE(QString::fromLatin1(matvec_isa()), isa);
    QVERIFY(f32 < 1e-6);
    QVERIFY(bf16 < 1e-6);
    QVERIFY(int8 < 1e-6);
}

void TestMatvec::denseMatchesLibtorch() {
    // One row of f32 and of bf16 through dense() (the kernels), and 37 rows of f32 (oneDNN's
    // sgemm where it is there), against dense_reference (libtorch's own product).
    at::manual_seed(7);
    const uio::model::CpuThreadsFor layout(DType::F32);  // the engine's for f32 inference
    for (const auto& [type, rows] :
         {std::pair{at::kFloat, 1}, std::pair{at::kBFloat16, 1}, std::pair{at::kFloat, 37}}) {
        const auto w = at::randn({300, 128}).to(type);
        const auto x = at::randn({1, rows, 128}).to(type);
        const auto fast = dense(x, w).to(at::kDouble);
        const auto plain = dense_reference(x, w).to(at::kDouble);
        QCOMPARE(fast.sizes(), plain.sizes());
        const double worst = (fast - plain).abs().max().item<double>() / plain.abs().max().item<double>();
        // bf16 output rounds to 8 significant bits; f32 differs only in summation order.
        const double tolerance = type == at::kFloat ? 1e-5 : 1e-2;
        qInfo("dense %s, %d row(s)%s: max difference %.2g of the largest output (tolerance %.0g)",
              type == at::kFloat ? "f32" : "bf16", rows, rows > 1 && f32_products_in_onednn() ? " (oneDNN sgemm)" : "",
              worst, tolerance);
        QVERIFY(worst < tolerance);
    }
}

QTEST_GUILESS_MAIN(TestMatvec)
#include "test_matvec.moc"
