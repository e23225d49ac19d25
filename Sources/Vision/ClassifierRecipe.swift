import ImageData

/// How a classifier is trained: the defaults are the usual CIFAR ResNet recipe (SGD with Nesterov
/// momentum 0.9, weight decay 5e-4, the one-cycle learning rate, label smoothing 0.1).
public struct ClassifierRecipe: Sendable, Equatable, Codable {
    public var architecture: ClassifierArchitecture
    public var epochs: Int
    public var batchSize: Int
    /// The one-cycle schedule's peak.
    public var learningRate: Double
    public var momentum = 0.9
    public var weightDecay = 5e-4
    public var labelSmoothing = 0.1
    /// Random crops of the image padded by this many pixels (0: none) and random horizontal flips.
    public var cropPadding = 0
    public var horizontalFlip = false
    public var seed: UInt64 = 1
    /// Stop after this many steps (benchmarks); nil trains every epoch.
    public var maximumSteps: Int?

    public init(architecture: ClassifierArchitecture, epochs: Int, batchSize: Int, learningRate: Double) {
        self.architecture = architecture
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
    }

    public var augmentation: Augmentation {
        var augmentation = Augmentation.none
        augmentation.cropPadding = cropPadding
        augmentation.horizontalFlip = horizontalFlip
        return augmentation
    }

    public func validate() throws {
        func fail(_ message: String) -> VisionError { .invalid(message) }
        guard epochs >= 1 && epochs <= 10_000 else { throw fail("--epochs \(epochs): expected 1…10000") }
        guard batchSize >= 1 && batchSize <= 65_536 else { throw fail("--batch \(batchSize): expected 1…65536") }
        guard learningRate > 0 && learningRate.isFinite else { throw fail("--lr \(learningRate): expected a positive number") }
        guard momentum >= 0 && momentum < 1 else { throw fail("momentum \(momentum): expected 0 ≤ m < 1") }
        guard weightDecay >= 0 && weightDecay.isFinite else { throw fail("--weight-decay \(weightDecay): expected ≥ 0") }
        guard labelSmoothing >= 0 && labelSmoothing < 1 else { throw fail("--label-smoothing \(labelSmoothing): expected 0 ≤ ε < 1") }
        guard cropPadding >= 0 && cropPadding <= 64 else { throw fail("crop padding \(cropPadding): expected 0…64") }
        if let maximumSteps, maximumSteps < 1 { throw fail("--steps \(maximumSteps): expected ≥ 1") }
    }
}

/// One epoch's results, as the progress line and the curve show them.
public struct EpochRecord: Sendable, Equatable, Codable {
    public var epoch: Int
    public var trainLoss: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var imagesPerSecond: Double
    public var seconds: Double
}

/// Where a run stands: what a resumed run needs to continue where it stopped.
public struct ClassifierProgress: Sendable, Equatable, Codable {
    /// Epochs completed.
    public var epoch = 0
    /// Batches of the current epoch completed (a run stopped mid-epoch resumes after them).
    public var batchInEpoch = 0
    public var step = 0
    public var elapsedSeconds = 0.0
    public var bestAccuracy: Double?
    public var bestEpoch: Int?
    public var history: [EpochRecord] = []
    /// (step, loss) of every step, for the curve.
    public var stepLosses: [Double] = []

    public init() {}
}
