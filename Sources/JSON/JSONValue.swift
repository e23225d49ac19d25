/// A parsed JSON document (RFC 8259), kept as a tree so that every field's type and range can be
/// checked with a message naming the field and the value that was sent.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number as written, and its value.
    case number(String, Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value as an error message shows it: short, and saying what JSON type it is.
    public var described: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text, _): return text
        case .string(let s): return s.utf8.count <= 40 ? "the string \"\(s)\"" : "a string of \(s.utf8.count) bytes"
        case .array(let a): return "an array of \(a.count)"
        case .object: return "an object"
        }
    }
}

/// A JSON syntax error with where it is.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable {
    public var problem: String
    /// Byte offset, line and column (in bytes, from 1) of the fault in the parsed bytes.
    public var offset: Int
    public var line: Int
    public var column: Int
    public var description: String { "\(problem) at line \(line), column \(column) (byte \(offset))" }
}
