/// Why a model cannot be loaded or run, naming the file, key or tensor, and what was expected.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The file or a request is wrong: a missing or out-of-range key, a tensor of the wrong type
        /// or shape, a token outside the vocabulary.
        case invalid
        /// What was asked for needs more memory than can be addressed or allocated (a context length
        /// whose KV cache overflows a byte count); smaller settings may work.
        case tooLarge
    }

    public let kind: Kind
    public let message: String
    public init(_ message: String, kind: Kind = .invalid) {
        self.kind = kind
        self.message = message
    }

    public static func tooLarge(_ message: String) -> ModelError { ModelError(message, kind: .tooLarge) }

    public var description: String { message }
}
