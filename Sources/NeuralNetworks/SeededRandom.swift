import Randomness

#if canImport(Glibc)
import Glibc
#endif

/// A seedable random number generator whose whole state is one 256-bit value, so a checkpoint can
/// save it and a resumed run continues the same sequence (Randomness' xoshiro256**).
public struct SeededRandom: RandomNumberGenerator, Sendable, Equatable, Codable {
    private var generator: Xoshiro256

    public init(seed: UInt64) { generator = Xoshiro256(seed: seed) }

    public init(state: [UInt64]) throws {
        guard let generator = Xoshiro256(words: state) else { throw SeededRandomError.invalidState(state.count) }
        self.generator = generator
    }

    /// The four state words a checkpoint saves.
    public var state: [UInt64] { generator.words }

    public mutating func next() -> UInt64 { generator.next() }

    // Checkpoints keep the generator as {"state": [four words]}.
    enum CodingKeys: String, CodingKey { case state }

    public init(from decoder: any Decoder) throws {
        try self.init(state: try decoder.container(keyedBy: CodingKeys.self).decode([UInt64].self, forKey: .state))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(state, forKey: .state)
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A standard normal draw (Box–Muller; one value per call, the pair's second discarded so the
    /// state alone says where the sequence is).
    public mutating func normal() -> Double {
        var u = uniform()
        while u == 0 { u = uniform() }
        let v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

public enum SeededRandomError: Error, CustomStringConvertible {
    case invalidState(Int)
    public var description: String {
        switch self {
        case .invalidState(let count): "random generator state must be 4 words, not all zero (got \(count) words, or all zero)"
        }
    }
}
