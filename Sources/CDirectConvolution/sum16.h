#ifndef ATL_SUM16_H
#define ATL_SUM16_H

#if defined(__x86_64__)
#include <immintrin.h>

// The sixteen accumulators' sums, a[r][k] in lane 4r + k: a tree of interleaves and adds (45
// instructions) instead of sixteen horizontal reductions (about 8 each), which outweighed the
// products themselves where a plane has few positions (ResNet's 8 × 8 stage: five steps of 16).
__attribute__((target("avx512f"))) static inline __m512 atl_sum16(__m512 a[4][4]) {
    __m512 *v = &a[0][0];
    __m512 t[8], u[4];
    // Each 128-bit lane of t[j]: (v2j, v2j+1, v2j, v2j+1) partial sums.
    for (int j = 0; j < 8; j++)
        t[j] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * j], v[2 * j + 1]), _mm512_unpackhi_ps(v[2 * j], v[2 * j + 1]));
    // Each 128-bit lane of u[k]: partial sums of v4k … v4k+3, in order.
    for (int k = 0; k < 4; k++) {
        __m512d low = _mm512_unpacklo_pd(_mm512_castps_pd(t[2 * k]), _mm512_castps_pd(t[2 * k + 1]));
        __m512d high = _mm512_unpackhi_pd(_mm512_castps_pd(t[2 * k]), _mm512_castps_pd(t[2 * k + 1]));
        u[k] = _mm512_add_ps(_mm512_castpd_ps(low), _mm512_castpd_ps(high));
    }
    // Add the four 128-bit lanes of each u[k] together: lanes (u0, u0, u1, u1) then (u0, u1, u2, u3).
    __m512 w0 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
    __m512 w1 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w0, w1, 0x88), _mm512_shuffle_f32x4(w0, w1, 0xDD));
}

// Adds atl_sum16's sums for rows 0…live − 1 (four each) to four floats at `row`, `rowStride` apart.
__attribute__((target("avx512f"))) static inline void atl_add_sums(__m512 sums, float *row, int64_t rowStride, int64_t live) {
    for (int64_t r = 0; r < live; r++, row += rowStride) {
        _mm_storeu_ps(row, _mm_add_ps(_mm_loadu_ps(row), _mm512_extractf32x4_ps(sums, 0)));
        sums = _mm512_shuffle_f32x4(sums, sums, 0x39);  // the next row's four sums to the bottom
    }
}

#endif
#endif
