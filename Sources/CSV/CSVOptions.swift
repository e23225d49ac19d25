import Columns

/// How to read CSV files. Defaults follow DuckDB's `read_csv`: a header line, the delimiter
/// detected from the first line, `"` quotes with doubled-quote escapes, an empty unquoted field
/// as NULL, and column types inferred from every row of every file.
public struct CSVReadOptions: Sendable {
    public var header = true
    /// nil: detect among `,` `;` tab `|` from the first line.
    public var delimiter: UInt8?
    public var quote: UInt8 = 0x22
    /// Unquoted field texts read as NULL (the empty field always is).
    public var nullMarkers: [String] = []
    /// Types by column name, overriding inference.
    public var columnTypes: [String: DataType] = [:]
    /// Rows with fewer fields than the header get NULLs instead of an error.
    public var padMissingFields = false
    /// Longest record in bytes (a guard against a file that is one enormous line).
    public var maximumLineBytes = 1 << 30
    /// Largest decompressed size of a gzip file.
    public var maximumDecompressedBytes: Int = 1 << 36
    /// Bytes per parallel chunk (nil: the file split over the threads, 1–64 MiB each).
    public var chunkBytes: Int?

    public init() {}
}

/// A CSV file that cannot be read as asked: the message names the file, line (1-based) and
/// column (1-based field number) where known, and what was expected.
public struct CSVError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
