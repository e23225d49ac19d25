#ifndef ATELIER_CPREFETCH_H
#define ATELIER_CPREFETCH_H

// Software prefetch for the matmul kernels. Swift cannot call `_mm_prefetch` (a macro in the
// intrinsics headers); this static inline function compiles to one `prefetcht0` inside the
// Swift loop that calls it.
static inline __attribute__((always_inline)) void atelier_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
