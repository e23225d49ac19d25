#ifndef ATELIER_CHALFPRECISION_H
#define ATELIER_CHALFPRECISION_H

// f32 → f16 for the KV cache. Swift cannot call `_mm256_cvtps_ph` (a macro: its rounding mode
// must be an immediate); this static inline function compiles to one `vcvtps2ph` where it is used.
#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

/// Eight floats to f16, rounded to nearest even (ggml's conversion).
static inline __attribute__((always_inline, target("avx,f16c")))
__m128i atelier_half8(const float *source) {
    return _mm256_cvtps_ph(_mm256_loadu_ps(source), _MM_FROUND_TO_NEAREST_INT);
}
#endif

#endif
