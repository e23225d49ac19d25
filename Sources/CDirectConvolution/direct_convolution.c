#include "CDirectConvolution.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#include "sum16.h"

// CPUID says the CPU has AVX-512F; XCR0 says the OS saves the opmask and zmm registers (bits 5–7)
// besides SSE and AVX state (bits 1–2). Read directly, so no runtime library is needed (static builds).
int atl_has_avx512(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  // OSXSAVE
    unsigned int low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    if ((low & 0xE6) != 0xE6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 16) & 1;  // AVX512F
}

// Eight output rows × 32 positions: sixteen zmm accumulators fed by two input loads and eight
// broadcasts per tap, so the loads (unaligned ones count twice) keep up with the two FMA ports;
// `positions` is a multiple of 16.
__attribute__((target("avx512f"))) void atl_correlate_f32_avx512(
    const float *padded, int64_t channels, int64_t planeStride, const int64_t *offsets, int64_t taps,
    const float *packed, int64_t blocks, int64_t positions, float *out) {
    for (int64_t block = 0; block < blocks; block++) {
        const float *weights = packed + block * channels * taps * 8;
        float *rows = out + block * 8 * positions;
        int64_t q = 0;
        for (; q + 32 <= positions; q += 32) {
            __m512 a[8], b[8];
            for (int r = 0; r < 8; r++) a[r] = b[r] = _mm512_setzero_ps();
            const float *w = weights;
            for (int64_t c = 0; c < channels; c++) {
                const float *line = padded + c * planeStride + q;
                for (int64_t t = 0; t < taps; t++, w += 8) {
                    const float *p = line + offsets[t];
                    __m512 x0 = _mm512_loadu_ps(p), x1 = _mm512_loadu_ps(p + 16);
                    for (int r = 0; r < 8; r++) {
                        __m512 wr = _mm512_set1_ps(w[r]);
                        a[r] = _mm512_fmadd_ps(x0, wr, a[r]);
                        b[r] = _mm512_fmadd_ps(x1, wr, b[r]);
                    }
                }
            }
            for (int r = 0; r < 8; r++) {
                _mm512_storeu_ps(rows + r * positions + q, a[r]);
                _mm512_storeu_ps(rows + r * positions + q + 16, b[r]);
            }
        }
        if (q < positions) {
            // The last 16 positions: eight accumulators. Positions are a multiple of 16, so a small
            // plane (8 × 10 flat positions in ResNet's last stage) is not rounded up to 96.
            __m512 a[8];
            for (int r = 0; r < 8; r++) a[r] = _mm512_setzero_ps();
            const float *w = weights;
            for (int64_t c = 0; c < channels; c++) {
                const float *line = padded + c * planeStride + q;
                for (int64_t t = 0; t < taps; t++, w += 8) {
                    __m512 x0 = _mm512_loadu_ps(line + offsets[t]);
                    for (int r = 0; r < 8; r++) a[r] = _mm512_fmadd_ps(x0, _mm512_set1_ps(w[r]), a[r]);
                }
            }
            for (int r = 0; r < 8; r++) _mm512_storeu_ps(rows + r * positions + q, a[r]);
        }
    }
}

// Four gradient rows × four taps: sixteen accumulators over 16 positions a step, summed over all the
// images before they are reduced (on small planes the reductions cost as much as the products);
// leftover taps one at a time.
__attribute__((target("avx512f"))) void atl_correlate_weights_f32_avx512(
    const float *flat, int64_t rows, int64_t positions, const float *padded, int64_t channels, int64_t planeStride,
    const int64_t *offsets, int64_t taps, int64_t images, int64_t flatImageStride, int64_t paddedImageStride, float *gradient) {
    for (int64_t first = 0; first < rows; first += 4) {
        const float *d[4] = {flat + first * positions, flat + (first + 1) * positions, flat + (first + 2) * positions,
                             flat + (first + 3) * positions};
        int64_t live = rows - first < 4 ? rows - first : 4;
        for (int64_t c = 0; c < channels; c++) {
            const float *plane = padded + c * planeStride;
            int64_t t = 0;
            for (; t + 4 <= taps; t += 4) {
                __m512 a[4][4];
                for (int r = 0; r < 4; r++)
                    for (int k = 0; k < 4; k++) a[r][k] = _mm512_setzero_ps();
                for (int64_t image = 0; image < images; image++) {
                    const float *p[4], *g[4];
                    for (int i = 0; i < 4; i++) {
                        p[i] = plane + image * paddedImageStride + offsets[t + i];
                        g[i] = d[i] + image * flatImageStride;
                    }
                    for (int64_t q = 0; q < positions; q += 16) {
                        __m512 gv[4] = {_mm512_loadu_ps(g[0] + q), _mm512_loadu_ps(g[1] + q), _mm512_loadu_ps(g[2] + q),
                                        _mm512_loadu_ps(g[3] + q)};
                        __m512 xv[4] = {_mm512_loadu_ps(p[0] + q), _mm512_loadu_ps(p[1] + q), _mm512_loadu_ps(p[2] + q),
                                        _mm512_loadu_ps(p[3] + q)};
                        for (int r = 0; r < 4; r++)
                            for (int k = 0; k < 4; k++) a[r][k] = _mm512_fmadd_ps(gv[r], xv[k], a[r][k]);
                    }
                }
                atl_add_sums(atl_sum16(a), gradient + (first * channels + c) * taps + t, channels * taps, live);
            }
            for (; t < taps; t++) {
                __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
                for (int64_t image = 0; image < images; image++) {
                    const float *p0 = plane + image * paddedImageStride + offsets[t];
                    for (int64_t q = 0; q < positions; q += 16) {
                        __m512 x0 = _mm512_loadu_ps(p0 + q);
                        for (int r = 0; r < 4; r++) a[r] = _mm512_fmadd_ps(_mm512_loadu_ps(d[r] + image * flatImageStride + q), x0, a[r]);
                    }
                }
                for (int64_t r = 0; r < live; r++) gradient[((first + r) * channels + c) * taps + t] += _mm512_reduce_add_ps(a[r]);
            }
        }
    }
}

#else

int atl_has_avx512(void) { return 0; }
void atl_correlate_f32_avx512(
    const float *padded, int64_t channels, int64_t planeStride, const int64_t *offsets, int64_t taps,
    const float *packed, int64_t blocks, int64_t positions, float *out) {}
void atl_correlate_weights_f32_avx512(
    const float *flat, int64_t rows, int64_t positions, const float *padded, int64_t channels, int64_t planeStride,
    const int64_t *offsets, int64_t taps, int64_t images, int64_t flatImageStride, int64_t paddedImageStride, float *gradient) {}

#endif
