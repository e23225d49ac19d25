// Debian's OpenBLAS (libopenblas-dev): CBLAS for f32/f64 GEMM, plus the thread-count control.
#include <cblas.h>
