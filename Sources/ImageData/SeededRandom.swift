/// xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64: fast, small and the same on
/// every platform, so a seed and an epoch give the same order and augmentation anywhere.
struct SeededRandom: RandomNumberGenerator {
    private var s0, s1, s2, s3: UInt64

    /// The seed words are mixed by splitmix64, as the xoshiro authors advise, so that nearby
    /// seeds (epoch 1, epoch 2, …) give unrelated streams.
    init(seed: UInt64, stream: UInt64 = 0, substream: UInt64 = 0) {
        var mixer = Self.finalize(Self.finalize(Self.finalize(seed) ^ stream) ^ substream)
        s0 = Self.splitmix(&mixer)
        s1 = Self.splitmix(&mixer)
        s2 = Self.splitmix(&mixer)
        s3 = Self.splitmix(&mixer)
    }

    private static func splitmix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return finalize(state)
    }

    private static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

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
