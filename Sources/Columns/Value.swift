/// One value of any column type: literals, the results of aggregates over a whole column, and
/// the slow paths (printing, tests). Kernels never go through it.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case null
    case boolean(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    /// Days since 1970-01-01.
    case date(Int32)
    /// Microseconds since 1970-01-01T00:00:00 UTC.
    case timestamp(Int64)

    public var isNull: Bool { self == .null }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .boolean(let value): value ? "true" : "false"
        case .integer(let value): String(value)
        case .double(let value): Value.format(value)
        case .string(let value): value
        case .date(let days): CivilDate(daysSinceEpoch: Int(days)).description
        case .timestamp(let micros): CivilDate.formatTimestamp(micros)
        }
    }

    /// Shortest round-tripping decimal, with DuckDB's spelling of the special values.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) + ".0" }
        return String(value)
    }
}
