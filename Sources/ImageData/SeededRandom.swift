import Randomness

/// Randomness' xoshiro256** with a seed, a stream and a substream mixed into its seed, so a seed
/// and an epoch give the same order and augmentation anywhere.
struct SeededRandom: RandomNumberGenerator {
    private var generator: Xoshiro256

    /// Nearby seeds (epoch 1, epoch 2, …) give unrelated streams: each part passes through splitmix's mix.
    init(seed: UInt64, stream: UInt64 = 0, substream: UInt64 = 0) {
        generator = Xoshiro256(seed: Xoshiro256.mix(Xoshiro256.mix(Xoshiro256.mix(seed) ^ stream) ^ substream))
    }

    mutating func next() -> UInt64 { generator.next() }

    /// Uniform in 0..<bound by Lemire's multiply-shift (the bias, below 2^-40 for our bounds, does not matter here).
    mutating func below(_ bound: Int) -> Int {
        Int(UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    /// Fisher–Yates: a uniformly random permutation of 0..<count.
    mutating func permutation(_ count: Int) -> [Int32] {
        var order = (0..<Int32(count)).map { $0 }
        order.withUnsafeMutableBufferPointer { order in
            var i = count - 1
            while i > 0 {
                order.swapAt(i, below(i + 1))
                i -= 1
            }
        }
        return order
    }
}
