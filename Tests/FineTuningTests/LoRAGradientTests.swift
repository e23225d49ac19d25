import Autograd
import FineTuning
import Foundation
import GGUF
import ModelStore
import TensorOps
import Testing

/// LoRA gradients of SmolLM2-135M against PyTorch + PEFT: scripts/dev/make-lora-gradient-fixture.py
/// ran the same model (every GGUF tensor dequantized by gguf-py, the forward pass as llama.cpp runs
/// it) wrapped by PEFT (rank 8, alpha 16, all seven projections), with every A and B set by the
/// formula below, one batch forward and backward in float64, and saved the loss and the gradients of
/// A and B in blocks 0, 14 and 29. Ours runs in float32 on the same dequantized weights.
@Suite(.tags(.model)) struct LoRAGradientTests {
    /// PEFT's A and B values: the fixture script's formula, written identically (float64, then float32).
    static func formula(layer: Int, target: Int, matrix: Int, count: Int) -> [Float] {
        let (l, t, m): (Double, Double, Double) = (Double(layer), Double(target), Double(matrix))
        return (0..<count).map { i in
            // Summed left to right as Python does: ((((1 + 0.37·i) + 1.7·l) + 2.3·t) + 0.9·m).
            var angle: Double = 1 + 0.37 * Double(i)
            angle += 1.7 * l
            angle += 2.3 * t
            angle += 0.9 * m
            return Float(0.02 * sin(angle))
        }
    }

    /// "blk.14.ffn_up.weight.lora_b" → (14, index of up, 1).
    static func place(of name: String) throws -> (layer: Int, target: Int, matrix: Int) {
        let parts = name.split(separator: ".")
        guard parts.count == 5, parts[0] == "blk", let layer = Int(parts[1]),
            let target = LoRATarget.allCases.firstIndex(where: { $0.ggufName == parts[2] }),
            let matrix = ["lora_a", "lora_b"].firstIndex(of: String(parts[4]))
        else { throw FineTuningError("unexpected LoRA parameter name \(name)") }
        return (layer, target, matrix)
    }

    static func fixturePath(_ name: String) -> String {
        let here = #filePath
        return here[..<here.lastIndex(of: "/")!] + "/Fixtures/" + name
    }

    static func tensor(_ file: GGUFFile, _ name: String) throws -> (shape: [Int], floats: [Float]) {
        guard let info = file.tensor(named: name), info.type == .f32 else { throw FineTuningError("fixture: f32 tensor \(name) missing") }
        let data = file.data(for: info)
        return (
            info.dimensions.reversed().map(Int.init), (0..<Int(info.elementCount)).map { data.load(fromByteOffset: $0 * 4, as: Float.self) }
        )
    }

    static func ids(_ file: GGUFFile, _ name: String) throws -> (shape: [Int], ids: [Int32]) {
        guard let info = file.tensor(named: name), info.type == .i32 else { throw FineTuningError("fixture: i32 tensor \(name) missing") }
        let data = file.data(for: info)
        return (
            info.dimensions.reversed().map(Int.init), (0..<Int(info.elementCount)).map { data.load(fromByteOffset: $0 * 4, as: Int32.self) }
        )
    }

    /// With gradient checkpointing too: the first block's input (the frozen embedding) needs no
    /// gradient, and a checkpointed block once looked constant, so LoRA got no gradient at all.
    @Test(arguments: [false, true]) func gradientsMatchPEFT(checkpointing: Bool) throws {
        let fixture = try GGUFFile(path: Self.fixturePath("lora-gradient-reference.gguf"))
        let rank = try #require(fixture.metadata.integer("fixture.rank"))
        let alpha = try #require(fixture.metadata.number("fixture.alpha"))
        let expectedLoss = try #require(fixture.metadata.number("fixture.loss"))
        let pytorchF32 = try #require(fixture.metadata.number("fixture.f32_worst_relative"))

        let backend = CPUTensorBackend(threads: 2, frozenForward: .dequantized)
        let lora = try LoRAConfiguration(rank: Int(rank), alpha: alpha, targets: LoRATarget.allCases)
        let (model, _) = try FineTuningModels.load(
            file: try GGUFFile(path: try ModelStore().resolve("smollm2-135m")), lora: lora, backend: backend, seed: 1)
        for parameter in model.parameters {
            let (layer, target, matrix) = try Self.place(of: parameter.name)
            let values = Self.formula(layer: layer, target: target, matrix: matrix, count: parameter.value.count)
            parameter.assign(backend.tensor(values, shape: parameter.shape))
        }
        let (shape, ids) = try Self.ids(fixture, "batch.ids")
        let (_, targets) = try Self.ids(fixture, "batch.targets")
        let loss = model.loss(
            backend.tensor(ids, shape: shape), targets: backend.tensor(targets, shape: shape), checkpointing: checkpointing)
        loss.backward()

        let lossValue = Double(backend.floats(loss.value)[0])
        let lossError = abs(lossValue - expectedLoss) / expectedLoss
        print("loss \(lossValue), PyTorch float64 \(expectedLoss): relative error \(lossError)")
        #expect(lossError < 1e-5)

        var compared = 0
        var worst = (max: 0.0, l2: 0.0)
        for parameter in model.parameters {
            guard let reference = try? Self.tensor(fixture, "grad." + parameter.name) else { continue }
            #expect(reference.shape == parameter.shape, "\(parameter.name)")
            let gradient = backend.floats(try #require(parameter.gradient, "\(parameter.name) has no gradient"))
            let scale = Double(reference.floats.map(abs).max()!)
            let largest = Double(zip(gradient, reference.floats).map { (pair: (Float, Float)) -> Float in abs(pair.0 - pair.1) }.max()!)
            let difference: Double = zip(gradient, reference.floats).reduce(0.0) { (sum: Double, pair: (Float, Float)) -> Double in
                let delta = Double(pair.0 - pair.1)
                return sum + delta * delta
            }
            let norm: Double = reference.floats.reduce(0.0) { (sum: Double, x: Float) -> Double in sum + Double(x) * Double(x) }
            let (relative, l2) = (largest / scale, (difference / norm).squareRoot())
            worst = (max(worst.max, relative), max(worst.l2, l2))
            // float32 PyTorch itself is off from float64 by up to fixture.f32_worst_relative (2.0e-4,
            // block 29's attn_v B: 30 blocks of float32 sums), so the 1e-4 is below what
            // float32 can give here; the bound is 1.5× PyTorch's own float32 deviation.
            #expect(relative < 1e-3, "\(parameter.name): max|Δ| / max|ref| = \(relative)")
            #expect(l2 < 1.5 * max(pytorchF32, 1e-4), "\(parameter.name): ‖Δ‖ / ‖ref‖ = \(l2)")
            compared += 1
        }
        print(
            "LoRA gradients vs PEFT float64: \(compared) tensors, worst max|Δ|/max|ref| \(worst.max), worst L2 relative \(worst.l2) "
                + "(float32 PyTorch: \(pytorchF32))")
        #expect(compared == 3 * 2 * LoRATarget.allCases.count)
    }
}
