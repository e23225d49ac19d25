import NeuralNetworks
import TensorOps
import Tensors

/// Training examples as nanoGPT draws them: windows of `context + 1` consecutive tokens at uniformly
/// random offsets; inputs are the first `context`, targets the last `context` (next-token prediction).
/// The generator is the data position: a checkpoint saves its state, and a resumed run draws the
/// same windows the uninterrupted run would have.
public struct TokenBatches: Sendable {
    public let tokens: [Int32]
    public let context: Int
    public let batchSize: Int

    public init(tokens: [Int32], context: Int, batchSize: Int, split: String) throws {
        guard tokens.count > context else { throw TrainingError.dataTooShort(split: split, tokens: tokens.count, needed: context + 1) }
        self.tokens = tokens
        self.context = context
        self.batchSize = batchSize
    }

    /// A random batch: (inputs, targets), each [batch, context] i32.
    public func randomBatch(_ random: inout SeededRandom, backend: any TensorBackend) -> (inputs: Tensor, targets: Tensor) {
        let offsets = (0..<batchSize).map { _ in Int(random.next() % UInt64(tokens.count - context)) }
        return batch(at: offsets, backend: backend)
    }

    /// The windows starting at `offsets` (each ≤ tokens.count − context − 1).
    public func batch(at offsets: [Int], backend: any TensorBackend) -> (inputs: Tensor, targets: Tensor) {
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(offsets.count * context)
        targets.reserveCapacity(offsets.count * context)
        for offset in offsets {
            inputs += tokens[offset..<(offset + context)]
            targets += tokens[(offset + 1)..<(offset + context + 1)]
        }
        return (backend.tensor(inputs, shape: [offsets.count, context]), backend.tensor(targets, shape: [offsets.count, context]))
    }

    /// Non-overlapping windows covering the tokens from the start, `context` apart (a full evaluation).
    public var tilingOffsets: [Int] { Array(stride(from: 0, through: tokens.count - context - 1, by: context)) }
}
