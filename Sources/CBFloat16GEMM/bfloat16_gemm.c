#include "CBFloat16GEMM.h"

#include <string.h>

int64_t atl_bf16_panel_words(int64_t n, int64_t k) { return (n + 31) / 32 * 32 * ((k + 1) / 2); }

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

int atl_bf16_supported(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  // OSXSAVE
    unsigned int low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    if ((low & 0xE6) != 0xE6) return 0;  // the OS saves SSE, AVX, opmask and zmm state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned int f = 1u << 16, dq = 1u << 17, bw = 1u << 30, vl = 1u << 31;
    if ((b & (f | dq | bw | vl)) != (f | dq | bw | vl)) return 0;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1;  // AVX512_BF16
}

// Masks for the first `count` (clamped to 0…16) lanes.
static inline __mmask16 lanes(int64_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

// 32 floats (masked to `count`) rounded to bf16, in order.
TARGET static inline __m512i round32(const float *p, int64_t count) {
    __m512 low = _mm512_maskz_loadu_ps(lanes(count), p), high = _mm512_maskz_loadu_ps(lanes(count - 16), p + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(high, low);
}

TARGET void atl_bf16_convert_rows(const float *source, int64_t sourceStride, int64_t rows, int64_t columns,
                                  uint16_t *destination, int64_t destinationStride) {
    const int64_t padded = (columns + 1) / 2 * 2;
    for (int64_t r = 0; r < rows; r++) {
        const float *s = source + r * sourceStride;
        uint16_t *d = destination + r * destinationStride;
        int64_t i = 0;
        for (; i + 32 <= columns; i += 32) _mm512_storeu_si512(d + i, round32(s + i, 32));
        if (i < padded) {
            // Masked-off lanes load as 0, so the padding element is written as 0.
            int64_t left = padded - i;
            _mm512_mask_storeu_epi16(d + i, (__mmask32)(left >= 32 ? 0xFFFFFFFFu : (1u << left) - 1), round32(s + i, columns - i));
        }
    }
}

// Transposes a 16 × 16 block of 32-bit elements held in 16 registers.
TARGET static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            t[8 * i + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
            t[8 * i + 4 + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0xDD);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xDD);
    }
}

// A row of S rounded to bf16 is a run of pairs, one 32-bit word each: sixteen rows × sixteen pairs
// are loaded as words and transposed, so each pair index gets its sixteen columns side by side.
TARGET void atl_bf16_pack_transposed(const float *s, int64_t ldb, int64_t n, int64_t k, uint32_t *panels) {
    const int64_t pairs = (k + 1) / 2;
    for (int64_t n0 = 0; n0 < n; n0 += 32) {
        uint32_t *panel = panels + n0 * pairs;
        for (int half = 0; half < 2; half++) {
            for (int64_t p0 = 0; p0 < pairs; p0 += 16) {
                __m512i r[16];
                for (int j = 0; j < 16; j++) {
                    int64_t row = n0 + half * 16 + j;
                    r[j] = row < n ? round32(s + row * ldb + 2 * p0, k - 2 * p0) : _mm512_setzero_si512();
                }
                transpose16(r);
                int64_t count = pairs - p0 < 16 ? pairs - p0 : 16;
                for (int64_t i = 0; i < count; i++) _mm512_storeu_si512(panel + (p0 + i) * 32 + half * 16, r[i]);
            }
        }
    }
}

// Rows 2p and 2p + 1 of B rounded to bf16 and interleaved element by element.
TARGET void atl_bf16_pack(const float *b, int64_t ldb, int64_t k, int64_t n, uint32_t *panels) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                                                20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const int64_t pairs = (k + 1) / 2;
    for (int64_t n0 = 0; n0 < n; n0 += 32) {
        uint32_t *panel = panels + n0 * pairs;
        for (int64_t p = 0; p < pairs; p++) {
            const float *even = b + 2 * p * ldb + n0;
            const float *odd = even + ldb;
            const int hasOdd = 2 * p + 1 < k;
            for (int half = 0; half < 2; half++) {
                int64_t count = n - n0 - 16 * half;
                __m512 low = _mm512_maskz_loadu_ps(lanes(count), even + 16 * half);
                __m512 high = hasOdd ? _mm512_maskz_loadu_ps(lanes(count), odd + 16 * half) : _mm512_setzero_ps();
                __m512i words = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(high, low));
                _mm512_storeu_si512(panel + p * 32 + 16 * half, words);
            }
        }
    }
}

// Twelve rows × 32 columns: 24 accumulators, two panel loads and twelve broadcast pairs per pair of
// k. Rows past `rows` repeat the last row (computed, not stored).
#define ROWS 12
TARGET static void kernel(const uint16_t *a, int64_t lda, int64_t rows, const uint32_t *panel, int64_t pairs, float *c,
                          int64_t ldc, int64_t columns, int accumulate) {
    const int *row[ROWS];
    for (int r = 0; r < ROWS; r++) row[r] = (const int *)(a + (r < rows ? r : rows - 1) * lda);
    __m512 sum[ROWS][2];
    for (int r = 0; r < ROWS; r++) sum[r][0] = sum[r][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + p * 32), b1 = (__m512bh)_mm512_loadu_si512(panel + p * 32 + 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < ROWS; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32(row[r][p]);
            sum[r][0] = _mm512_dpbf16_ps(sum[r][0], x, b0);
            sum[r][1] = _mm512_dpbf16_ps(sum[r][1], x, b1);
        }
    }
    const __mmask16 m0 = lanes(columns), m1 = lanes(columns - 16);
    for (int r = 0; r < ROWS && r < rows; r++) {
        float *out = c + r * ldc;
        if (accumulate) {
            sum[r][0] = _mm512_add_ps(sum[r][0], _mm512_maskz_loadu_ps(m0, out));
            sum[r][1] = _mm512_add_ps(sum[r][1], _mm512_maskz_loadu_ps(m1, out + 16));
        }
        _mm512_mask_storeu_ps(out, m0, sum[r][0]);
        _mm512_mask_storeu_ps(out + 16, m1, sum[r][1]);
    }
}

TARGET void atl_bf16_gemm(int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda, const uint32_t *panels, float *c,
                          int64_t ldc, int accumulate) {
    const int64_t pairs = (k + 1) / 2;
    if (m <= 0 || n <= 0) return;
    for (int64_t n0 = 0; n0 < n; n0 += 32) {
        const uint32_t *panel = panels + n0 * pairs;
        for (int64_t m0 = 0; m0 < m; m0 += ROWS)
            kernel(a + m0 * lda, lda, m - m0, panel, pairs, c + m0 * ldc + n0, ldc, n - n0, accumulate);
    }
}

#else

int atl_bf16_supported(void) { return 0; }
void atl_bf16_convert_rows(const float *source, int64_t sourceStride, int64_t rows, int64_t columns, uint16_t *destination,
                           int64_t destinationStride) {}
void atl_bf16_pack_transposed(const float *s, int64_t ldb, int64_t n, int64_t k, uint32_t *panels) {}
void atl_bf16_pack(const float *b, int64_t ldb, int64_t k, int64_t n, uint32_t *panels) {}
void atl_bf16_gemm(int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda, const uint32_t *panels, float *c,
                   int64_t ldc, int accumulate) {}

#endif
