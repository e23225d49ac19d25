/// Batches of a set in a seeded shuffled order (or in order), normalized and (for training)
/// augmented, prepared ahead of the consumer on a thread of their own. The queue is bounded (at
/// most `ahead` batches wait), so memory stays at a few batches whatever the set's size. One
/// epoch per `start(epoch:)`; the last partial batch is kept unless `dropLast`.
public final class ImageBatchLoader: @unchecked Sendable {
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let ahead: Int
    public let batchesPerEpoch: Int
    private let assembler: BatchAssembler
    private let state: LoaderState

    public init(
        set: ImageSet, batchSize: Int, normalization: Normalization, augmentation: Augmentation, shuffle: Bool, seed: UInt64,
        dropLast: Bool = false, ahead: Int = 2
    ) {
        precondition(batchSize > 0, "ImageBatchLoader: batch size must be positive, got \(batchSize)")
        precondition(
            normalization.mean.count == set.channels || normalization.mean.count == 1,
            "ImageBatchLoader: \(normalization.mean.count) normalization means for \(set.channels) channels")
        precondition(
            normalization.std.count == normalization.mean.count, "ImageBatchLoader: means and stds must have the same count")
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.ahead = max(1, ahead)
        batchesPerEpoch = dropLast ? set.count / batchSize : (set.count + batchSize - 1) / batchSize
        assembler = BatchAssembler(set: set, batchSize: batchSize, normalization: normalization, augmentation: augmentation, seed: seed)
        state = LoaderState(batchesPerEpoch: batchesPerEpoch, ahead: self.ahead)
        let (state, assembler) = (state, assembler)
        state.threaded = WorkerThread.start { state.work(assembler) }
    }

    deinit { state.stop() }

    /// Starts epoch `epoch` (its order and augmentation are a pure function of seed and epoch, so
    /// a resumed run can restart an epoch exactly), skipping its first `skipBatches` batches
    /// without building them. Batches still queued from before are dropped.
    public func start(epoch: Int, skipBatches: Int = 0) {
        let order = assembler.order(epoch: epoch, shuffle: shuffle)
        state.start(epoch: epoch, order: order, first: min(max(0, skipBatches), batchesPerEpoch))
    }

    /// The next batch of the current epoch, nil at its end (or before any `start`). Blocks until
    /// the worker thread has it ready.
    public func next() -> ImageBatch? {
        state.next(assembler)
    }

    /// The most batches that were ever waiting at once (at most `ahead`): memory stays bounded.
    public var queuedHighWater: Int { state.highWater }
}

/// What the consumer and the worker share, under one monitor.
final class LoaderState: @unchecked Sendable {
    private let monitor = Monitor()
    private let batchesPerEpoch: Int
    private let ahead: Int
    /// Set once at creation, before any other call: false when no thread could be started,
    /// and then `next` builds each batch itself.
    var threaded = false
    private var generation = 0
    private var started = false
    private var stopping = false
    private var epoch = 0
    private var order: [Int32] = []
    private var nextToBuild = 0
    private var nextToConsume = 0
    private var queue: [ImageBatch] = []
    private var queueHead = 0
    private var highWaterMark = 0

    init(batchesPerEpoch: Int, ahead: Int) {
        self.batchesPerEpoch = batchesPerEpoch
        self.ahead = ahead
    }

    var highWater: Int { monitor.locked { highWaterMark } }

    func start(epoch: Int, order: [Int32], first: Int) {
        monitor.locked {
            generation += 1
            started = true
            self.epoch = epoch
            self.order = order
            nextToBuild = first
            nextToConsume = first
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
            monitor.broadcast()
        }
    }

    func stop() {
        monitor.locked {
            stopping = true
            monitor.broadcast()
        }
    }

    func next(_ assembler: BatchAssembler) -> ImageBatch? {
        monitor.locked {
            guard started, nextToConsume < batchesPerEpoch else { return nil }
            if !threaded {
                let batch = assembler.batch(nextToConsume, of: order, epoch: epoch)
                nextToConsume += 1
                return batch
            }
            while queueHead == queue.count { monitor.wait() }
            let batch = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            nextToConsume += 1
            monitor.broadcast()
            return batch
        }
    }

    /// The worker: builds the next batch whenever fewer than `ahead` wait, outside the lock.
    func work(_ assembler: BatchAssembler) {
        monitor.locked {
            while true {
                while !stopping, !(started && nextToBuild < batchesPerEpoch && queue.count - queueHead < ahead) {
                    monitor.wait()
                }
                if stopping { return }
                let (claimed, index, order, epoch) = (generation, nextToBuild, order, epoch)
                nextToBuild += 1
                let batch = monitor.unlocked { assembler.batch(index, of: order, epoch: epoch) }
                guard claimed == generation else { continue }
                queue.append(batch)
                highWaterMark = max(highWaterMark, queue.count - queueHead)
                monitor.broadcast()
            }
        }
    }
}
