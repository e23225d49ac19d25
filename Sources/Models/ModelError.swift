/// Why a model cannot be loaded or run, naming the file, key or tensor, and what was expected.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
