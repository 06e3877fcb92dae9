// Waiting in tests. A test waits for an event (a signal, a state, a line of output), never for an
// amount of time; the only number here is how long a wait may last before it is reported as one
// that will never end: far beyond what any machine, however slow or loaded, needs for an event
// that does come. ctest's TIMEOUT (tests/CMakeLists.txt) is larger still, so a stuck wait fails
// with its own message rather than as a killed test.
#pragma once

#include <QTest>

namespace uio::test {

#ifndef UIO_TEST_PATIENCE_MS
#define UIO_TEST_PATIENCE_MS (5 * 60 * 1000)  // -DUIO_TEST_PATIENCE_MS=20000 finds a stuck wait sooner
#endif
inline constexpr int kPatienceMs = UIO_TEST_PATIENCE_MS;

}  // namespace uio::test

#define UIO_TRY_VERIFY(expr) QTRY_VERIFY_WITH_TIMEOUT(expr, uio::test::kPatienceMs)
#define UIO_TRY_VERIFY2(expr, message) QTRY_VERIFY2_WITH_TIMEOUT(expr, message, uio::test::kPatienceMs)
#define UIO_TRY_COMPARE(actual, expected) QTRY_COMPARE_WITH_TIMEOUT(actual, expected, uio::test::kPatienceMs)
