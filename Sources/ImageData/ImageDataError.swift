/// A failure to read or use image data; the description always names the file (or the value) and
/// what was expected instead.
public struct ImageDataError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
