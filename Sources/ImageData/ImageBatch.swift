/// A batch ready for a model: B×C×H×W normalized floats and their labels.
public struct ImageBatch: Sendable {
    public let images: [Float]
    public let labels: [Int32]
    /// Which images of the set these are, in batch order (for checks and for reporting mistakes).
    public let indices: [Int32]
    public var count: Int { labels.count }
}
