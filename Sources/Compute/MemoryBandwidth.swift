import Threading

/// The machine's memory read bandwidth as this process's threads see it: the roofline for decode,
/// which streams every weight once per token.
public enum MemoryBandwidth {
    /// Bytes per second for `pool`'s threads streaming a buffer far larger than the caches (best of
    /// `repetitions`; the first pass, which faults the pages in, is not counted).
    public static func measureRead(pool: ThreadPool, bytes: Int = 256 << 20, repetitions: Int = 5) -> Double {
        let vectors = bytes / MemoryLayout<SIMD8<Float>>.stride
        let buffer = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: vectors)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: SIMD8<Float>(repeating: 1), count: vectors)
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: pool.threadCount)
        defer { sink.deallocate() }
        let clock = ContinuousClock()
        var best = Duration.seconds(1_000)
        for pass in 0...repetitions {
            let start = clock.now
            pool.run { worker, workers in
                let range = ThreadPool.chunk(vectors / 4, worker, workers)
                var a = SIMD8<Float>(), b = a, c = a, d = a
                var p = buffer + range.lowerBound * 4
                for _ in range {
                    a += p[0]; b += p[1]; c += p[2]; d += p[3]
                    p += 4
                }
                sink[worker] = (a + b + c + d).sum()
            }
            let elapsed = clock.now - start
            if pass > 0 { best = min(best, elapsed) }
        }
        let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) * 1e-18
        return Double(vectors * MemoryLayout<SIMD8<Float>>.stride) / seconds
    }
}
