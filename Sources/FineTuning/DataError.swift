/// A fault in a fine-tuning data file: the file, the line (from 1) when there is one, and what
/// was found against what was expected.
public struct FineTuningDataError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let line: Int?
    public let problem: String

    public init(path: String, line: Int? = nil, _ problem: String) {
        self.path = path
        self.line = line
        self.problem = problem
    }

    public var description: String { line.map { "\(path):\($0): \(problem)" } ?? "\(path): \(problem)" }
}
