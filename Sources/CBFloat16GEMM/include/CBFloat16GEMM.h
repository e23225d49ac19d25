#ifndef ATELIER_BFLOAT16_GEMM_H
#define ATELIER_BFLOAT16_GEMM_H

#include <stdint.h>

/// bf16 × bf16 → f32 matrix products on AVX512-BF16 dot-product instructions (VDPBF16PS: each
/// 32-bit lane multiplies a pair of bf16 values by another pair and adds both products to an f32
/// accumulator, exactly — a product of two bf16 numbers fits in f32). Inputs are rounded from f32 to
/// bf16 (nearest, ties to even) once; sums stay f32. On this project's AMD EPYC VM it runs at
/// about twice OpenBLAS's f32 SGEMM, packing included (docs/FINETUNING.md, "The frozen products
/// in bf16").
///
/// The B operand is packed in panels of 32 columns: for each pair of k (2p, 2p+1), 32 words, word j
/// holding B[2p][n0 + j] in its low half and B[2p + 1][n0 + j] in its high half — a zero where k
/// or n runs past the matrix. The A operand is bf16 rows whose length is padded to an even count.

/// 1 when the CPU and OS run AVX-512 F/BW/VL with the BF16 extension; read from CPUID and XCR0,
/// without a runtime library (static builds).
int atl_bf16_supported(void);

/// Words of the panels packing an [n, k] operand: ceil(n / 32) · 32 · ceil(k / 2).
int64_t atl_bf16_panel_words(int64_t n, int64_t k);

/// destination row r = source row r rounded to bf16, for `rows` rows of `columns` values; an odd
/// row length gets one more element, 0, so rows pair up.
void atl_bf16_convert_rows(const float *source, int64_t sourceStride, int64_t rows, int64_t columns, uint16_t *destination,
                           int64_t destinationStride);

/// Packs B = Sᵀ for C = A · Sᵀ: `s` holds n rows of k values (stride `ldb`), row j being column j of B.
void atl_bf16_pack_transposed(const float *s, int64_t ldb, int64_t n, int64_t k, uint32_t *panels);

/// Packs B for C = A · B: `b` holds k rows of n values (stride `ldb`).
void atl_bf16_pack(const float *b, int64_t ldb, int64_t k, int64_t n, uint32_t *panels);

/// C[m, n] = A[m, k] · B[k, n], plus C when `accumulate` is 1. A: bf16 rows, stride `lda` (holding
/// k rounded up to even values); B: panels packed as above; C: f32 rows, stride `ldc`.
void atl_bf16_gemm(int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda, const uint32_t *panels, float *c, int64_t ldc,
                   int accumulate);

#endif
