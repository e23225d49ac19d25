import CPrefetch

#if canImport(Glibc)
import Glibc
#endif

/// Bytes ahead of the block being multiplied that the kernels ask the memory system for.
///
/// Decode streams every weight once per token, and on this class of machine (Zen, 2 cores) the
/// hardware prefetcher alone leaves a one-row Q8_0 product at ~7.5 GB/s per thread against ~15 GB/s
/// of read bandwidth; asking for the bytes a few KiB ahead raised it to ~11 GB/s in a C
/// microbenchmark of the same loop (docs/BENCHMARKS.md, "Software prefetch").
let prefetchDistance: Int = {
    if let text = getenv("ATELIER_PREFETCH"), let value = Int(String(cString: text)) { return value }
    return 1024
}()

@inline(__always) func prefetch(_ address: UnsafeRawPointer) { atelier_prefetch(address) }

/// Asks for every cache line of `bytes` bytes at `address` (a constant `bytes` unrolls).
@inline(__always) func prefetch(_ address: UnsafeRawPointer, bytes: Int) {
    var offset = 0
    while offset < bytes {
        prefetch(address + offset)
        offset += 64
    }
    prefetch(address + (bytes - 1))
}
