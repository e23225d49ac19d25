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

/// gradient[r][c][t] += Σ_i Σ_q flat_i[r][q] · padded_i[c·planeStride + q + offsets[t]] for r < rows over
/// `images` images, flat_i = flat + i·flatImageStride and padded_i = padded + i·paddedImageStride (flat
/// holds rows up to a multiple of four, positions apart; positions a multiple of 16).
void atl_correlate_weights_f32_avx512(
    const float *flat, int64_t rows, int64_t positions, const float *padded, int64_t channels, int64_t planeStride,
    const int64_t *offsets, int64_t taps, int64_t images, int64_t flatImageStride, int64_t paddedImageStride, float *gradient);

/// One image's convolution geometry for im2col and col2im: `channels` planes [height, width], a
/// kernel [kernelHeight, kernelWidth] at `stride` on both axes with the padding given, the output
/// [outputHeight, outputWidth].
typedef struct {
    int64_t channels, height, width, kernelHeight, kernelWidth, stride, padHeight, padWidth, outputHeight, outputWidth;
} atl_unfold_geometry;

/// im2col for stride 1 or 2, no dilation, output lines of at most 16: row (c, i, j) of `columns`
/// holds image[c][oh·stride + i − padHeight][ow·stride + j − padWidth] at oh·outputWidth + ow, or 0
/// outside the image.
void atl_unfold_f32_avx512(const atl_unfold_geometry *geometry, const float *image, float *columns);

/// col2im, the transpose of atl_unfold_f32_avx512 (same limits): adds each column entry onto the
/// pixel it was read from.
void atl_fold_f32_avx512(const atl_unfold_geometry *geometry, const float *columns, float *image);

// bf16 versions (AVX512-BF16; call only where the CPU has it — TensorOps asks CBFloat16GEMM's
// atl_bf16_supported): operands rounded to bf16 (nearest, ties to even), products summed in f32 by
// VDPBF16PS, which multiplies a pair of bf16 values by another pair and adds both products exactly.
// The pair is two input channels in the correlation and two adjacent positions in the weight
// gradient, so each has its own layout of the padded image.

/// Pads `channels` planes [height, width] as the f32 `pad` does, two channels to a 32-bit word
/// (channel 2k in the low half, 2k + 1 in the high half, 0 past the last): ceil(channels / 2)
/// planes of `planeStride` words.
void atl_bf16_pad_channel_pairs(const float *source, int64_t channels, int64_t height, int64_t width, int64_t padHeight,
                                int64_t padWidth, int64_t planeStride, uint32_t *padded);

/// Pads `channels` planes as the f32 `pad` does, in bf16: `channels` planes of `planeStride` values.
void atl_bf16_pad_planes(const float *source, int64_t channels, int64_t height, int64_t width, int64_t padHeight,
                         int64_t padWidth, int64_t planeStride, uint16_t *padded);

/// The f32 `spread` in bf16: `rows` output planes on flat positions, zeros elsewhere and in the rows
/// up to a multiple of four.
void atl_bf16_spread(const float *source, int64_t rows, int64_t outputHeight, int64_t outputWidth, int64_t paddedWidth,
                     int64_t positions, uint16_t *flat);

/// out[r][q] = Σ_k Σ_t Σ_{i=0,1} packed[r / 8][k][t][r mod 8].half(i) · padded[k·planeStride + q + offsets[t]].half(i)
/// for blocks·8 rows and q < positions (a multiple of 16); `pairs` channel pairs.
void atl_bf16_correlate(const uint32_t *padded, int64_t pairs, int64_t planeStride, const int64_t *offsets, int64_t taps,
                        const uint32_t *packed, int64_t blocks, int64_t positions, float *out);

/// gradient[r][c][t] += Σ_i Σ_q flat_i[r][q] · padded_i[c·planeStride + q + offsets[t]] for r < rows, in
/// bf16, over `images` images (flat_i = flat + i·flatImageStride from atl_bf16_spread, padded_i =
/// padded + i·paddedImageStride from atl_bf16_pad_planes; positions a multiple of 16).
void atl_bf16_correlate_weights(const uint16_t *flat, int64_t rows, int64_t positions, const uint16_t *padded, int64_t channels,
                                int64_t planeStride, const int64_t *offsets, int64_t taps, int64_t images, int64_t flatImageStride,
                                int64_t paddedImageStride, float *gradient);

#ifdef __cplusplus
}
#endif

#endif
