import Columns

#if canImport(Glibc)
import Glibc
#endif

/// The scalar functions queries can call, with their argument counts and result types (DuckDB's
/// names). Each is evaluated row by row on `Value`s (`RowEvaluator`); they are never the hot path
/// of the benchmark queries.
public enum ScalarFunction: String, Sendable, CaseIterable {
    // math
    case abs, round, floor, ceil, sqrt, exp, ln, log10, log2, power, sign, mod
    case greatest, least, coalesce, nullif
    // strings
    case lower, upper, length, substring, trim, ltrim, rtrim, concat, replace, reverse
    case startsWith = "starts_with"
    case endsWith = "ends_with"
    case contains, strpos, left, right, lpad, rpad
    case repeatText = "repeat"
    // dates
    case year, month, day, hour, minute, second, dayofweek, dayofyear, quarter
    case dateTrunc = "date_trunc"
    case dateDiff = "date_diff"
    case makeDate = "make_date"
    case currentDate = "current_date"

    public var name: String { rawValue }

    static let aliases: [String: ScalarFunction] = [
        "ceiling": .ceil, "pow": .power, "substr": .substring, "char_length": .length, "strlen": .length,
        "datediff": .dateDiff, "datetrunc": .dateTrunc, "instr": .strpos, "position": .strpos, "ifnull": .coalesce,
        "lcase": .lower, "ucase": .upper,
    ]

    public static func named(_ name: String) -> ScalarFunction? {
        let folded = name.lowercased()
        return ScalarFunction(rawValue: folded) ?? aliases[folded]
    }

    /// The result type for these argument types, or why the call is wrong.
    public func resultType(_ arguments: [DataType]) throws -> DataType {
        func arity(_ allowed: ClosedRange<Int>) throws {
            guard allowed.contains(arguments.count) else {
                let expected =
                    allowed.lowerBound == allowed.upperBound ? "\(allowed.lowerBound)" : "\(allowed.lowerBound) to \(allowed.upperBound)"
                throw QueryError("\(name)() takes \(expected) argument\(allowed.upperBound == 1 ? "" : "s"), got \(arguments.count)")
            }
        }
        func numeric(_ index: Int) throws {
            guard arguments[index].isNumeric else { throw QueryError("\(name)() expects a number, got \(arguments[index])") }
        }
        func text(_ index: Int) throws {
            guard arguments[index] == .string else { throw QueryError("\(name)() expects VARCHAR, got \(arguments[index])") }
        }
        func temporal(_ index: Int) throws {
            guard arguments[index] == .date || arguments[index] == .timestamp else {
                throw QueryError("\(name)() expects a DATE or TIMESTAMP, got \(arguments[index])")
            }
        }
        switch self {
        case .abs, .sign:
            try arity(1...1)
            try numeric(0)
            return arguments[0].isInteger ? .int64 : .float64
        case .round:
            try arity(1...2)
            try numeric(0)
            return arguments[0].isInteger ? .int64 : .float64
        case .floor, .ceil:
            try arity(1...1)
            try numeric(0)
            return arguments[0].isInteger ? .int64 : .float64
        case .sqrt, .exp, .ln, .log10, .log2:
            try arity(1...1)
            try numeric(0)
            return .float64
        case .power:
            try arity(2...2)
            try numeric(0)
            try numeric(1)
            return .float64
        case .mod:
            try arity(2...2)
            try numeric(0)
            try numeric(1)
            return arguments[0].isInteger && arguments[1].isInteger ? .int64 : .float64
        case .greatest, .least, .coalesce:
            guard !arguments.isEmpty else { throw QueryError("\(name)() needs at least one argument") }
            return try arguments.dropFirst().reduce(arguments[0]) { result, next in
                let common = DataType.common(result, next)
                if common == .string && (result != .string || next != .string) {
                    throw QueryError("\(name)() cannot mix \(result) and \(next)")
                }
                return common
            }
        case .nullif:
            try arity(2...2)
            return arguments[0]
        case .lower, .upper, .trim, .ltrim, .rtrim, .reverse:
            try arity(1...1)
            try text(0)
            return .string
        case .length:
            try arity(1...1)
            try text(0)
            return .int64
        case .substring:
            try arity(2...3)
            try text(0)
            return .string
        case .concat:
            guard !arguments.isEmpty else { throw QueryError("concat() needs at least one argument") }
            return .string
        case .replace:
            try arity(3...3)
            return .string
        case .startsWith, .endsWith, .contains:
            try arity(2...2)
            try text(0)
            try text(1)
            return .boolean
        case .strpos:
            try arity(2...2)
            return .int64
        case .left, .right, .repeatText:
            try arity(2...2)
            try text(0)
            return .string
        case .lpad, .rpad:
            try arity(3...3)
            return .string
        case .year, .month, .day, .hour, .minute, .second, .dayofweek, .dayofyear, .quarter:
            try arity(1...1)
            try temporal(0)
            return .int64
        case .dateTrunc:
            try arity(2...2)
            try text(0)
            try temporal(1)
            return arguments[1]
        case .dateDiff:
            try arity(3...3)
            try text(0)
            return .int64
        case .makeDate:
            try arity(3...3)
            return .date
        case .currentDate:
            try arity(0...0)
            return .date
        }
    }
}

/// One row of an expression as a `Value` (CASE, functions, concatenation).
enum RowEvaluator {
    static func evaluate(_ expression: Expression, _ batch: RecordBatch, _ row: Int) throws -> Value {
        switch expression {
        case .column(let index, _, _): return batch.columns[index].value(at: row)
        case .literal(let value, _): return value
        case .caseWhen(let branches, let otherwise, let type):
            for branch in branches where try evaluate(branch.condition, batch, row) == .boolean(true) {
                return try Casts.castValue(evaluate(branch.value, batch, row), to: type).normalized(type)
            }
            guard let otherwise else { return .null }
            return try Casts.castValue(evaluate(otherwise, batch, row), to: type).normalized(type)
        case .function(let function, let arguments, let type):
            let values = try arguments.map { try evaluate($0, batch, row) }
            return try apply(function, values, type: type)
        case .binary(.concatenate, let left, let right):
            let a = try evaluate(left, batch, row), b = try evaluate(right, batch, row)
            if a.isNull || b.isNull { return .null }
            return .string(a.description + b.description)
        default:
            // Vectorized node inside a row-wise one: evaluate on a one-row slice.
            let slice = RecordBatch(schema: batch.schema, columns: batch.columns.map { $0.slice(row..<(row + 1)) }, rowCount: 1)
            return try ExpressionEvaluator.evaluate(expression, slice).value(at: 0)
        }
    }

    static func apply(_ function: ScalarFunction, _ values: [Value], type: DataType) throws -> Value {
        switch function {
        case .coalesce: return try values.first { !$0.isNull }.map { try Casts.castValue($0, to: type) } ?? .null
        case .nullif: return values[0] == values[1] ? .null : values[0]
        case .greatest, .least:
            let present = try values.filter { !$0.isNull }.map { try Casts.castValue($0, to: type) }
            guard var best = present.first else { return .null }
            for value in present.dropFirst() where (function == .greatest) == (ValueOrder.compare(value, best) > 0) { best = value }
            return best
        case .concat: return .string(values.filter { !$0.isNull }.map(\.description).joined())
        case .currentDate:
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            return .date(Int32(now.tv_sec / 86_400))
        default: break
        }
        if values.contains(where: \.isNull) { return .null }
        switch function {
        case .abs, .sign, .round, .floor, .ceil, .sqrt, .exp, .ln, .log10, .log2, .power, .mod:
            return try math(function, values, type: type)
        case .lower: return .string(values[0].description.lowercased())
        case .upper: return .string(values[0].description.uppercased())
        case .length: return .integer(Int64(values[0].description.count))
        case .reverse: return .string(String(values[0].description.reversed()))
        case .trim: return .string(values[0].description.trimmingSpaces)
        case .ltrim: return .string(String(values[0].description.drop { $0 == " " }))
        case .rtrim:
            var text = values[0].description
            while text.last == " " { text.removeLast() }
            return .string(text)
        case .substring:
            // 1-based start, as SQL; a start before 1 eats into the length, as DuckDB does.
            let characters = Array(values[0].description)
            guard case .integer(let start) = values[1] else { throw QueryError("substring() start must be an integer") }
            var length = Int64(characters.count)
            if values.count == 3 {
                guard case .integer(let given) = values[2] else { throw QueryError("substring() length must be an integer") }
                length = given
            }
            let from = max(Int64(1), start), to = min(Int64(characters.count) + 1, start + max(0, length))
            return .string(from < to ? String(characters[Int(from - 1)..<Int(to - 1)]) : "")
        case .replace:
            let text = values[0].description, target = values[1].description, replacement = values[2].description
            guard !target.isEmpty else { return .string(text) }
            return .string(text.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement))
        case .startsWith: return .boolean(values[0].description.hasPrefix(values[1].description))
        case .endsWith: return .boolean(values[0].description.hasSuffix(values[1].description))
        case .contains: return .boolean(values[1].description.isEmpty || values[0].description.contains(values[1].description))
        case .strpos:
            let text = Array(values[0].description), target = Array(values[1].description)
            if target.isEmpty { return .integer(1) }
            guard target.count <= text.count else { return .integer(0) }
            for start in 0...(text.count - target.count) where Array(text[start..<(start + target.count)]) == target {
                return .integer(Int64(start + 1))
            }
            return .integer(0)
        case .left, .right:
            guard case .integer(let count) = values[1] else { throw QueryError("\(function.name)() count must be an integer") }
            let text = values[0].description
            let take = Int(max(0, min(Int64(text.count), count)))
            return .string(function == .left ? String(text.prefix(take)) : String(text.suffix(take)))
        case .repeatText:
            guard case .integer(let count) = values[1], count <= 1_000_000 else {
                throw QueryError("repeat() count must be an integer ≤ 1000000")
            }
            return .string(String(repeating: values[0].description, count: Int(max(0, count))))
        case .lpad, .rpad:
            guard case .integer(let width) = values[1], width <= 1_000_000 else {
                throw QueryError("\(function.name)() width must be an integer ≤ 1000000")
            }
            var text = Array(values[0].description)
            let fill = Array(values[2].description)
            if text.count >= Int(width) || fill.isEmpty { return .string(String(text.prefix(Int(max(0, width))))) }
            var padding: [Character] = []
            while padding.count < Int(width) - text.count { padding.append(fill[padding.count % fill.count]) }
            text = function == .lpad ? padding + text : text + padding
            return .string(String(text))
        case .year, .month, .day, .hour, .minute, .second, .dayofweek, .dayofyear, .quarter:
            return .integer(Int64(try DateParts.part(function, of: values[0])))
        case .dateTrunc: return try DateParts.truncate(values[0].description, values[1])
        case .dateDiff: return try DateParts.difference(values[0].description, values[1], values[2])
        case .makeDate:
            guard case .integer(let year) = values[0], case .integer(let month) = values[1], case .integer(let day) = values[2],
                CivilDate.isValid(year: Int(year), month: Int(month), day: Int(day))
            else { throw QueryError("make_date(\(values.map(\.description).joined(separator: ", "))) is not a valid date") }
            return .date(Int32(CivilDate(year: Int(year), month: Int(month), day: Int(day)).daysSinceEpoch))
        default: return .null
        }
    }

    static func math(_ function: ScalarFunction, _ values: [Value], type: DataType) throws -> Value {
        if type == .int64, case .integer(let integer) = values[0] {
            switch function {
            case .abs:
                guard integer != .min else { throw QueryError("abs(\(integer)) overflows BIGINT") }
                return .integer(Swift.abs(integer))
            case .sign: return .integer(integer.signum())
            case .round:
                guard values.count == 2, case .integer(let digits) = values[1], digits < 0 else { return .integer(integer) }
                let scale = Int64(pow(10.0, Double(-digits)))
                return .integer((integer + (integer >= 0 ? scale / 2 : -scale / 2)) / scale * scale)
            case .floor, .ceil: return .integer(integer)
            case .mod:
                guard case .integer(let divisor) = values[1], divisor != 0 else { return .null }
                return .integer(integer % divisor)
            default: break
            }
        }
        let x = values[0].numeric ?? 0
        switch function {
        case .abs: return .double(Swift.abs(x))
        case .sign: return .double(x > 0 ? 1 : x < 0 ? -1 : 0)
        case .round:
            var digits = 0
            if values.count == 2 {
                guard case .integer(let given) = values[1] else { throw QueryError("round() digits must be an integer") }
                digits = Int(given)
            }
            let scale = pow(10.0, Double(digits))
            return .double((x * scale).rounded(.toNearestOrAwayFromZero) / scale)
        case .floor: return .double(x.rounded(.down))
        case .ceil: return .double(x.rounded(.up))
        case .sqrt: return x < 0 ? .null : .double(x.squareRoot())
        case .exp: return .double(Glibc.exp(x))
        case .ln: return x <= 0 ? .null : .double(Glibc.log(x))
        case .log10: return x <= 0 ? .null : .double(Glibc.log10(x))
        case .log2: return x <= 0 ? .null : .double(Glibc.log2(x))
        case .power: return .double(pow(x, values[1].numeric ?? 0))
        case .mod:
            let divisor = values[1].numeric ?? 0
            return divisor == 0 ? .null : .double(x.truncatingRemainder(dividingBy: divisor))
        default: return .null
        }
    }
}

extension Value {
    /// A value in the canonical form `Column.from` expects for `type`.
    func normalized(_ type: DataType) -> Value {
        switch (self, type) {
        case (.integer(let integer), let t) where t.isFloatingPoint: .double(Double(integer))
        default: self
        }
    }
}

/// Total order on values of one type (NULL first), for sorting small sets and GREATEST/LEAST.
public enum ValueOrder {
    public static func compare(_ a: Value, _ b: Value) -> Int {
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case (.boolean(let x), .boolean(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.integer(let x), .integer(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.string(let x), .string(let y)): return x == y ? 0 : (x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1)
        case (.date(let x), .date(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.timestamp(let x), .timestamp(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        default:
            let x = a.numeric ?? 0, y = b.numeric ?? 0
            return x == y ? 0 : (x < y ? -1 : 1)
        }
    }
}
