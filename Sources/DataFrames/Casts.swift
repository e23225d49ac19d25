import Columns

/// CAST between types, with DuckDB's rules: numbers convert (DOUBLE → BIGINT rounds half away from
/// zero, out of range is an error), strings parse strictly (a value that is not a number/date is an
/// error naming it), anything formats to VARCHAR.
enum Casts {
    static func cast(_ column: Column, to type: DataType) throws -> Column {
        if column.dataType == type { return column }
        let count = column.count
        switch (column.dataType, type) {
        case (let from, .float64) where from.isNumeric || from == .boolean:
            return Column(.float64(column.doubleValues()), validity: column.validity)
        case (let from, .float32) where from.isNumeric:
            return Column(.float32(column.doubleValues().map { Float($0) }), validity: column.validity)
        case (let from, let to) where from.isInteger && to.isInteger:
            return try narrow(column.int64Values(), to: to, validity: column.validity)
        case (let from, let to) where from.isFloatingPoint && to.isInteger:
            let values = column.doubleValues()
            var integers = [Int64](repeating: 0, count: count)
            for row in 0..<count where !column.isNull(row) {
                let rounded = values[row].rounded(.toNearestOrAwayFromZero)
                guard rounded.isFinite, rounded >= -9.223372036854775808e18, rounded < 9.223372036854775808e18 else {
                    throw QueryError("cannot cast \(Value.format(values[row])) to \(to): out of range")
                }
                integers[row] = Int64(rounded)
            }
            return try narrow(integers, to: to, validity: column.validity)
        case (.date, .timestamp):
            return Column(.timestamp(column.int64Values().map { $0 * 86_400_000_000 }), validity: column.validity)
        case (.timestamp, .date):
            return Column(
                .date(column.int64Values().map { Int32(($0 >= 0 ? $0 : $0 - 86_399_999_999) / 86_400_000_000) }), validity: column.validity)
        case (.boolean, let to) where to.isInteger:
            return try narrow(column.int64Values(), to: to, validity: column.validity)
        default:
            // Through values: parsing strings, formatting to strings.
            var values = [Value]()
            values.reserveCapacity(count)
            for row in 0..<count { values.append(try castValue(column.value(at: row), to: type)) }
            return Column.from(values, type: type)
        }
    }

    static func narrow(_ values: [Int64], to type: DataType, validity: Validity?) throws -> Column {
        func check<T: FixedWidthInteger>(_: T.Type) throws -> [T] {
            var result = [T](repeating: 0, count: values.count)
            for (row, value) in values.enumerated() {
                guard let narrowed = T(exactly: value) else {
                    if validity.map({ !$0.isValid(row) }) ?? false { continue }
                    throw QueryError("cannot cast \(value) to \(type): out of range")
                }
                result[row] = narrowed
            }
            return result
        }
        switch type {
        case .int8: return Column(.int8(try check(Int8.self)), validity: validity)
        case .int16: return Column(.int16(try check(Int16.self)), validity: validity)
        case .int32: return Column(.int32(try check(Int32.self)), validity: validity)
        default: return Column(.int64(values), validity: validity)
        }
    }

    static func castValue(_ value: Value, to type: DataType) throws -> Value {
        switch (value, type) {
        case (.null, _): return .null
        case (_, .string): return .string(value.description)
        case (.string(let text), let to):
            let trimmed = text.trimmingSpaces
            switch to {
            case .boolean:
                switch trimmed.lowercased() {
                case "true", "t", "1", "yes": return .boolean(true)
                case "false", "f", "0", "no": return .boolean(false)
                default: break
                }
            case .int8, .int16, .int32, .int64:
                if let integer = Int64(trimmed) {
                    _ = try narrow([integer], to: to, validity: nil)
                    return .integer(integer)
                }
            case .float32, .float64:
                if let double = Double(trimmed) { return .double(double) }
            case .date:
                if let days = DateParsing.days(trimmed) { return .date(Int32(days)) }
            case .timestamp:
                if let micros = DateParsing.microseconds(trimmed) { return .timestamp(micros) }
            case .string: break
            }
            throw QueryError("could not convert string '\(text)' to \(to)")
        case (.boolean(let flag), let to) where to.isNumeric: return to.isInteger ? .integer(flag ? 1 : 0) : .double(flag ? 1 : 0)
        case (.integer(let integer), let to) where to.isFloatingPoint: return .double(Double(integer))
        case (.integer(let integer), let to) where to.isInteger:
            _ = try narrow([integer], to: to, validity: nil)
            return .integer(integer)
        case (.double(let double), let to) where to.isInteger:
            let column = try cast(Column(.float64([double])), to: to)
            return column.value(at: 0)
        case (.integer(let integer), .boolean): return .boolean(integer != 0)
        case (.date(let days), .timestamp): return .timestamp(Int64(days) * 86_400_000_000)
        case (.timestamp, .date):
            return try cast(Column.from([value], type: .timestamp), to: .date).value(at: 0)
        default:
            if Column.from([value], type: type).value(at: 0) == value { return value }
            throw QueryError("cannot cast \(value) to \(type)")
        }
    }
}

/// ISO 8601 dates and timestamps as DuckDB reads them: `YYYY-MM-DD`, `YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]]`.
public enum DateParsing {
    public static func days(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard let (days, end) = date(bytes), end == bytes.count else { return nil }
        return days
    }

    public static func microseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard let (days, end) = date(bytes) else { return nil }
        if end == bytes.count { return Int64(days) * 86_400_000_000 }
        guard bytes[end] == 0x20 || bytes[end] == 0x54, bytes.count >= end + 6 else { return nil }
        func number(_ from: Int, _ length: Int) -> Int? {
            guard from + length <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[from..<(from + length)] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let hour = number(end + 1, 2), bytes[end + 3] == 0x3A, let minute = number(end + 4, 2), hour < 24, minute < 60 else {
            return nil
        }
        var position = end + 6, second = 0, micros = 0
        if position < bytes.count && bytes[position] == 0x3A {
            guard let parsed = number(position + 1, 2), parsed < 60 else { return nil }
            second = parsed
            position += 3
            if position < bytes.count && bytes[position] == 0x2E {
                position += 1
                var digits = 0
                while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                    if digits < 6 { micros = micros * 10 + Int(bytes[position] - 0x30) }
                    digits += 1
                    position += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<max(digits, 6) { micros *= 10 }
            }
        }
        guard position == bytes.count else { return nil }
        return Int64(days) * 86_400_000_000 + Int64(hour * 3600 + minute * 60 + second) * 1_000_000 + Int64(micros)
    }

    private static func date(_ bytes: [UInt8]) -> (Int, Int)? {
        var position = 0
        func digits(_ count: Int) -> Int? {
            guard position + count <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<count {
                let byte = bytes[position]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                position += 1
            }
            return value
        }
        guard let year = digits(4), position < bytes.count, bytes[position] == 0x2D else { return nil }
        position += 1
        guard let month = digits(2), position < bytes.count, bytes[position] == 0x2D else { return nil }
        position += 1
        guard let day = digits(2), CivilDate.isValid(year: year, month: month, day: day) else { return nil }
        return (CivilDate(year: year, month: month, day: day).daysSinceEpoch, position)
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
