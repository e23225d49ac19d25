#ifndef C_DIRECT_CONVOLUTION_H
#define C_DIRECT_CONVOLUTION_H

// AVX-512 versions of TensorOps' f32 direct-convolution kernels (FlatCorrelation), for CPUs that
// have it: Swift cannot compile one function for a wider instruction set than its module, and a
// whole module built for AVX-512 would not run on AVX2 machines. Each function is compiled with
// __attribute__((target("avx512f"))) and called only after atl_has_avx512() said yes. The layouts
// (packed weights, flat positions, plane strides) are FlatCorrelation's, documented there.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Whether this CPU and its operating system run AVX-512F instructions.
int atl_has_avx512(void);

/// out[r][q] = Σ_c Σ_t packed[r / 8][c][t][r mod 8] · padded[c·planeStride + q + offsets[t]]
/// for blocks·8 rows and q < positions (a multiple of 16).
void atl_correlate_f32_avx512(
    const float *padded, int64_t channels, int64_t planeStride, const int64_t *offsets, int64_t taps,
    const float *packed, int64_t blocks, int64_t positions, float *out);

/// gradient[r][c][t] += Σ_q flat[r][q] · padded[c·planeStride + q + offsets[t]] for r < rows
/// (flat holds rows up to a multiple of four, positions apart; positions a multiple of 16).
void atl_correlate_weights_f32_avx512(
    const float *flat, int64_t rows, int64_t positions, const float *padded, int64_t channels, int64_t planeStride,
    const int64_t *offsets, int64_t taps, float *gradient);

#ifdef __cplusplus
}
#endif

#endif
