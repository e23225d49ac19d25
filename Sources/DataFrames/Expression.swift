import Columns

/// A bound expression: every column reference resolved to an input position and every node typed,
/// so evaluation never looks up names. SQL binds its syntax tree to these; the DataFrame API builds
/// them directly (through `Expr`).
public indirect enum Expression: Sendable, Equatable, CustomStringConvertible {
    case column(index: Int, name: String, type: DataType)
    case literal(Value, DataType)
    case unary(UnaryOperator, Expression)
    case binary(BinaryOperator, Expression, Expression)
    case isNull(Expression, negated: Bool)
    case cast(Expression, to: DataType)
    /// `value IN (list)`; the list holds literals after binding (a non-literal list is rewritten to ORs).
    case inList(Expression, [Value], negated: Bool)
    /// `value [NOT] LIKE pattern` (`%` any run, `_` one character); case-insensitive for ILIKE.
    case like(Expression, pattern: String, caseInsensitive: Bool, negated: Bool)
    /// `CASE WHEN c THEN v … ELSE e END` (an operand form is rewritten to equalities when bound).
    case caseWhen([(condition: Expression, value: Expression)], otherwise: Expression?, type: DataType)
    case function(ScalarFunction, [Expression], type: DataType)

    /// Structural equality: the same operations on the same input positions.
    public static func == (a: Expression, b: Expression) -> Bool { a.identity == b.identity && a.type == b.type }

    /// The expression's text with every column as its input position: equal exactly when the two
    /// compute the same thing (two inputs' columns may share a name, never a position).
    public var identity: String {
        remapColumns { $0 }.description(columnText: { index, _ in "#\(index)" })
    }

    public var type: DataType {
        switch self {
        case .column(_, _, let type), .literal(_, let type), .caseWhen(_, _, let type), .function(_, _, let type): return type
        case .unary(let op, let operand): return op == .not ? .boolean : operand.type
        case .binary(let op, let left, let right): return op.resultType(left.type, right.type)
        case .isNull, .inList, .like: return .boolean
        case .cast(_, let type): return type
        }
    }

    public var description: String { description(columnText: { _, name in name }) }

    func description(columnText: (Int, String) -> String) -> String {
        func text(_ expression: Expression) -> String { expression.description(columnText: columnText) }
        switch self {
        case .column(let index, let name, _): return columnText(index, name)
        case .literal(let value, let type):
            if case .string(let text) = value { return "'" + text.replacingAll("'", with: "''") + "'" }
            if type == .date || type == .timestamp { return "\(type) '\(value)'" }
            return value.description
        case .unary(let op, let operand): return op == .not ? "(NOT \(text(operand)))" : "(-\(text(operand)))"
        case .binary(let op, let left, let right): return "(\(text(left)) \(op.symbol) \(text(right)))"
        case .isNull(let operand, let negated): return "(\(text(operand)) IS \(negated ? "NOT " : "")NULL)"
        case .cast(let operand, let type): return "CAST(\(text(operand)) AS \(type))"
        case .inList(let operand, let values, let negated):
            return
                "(\(text(operand)) \(negated ? "NOT " : "")IN (\(values.map { Expression.literal($0, .string).description }.joined(separator: ", "))))"
        case .like(let operand, let pattern, let insensitive, let negated):
            return "(\(text(operand)) \(negated ? "NOT " : "")\(insensitive ? "ILIKE" : "LIKE") '\(pattern)')"
        case .caseWhen(let branches, let otherwise, _):
            let whens = branches.map { "WHEN \(text($0.condition)) THEN \(text($0.value))" }.joined(separator: " ")
            return "CASE \(whens)\(otherwise.map { " ELSE \(text($0))" } ?? "") END"
        case .function(let function, let arguments, _):
            return "\(function.name)(\(arguments.map(text).joined(separator: ", ")))"
        }
    }

    /// Input columns this expression reads.
    public var columnsUsed: Set<Int> {
        switch self {
        case .column(let index, _, _): return [index]
        case .literal: return []
        case .unary(_, let operand), .isNull(let operand, _), .cast(let operand, _), .inList(let operand, _, _),
            .like(let operand, _, _, _):
            return operand.columnsUsed
        case .binary(_, let left, let right): return left.columnsUsed.union(right.columnsUsed)
        case .caseWhen(let branches, let otherwise, _):
            var used = otherwise?.columnsUsed ?? []
            for branch in branches { used.formUnion(branch.condition.columnsUsed.union(branch.value.columnsUsed)) }
            return used
        case .function(_, let arguments, _): return arguments.reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) }
        }
    }

    /// The same expression reading column `mapping[i]` wherever it read column `i`.
    public func remapColumns(_ mapping: (Int) -> Int) -> Expression {
        switch self {
        case .column(let index, let name, let type): return .column(index: mapping(index), name: name, type: type)
        case .literal: return self
        case .unary(let op, let operand): return .unary(op, operand.remapColumns(mapping))
        case .binary(let op, let left, let right): return .binary(op, left.remapColumns(mapping), right.remapColumns(mapping))
        case .isNull(let operand, let negated): return .isNull(operand.remapColumns(mapping), negated: negated)
        case .cast(let operand, let type): return .cast(operand.remapColumns(mapping), to: type)
        case .inList(let operand, let values, let negated): return .inList(operand.remapColumns(mapping), values, negated: negated)
        case .like(let operand, let pattern, let insensitive, let negated):
            return .like(operand.remapColumns(mapping), pattern: pattern, caseInsensitive: insensitive, negated: negated)
        case .caseWhen(let branches, let otherwise, let type):
            return .caseWhen(
                branches.map { ($0.condition.remapColumns(mapping), $0.value.remapColumns(mapping)) },
                otherwise: otherwise?.remapColumns(mapping), type: type)
        case .function(let function, let arguments, let type):
            return .function(function, arguments.map { $0.remapColumns(mapping) }, type: type)
        }
    }

    /// Splits `a AND b AND c` into its conjuncts (predicate pushdown moves each on its own).
    public var conjuncts: [Expression] {
        if case .binary(.and, let left, let right) = self { return left.conjuncts + right.conjuncts }
        return [self]
    }

    public static func conjunction(_ parts: [Expression]) -> Expression? {
        guard var result = parts.first else { return nil }
        for part in parts.dropFirst() { result = .binary(.and, result, part) }
        return result
    }
}

public enum UnaryOperator: Sendable, Equatable {
    case not, negate
}

public enum BinaryOperator: Sendable, Equatable {
    case add, subtract, multiply, divide, modulo
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
    /// `IS NOT DISTINCT FROM` / `IS DISTINCT FROM`: equality where NULL equals NULL.
    case notDistinct, distinct
    case and, or
    case concatenate

    public var symbol: String {
        switch self {
        case .add: "+"
        case .subtract: "-"
        case .multiply: "*"
        case .divide: "/"
        case .modulo: "%"
        case .equal: "="
        case .notEqual: "<>"
        case .less: "<"
        case .lessOrEqual: "<="
        case .greater: ">"
        case .greaterOrEqual: ">="
        case .notDistinct: "IS NOT DISTINCT FROM"
        case .distinct: "IS DISTINCT FROM"
        case .and: "AND"
        case .or: "OR"
        case .concatenate: "||"
        }
    }

    public var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .notDistinct, .distinct: true
        default: false
        }
    }

    public var isArithmetic: Bool {
        switch self {
        case .add, .subtract, .multiply, .divide, .modulo: true
        default: false
        }
    }

    /// DuckDB's rules: `/` on integers is a DOUBLE division; integer + - * % stay BIGINT; any
    /// float makes DOUBLE; date ± integer is a date; date - date is an integer count of days.
    public func resultType(_ left: DataType, _ right: DataType) -> DataType {
        if isComparison || self == .and || self == .or { return .boolean }
        if self == .concatenate { return .string }
        if left == .date || right == .date {
            if self == .subtract && left == .date && right == .date { return .int64 }
            return .date
        }
        if left == .timestamp || right == .timestamp { return .timestamp }
        if self == .divide { return .float64 }
        if left.isInteger && right.isInteger { return .int64 }
        return .float64
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}
