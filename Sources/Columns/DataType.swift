/// The logical type of a column: what its values mean, independent of how they are stored.
///
/// Dates are days since 1970-01-01 and timestamps microseconds since 1970-01-01T00:00:00 UTC, as
/// in Arrow, DuckDB and Polars, so that later readers (Parquet) map onto them without conversion.
public enum DataType: Hashable, Sendable, CustomStringConvertible {
    case boolean
    case int8, int16, int32, int64
    case float32, float64
    case string
    case date
    case timestamp

    public var description: String {
        switch self {
        case .boolean: "BOOLEAN"
        case .int8: "TINYINT"
        case .int16: "SMALLINT"
        case .int32: "INTEGER"
        case .int64: "BIGINT"
        case .float32: "REAL"
        case .float64: "DOUBLE"
        case .string: "VARCHAR"
        case .date: "DATE"
        case .timestamp: "TIMESTAMP"
        }
    }

    public var isInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64: true
        default: false
        }
    }

    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }
    public var isNumeric: Bool { isInteger || isFloatingPoint }

    /// Bytes per value in memory (strings: the 16-byte view, not the characters).
    public var byteWidth: Int {
        switch self {
        case .boolean, .int8: 1
        case .int16: 2
        case .int32, .float32, .date: 4
        case .int64, .float64, .timestamp: 8
        case .string: 16
        }
    }

    /// The narrowest type both values fit in without loss where one exists (integers widen to
    /// the wider integer, integer and float to DOUBLE); anything else meets at VARCHAR. CSV type
    /// inference widens a column with this instead of failing mid-file.
    public static func common(_ a: DataType, _ b: DataType) -> DataType {
        if a == b { return a }
        if a.isInteger && b.isInteger { return a.byteWidth >= b.byteWidth ? a : b }
        if a.isNumeric && b.isNumeric { return .float64 }
        if (a == .date && b == .timestamp) || (a == .timestamp && b == .date) { return .timestamp }
        return .string
    }
}
