/// Why an adapter was refused: names the file, the tensor or key, and what was expected.
public struct AdapterError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
