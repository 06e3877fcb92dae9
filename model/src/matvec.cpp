#include "matvec.h"

#include "uio/model/runtime.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers trip its own uninitialised-use check (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define UIO_MATVEC_X86 1
#endif

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace uio::model {

namespace {

// Each kernel computes rows [begin, end). Four rows share every load of x.

float bf16_to_float(uint16_t bits) {
    const uint32_t wide = static_cast<uint32_t>(bits) << 16;
    float value;
    std::memcpy(&value, &wide, sizeof value);
    return value;
}

void rows_f32_generic(const float* w, const float* x, float* y, int64_t begin, int64_t end, int64_t n) {
    for (int64_t o = begin; o < end; ++o) {
        const float* row = w + o * n;
        float sum = 0.0f;
        for (int64_t i = 0; i < n; ++i)
            sum += row[i] * x[i];
        y[o] = sum;
    }
}

void rows_bf16_generic(const uint16_t* w, const float* x, float* y, int64_t begin, int64_t end, int64_t n) {
    for (int64_t o = begin; o < end; ++o) {
        const uint16_t* row = w + o * n;
        float sum = 0.0f;
        for (int64_t i = 0; i < n; ++i)
            sum += bf16_to_float(row[i]) * x[i];
        y[o] = sum;
    }
}

void rows_int8_generic(const Int8Rows& w, const float* x, float* y, int64_t begin, int64_t end, int64_t n) {
    const int64_t groups = n / w.group;
    for (int64_t o = begin; o < end; ++o) {
        float sum = 0.0f;
        for (int64_t g = 0; g < groups; ++g) {
            const int8_t* q = w.q + o * n + g * w.group;
            const float* xs = x + g * w.group;
            float part = 0.0f;
            for (int64_t i = 0; i < w.group; ++i)
                part += static_cast<float>(q[i]) * xs[i];
            sum += part * w.scale[o * groups + g];
        }
        y[o] = sum;
    }
}

template <typename T>
void weighted_generic(const T* v, const float* p, float* y, int64_t n, int64_t d) {
    std::fill(y, y + d, 0.0f);
    for (int64_t r = 0; r < n; ++r) {
        const T* row = v + r * d;
        for (int64_t i = 0; i < d; ++i) {
            if constexpr (std::is_same_v<T, float>)
                y[i] += p[r] * row[i];
            else
                y[i] += p[r] * bf16_to_float(row[i]);
        }
    }
}

#ifdef UIO_MATVEC_X86

// --- AVX2 + FMA: 8 lanes -------------------------------------------------------------------

__attribute__((target("avx2,fma"))) float sum8(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

__attribute__((target("avx2,fma"))) __m256 load8_bf16(const uint16_t* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

__attribute__((target("avx2,fma"))) __m256 load8_f32(const float* p) {
    return _mm256_loadu_ps(p);
}

__attribute__((target("avx2,fma"))) __m256 load8_int8(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

template <typename Weight, __m256 (*load)(const Weight*)>
__attribute__((target("avx2,fma"))) void rows_avx2(const Weight* w, const float* x, float* y, int64_t begin,
                                                   int64_t end, int64_t n) {
    const int64_t n8 = n / 8 * 8;
    int64_t o = begin;
    for (; o + 4 <= end; o += 4) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const Weight *r0 = w + o * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
        for (int64_t i = 0; i < n8; i += 8) {
            _mm_prefetch(reinterpret_cast<const char*>(r0 + 4 * n + i), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(r1 + 4 * n + i), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(r2 + 4 * n + i), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(r3 + 4 * n + i), _MM_HINT_T0);
            const __m256 xv = _mm256_loadu_ps(x + i);
            a0 = _mm256_fmadd_ps(load(r0 + i), xv, a0);
            a1 = _mm256_fmadd_ps(load(r1 + i), xv, a1);
            a2 = _mm256_fmadd_ps(load(r2 + i), xv, a2);
            a3 = _mm256_fmadd_ps(load(r3 + i), xv, a3);
        }
        y[o] = sum8(a0), y[o + 1] = sum8(a1), y[o + 2] = sum8(a2), y[o + 3] = sum8(a3);
    }
    for (; o < end; ++o) {
        __m256 a = _mm256_setzero_ps();
        for (int64_t i = 0; i < n8; i += 8)
            a = _mm256_fmadd_ps(load(w + o * n + i), _mm256_loadu_ps(x + i), a);
        y[o] = sum8(a);
    }
}

__attribute__((target("avx2,fma"))) void rows_int8_avx2(const Int8Rows& w, const float* x, float* y, int64_t begin,
                                                        int64_t end, int64_t n) {
    const int64_t groups = n / w.group;
    for (int64_t o = begin; o < end; ++o) {
        __m256 sum = _mm256_setzero_ps();
        for (int64_t g = 0; g < groups; ++g) {
            const int8_t* q = w.q + o * n + g * w.group;
            const float* xs = x + g * w.group;
            _mm_prefetch(reinterpret_cast<const char*>(q + 4 * n), _MM_HINT_T0);
            __m256 part = _mm256_setzero_ps();
            for (int64_t i = 0; i < w.group; i += 8)
                part = _mm256_fmadd_ps(load8_int8(q + i), _mm256_loadu_ps(xs + i), part);
            sum = _mm256_fmadd_ps(_mm256_set1_ps(w.scale[o * groups + g]), part, sum);
        }
        y[o] = sum8(sum);
    }
}

// d a multiple of 8 and at most 256 (a head's width): the sum stays in registers.
template <typename Weight, __m256 (*load)(const Weight*)>
__attribute__((target("avx2,fma"))) void weighted_avx2(const Weight* v, const float* p, float* y, int64_t n,
                                                       int64_t d) {
    __m256 acc[32];
    const int64_t lanes = d / 8;
    for (int64_t j = 0; j < lanes; ++j)
        acc[j] = _mm256_setzero_ps();
    for (int64_t r = 0; r < n; ++r) {
        const __m256 weight = _mm256_set1_ps(p[r]);
        for (int64_t j = 0; j < lanes; ++j)
            acc[j] = _mm256_fmadd_ps(weight, load(v + r * d + 8 * j), acc[j]);
    }
    for (int64_t j = 0; j < lanes; ++j)
        _mm256_storeu_ps(y + 8 * j, acc[j]);
}

// --- AVX-512: 16 lanes ---------------------------------------------------------------------

__attribute__((target("avx512f,avx512bw"))) __m512 load16_bf16(const uint16_t* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

__attribute__((target("avx512f,avx512bw"))) __m512 load16_f32(const float* p) {
    return _mm512_loadu_ps(p);
}

__attribute__((target("avx512f,avx512bw"))) __m512 load16_int8(const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

template <typename Weight, __m512 (*load)(const Weight*)>
__attribute__((target("avx512f,avx512bw"))) void rows_avx512(const Weight* w, const float* x, float* y, int64_t begin,
                                                             int64_t end, int64_t n) {
    int64_t o = begin;
    for (; o + 4 <= end; o += 4) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const Weight *r0 = w + o * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
        for (int64_t i = 0; i < n; i += 16) {
            // The next four rows, while these stream in (see rows_int8_avx512).
            _mm_prefetch(reinterpret_cast<const char*>(r0 + 4 * n + i), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(r1 + 4 * n + i), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(r2 + 4 * n + i), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(r3 + 4 * n + i), _MM_HINT_T0);
            const __m512 xv = _mm512_loadu_ps(x + i);
            a0 = _mm512_fmadd_ps(load(r0 + i), xv, a0);
            a1 = _mm512_fmadd_ps(load(r1 + i), xv, a1);
            a2 = _mm512_fmadd_ps(load(r2 + i), xv, a2);
            a3 = _mm512_fmadd_ps(load(r3 + i), xv, a3);
        }
        y[o] = _mm512_reduce_add_ps(a0), y[o + 1] = _mm512_reduce_add_ps(a1);
        y[o + 2] = _mm512_reduce_add_ps(a2), y[o + 3] = _mm512_reduce_add_ps(a3);
    }
    for (; o < end; ++o) {
        __m512 a = _mm512_setzero_ps();
        for (int64_t i = 0; i < n; i += 16)
            a = _mm512_fmadd_ps(load(w + o * n + i), _mm512_loadu_ps(x + i), a);
        y[o] = _mm512_reduce_add_ps(a);
    }
}

__attribute__((target("avx512f,avx512bw"))) void rows_int8_avx512(const Int8Rows& w, const float* x, float* y,
                                                                  int64_t begin, int64_t end, int64_t n) {
    const int64_t groups = n / w.group;
    int64_t o = begin;
    for (; o + 2 <= end; o += 2) {
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;
        for (int64_t g = 0; g < groups; ++g) {
            const int8_t* q0 = w.q + o * n + g * w.group;
            const int8_t* q1 = q0 + n;
            const float* xs = x + g * w.group;
            // Short int8 rows end before the hardware prefetcher has caught up: ask for the
            // rows two pairs ahead.
            _mm_prefetch(reinterpret_cast<const char*>(q0 + 4 * n), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(q1 + 4 * n), _MM_HINT_T0);
            __m512 p0 = _mm512_setzero_ps(), p1 = p0;
            for (int64_t i = 0; i < w.group; i += 16) {
                const __m512 xv = _mm512_loadu_ps(xs + i);
                p0 = _mm512_fmadd_ps(load16_int8(q0 + i), xv, p0);
                p1 = _mm512_fmadd_ps(load16_int8(q1 + i), xv, p1);
            }
            s0 = _mm512_fmadd_ps(_mm512_set1_ps(w.scale[o * groups + g]), p0, s0);
            s1 = _mm512_fmadd_ps(_mm512_set1_ps(w.scale[(o + 1) * groups + g]), p1, s1);
        }
        y[o] = _mm512_reduce_add_ps(s0), y[o + 1] = _mm512_reduce_add_ps(s1);
    }
    for (; o < end; ++o)
        rows_int8_generic(w, x, y, o, o + 1, n);
}

template <typename Weight, __m512 (*load)(const Weight*)>
__attribute__((target("avx512f,avx512bw"))) void weighted_avx512(const Weight* v, const float* p, float* y, int64_t n,
                                                                 int64_t d) {
    __m512 acc[16];
    const int64_t lanes = d / 16;
    for (int64_t j = 0; j < lanes; ++j)
        acc[j] = _mm512_setzero_ps();
    for (int64_t r = 0; r < n; ++r) {
        const __m512 weight = _mm512_set1_ps(p[r]);
        for (int64_t j = 0; j < lanes; ++j)
            acc[j] = _mm512_fmadd_ps(weight, load(v + r * d + 16 * j), acc[j]);
    }
    for (int64_t j = 0; j < lanes; ++j)
        _mm512_storeu_ps(y + 16 * j, acc[j]);
}

#endif  // UIO_MATVEC_X86

enum class Isa { Generic, Avx2, Avx512 };

Isa detect() {
#ifdef UIO_MATVEC_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
        return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return Isa::Avx2;
#endif
    return Isa::Generic;
}

Isa g_isa = detect();

Isa isa() {
    return g_isa;
}

// Splits the rows into one contiguous run per thread (a multiple of 4 rows each).
template <typename Rows>
void split_rows(int64_t n_out, int threads, Rows rows) {
    const int n_threads = std::max(1, threads > 0 ? threads : cpu_threads());
    const int64_t per = (n_out / n_threads + 3) / 4 * 4;
    if (n_threads == 1 || n_out < 64) {
        rows(0, n_out);
        return;
    }
#pragma omp parallel for num_threads(n_threads) schedule(static, 1)
    for (int t = 0; t < n_threads; ++t) {
        const int64_t begin = std::min<int64_t>(n_out, t * per);
        const int64_t end = t + 1 == n_threads ? n_out : std::min<int64_t>(n_out, begin + per);
        if (begin < end)
            rows(begin, end);
    }
}

}  // namespace

void matvec_f32(const float* w, const float* x, float* y, int64_t n_out, int64_t n_in, int threads) {
    const Isa chosen = isa();
    split_rows(n_out, threads, [&](int64_t begin, int64_t end) {
#ifdef UIO_MATVEC_X86
        if (chosen == Isa::Avx512 && n_in % 16 == 0)
            return rows_avx512<float, load16_f32>(w, x, y, begin, end, n_in);
        if (chosen == Isa::Avx2 && n_in % 8 == 0)
            return rows_avx2<float, load8_f32>(w, x, y, begin, end, n_in);
#endif
        rows_f32_generic(w, x, y, begin, end, n_in);
    });
}

void matvec_bf16(const uint16_t* w, const float* x, float* y, int64_t n_out, int64_t n_in, int threads) {
    const Isa chosen = isa();
    split_rows(n_out, threads, [&](int64_t begin, int64_t end) {
#ifdef UIO_MATVEC_X86
        if (chosen == Isa::Avx512 && n_in % 16 == 0)
            return rows_avx512<uint16_t, load16_bf16>(w, x, y, begin, end, n_in);
        if (chosen == Isa::Avx2 && n_in % 8 == 0)
            return rows_avx2<uint16_t, load8_bf16>(w, x, y, begin, end, n_in);
#endif
        rows_bf16_generic(w, x, y, begin, end, n_in);
    });
}

void matvec_int8(const Int8Rows& w, const float* x, float* y, int64_t n_out, int64_t n_in, int threads) {
    const Isa chosen = isa();
    split_rows(n_out, threads, [&](int64_t begin, int64_t end) {
#ifdef UIO_MATVEC_X86
        if (chosen == Isa::Avx512 && w.group % 16 == 0)
            return rows_int8_avx512(w, x, y, begin, end, n_in);
        if (chosen == Isa::Avx2 && w.group % 8 == 0)
            return rows_int8_avx2(w, x, y, begin, end, n_in);
#endif
        rows_int8_generic(w, x, y, begin, end, n_in);
    });
}

void weighted_rows_f32(const float* v, const float* p, float* y, int64_t n, int64_t d) {
#ifdef UIO_MATVEC_X86
    if (isa() == Isa::Avx512 && d % 16 == 0 && d <= 256)
        return weighted_avx512<float, load16_f32>(v, p, y, n, d);
    if (isa() >= Isa::Avx2 && d % 8 == 0 && d <= 256)
        return weighted_avx2<float, load8_f32>(v, p, y, n, d);
#endif
    weighted_generic(v, p, y, n, d);
}

void weighted_rows_bf16(const uint16_t* v, const float* p, float* y, int64_t n, int64_t d) {
#ifdef UIO_MATVEC_X86
    if (isa() == Isa::Avx512 && d % 16 == 0 && d <= 256)
        return weighted_avx512<uint16_t, load16_bf16>(v, p, y, n, d);
    if (isa() >= Isa::Avx2 && d % 8 == 0 && d <= 256)
        return weighted_avx2<uint16_t, load8_bf16>(v, p, y, n, d);
#endif
    weighted_generic(v, p, y, n, d);
}

bool matvec_use_isa(const std::string& name) {
    const Isa best = detect();
    const Isa wanted = name == "avx512" ? Isa::Avx512 : name == "avx2" ? Isa::Avx2 : Isa::Generic;
    if (name != "avx512" && name != "avx2" && name != "generic")
        return false;
    if (static_cast<int>(wanted) > static_cast<int>(best))
        return false;  // the processor cannot run it
    g_isa = wanted;
    return true;
}

const char* matvec_isa() {
    switch (isa()) {
        case Isa::Avx512:
            return "avx512";
        case Isa::Avx2:
            return "avx2";
        case Isa::Generic:
            return "generic";
    }
    return "generic";
}

}  // namespace uio::model
