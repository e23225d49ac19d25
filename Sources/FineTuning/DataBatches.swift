import NeuralNetworks
import TensorOps
import Tensors

/// Where a run stands in its data: the shuffle seed, the epoch, and how many examples of that
/// epoch's order have been served. Saved in checkpoints; a resumed run continues from it.
public struct DataPosition: Codable, Sendable, Equatable, CustomStringConvertible {
    public var seed: UInt64
    public var epoch: Int
    public var index: Int

    public init(seed: UInt64, epoch: Int = 0, index: Int = 0) {
        self.seed = seed
        self.epoch = epoch
        self.index = index
    }

    public var description: String { "epoch \(epoch + 1), example \(index) (seed \(seed))" }
}

/// One step's rows: [rows, time] i32 inputs and targets, row-major. Targets are the next token
/// where it is trained and -1 elsewhere (masked prompt, padding).
public struct FineTuningBatch: Sendable, Equatable {
    public let rows: Int
    public let time: Int
    public let inputs: [Int32]
    public let targets: [Int32]
    /// The examples it holds (indices into the data set), row by row.
    public let exampleIndices: [Int]
    /// The epoch they were served in (from 0).
    public let epoch: Int

    public var trainedTokenCount: Int { targets.lazy.filter { $0 >= 0 }.count }

    public func tensors(backend: any TensorBackend) -> (inputs: Tensor, targets: Tensor) {
        (backend.tensor(inputs, shape: [rows, time]), backend.tensor(targets, shape: [rows, time]))
    }
}

/// Batches over a data set's examples for any number of epochs: each epoch visits every example
/// once in an order shuffled from (seed, epoch), so the position alone (`DataPosition`) says what
/// comes next — no generator state to save. A row is an example's tokens but the last as inputs
/// and the tokens after the first as targets; rows are padded to the longest example in the batch
/// (not to the context), inputs with `padding`, targets with -1. The last batch of an epoch holds
/// what is left (fewer rows); the next starts the next epoch.
public struct FineTuningBatches: Sendable {
    public let examples: [FineTuningExample]
    public let batchSize: Int
    /// The input id that pads short rows: any valid id does, since causal attention keeps padding
    /// after a row's tokens from affecting them and its targets are -1.
    public let padding: Int32
    public private(set) var position: DataPosition
    private var order: [Int]

    public init(dataset: FineTuningDataset, batchSize: Int, seed: UInt64, padding: Int32 = 0) throws {
        try self.init(examples: dataset.examples, batchSize: batchSize, position: DataPosition(seed: seed), padding: padding)
    }

    /// Continues from `position` (a resumed run).
    public init(examples: [FineTuningExample], batchSize: Int, position: DataPosition, padding: Int32 = 0) throws {
        guard !examples.isEmpty else { throw FineTuningError("no examples to batch") }
        guard batchSize >= 1 else { throw FineTuningError("batch size \(batchSize): expected at least 1") }
        guard position.epoch >= 0, (0...examples.count).contains(position.index) else {
            throw FineTuningError("data position \(position) does not fit a data set of \(examples.count) examples")
        }
        if let short = examples.first(where: { $0.tokens.count < 2 }) {
            throw FineTuningError("line \(short.line): an example needs at least 2 tokens; it has \(short.tokens.count)")
        }
        self.examples = examples
        self.batchSize = batchSize
        self.padding = padding
        self.position = position
        order = Self.order(count: examples.count, seed: position.seed, epoch: position.epoch)
    }

    public var batchesPerEpoch: Int { (examples.count + batchSize - 1) / batchSize }

    /// The examples' order in `epoch`: a Fisher–Yates shuffle driven by xoshiro256** seeded from
    /// the seed and the epoch.
    public static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var random = SeededRandom(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
        return order
    }

    /// The next batch; advances the position.
    public mutating func next() -> FineTuningBatch {
        if position.index >= examples.count {
            position.epoch += 1
            position.index = 0
            order = Self.order(count: examples.count, seed: position.seed, epoch: position.epoch)
        }
        let chosen = Array(order[position.index..<min(position.index + batchSize, examples.count)])
        let epoch = position.epoch
        position.index += chosen.count
        return Self.batch(chosen.map { examples[$0] }, indices: chosen, epoch: epoch, padding: padding)
    }

    static func batch(_ rows: [FineTuningExample], indices: [Int], epoch: Int, padding: Int32) -> FineTuningBatch {
        let time = rows.map { $0.tokens.count - 1 }.max()!
        var inputs = [Int32](repeating: padding, count: rows.count * time)
        var targets = [Int32](repeating: -1, count: rows.count * time)
        for (r, example) in rows.enumerated() {
            for t in 0..<(example.tokens.count - 1) {
                inputs[r * time + t] = example.tokens[t]
                if example.trained[t + 1] { targets[r * time + t] = example.tokens[t + 1] }
            }
        }
        return FineTuningBatch(rows: rows.count, time: time, inputs: inputs, targets: targets, exampleIndices: indices, epoch: epoch)
    }
}
