#include "CDirectConvolution.h"

#include "CBFloat16GEMM.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#include "sum16.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// Masks for the first `count` (clamped to 0…16) lanes.
static inline __mmask16 lanes(int64_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

// Sixteen floats (masked to `count`) rounded to bf16, nearest with ties to even, one per 32-bit lane.
TARGET static inline __m512i round16(const float *p, int64_t count) {
    return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(lanes(count), p)));
}

TARGET void atl_bf16_pad_channel_pairs(const float *source, int64_t channels, int64_t height, int64_t width, int64_t padHeight,
                                       int64_t padWidth, int64_t planeStride, uint32_t *padded) {
    const int64_t paddedWidth = width + 2 * padWidth, top = padHeight * paddedWidth + padWidth;
    const int64_t plane = height * width;
    for (int64_t pair = 0; pair < (channels + 1) / 2; pair++) {
        const float *low = source + 2 * pair * plane;
        const float *high = 2 * pair + 1 < channels ? low + plane : NULL;
        uint32_t *out = padded + pair * planeStride;
        memset(out, 0, (size_t)top * sizeof(uint32_t));
        for (int64_t h = 0; h < height; h++) {
            uint32_t *line = out + top + h * paddedWidth;
            for (int64_t w = 0; w < width; w += 16) {
                __m512i word = round16(low + h * width + w, width - w);
                if (high) word = _mm512_or_si512(word, _mm512_slli_epi32(round16(high + h * width + w, width - w), 16));
                _mm512_mask_storeu_epi32(line + w, lanes(width - w), word);
            }
            // The right padding of this line and the left padding of the next are adjacent.
            for (int64_t i = 0; i < 2 * padWidth; i++) line[width + i] = 0;  // a call costs more than two stores
        }
        const int64_t written = top + height * paddedWidth;  // top includes the first line's left padding
        memset(out + written, 0, (size_t)(planeStride - written) * sizeof(uint32_t));
    }
}

static inline __mmask32 halves(int64_t count) {
    return count >= 32 ? (__mmask32)0xFFFFFFFFu : count <= 0 ? (__mmask32)0 : (__mmask32)((1u << count) - 1);
}

TARGET void atl_bf16_pad_planes(const float *source, int64_t channels, int64_t height, int64_t width, int64_t padHeight,
                                int64_t padWidth, int64_t planeStride, uint16_t *padded) {
    const int64_t paddedWidth = width + 2 * padWidth, top = padHeight * paddedWidth + padWidth;
    for (int64_t c = 0; c < channels; c++) {
        const float *image = source + c * height * width;
        uint16_t *out = padded + c * planeStride;
        memset(out, 0, (size_t)top * sizeof(uint16_t));
        // Rows of odd width get one more value, 0, where the padding (or the next row) follows anyway.
        atl_bf16_convert_rows(image, width, height, width, out + top, paddedWidth);
        for (int64_t h = 0; h < height; h++) {
            uint16_t *line = out + top + h * paddedWidth;
            for (int64_t i = 0; i < 2 * padWidth; i++) line[width + i] = 0;
        }
        const int64_t written = top + height * paddedWidth;  // top includes the first line's left padding
        memset(out + written, 0, (size_t)(planeStride - written) * sizeof(uint16_t));
    }
}

TARGET void atl_bf16_spread(const float *source, int64_t rows, int64_t outputHeight, int64_t outputWidth, int64_t paddedWidth,
                            int64_t positions, uint16_t *flat) {
    memset(flat, 0, (size_t)((rows + 3) / 4 * 4 * positions) * sizeof(uint16_t));
    // An odd line's extra value, 0, lands on a thrown-away position (paddedWidth > outputWidth).
    for (int64_t r = 0; r < rows; r++)
        atl_bf16_convert_rows(source + r * outputHeight * outputWidth, outputWidth, outputHeight, outputWidth, flat + r * positions,
                              paddedWidth);
}

// Eight output rows × 32 positions, as the f32 kernel, but each input load carries two channels
// and each VDPBF16PS adds both channels' products: half the instructions per product.
TARGET void atl_bf16_correlate(const uint32_t *padded, int64_t pairs, int64_t planeStride, const int64_t *offsets, int64_t taps,
                               const uint32_t *packed, int64_t blocks, int64_t positions, float *out) {
    for (int64_t block = 0; block < blocks; block++) {
        const uint32_t *weights = packed + block * pairs * taps * 8;
        float *rows = out + block * 8 * positions;
        int64_t q = 0;
        for (; q + 32 <= positions; q += 32) {
            __m512 a[8], b[8];
            for (int r = 0; r < 8; r++) a[r] = b[r] = _mm512_setzero_ps();
            const uint32_t *w = weights;
            for (int64_t k = 0; k < pairs; k++) {
                const uint32_t *line = padded + k * planeStride + q;
                for (int64_t t = 0; t < taps; t++, w += 8) {
                    const uint32_t *p = line + offsets[t];
                    __m512bh x0 = (__m512bh)_mm512_loadu_si512(p), x1 = (__m512bh)_mm512_loadu_si512(p + 16);
                    for (int r = 0; r < 8; r++) {
                        __m512bh wr = (__m512bh)_mm512_set1_epi32((int)w[r]);
                        a[r] = _mm512_dpbf16_ps(a[r], x0, wr);
                        b[r] = _mm512_dpbf16_ps(b[r], x1, wr);
                    }
                }
            }
            for (int r = 0; r < 8; r++) {
                _mm512_storeu_ps(rows + r * positions + q, a[r]);
                _mm512_storeu_ps(rows + r * positions + q + 16, b[r]);
            }
        }
        if (q < positions) {
            __m512 a[8];
            for (int r = 0; r < 8; r++) a[r] = _mm512_setzero_ps();
            const uint32_t *w = weights;
            for (int64_t k = 0; k < pairs; k++) {
                const uint32_t *line = padded + k * planeStride + q;
                for (int64_t t = 0; t < taps; t++, w += 8) {
                    __m512bh x0 = (__m512bh)_mm512_loadu_si512(line + offsets[t]);
                    for (int r = 0; r < 8; r++) a[r] = _mm512_dpbf16_ps(a[r], x0, (__m512bh)_mm512_set1_epi32((int)w[r]));
                }
            }
            for (int r = 0; r < 8; r++) _mm512_storeu_ps(rows + r * positions + q, a[r]);
        }
    }
}

// 32 bf16 values from p, the ones at or past `count` read as 0 (and not read).
TARGET static inline __m512bh load32(const uint16_t *p, int64_t count) {
    return (__m512bh)_mm512_maskz_loadu_epi16(halves(count), p);
}

// Four gradient rows × four taps over 32 positions a step (pairs of adjacent positions in each
// VDPBF16PS lane; a tap's odd offset only shifts which positions pair up, identically in both
// operands); the last step of 16 masked. Leftover taps one at a time. The sums run over all the
// images before they are reduced: on small planes the reductions cost as much as the products.
TARGET void atl_bf16_correlate_weights(const uint16_t *flat, int64_t rows, int64_t positions, const uint16_t *padded,
                                       int64_t channels, int64_t planeStride, const int64_t *offsets, int64_t taps,
                                       int64_t images, int64_t flatImageStride, int64_t paddedImageStride, float *gradient) {
    for (int64_t first = 0; first < rows; first += 4) {
        const uint16_t *d[4] = {flat + first * positions, flat + (first + 1) * positions, flat + (first + 2) * positions,
                                flat + (first + 3) * positions};
        int64_t live = rows - first < 4 ? rows - first : 4;
        for (int64_t c = 0; c < channels; c++) {
            const uint16_t *plane = padded + c * planeStride;
            int64_t t = 0;
            for (; t + 4 <= taps; t += 4) {
                __m512 a[4][4];
                for (int r = 0; r < 4; r++)
                    for (int k = 0; k < 4; k++) a[r][k] = _mm512_setzero_ps();
                for (int64_t image = 0; image < images; image++) {
                    const uint16_t *p[4], *g[4];
                    for (int i = 0; i < 4; i++) {
                        p[i] = plane + image * paddedImageStride + offsets[t + i];
                        g[i] = d[i] + image * flatImageStride;
                    }
                    for (int64_t q = 0; q < positions; q += 32) {
                        __m512bh gv[4], xv[4];
                        if (q + 32 <= positions) {
                            for (int i = 0; i < 4; i++) {
                                gv[i] = (__m512bh)_mm512_loadu_si512(g[i] + q);
                                xv[i] = (__m512bh)_mm512_loadu_si512(p[i] + q);
                            }
                        } else {
                            for (int i = 0; i < 4; i++) {
                                gv[i] = load32(g[i] + q, positions - q);
                                xv[i] = load32(p[i] + q, positions - q);
                            }
                        }
                        for (int r = 0; r < 4; r++)
                            for (int k = 0; k < 4; k++) a[r][k] = _mm512_dpbf16_ps(a[r][k], gv[r], xv[k]);
                    }
                }
                atl_add_sums(atl_sum16(a), gradient + (first * channels + c) * taps + t, channels * taps, live);
            }
            for (; t < taps; t++) {
                __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
                for (int64_t image = 0; image < images; image++) {
                    const uint16_t *p0 = plane + image * paddedImageStride + offsets[t];
                    for (int64_t q = 0; q < positions; q += 32) {
                        __m512bh x0 = load32(p0 + q, positions - q);
                        for (int r = 0; r < 4; r++)
                            a[r] = _mm512_dpbf16_ps(a[r], load32(d[r] + image * flatImageStride + q, positions - q), x0);
                    }
                }
                for (int64_t r = 0; r < live; r++) gradient[((first + r) * channels + c) * taps + t] += _mm512_reduce_add_ps(a[r]);
            }
        }
    }
}

#else

void atl_bf16_pad_channel_pairs(const float *source, int64_t channels, int64_t height, int64_t width, int64_t padHeight,
                                int64_t padWidth, int64_t planeStride, uint32_t *padded) {}
void atl_bf16_pad_planes(const float *source, int64_t channels, int64_t height, int64_t width, int64_t padHeight,
                         int64_t padWidth, int64_t planeStride, uint16_t *padded) {}
void atl_bf16_spread(const float *source, int64_t rows, int64_t outputHeight, int64_t outputWidth, int64_t paddedWidth,
                     int64_t positions, uint16_t *flat) {}
void atl_bf16_correlate(const uint32_t *padded, int64_t pairs, int64_t planeStride, const int64_t *offsets, int64_t taps,
                        const uint32_t *packed, int64_t blocks, int64_t positions, float *out) {}
void atl_bf16_correlate_weights(const uint16_t *flat, int64_t rows, int64_t positions, const uint16_t *padded, int64_t channels,
                                int64_t planeStride, const int64_t *offsets, int64_t taps, int64_t images, int64_t flatImageStride,
                                int64_t paddedImageStride, float *gradient) {}

#endif
