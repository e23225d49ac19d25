import Autograd
import GGUF
import NeuralNetworks
import TensorOps
import Tensors
import Testing

@testable import Training

/// The whole training step against PyTorch: scripts/dev/make-training-fixtures.py ran the model of
/// docs/TRAINING.md in float64 on a tiny configuration (grouped-query heads included) and saved the
/// initial weights, one batch, the loss, every gradient, and the weights after 10 AdamW steps with
/// gradient clipping. Ours must match in f64 (to rounding) and in f32 (within 1e-4 relative).
@Suite struct LlamaReferenceTests {
    struct Fixture {
        let file: GGUFFile
        let hyperparameters: LlamaHyperparameters
        let batch: Int
        let context: Int

        init() throws {
            file = try GGUFFile(path: fixturePath("tiny-llama-reference.gguf"))
            let m = file.metadata
            func int(_ key: String) throws -> Int {
                guard let value = m.integer(key) else { throw FixtureError("metadata \(key) missing") }
                return Int(value)
            }
            hyperparameters = LlamaHyperparameters(
                vocabularySize: try int("fixture.vocab"), width: try int("fixture.width"), layers: try int("fixture.layers"),
                heads: try int("fixture.heads"), kvHeads: try int("fixture.kv_heads"), ffnWidth: try int("fixture.ffn"),
                contextLength: try int("fixture.context"))
            batch = try int("fixture.batch")
            context = try int("fixture.context")
        }

        /// A tensor's values as f64 and its PyTorch shape (ggml dimensions reversed).
        func values(_ name: String) throws -> (shape: [Int], values: [Double]) {
            guard let info = file.tensor(named: name) else { throw FixtureError("tensor \(name) missing") }
            let data = file.data(for: info)
            let count = Int(info.elementCount)
            let shape = info.dimensions.reversed().map(Int.init)
            switch info.type {
            case .f64: return (shape, (0..<count).map { data.load(fromByteOffset: $0 * 8, as: Double.self) })
            case .f32: return (shape, (0..<count).map { Double(data.load(fromByteOffset: $0 * 4, as: Float.self)) })
            default: throw FixtureError("tensor \(name) has type \(info.type)")
            }
        }

        func ids(_ name: String) throws -> [Int32] {
            guard let info = file.tensor(named: name), info.type == .i32 else { throw FixtureError("i32 tensor \(name) missing") }
            let data = file.data(for: info)
            return (0..<Int(info.elementCount)).map { data.load(fromByteOffset: $0 * 4, as: Int32.self) }
        }

        func model(dtype: DType, backend: CPUTensorBackend) throws -> LlamaGPT {
            var parameters: [String: Variable] = [:]
            for name in LlamaGPT.parameterNames(hyperparameters) {
                let (shape, values) = try self.values("init." + name)
                let host = backend.tensor(values, shape: shape)
                let tensor = backend.zeros(shape, dtype: dtype)
                backend.copy(host, into: tensor)
                parameters[name] = Variable(tensor, backend: backend, requiresGradient: true, name: name)
            }
            return try LlamaGPT(hyperparameters: hyperparameters, parameters: parameters, backend: backend)
        }
    }

    /// max |a − b| / max |b| over a tensor.
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let scale = b.map(abs).max() ?? 0
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        return worst / max(scale, 1e-30)
    }

    @Test(arguments: [DType.f64, DType.f32])
    func lossGradientsAndTenAdamWStepsMatchPyTorch(dtype: DType) throws {
        let fixture = try Fixture()
        let backend = CPUTensorBackend(threads: 2)
        let model = try fixture.model(dtype: dtype, backend: backend)
        let inputs = backend.tensor(try fixture.ids("batch.inputs"), shape: [fixture.batch, fixture.context])
        let targets = backend.tensor(try fixture.ids("batch.targets"), shape: [fixture.batch, fixture.context])
        // f64: rounding aside, the one difference is ε — the hyperparameters hold it as the f32 that
        // GGUF stores (1e-5 → 9.99999975e-6), which moves a norm's output by ~1e-9 relative here.
        let tolerance = dtype == .f64 ? 1e-7 : 1e-4

        let loss = model.loss(inputs, targets: targets)
        let expectedLoss = try #require(fixture.file.metadata.number("fixture.loss"))
        let lossValue = backend.doubles(loss.value)[0]
        #expect(abs(lossValue - expectedLoss) / expectedLoss < tolerance, "loss \(lossValue) vs PyTorch \(expectedLoss)")

        loss.backward()
        for parameter in model.parameters {
            let (_, expected) = try fixture.values("grad." + parameter.name)
            let gradient = try #require(parameter.gradient, "no gradient for \(parameter.name)")
            let error = Self.relativeError(backend.doubles(gradient), expected)
            #expect(error < tolerance, "gradient of \(parameter.name): relative error \(error)")
        }

        // Ten AdamW steps on the same batch, clipped to norm 1, as the fixture's optimizer ran them.
        for parameter in model.parameters { parameter.zeroGradient() }
        let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-3, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        var losses: [Double] = []
        for _ in 0..<10 {
            let loss = model.loss(inputs, targets: targets)
            losses.append(backend.doubles(loss.value)[0])
            loss.backward()
            clipGradients(model.parameters, maxNorm: 1.0)
            optimizer.step()
            optimizer.zeroGradients()
        }
        if let expectedLosses = fixture.file.metadata.array("fixture.losses")?.floats ?? nil {
            for (ours, theirs) in zip(losses, expectedLosses.map(Double.init)) {
                #expect(abs(ours - theirs) / theirs < max(tolerance, 1e-6), "step loss \(ours) vs \(theirs)")
            }
        }
        for parameter in model.parameters {
            let (_, expected) = try fixture.values("after10." + parameter.name)
            let error = Self.relativeError(backend.doubles(parameter.value), expected)
            #expect(error < tolerance, "\(parameter.name) after 10 steps: relative error \(error)")
        }
    }
}

extension LlamaReferenceTests {
    /// Gradient checkpointing recomputes each block in backward: the same gradients as PyTorch.
    @Test func checkpointedBlocksGiveTheSameGradients() throws {
        let fixture = try Fixture()
        let backend = CPUTensorBackend(threads: 2)
        let model = try fixture.model(dtype: .f64, backend: backend)
        let inputs = backend.tensor(try fixture.ids("batch.inputs"), shape: [fixture.batch, fixture.context])
        let targets = backend.tensor(try fixture.ids("batch.targets"), shape: [fixture.batch, fixture.context])
        model.loss(inputs, targets: targets, checkpointing: true).backward()
        for parameter in model.parameters {
            let (_, expected) = try fixture.values("grad." + parameter.name)
            let gradient = try #require(parameter.gradient, "no gradient for \(parameter.name)")
            #expect(Self.relativeError(backend.doubles(gradient), expected) < 1e-7, "\(parameter.name)")
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func fixturePath(_ name: String) -> String {
    let here = #filePath
    let directory = here[..<here.lastIndex(of: "/")!]
    return directory + "/Fixtures/" + name
}
