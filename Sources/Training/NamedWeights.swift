/// A model's parameters by GGUF name, as the exports take them: each a row-major shape
/// (PyTorch's [out, in] for matrices) and its f32 values.
public struct NamedWeights: Sendable {
    public struct Entry: Sendable, Equatable {
        public let shape: [Int]
        public let values: [Float]

        /// `values.count` must be the product of `shape`.
        public init(shape: [Int], values: [Float]) {
            precondition(
                shape.reduce(1, *) == values.count,
                "NamedWeights.Entry: shape \(shape) holds \(shape.reduce(1, *)) values, given \(values.count)")
            self.shape = shape
            self.values = values
        }
    }

    public private(set) var entries: [String: Entry] = [:]

    public init() {}

    public init(_ entries: [String: Entry]) {
        self.entries = entries
    }

    public subscript(name: String) -> Entry? {
        get { entries[name] }
        set { entries[name] = newValue }
    }

    /// Stores `values` of `shape` under `name`, replacing what was there.
    public mutating func set(_ name: String, shape: [Int], values: [Float]) {
        entries[name] = Entry(shape: shape, values: values)
    }

    public var names: [String] { entries.keys.sorted() }
}
