import Adapters
import Foundation
import GGUF

/// Small files for the adapter tests: temporary paths, a seeded generator, hand-made adapters.
enum AdapterFixtures {
    static func temporaryPath(_ name: String) -> String {
        let directory = NSTemporaryDirectory() + "atelier-adapters-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/" + name
    }

    /// xorshift64*: reproducible values without Foundation's generators.
    struct Generator {
        var state: UInt64
        init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
        mutating func next() -> Float {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            let bits = (state &* 0x2545_F491_4F6C_DD1D) >> 40
            return Float(bits) / Float(1 << 24) * 2 - 1  // uniform in [-1, 1)
        }
        mutating func values(_ count: Int, amplitude: Float) -> [Float] { (0..<count).map { _ in amplitude * next() } }
    }

    static func pair(rank: Int, inputs: Int, outputs: Int, seed: UInt64, amplitude: Float = 0.5, zeroB: Bool = false) throws -> LoRAPair {
        var generator = Generator(seed: seed)
        let a = generator.values(rank * inputs, amplitude: amplitude)
        let b = zeroB ? [Float](repeating: 0, count: outputs * rank) : generator.values(outputs * rank, amplitude: amplitude)
        return try LoRAPair(rank: rank, inputs: inputs, outputs: outputs, a: a, b: b)
    }

    /// An adapter for every one of the seven projections of `base` (a real model file), rank `rank`.
    static func adapter(
        for base: GGUFFile, rank: Int, amplitude: Float, alpha: Float, seed: UInt64, zeroB: Bool = false
    ) throws -> LoRAAdapter {
        var pairs: [String: LoRAPair] = [:]
        for (index, tensor) in base.tensors.enumerated() where AdapterTargets.parse(tensor.name) != nil {
            pairs[tensor.name] = try pair(
                rank: rank, inputs: Int(tensor.dimensions[0]), outputs: Int(tensor.dimensions[1]), seed: seed &+ UInt64(index),
                amplitude: amplitude, zeroB: zeroB)
        }
        return LoRAAdapter(architecture: base.metadata.architecture ?? "", alpha: alpha, pairs: pairs, name: "test adapter")
    }

    /// Little-endian f32 bytes.
    static func bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }
}
