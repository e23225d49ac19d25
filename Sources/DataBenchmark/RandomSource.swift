import Randomness

/// Randomness' xoshiro256**: our own stream, so values differ from R's Mersenne
/// Twister in db-benchmark's scripts, while every distribution and key overlap matches theirs.
public struct RandomSource: Sendable {
    private var generator: Xoshiro256

    public init(seed: UInt64) { generator = Xoshiro256(seed: seed) }

    @inline(__always) public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in 1...count (R's `sample(count, n, TRUE)`), by Lemire's multiply-shift with rejection so
    /// no value is favoured.
    @inline(__always) public mutating func oneThrough(_ count: Int) -> Int {
        let range = UInt64(count)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high) + 1
    }

    /// R's `round(runif(1, max = 100), 6)` as an integer count of millionths, 0...100_000_000, so the
    /// CSV text can be printed exactly.
    @inline(__always) public mutating func percentMillionths() -> Int32 {
        let unit = Double(next() >> 11) * 0x1p-53
        return Int32((unit * 100_000_000).rounded(.toNearestOrEven))
    }

    /// Fisher–Yates shuffle (R's `sample(x)`).
    public mutating func shuffle(_ values: inout [Int32]) {
        values.withUnsafeMutableBufferPointer { buffer in
            var i = buffer.count - 1
            while i > 0 {
                let j = oneThrough(i + 1) - 1
                buffer.swapAt(i, j)
                i -= 1
            }
        }
    }

    /// `count` distinct positions of 0..<total (R's `sample(total, count)`), in random order.
    public mutating func distinctPositions(_ count: Int, of total: Int) -> [Int32] {
        var pool = [Int32](0..<Int32(total))
        pool.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<count {
                let j = i + oneThrough(total - i) - 1
                buffer.swapAt(i, j)
            }
        }
        return Array(pool[0..<count])
    }
}
