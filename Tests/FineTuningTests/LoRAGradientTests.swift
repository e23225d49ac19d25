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

    /// Loss and LoRA gradients of our model on `backend` against the fixture: the loss's relative
    /// error, and per gradient tensor the largest |Δ| / max|ref| and ‖Δ‖ / ‖ref‖.
    static func compare(backend: CPUTensorBackend, checkpointing: Bool) throws
        -> (lossError: Double, gradients: [(name: String, relative: Double, l2: Double)], pytorchF32: Double)
    {
        let fixture = try GGUFFile(path: Self.fixturePath("lora-gradient-reference.gguf"))
        let rank = try #require(fixture.metadata.integer("fixture.rank"))
        let alpha = try #require(fixture.metadata.number("fixture.alpha"))
        let expectedLoss = try #require(fixture.metadata.number("fixture.loss"))
        let pytorchF32 = try #require(fixture.metadata.number("fixture.f32_worst_relative"))

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

        var gradients: [(name: String, relative: Double, l2: Double)] = []
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
            gradients.append((parameter.name, largest / scale, (difference / norm).squareRoot()))
        }
        print(
            "LoRA gradients vs PEFT float64: \(gradients.count) tensors, worst max|Δ|/max|ref| \(gradients.map(\.relative).max() ?? 0), "
                + "worst L2 relative \(gradients.map(\.l2).max() ?? 0) (float32 PyTorch: \(pytorchF32))")
        #expect(gradients.count == 3 * 2 * LoRATarget.allCases.count)
        return (lossError, gradients, pytorchF32)
    }

    /// With gradient checkpointing too: the first block's input (the frozen embedding) needs no
    /// gradient, and a checkpointed block once looked constant, so LoRA got no gradient at all.
    @Test(arguments: [false, true]) func gradientsMatchPEFT(checkpointing: Bool) throws {
        let backend = CPUTensorBackend(threads: 2, frozenForward: .dequantized)
        let (lossError, gradients, pytorchF32) = try Self.compare(backend: backend, checkpointing: checkpointing)
        #expect(lossError < 1e-5)
        for (name, relative, l2) in gradients {
            // float32 PyTorch itself is off from float64 by up to fixture.f32_worst_relative (2.0e-4,
            // block 29's attn_v B: 30 blocks of float32 sums), so the 1e-4 is below what
            // float32 can give here; the bound is 1.5× PyTorch's own float32 deviation.
            #expect(relative < 1e-3, "\(name): max|Δ| / max|ref| = \(relative)")
            #expect(l2 < 1.5 * max(pytorchF32, 1e-4), "\(name): ‖Δ‖ / ‖ref‖ = \(l2)")
        }
    }

    /// The frozen products in bf16 (`--frozen-precision bf16`, the default where the CPU has it):
    /// their operands rounded to 8 significant bits (2⁻⁹ relative), f32 sums. The fixture also holds
    /// PyTorch's own bf16 mixed precision on the same batch (torch.autocast: every linear and matmul
    /// in bf16) against float64: 0.12 worst max|Δ| / max|ref| and L2, loss off by 1.2e-3. Ours must
    /// be no further from float64 than that — and measurably off f32's agreement, so the test sees
    /// the rounding it bounds (measured: loss 1.8e-4, worst 0.074 / 0.070; LoRA, attention and the
    /// softmax stay f32 here).
    @Test(.enabled(if: ProductPrecision.bfloat16Available, "this CPU lacks AVX512-BF16"))
    func bfloat16GradientsStayWithinPyTorchBFloat16() throws {
        let fixture = try GGUFFile(path: Self.fixturePath("lora-gradient-reference.gguf"))
        let expectedLoss = try #require(fixture.metadata.number("fixture.loss"))
        let autocastLoss = try #require(fixture.metadata.number("fixture.bf16_autocast_loss"))
        let autocastWorst = try #require(fixture.metadata.number("fixture.bf16_autocast_worst_relative"))
        let autocastWorstL2 = try #require(fixture.metadata.number("fixture.bf16_autocast_worst_l2_relative"))
        let backend = CPUTensorBackend(threads: 2, frozenForward: .dequantized, frozenPrecision: .bfloat16)
        let (lossError, gradients, pytorchF32) = try Self.compare(backend: backend, checkpointing: false)
        #expect(lossError < abs(autocastLoss - expectedLoss) / expectedLoss)
        for (name, relative, l2) in gradients {
            #expect(relative < autocastWorst, "\(name): max|Δ| / max|ref| = \(relative)")
            #expect(l2 < autocastWorstL2, "\(name): ‖Δ‖ / ‖ref‖ = \(l2)")
        }
        #expect((gradients.map(\.l2).max() ?? 0) > 10 * pytorchF32)
    }
}
