/// A tokenizer that cannot be built from the metadata; names the offending key (and value).
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Reason: Sendable, Equatable {
        case missingKey
        case wrongType
        case unsupported
        case invalidValue
    }

    public let reason: Reason
    /// The metadata key at fault, e.g. "tokenizer.ggml.merges".
    public let key: String
    public let message: String

    public init(_ reason: Reason, key: String, _ message: String) {
        self.reason = reason
        self.key = key
        self.message = message
    }

    public var description: String { "tokenizer metadata \(key): \(message)" }

    static func missing(_ key: String) -> TokenizerError {
        TokenizerError(.missingKey, key: key, "missing")
    }

    static func wrongType(_ key: String, expected: String, got: String) -> TokenizerError {
        TokenizerError(.wrongType, key: key, "expected \(expected), found \(got)")
    }
}
