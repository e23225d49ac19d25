/// A query that cannot run: a type error, an unknown function, an overflow, a file that cannot be
/// read. The message is the whole explanation; SQL adds the position in the query.
public struct QueryError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
