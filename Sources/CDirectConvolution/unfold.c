#include "CDirectConvolution.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))

// Lanes lo…hi − 1 of 16 (clamped).
static inline __mmask16 span(int64_t lo, int64_t hi) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    return hi <= lo ? 0 : (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

// The inputs of one output line: lane ow holds line[base + stride·ow] (stride 1 or 2), or 0 where that
// column is outside 0…width − 1. Masked-off lanes are neither read nor faulted on, so the loads may
// start before the line or run past it: the masks are the padding.
TARGET static inline __m512 taps_of_line(const float *line, int64_t base, int64_t width, int64_t stride) {
    if (stride == 1) return _mm512_maskz_loadu_ps(span(-base, width - base), line + base);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512 low = _mm512_maskz_loadu_ps(span(-base, width - base), line + base);
    __m512 high = _mm512_maskz_loadu_ps(span(-base - 16, width - base - 16), line + base + 16);
    return _mm512_permutex2var_ps(low, even, high);
}

TARGET void atl_unfold_f32_avx512(const atl_unfold_geometry *g, const float *image, float *columns) {
    const int64_t channels = g->channels, height = g->height, width = g->width, kernelHeight = g->kernelHeight,
                  kernelWidth = g->kernelWidth, stride = g->stride, padHeight = g->padHeight, padWidth = g->padWidth,
                  outputHeight = g->outputHeight, outputWidth = g->outputWidth;
    const __mmask16 store = span(0, outputWidth);
    float *row = columns;
    for (int64_t c = 0; c < channels; c++) {
        const float *plane = image + c * height * width;
        for (int64_t i = 0; i < kernelHeight; i++)
            for (int64_t j = 0; j < kernelWidth; j++, row += outputHeight * outputWidth)
                for (int64_t oh = 0; oh < outputHeight; oh++) {
                    int64_t ih = oh * stride + i - padHeight;
                    __m512 values = ih >= 0 && ih < height ? taps_of_line(plane + ih * width, j - padWidth, width, stride)
                                                           : _mm512_setzero_ps();
                    _mm512_mask_storeu_ps(row + oh * outputWidth, store, values);
                }
    }
}

TARGET void atl_fold_f32_avx512(const atl_unfold_geometry *g, const float *columns, float *image) {
    const int64_t channels = g->channels, height = g->height, width = g->width, kernelHeight = g->kernelHeight,
                  kernelWidth = g->kernelWidth, stride = g->stride, padHeight = g->padHeight, padWidth = g->padWidth,
                  outputHeight = g->outputHeight, outputWidth = g->outputWidth;
    const __mmask16 load = span(0, outputWidth);
    // Lane k of the spread line takes output k / 2 when k is even (stride 2); the odd lanes are 0.
    const __m512i low = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i high = _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    const float *row = columns;
    for (int64_t c = 0; c < channels; c++) {
        float *plane = image + c * height * width;
        for (int64_t i = 0; i < kernelHeight; i++)
            for (int64_t j = 0; j < kernelWidth; j++, row += outputHeight * outputWidth)
                for (int64_t oh = 0; oh < outputHeight; oh++) {
                    int64_t ih = oh * stride + i - padHeight;
                    if (ih < 0 || ih >= height) continue;
                    float *line = plane + ih * width;
                    int64_t base = j - padWidth;
                    __m512 values = _mm512_maskz_loadu_ps(load, row + oh * outputWidth);
                    if (stride == 1) {
                        __mmask16 m = span(-base, width - base) & load;
                        _mm512_mask_storeu_ps(line + base, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, line + base), values));
                        continue;
                    }
                    // Outputs past outputWidth were loaded as 0, and the masks keep the adds inside the line.
                    __m512 first = _mm512_maskz_permutexvar_ps(0x5555, low, values);
                    __m512 second = _mm512_maskz_permutexvar_ps(0x5555, high, values);
                    __mmask16 m0 = span(-base, width - base), m1 = span(-base - 16, width - base - 16);
                    _mm512_mask_storeu_ps(line + base, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, line + base), first));
                    _mm512_mask_storeu_ps(line + base + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, line + base + 16), second));
                }
    }
}

#else

void atl_unfold_f32_avx512(const atl_unfold_geometry *g, const float *image, float *columns) {}
void atl_fold_f32_avx512(const atl_unfold_geometry *g, const float *columns, float *image) {}

#endif
