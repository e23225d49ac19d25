import GGUF

/// Every metadata key of a GGUF file for `atelier inspect --metadata`: one line per key with its type
/// and value. Long strings and arrays are cut (a vocabulary is 262,144 strings) with their full size
/// stated; control characters in file text are shown escaped, never sent to the terminal.
public struct MetadataListing: Sendable {
    public var metadata: GGUFMetadata
    public var maxArrayElements: Int
    public var maxStringCharacters: Int

    public init(_ metadata: GGUFMetadata, maxArrayElements: Int = 8, maxStringCharacters: Int = 120) {
        self.metadata = metadata
        self.maxArrayElements = maxArrayElements
        self.maxStringCharacters = maxStringCharacters
    }

    public func report() -> String {
        Format.table(
            ["key", "type", "value"],
            metadata.entries.map { [Format.printable($0.key), Self.typeName($0.value), describe($0.value)] })
    }

    static func typeName(_ value: GGUFValue) -> String {
        guard case .array(let array) = value else { return value.type.description }
        return "\(array.elementType)[\(array.count)]"
    }

    func describe(_ value: GGUFValue) -> String {
        switch value {
        case .string(let text): return quoted(text)
        case .array(let array): return describe(array)
        case .bool(let flag): return flag ? "true" : "false"
        case .float32(let number): return "\(number)"
        case .float64(let number): return "\(number)"
        default: return value.integerValue.map { "\($0)" } ?? value.unsignedDescription
        }
    }

    private func quoted(_ text: String) -> String {
        let shown = text.count > maxStringCharacters ? String(text.prefix(maxStringCharacters)) + "…" : text
        let note = text.count > maxStringCharacters ? " (\(Format.grouped(Int64(text.count))) characters)" : ""
        return "\"" + Format.printable(shown) + "\"" + note
    }

    private func describe(_ array: GGUFArray) -> String {
        let elements: [String]
        switch array {
        case .string(let a): elements = a.prefix(maxArrayElements).map(quoted)
        case .float32(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .float64(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .bool(let a): elements = a.prefix(maxArrayElements).map { $0 ? "true" : "false" }
        case .uint8(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .int8(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .uint16(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .int16(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .uint32(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .int32(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .uint64(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .int64(let a): elements = a.prefix(maxArrayElements).map { "\($0)" }
        case .array(let a): elements = a.prefix(maxArrayElements).map { "\($0.elementType)[\($0.count)]" }
        }
        let more = array.count > maxArrayElements ? ", … \(Format.grouped(Int64(array.count - maxArrayElements))) more" : ""
        return "[" + elements.joined(separator: ", ") + more + "]"
    }
}

extension GGUFValue {
    /// A UINT64 above Int64.max (the one integer `integerValue` cannot hold).
    fileprivate var unsignedDescription: String {
        if case .uint64(let v) = self { return "\(v)" }
        return "?"
    }
}

extension MetadataListing {
    /// One key for `inspect --metadata --json`: scalars as JSON values, arrays as their count and
    /// first elements (full strings: JSON escapes them itself).
    public struct Entry: Encodable, Sendable {
        public var key: String
        public var type: String
        public var value: JSONValue
    }

    public enum JSONValue: Encodable, Sendable {
        case integer(Int64)
        case unsigned(UInt64)
        case number(Double)
        case string(String)
        case bool(Bool)
        case array(count: Int, first: [JSONValue])

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .integer(let v):
                var c = encoder.singleValueContainer()
                try c.encode(v)
            case .unsigned(let v):
                var c = encoder.singleValueContainer()
                try c.encode(v)
            case .number(let v):
                var c = encoder.singleValueContainer()
                // JSON has no NaN or infinity: those are written as strings.
                if v.isFinite { try c.encode(v) } else { try c.encode("\(v)") }
            case .string(let v):
                var c = encoder.singleValueContainer()
                try c.encode(v)
            case .bool(let v):
                var c = encoder.singleValueContainer()
                try c.encode(v)
            case .array(let count, let first):
                var c = encoder.container(keyedBy: ArrayKeys.self)
                try c.encode(count, forKey: .count)
                try c.encode(first, forKey: .first)
            }
        }
        private enum ArrayKeys: String, CodingKey { case count, first }
    }

    public var entries: [Entry] {
        metadata.entries.map { Entry(key: $0.key, type: Self.typeName($0.value), value: jsonValue($0.value)) }
    }

    private func jsonValue(_ value: GGUFValue) -> JSONValue {
        switch value {
        case .string(let v): return .string(v)
        case .bool(let v): return .bool(v)
        case .float32(let v): return .number(Double(v))
        case .float64(let v): return .number(v)
        case .uint64(let v): return .unsigned(v)
        case .array(let a): return jsonValue(a)
        default: return .integer(value.integerValue ?? 0)
        }
    }

    private func jsonValue(_ array: GGUFArray) -> JSONValue {
        let n = maxArrayElements
        let first: [JSONValue]
        switch array {
        case .string(let a): first = a.prefix(n).map { .string($0) }
        case .float32(let a): first = a.prefix(n).map { .number(Double($0)) }
        case .float64(let a): first = a.prefix(n).map { .number($0) }
        case .bool(let a): first = a.prefix(n).map { .bool($0) }
        case .uint8(let a): first = a.prefix(n).map { .integer(Int64($0)) }
        case .int8(let a): first = a.prefix(n).map { .integer(Int64($0)) }
        case .uint16(let a): first = a.prefix(n).map { .integer(Int64($0)) }
        case .int16(let a): first = a.prefix(n).map { .integer(Int64($0)) }
        case .uint32(let a): first = a.prefix(n).map { .integer(Int64($0)) }
        case .int32(let a): first = a.prefix(n).map { .integer(Int64($0)) }
        case .uint64(let a): first = a.prefix(n).map { .unsigned($0) }
        case .int64(let a): first = a.prefix(n).map { .integer($0) }
        case .array(let a): first = a.prefix(n).map { jsonValue($0) }
        }
        return .array(count: array.count, first: first)
    }
}
