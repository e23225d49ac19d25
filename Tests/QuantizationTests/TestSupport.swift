import Foundation
import GGUF
import Quantization

/// Paths of checked-in fixtures (found from this file's location, so no resource bundle).
enum Fixture {
    static let directory: String = {
        let here = "\(#filePath)"
        return String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures"
    }()

    static func decode<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        return try JSONDecoder().decode(T.self, from: data)
    }
}

func ggmlType(named name: String) -> GGMLType {
    guard let t = GGMLType.all.first(where: { $0.name == name }) else { fatalError("unknown type \(name)") }
    return t
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(hex.utf8.count / 2)
    var it = hex.utf8.makeIterator()
    func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 32) - 87 }
    while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
    return out
}

/// Deterministic generator so a failing case reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Gaussian-ish values with a per-block scale spread over several orders of magnitude, plus an
/// occasional outlier, so blocks exercise very different scales.
func randomFloats(_ count: Int, seed: UInt64, blockSize: Int = 32) -> [Float] {
    var rng = SplitMix64(seed: seed)
    var out = [Float](repeating: 0, count: count)
    var scale: Float = 1
    for i in 0..<count {
        if i % blockSize == 0 { scale = Float.random(in: -3...1, using: &rng).exp10 }
        let u = Float.random(in: -1...1, using: &rng) + Float.random(in: -1...1, using: &rng) + Float.random(in: -1...1, using: &rng)
        out[i] = u * scale * (Int.random(in: 0..<50, using: &rng) == 0 ? 8 : 1)
    }
    return out
}

extension Float {
    var exp10: Float { Float(Foundation.pow(10.0, Double(self))) }
}

func quantized(_ type: GGMLType, _ x: [Float]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: x.count / type.blockSize * type.typeSize)
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBytes { Quantization.quantize(type, from: src.baseAddress!, to: $0.baseAddress!, count: x.count) }
    }
    return out
}

func dequantized(_ type: GGMLType, _ raw: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    raw.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { Quantization.dequantize(type, from: src.baseAddress!, to: $0.baseAddress!, count: count) }
    }
    return out
}
