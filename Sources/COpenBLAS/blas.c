// OpenBLAS loaded with dlopen at run time: the kernel family is chosen before the library's
// constructor runs (see COpenBLAS.h), and a binary built without OpenBLAS headers still runs
// inference on machines without the library.
#include "COpenBLAS.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// CBLAS enum values (cblas.h): row-major order and the transpose flags.
enum { ROW_MAJOR = 101, NO_TRANSPOSE = 111, TRANSPOSE = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int, const double *, int, double, double *,
                         int);
typedef void (*set_threads_fn)(int);
typedef char *(*core_name_fn)(void);

static struct {
    pthread_once_t once;
    int status;
    char message[512];
    sgemm_fn sgemm;
    dgemm_fn dgemm;
    set_threads_fn set_threads;
    core_name_fn core_name;
} blas = {PTHREAD_ONCE_INIT, -1, "", 0, 0, 0, 0};

static const char *core_for_this_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return 0;
}

static void load_once(void) {
    const char *core = core_for_this_cpu();
    if (core && !getenv("OPENBLAS_CORETYPE")) setenv("OPENBLAS_CORETYPE", core, 0);
    const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    void *library = 0;
    for (unsigned i = 0; i < sizeof names / sizeof names[0] && !library; i++) library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(blas.message, sizeof blas.message,
                 "training needs OpenBLAS, which could not be loaded (%s); on Debian or Ubuntu: apt install libopenblas0",
                 dlerror());
        blas.status = 1;
        return;
    }
    blas.sgemm = (sgemm_fn)dlsym(library, "cblas_sgemm");
    blas.dgemm = (dgemm_fn)dlsym(library, "cblas_dgemm");
    blas.set_threads = (set_threads_fn)dlsym(library, "openblas_set_num_threads");
    blas.core_name = (core_name_fn)dlsym(library, "openblas_get_corename");
    if (!blas.sgemm || !blas.dgemm) {
        snprintf(blas.message, sizeof blas.message, "the OpenBLAS library found lacks cblas_sgemm/cblas_dgemm");
        blas.status = 2;
        return;
    }
    blas.status = 0;
}

int atl_blas_load(char *error, int error_size) {
    pthread_once(&blas.once, load_once);
    if (blas.status != 0 && error && error_size > 0) snprintf(error, (size_t)error_size, "%s", blas.message);
    return blas.status;
}

const char *atl_blas_core_name(void) {
    if (blas.status != 0 || !blas.core_name) return "";
    const char *name = blas.core_name();
    return name ? name : "";
}

void atl_blas_set_threads(int threads) {
    if (blas.status == 0 && blas.set_threads) blas.set_threads(threads);
}

void atl_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
               int ldb, float beta, float *c, int ldc) {
    blas.sgemm(ROW_MAJOR, transpose_a ? TRANSPOSE : NO_TRANSPOSE, transpose_b ? TRANSPOSE : NO_TRANSPOSE, m, n, k, alpha, a,
               lda, b, ldb, beta, c, ldc);
}

void atl_dgemm(int transpose_a, int transpose_b, int m, int n, int k, double alpha, const double *a, int lda,
               const double *b, int ldb, double beta, double *c, int ldc) {
    blas.dgemm(ROW_MAJOR, transpose_a ? TRANSPOSE : NO_TRANSPOSE, transpose_b ? TRANSPOSE : NO_TRANSPOSE, m, n, k, alpha, a,
               lda, b, ldb, beta, c, ldc);
}
