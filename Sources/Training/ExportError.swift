/// Why an export was refused: names the tensor, key or file and what was expected.
public struct ExportError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
