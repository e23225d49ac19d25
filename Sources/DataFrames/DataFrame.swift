import Columns
import Threading

/// A column expression for the DataFrame API, resolved by name when a frame method is called
/// (`col("v1") * 2 > 5`); type rules are `ExpressionBuilder`'s, the same as SQL's.
public indirect enum Expr: Sendable {
    case column(String)
    case literal(Value)
    case binary(BinaryOperator, Expr, Expr)
    case not(Expr)
    case isNull(Expr)
    case cast(Expr, DataType)
    case call(String, [Expr])
    case aggregate(String, [Expr], distinct: Bool)
    case alias(Expr, String)

    public func alias(_ name: String) -> Expr { .alias(self, name) }

    var outputName: String {
        switch self {
        case .column(let name): name
        case .alias(_, let name): name
        case .aggregate(let function, let arguments, _): "\(function)(\(arguments.map(\.outputName).joined(separator: ", ")))"
        case .call(let function, let arguments): "\(function)(\(arguments.map(\.outputName).joined(separator: ", ")))"
        default: "expr"
        }
    }

    func bind(_ schema: Schema) throws -> Expression {
        switch self {
        case .column(let name):
            guard let index = schema.index(of: name) else {
                throw QueryError(
                    "unknown column \"\(name)\""
                        + (NameSuggestion.nearest(to: name, among: schema.names).map { "; did you mean \"\($0)\"?" } ?? ""))
            }
            return ExpressionBuilder.column(index, in: schema)
        case .literal(let value): return ExpressionBuilder.literal(value)
        case .binary(let op, let left, let right): return try ExpressionBuilder.binary(op, left.bind(schema), right.bind(schema))
        case .not(let operand): return try ExpressionBuilder.not(operand.bind(schema))
        case .isNull(let operand): return ExpressionBuilder.isNull(try operand.bind(schema), negated: false)
        case .cast(let operand, let type): return try ExpressionBuilder.cast(operand.bind(schema), to: type)
        case .call(let name, let arguments): return try ExpressionBuilder.function(name, arguments.map { try $0.bind(schema) })
        case .alias(let inner, _): return try inner.bind(schema)
        case .aggregate(let name, _, _): throw QueryError("aggregate \(name)() outside of groupBy().agg()")
        }
    }

    func bindAggregate(_ schema: Schema) throws -> AggregateCall {
        switch self {
        case .aggregate(let name, let arguments, let distinct):
            return try ExpressionBuilder.aggregate(name, arguments.map { try $0.bind(schema) }, distinct: distinct)
        case .alias(let inner, _): return try inner.bindAggregate(schema)
        default: throw QueryError("agg() expects aggregates such as sum(col(\"v1\")), got \(outputName)")
        }
    }
}

public func col(_ name: String) -> Expr { .column(name) }
public func lit(_ value: Int) -> Expr { .literal(.integer(Int64(value))) }
public func lit(_ value: Double) -> Expr { .literal(.double(value)) }
public func lit(_ value: String) -> Expr { .literal(.string(value)) }
public func sum(_ expr: Expr) -> Expr { .aggregate("sum", [expr], distinct: false) }
public func mean(_ expr: Expr) -> Expr { .aggregate("avg", [expr], distinct: false) }
public func count() -> Expr { .aggregate("count_star", [], distinct: false) }

public func + (a: Expr, b: Expr) -> Expr { .binary(.add, a, b) }
public func - (a: Expr, b: Expr) -> Expr { .binary(.subtract, a, b) }
public func * (a: Expr, b: Expr) -> Expr { .binary(.multiply, a, b) }
public func / (a: Expr, b: Expr) -> Expr { .binary(.divide, a, b) }
public func == (a: Expr, b: Expr) -> Expr { .binary(.equal, a, b) }
public func != (a: Expr, b: Expr) -> Expr { .binary(.notEqual, a, b) }
public func < (a: Expr, b: Expr) -> Expr { .binary(.less, a, b) }
public func <= (a: Expr, b: Expr) -> Expr { .binary(.lessOrEqual, a, b) }
public func > (a: Expr, b: Expr) -> Expr { .binary(.greater, a, b) }
public func >= (a: Expr, b: Expr) -> Expr { .binary(.greaterOrEqual, a, b) }
public func && (a: Expr, b: Expr) -> Expr { .binary(.and, a, b) }
public func || (a: Expr, b: Expr) -> Expr { .binary(.or, a, b) }

/// A lazy query: each method adds an operator to the plan; `collect` optimizes and runs it.
public struct LazyFrame: Sendable {
    public let plan: LogicalPlan

    public init(_ plan: LogicalPlan) { self.plan = plan }
    public init(_ table: Table, name: String = "frame") {
        plan = .scan(InMemorySource(table, name: name), columns: Array(0..<table.schema.count), filter: nil)
    }
    public init(source: any TableSource) { plan = .scan(source, columns: Array(0..<source.schema.count), filter: nil) }

    public var schema: Schema { plan.schema }

    public func filter(_ predicate: Expr) throws -> LazyFrame {
        let bound = try predicate.bind(schema)
        guard bound.type == .boolean else { throw QueryError("filter() expects a BOOLEAN expression, got \(bound.type)") }
        return LazyFrame(.filter(plan, bound))
    }

    public func select(_ expressions: [Expr]) throws -> LazyFrame {
        LazyFrame(.project(plan, try expressions.map { NamedExpression(try $0.bind(schema), name: $0.outputName) }))
    }

    /// The existing columns, with `expressions` added (or replacing columns of the same name).
    public func withColumns(_ expressions: [Expr]) throws -> LazyFrame {
        var outputs = schema.fields.indices.map { NamedExpression(ExpressionBuilder.column($0, in: schema), name: schema.fields[$0].name) }
        for expression in expressions {
            let named = NamedExpression(try expression.bind(schema), name: expression.outputName)
            if let existing = outputs.firstIndex(where: { $0.name == named.name }) {
                outputs[existing] = named
            } else {
                outputs.append(named)
            }
        }
        return LazyFrame(.project(plan, outputs))
    }

    public func groupBy(_ keys: [Expr]) -> GroupedFrame { GroupedFrame(frame: self, keys: keys) }

    public func join(_ other: LazyFrame, on names: [String], how kind: JoinKind = .inner) throws -> LazyFrame {
        let keys = try names.map { name -> EquiKey in
            guard let left = schema.index(of: name) else { throw QueryError("join: no column \"\(name)\" on the left") }
            guard let right = other.schema.index(of: name) else { throw QueryError("join: no column \"\(name)\" on the right") }
            let (a, b) = try ExpressionBuilder.comparable(
                ExpressionBuilder.column(left, in: schema), ExpressionBuilder.column(right, in: other.schema), "=")
            return EquiKey(a, b)
        }
        return LazyFrame(.join(plan, other.plan, kind, on: keys, residual: nil))
    }

    public func sort(_ keys: [Expr], descending: Bool = false) throws -> LazyFrame {
        LazyFrame(.sort(plan, try keys.map { SortKey(try $0.bind(schema), descending: descending) }, limit: nil))
    }

    public func limit(_ count: Int) -> LazyFrame {
        if case .sort(let input, let keys, nil) = plan { return LazyFrame(.sort(input, keys, limit: count)) }
        return LazyFrame(.limit(plan, offset: 0, count: count))
    }

    public func distinct() -> LazyFrame { LazyFrame(.distinct(plan)) }

    public func explain() -> String { Explain.text(Optimizer.optimize(plan)) }

    public func collect(pool: ThreadPool) throws -> Table { try Executor(pool: pool).run(Optimizer.optimize(plan)) }
}

/// `frame.groupBy([col("id1")]).agg([sum(col("v1")).alias("v1")])`.
public struct GroupedFrame: Sendable {
    let frame: LazyFrame
    let keys: [Expr]

    public func agg(_ aggregates: [Expr]) throws -> LazyFrame {
        let schema = frame.schema
        let boundKeys = try keys.map { NamedExpression(try $0.bind(schema), name: $0.outputName) }
        let calls = try aggregates.map { NamedAggregate(try $0.bindAggregate(schema), name: $0.outputName) }
        return LazyFrame(.aggregate(frame.plan, keys: boundKeys, aggregates: calls))
    }
}
