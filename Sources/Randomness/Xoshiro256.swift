/// xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number generators", 2018),
/// seeded through splitmix64 as its authors advise: small, fast, and the same sequence on every
/// platform, so a seed reproduces a shuffle, an initialisation or a generated data set anywhere.
/// The one generator behind training (NeuralNetworks), image loading (ImageData) and the data
/// benchmark's generator (DataBenchmark); each adds the draws it needs on top.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The four state words drawn from splitmix64 started at `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        (s0, s1, s2, s3) = (Self.splitmix(&mixer), Self.splitmix(&mixer), Self.splitmix(&mixer), Self.splitmix(&mixer))
    }

    /// A saved state (not all zero: the all-zero state repeats zero forever).
    public init?(words: [UInt64]) {
        guard words.count == 4, words.contains(where: { $0 != 0 }) else { return nil }
        (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    }

    public var words: [UInt64] { [s0, s1, s2, s3] }

    @inline(__always) public mutating func next() -> UInt64 {
        let result = rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotate(s3, 45)
        return result
    }

    /// One splitmix64 step: advances `state` by the golden-ratio increment and returns it mixed.
    @inline(__always) public static func splitmix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    /// splitmix64's output function (Stafford's mix 13): nearby inputs give unrelated outputs.
    @inline(__always) public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
