import Columns

/// Typed construction of bound expressions: the one place for the type rules both SQL and the
/// DataFrame API follow (DuckDB's): which operands an operator accepts, where an implicit cast
/// goes (a string literal compared with a date or number is parsed as one; integers meet doubles
/// as DOUBLE), and what a function or aggregate returns. Each throws a `QueryError` that says
/// what was expected.
public enum ExpressionBuilder {
    public static func column(_ index: Int, in schema: Schema) -> Expression {
        .column(index: index, name: schema.fields[index].name, type: schema.fields[index].type)
    }

    public static func literal(_ value: Value) -> Expression {
        switch value {
        case .null: .literal(.null, .int64)
        case .boolean: .literal(value, .boolean)
        case .integer: .literal(value, .int64)
        case .double: .literal(value, .float64)
        case .string: .literal(value, .string)
        case .date: .literal(value, .date)
        case .timestamp: .literal(value, .timestamp)
        }
    }

    static func isNullLiteral(_ expression: Expression) -> Bool {
        if case .literal(.null, _) = expression { return true }
        return false
    }

    /// `expression` as `type`: literals converted now (so a bad one is reported at once), anything
    /// else wrapped in a CAST.
    public static func coerce(_ expression: Expression, to type: DataType) throws -> Expression {
        if expression.type == type { return expression }
        if case .literal(let value, _) = expression {
            if value.isNull { return .literal(.null, type) }
            return .literal(try Casts.castValue(value, to: type).normalized(type), type)
        }
        return .cast(expression, to: type)
    }

    public static func cast(_ expression: Expression, to type: DataType) throws -> Expression {
        if case .literal(let value, _) = expression {
            return .literal(try Casts.castValue(value, to: type).normalized(type), type)
        }
        return expression.type == type ? expression : .cast(expression, to: type)
    }

    public static func not(_ operand: Expression) throws -> Expression {
        .unary(.not, try boolean(operand, "NOT"))
    }

    public static func negate(_ operand: Expression) throws -> Expression {
        guard operand.type.isNumeric || isNullLiteral(operand) else { throw QueryError("cannot negate a \(operand.type) value") }
        if case .literal(.integer(let value), let type) = operand, value != .min { return .literal(.integer(-value), type) }
        if case .literal(.double(let value), let type) = operand { return .literal(.double(-value), type) }
        return .unary(.negate, operand)
    }

    static func boolean(_ expression: Expression, _ context: String) throws -> Expression {
        if expression.type == .boolean { return expression }
        if isNullLiteral(expression) { return .literal(.null, .boolean) }
        throw QueryError("\(context) expects a BOOLEAN, got \(expression.type) (\(expression))")
    }

    public static func binary(_ op: BinaryOperator, _ left: Expression, _ right: Expression) throws -> Expression {
        switch op {
        case .and, .or:
            return .binary(op, try boolean(left, op.symbol), try boolean(right, op.symbol))
        case .concatenate:
            return .binary(op, left, right)
        case _ where op.isComparison:
            let (a, b) = try comparable(left, right, op.symbol)
            return .binary(op, a, b)
        default:
            var a = left, b = right
            if isNullLiteral(a) { a = .literal(.null, b.type == .string ? .int64 : b.type) }
            if isNullLiteral(b) { b = .literal(.null, a.type == .string ? .int64 : a.type) }
            let dateArithmetic =
                (a.type == .date || a.type == .timestamp) && (op == .add || op == .subtract) && (b.type.isInteger || b.type == a.type)
            let flipped = b.type == .date && a.type.isInteger && op == .add
            guard (a.type.isNumeric && b.type.isNumeric) || dateArithmetic || flipped else {
                throw QueryError("cannot apply \(op.symbol) to \(a.type) and \(b.type) (\(left) \(op.symbol) \(right))")
            }
            if a.type == .timestamp && b.type.isInteger {
                throw QueryError("cannot add an integer to a TIMESTAMP: add an interval of microseconds as BIGINT after CAST")
            }
            return .binary(op, a, b)
        }
    }

    /// Operands of a comparison brought to types the evaluator compares directly.
    static func comparable(_ left: Expression, _ right: Expression, _ what: String) throws -> (Expression, Expression) {
        var a = left, b = right
        if isNullLiteral(a) { a = .literal(.null, b.type) }
        if isNullLiteral(b) { b = .literal(.null, a.type) }
        if a.type == b.type { return (a, b) }
        if a.type.isNumeric && b.type.isNumeric { return (a, b) }
        if a.type == .boolean && b.type.isInteger || a.type.isInteger && b.type == .boolean { return (a, b) }
        // A string literal against a typed column is parsed as that type ('2024-01-01' vs a DATE).
        if case .literal = a, a.type == .string { return (try coerce(a, to: b.type), b) }
        if case .literal = b, b.type == .string { return (a, try coerce(b, to: a.type)) }
        if (a.type == .date || a.type == .timestamp) && (b.type == .date || b.type == .timestamp) {
            return (try coerce(a, to: .timestamp), try coerce(b, to: .timestamp))
        }
        throw QueryError("cannot compare \(a.type) with \(b.type) (\(left) \(what) \(right)); CAST one side")
    }

    /// Two join keys made comparable (numbers of different types meet; a string never equals a number).
    public static func joinKeys(_ left: Expression, _ right: Expression) throws -> (Expression, Expression) {
        try comparable(left, right, "=")
    }

    public static func isNull(_ operand: Expression, negated: Bool) -> Expression { .isNull(operand, negated: negated) }

    public static func inList(_ operand: Expression, _ items: [Expression], negated: Bool) throws -> Expression {
        var values: [Value] = []
        var others: [Expression] = []
        for item in items {
            let folded = Optimizer.fold(item)
            if case .literal(let value, _) = folded {
                let (_, coerced) = try comparable(operand, folded, "IN")
                if case .literal(let converted, _) = coerced { values.append(converted) } else { values.append(value) }
            } else {
                others.append(item)
            }
        }
        guard !others.isEmpty else { return .inList(operand, values, negated: negated) }
        // Non-constant items: x IN (a, b) is x = a OR x = b.
        var disjuncts = try others.map { try binary(.equal, operand, $0) }
        if !values.isEmpty { disjuncts.insert(.inList(operand, values, negated: false), at: 0) }
        var result = disjuncts[0]
        for next in disjuncts.dropFirst() { result = .binary(.or, result, next) }
        return negated ? .unary(.not, result) : result
    }

    public static func like(_ operand: Expression, pattern: Expression, caseInsensitive: Bool, negated: Bool) throws -> Expression {
        guard operand.type == .string || isNullLiteral(operand) else { throw QueryError("LIKE expects VARCHAR, got \(operand.type)") }
        guard case .literal(let value, _) = Optimizer.fold(pattern) else { throw QueryError("LIKE patterns must be constants") }
        if value.isNull { return .literal(.null, .boolean) }
        guard case .string(let text) = value else { throw QueryError("a LIKE pattern must be a string, got \(value)") }
        return .like(operand, pattern: text, caseInsensitive: caseInsensitive, negated: negated)
    }

    public static func between(_ operand: Expression, _ low: Expression, _ high: Expression, negated: Bool) throws -> Expression {
        let inside = try binary(.and, binary(.greaterOrEqual, operand, low), binary(.lessOrEqual, operand, high))
        return negated ? .unary(.not, inside) : inside
    }

    public static func caseWhen(_ branches: [(Expression, Expression)], otherwise: Expression?) throws -> Expression {
        let results = branches.map(\.1) + (otherwise.map { [$0] } ?? [])
        let typed = results.filter { !isNullLiteral($0) }
        var type = typed.first?.type ?? .int64
        for result in typed.dropFirst() {
            let common = DataType.common(type, result.type)
            if common == .string && (type != .string || result.type != .string) {
                throw QueryError("CASE branches mix \(type) and \(result.type); CAST them to one type")
            }
            type = common
        }
        let conditions = try branches.map { try boolean($0.0, "WHEN") }
        let values = try branches.map { try coerce($0.1, to: type) }
        return .caseWhen(zip(conditions, values).map { ($0, $1) }, otherwise: try otherwise.map { try coerce($0, to: type) }, type: type)
    }

    public static func function(_ name: String, _ arguments: [Expression]) throws -> Expression {
        guard let function = ScalarFunction.named(name) else {
            let known = ScalarFunction.allCases.map(\.name) + AggregateFunction.allCases.map(\.name)
            throw QueryError(
                "unknown function \(name)()" + (NameSuggestion.nearest(to: name, among: known).map { "; did you mean \($0)()?" } ?? ""))
        }
        var arguments = arguments
        // Numbers meet as DOUBLE in GREATEST/LEAST/COALESCE when their types differ.
        let type = try function.resultType(arguments.map(\.type))
        if function == .greatest || function == .least || function == .coalesce {
            arguments = try arguments.map { try coerce($0, to: type) }
        }
        return .function(function, arguments, type: type)
    }

    /// An aggregate call; `distinct` only for count.
    public static func aggregate(_ name: String, _ arguments: [Expression], distinct: Bool, star: Bool = false) throws -> AggregateCall {
        guard var function = AggregateFunction.named(name) else { throw QueryError("unknown aggregate \(name)()") }
        if function == .count && (star || arguments.isEmpty) { return try AggregateCall(.countStar, []) }
        if distinct {
            guard function == .count else { throw QueryError("DISTINCT is supported in count() only, not in \(name)()") }
            function = .countDistinct
        }
        if function == .quantile {
            guard arguments.count == 2, case .literal(let value, _) = Optimizer.fold(arguments[1]), let fraction = value.numeric,
                fraction >= 0, fraction <= 1
            else { throw QueryError("quantile_cont(x, q) needs a constant q between 0 and 1") }
            return try AggregateCall(.quantile, [arguments[0]], fraction: fraction)
        }
        return try AggregateCall(function, arguments)
    }

    public static func isAggregate(_ name: String) -> Bool { AggregateFunction.named(name) != nil }
}
