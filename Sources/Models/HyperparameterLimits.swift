import GGUF

/// The ranges of hyperparameters this engine can run. A file outside them is refused at load,
/// naming the key, its value and the range, before anything is allocated from it.
public enum HyperparameterLimits {
    /// Positions RoPE can tell apart: float32 holds every integer only up to 2^24, so a longer
    /// context would rotate different positions by the same angle.
    public static let contextLength = 1...(1 << 24)
    public static let embeddingLength = 1...(1 << 20)
    /// llama.cpp's `LLAMA_MAX_LAYERS`: a file claiming more is hostile or broken.
    public static let blockCount = 1...512
    public static let feedForwardLength = 1...(1 << 22)
    public static let headCount = 1...4096
    /// RoPE rotates pairs of a head's values, so a head has at least two.
    public static let headDim = 2...1024
    /// 0 < ε ≤ 1: a larger ε would swamp the mean square of any real activation; ε = 0 turns an
    /// all-zero row into 0/0.
    public static let rmsEpsilon = Double(Float.leastNonzeroMagnitude)...1
    /// RoPE's base: below 1 the angles grow with the pair index instead of shrinking, and
    /// position / base^(i/d) leaves float32 for small bases.
    public static let ropeBase = 1...Double(Float.greatestFiniteMagnitude)
    /// Linear RoPE scaling factors and Llama 3.1's per-pair frequency divisors: with these bounds
    /// every angle (position ≤ 2^24) stays finite.
    public static let ropeScaling = 1e-6...1e6
}

/// Reads `<arch>.*` keys with their types checked: a key of the wrong type is reported as such
/// (not as missing), and integers are range-checked before they become `Int`s.
struct HyperparameterReader {
    let metadata: GGUFMetadata
    let architecture: String
    let source: String

    func fail(_ message: String) -> ModelError { ModelError("\(source): \(message)") }

    func key(_ name: String) -> String { "\(architecture).\(name)" }

    /// nil when absent; throws when present with a non-integer type or outside `range`.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = metadata[key(name)] else { return nil }
        let accepted = "\(range.lowerBound)…\(range.upperBound)"
        switch value {
        case .uint64(let v) where v > UInt64(Int64.max):
            throw fail("\(key(name)) is \(v); expected \(accepted)")
        default:
            guard let v = value.integerValue else {
                throw fail("\(key(name)) has type \(value.type), expected an integer in \(accepted)")
            }
            guard range.contains(Int(v)) else { throw fail("\(key(name)) is \(v); expected \(accepted)") }
            return Int(v)
        }
    }

    func requiredInteger(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        guard let v = try integer(name, in: range) else {
            throw fail("required key \(key(name)) is missing (expected an integer in \(range.lowerBound)…\(range.upperBound))")
        }
        return v
    }

    /// nil when absent; throws when present with a non-numeric type, or outside `range` once
    /// rounded to float32 (so a value that becomes 0 or infinity in float32 is refused too).
    func float(_ name: String, in range: ClosedRange<Double>) throws -> Float? {
        guard let value = metadata[key(name)] else { return nil }
        guard let v = value.numberValue else {
            throw fail("\(key(name)) has type \(value.type), expected a number in \(range.lowerBound)…\(range.upperBound)")
        }
        let f = Float(v)
        guard f.isFinite, range.contains(Double(f)) else {
            throw fail("\(key(name)) is \(v); expected a number in \(range.lowerBound)…\(range.upperBound)")
        }
        return f
    }

    func string(_ name: String) throws -> String? {
        guard let value = metadata[key(name)] else { return nil }
        guard let s = value.stringValue else { throw fail("\(key(name)) has type \(value.type), expected a string") }
        return s
    }
}
