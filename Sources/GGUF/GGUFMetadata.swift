/// Metadata key/value pairs in file order, with lookup by key.
public struct GGUFMetadata: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: GGUFValue
        public init(key: String, value: GGUFValue) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]

    public init() {}

    public init(_ pairs: [(String, GGUFValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { entries.count }
    public var keys: [String] { entries.map(\.key) }

    public func contains(_ key: String) -> Bool { index[key] != nil }

    /// Setting an existing key replaces its value in place; setting nil removes it.
    public subscript(key: String) -> GGUFValue? {
        get { index[key].map { entries[$0].value } }
        set {
            if let position = index[key] {
                if let newValue {
                    entries[position] = Entry(key: key, value: newValue)
                } else {
                    entries.remove(at: position)
                    reindex()
                }
            } else if let newValue {
                index[key] = entries.count
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    private mutating func reindex() {
        index = [:]
        for (i, entry) in entries.enumerated() { index[entry.key] = i }
    }

    public func string(_ key: String) -> String? { self[key]?.stringValue }
    public func integer(_ key: String) -> Int64? { self[key]?.integerValue }
    public func number(_ key: String) -> Double? { self[key]?.numberValue }
    public func bool(_ key: String) -> Bool? { self[key]?.boolValue }
    public func array(_ key: String) -> GGUFArray? { self[key]?.arrayValue }

    /// `general.architecture`, the prefix of the model's hyperparameter keys.
    public var architecture: String? { string("general.architecture") }
}
