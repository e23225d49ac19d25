import Compute
import FineTuning
import Foundation
import GGUF
import ModelStore
import Models
import TensorOps
import Testing

/// The training model and the inference engine are two implementations of each architecture over
/// the same GGUF: their logits for the same tokens must agree (each checks the other).
///
/// Where both run the same kernels (one token: embedding, norms, projections, the feed-forward,
/// no attention mixing) they agree bit for bit. Over a sequence, attention is computed by different
/// code (training: GEMM and a causal softmax; inference: the fused decode kernel), and these models
/// amplify rounding differences a lot (attention-sink tokens carry very large activations): the
/// inference engine with its repacked kernels differs from itself with row-major kernels by about
/// as much as the two implementations differ. So the sequence check is against that measured
/// self-variation, plus the next-token choice and an L2-relative bound (docs/FINETUNING.md).
@Suite(.tags(.model), .serialized) struct ForwardAgreementTests {
    static let text = "The quick brown fox jumps over the lazy dog. Fine-tuning adapts a pretrained model to new data."

    /// Inference logits [n, vocabulary] with an f32 KV cache (no f16 rounding of keys and values).
    static func inferenceLogits(path: String, tokens: [Int32], repacks: Bool = false) throws -> [Float] {
        let loaded = try ModelLoader.load(path: path, backend: CPUBackend(threads: 2, repacksWeights: repacks))
        let model = loaded.model
        let n = tokens.count
        let workspace = model.makeWorkspace(batchCapacity: n, logitRows: n)
        let cache = try model.makeKVCache(contextLength: n, batchCapacity: n, kvType: .f32)
        model.forward(tokens, firstPosition: 0, cache: cache, workspace: workspace)
        model.logits(rows: 0..<n, workspace: workspace)
        let logits = workspace("logits", rows: n)
        return Array(UnsafeBufferPointer(start: logits.floats, count: n * logits.columns))
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    static func l2Relative(_ a: [Float], _ reference: [Float]) -> Double {
        let difference = zip(a, reference).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        let norm = reference.reduce(0.0) { $0 + Double($1) * Double($1) }
        return (difference / norm).squareRoot()
    }

    static func argmaxes(_ logits: [Float], rows: Int) -> [Int] {
        let width = logits.count / rows
        return (0..<rows).map { r in (0..<width).max { logits[r * width + $0] < logits[r * width + $1] }! }
    }

    @Test(arguments: ["smollm2-135m", "gemma3-270m"])
    func oneTokenIsBitIdentical(model name: String) throws {
        let path = try ModelStore().resolve(name)
        let backend = CPUTensorBackend(threads: 2, frozenForward: .quantizedKernels)
        let (model, tokenizer) = try FineTuningModels.load(
            file: try GGUFFile(path: path), lora: try LoRAConfiguration(rank: 4), backend: backend, seed: 1)
        let token = tokenizer.encode(" adapter", addBOS: false, parseSpecialTokens: false).prefix(1)
        let expected = try Self.inferenceLogits(path: path, tokens: Array(token))
        let actual = backend.floats(model.logits(backend.tensor(Array(token), shape: [1, 1])).value)
        #expect(actual == expected)
    }

    @Test(arguments: ["smollm2-135m", "gemma3-270m"])
    func sequenceAgreesWithinTheEnginesOwnVariation(model name: String) throws {
        let path = try ModelStore().resolve(name)
        let backend = CPUTensorBackend(threads: 2, frozenForward: .quantizedKernels)
        let (model, tokenizer) = try FineTuningModels.load(
            file: try GGUFFile(path: path), lora: try LoRAConfiguration(rank: 4), backend: backend, seed: 1)
        let tokens = tokenizer.encode(Self.text, addBOS: true, parseSpecialTokens: false)
        let rowMajor = try Self.inferenceLogits(path: path, tokens: tokens)
        let repacked = try Self.inferenceLogits(path: path, tokens: tokens, repacks: true)
        let training = backend.floats(model.logits(backend.tensor(tokens, shape: [1, tokens.count])).value)
        let largest = rowMajor.map { abs($0) }.max()!
        let (trainingGap, engineGap) = (Self.maxDifference(training, rowMajor), Self.maxDifference(repacked, rowMajor))
        let (trainingL2, engineL2) = (Self.l2Relative(training, rowMajor), Self.l2Relative(repacked, rowMajor))
        let agreeing = zip(Self.argmaxes(training, rows: tokens.count), Self.argmaxes(rowMajor, rows: tokens.count)).filter { $0 == $1 }
            .count
        print(
            "\(name): training vs inference max |Δ| \(trainingGap) (L2 rel \(trainingL2)); inference repacked vs row-major "
                + "\(engineGap) (L2 rel \(engineL2)); max |logit| \(largest); next token agrees on \(agreeing)/\(tokens.count)")
        #expect(trainingGap <= 2 * engineGap)
        #expect(trainingL2 <= 2 * engineL2 + 1e-3)
        #expect(agreeing >= tokens.count - 2)
    }
}
