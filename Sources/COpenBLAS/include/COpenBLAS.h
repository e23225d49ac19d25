#ifndef ATELIER_COPENBLAS_H
#define ATELIER_COPENBLAS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Loads OpenBLAS (libopenblas.so.0) with dlopen, once. Before loading, when OPENBLAS_CORETYPE is
/// unset, names the kernel family this CPU supports (SkylakeX with AVX-512, Haswell with AVX2+FMA):
/// OpenBLAS picks its kernels in a load-time constructor, and on CPUs it does not recognise (many
/// virtual machines report a generic model) it falls back to its SSE3 "Prescott" kernels, 2-3x
/// slower. Returns 0 on success, else nonzero with a message in `error`.
int atl_blas_load(char *error, int error_size);

/// The kernel family OpenBLAS chose ("SkylakeX", …), or "" before loading.
const char *atl_blas_core_name(void);

void atl_blas_set_threads(int threads);

/// Row-major GEMM, C = alpha·op(A)·op(B) + beta·C (CBLAS semantics); `atl_blas_load` must have succeeded.
void atl_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
               int ldb, float beta, float *c, int ldc);
void atl_dgemm(int transpose_a, int transpose_b, int m, int n, int k, double alpha, const double *a, int lda,
               const double *b, int ldb, double beta, double *c, int ldc);

#ifdef __cplusplus
}
#endif

#endif
