import Columns

/// Calendar fields of dates and timestamps (UTC), `date_trunc` and `date_diff` as DuckDB defines
/// them (date_diff counts boundaries crossed, so date_diff('month', '2024-01-31', '2024-02-01') = 1).
enum DateParts {
    static let microsPerDay: Int64 = 86_400_000_000

    static func split(_ value: Value) throws -> (date: CivilDate, days: Int, microsOfDay: Int64) {
        switch value {
        case .date(let days): return (CivilDate(daysSinceEpoch: Int(days)), Int(days), 0)
        case .timestamp(let micros):
            var days = micros / microsPerDay, rest = micros % microsPerDay
            if rest < 0 {
                rest += microsPerDay
                days -= 1
            }
            return (CivilDate(daysSinceEpoch: Int(days)), Int(days), rest)
        default: throw QueryError("expected a DATE or TIMESTAMP, got \(value)")
        }
    }

    static func part(_ function: ScalarFunction, of value: Value) throws -> Int {
        let (date, days, micros) = try split(value)
        switch function {
        case .year: return date.year
        case .month: return date.month
        case .day: return date.day
        case .quarter: return (date.month - 1) / 3 + 1
        case .hour: return Int(micros / 3_600_000_000)
        case .minute: return Int(micros / 60_000_000 % 60)
        case .second: return Int(micros / 1_000_000 % 60)
        // 1970-01-01 was a Thursday; Sunday = 0 as in DuckDB.
        case .dayofweek: return ((days % 7) + 7 + 4) % 7
        case .dayofyear: return days - CivilDate(year: date.year, month: 1, day: 1).daysSinceEpoch + 1
        default: throw QueryError("\(function.name) is not a date part")
        }
    }

    static func truncate(_ unit: String, _ value: Value) throws -> Value {
        let (date, days, micros) = try split(value)
        let truncatedDays: Int
        var keptMicros: Int64 = 0
        switch unit.lowercased() {
        case "year": truncatedDays = CivilDate(year: date.year, month: 1, day: 1).daysSinceEpoch
        case "quarter": truncatedDays = CivilDate(year: date.year, month: (date.month - 1) / 3 * 3 + 1, day: 1).daysSinceEpoch
        case "month": truncatedDays = CivilDate(year: date.year, month: date.month, day: 1).daysSinceEpoch
        case "week": truncatedDays = days - ((days % 7 + 7 + 3) % 7)  // ISO weeks start on Monday
        case "day": truncatedDays = days
        case "hour": (truncatedDays, keptMicros) = (days, micros / 3_600_000_000 * 3_600_000_000)
        case "minute": (truncatedDays, keptMicros) = (days, micros / 60_000_000 * 60_000_000)
        case "second": (truncatedDays, keptMicros) = (days, micros / 1_000_000 * 1_000_000)
        default: throw QueryError("date_trunc: unknown unit '\(unit)' (expected year, quarter, month, week, day, hour, minute or second)")
        }
        if case .date = value { return .date(Int32(truncatedDays)) }
        return .timestamp(Int64(truncatedDays) * microsPerDay + keptMicros)
    }

    static func difference(_ unit: String, _ start: Value, _ end: Value) throws -> Value {
        let a = try split(start), b = try split(end)
        let aMicros = Int64(a.days) * microsPerDay + a.microsOfDay, bMicros = Int64(b.days) * microsPerDay + b.microsOfDay
        switch unit.lowercased() {
        case "year": return .integer(Int64(b.date.year - a.date.year))
        case "quarter": return .integer(Int64((b.date.year * 4 + (b.date.month - 1) / 3) - (a.date.year * 4 + (a.date.month - 1) / 3)))
        case "month": return .integer(Int64((b.date.year * 12 + b.date.month) - (a.date.year * 12 + a.date.month)))
        case "week": return .integer(Int64(b.days - a.days) / 7)
        case "day": return .integer(Int64(b.days - a.days))
        case "hour": return .integer(bMicros / 3_600_000_000 - aMicros / 3_600_000_000)
        case "minute": return .integer(bMicros / 60_000_000 - aMicros / 60_000_000)
        case "second": return .integer(bMicros / 1_000_000 - aMicros / 1_000_000)
        default: throw QueryError("date_diff: unknown unit '\(unit)' (expected year, quarter, month, week, day, hour, minute or second)")
        }
    }
}
