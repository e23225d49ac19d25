import Columns

/// A query as a tree of relational operators, before execution. Built by SQL's binder or the
/// DataFrame API, rewritten by `Optimizer`, run by `Executor`, printed by EXPLAIN.
public indirect enum LogicalPlan: Sendable {
    /// Rows of a source: only `columns` (pushed-down projection) and only rows passing `filter`
    /// (pushed-down predicates, evaluated over the scanned columns).
    case scan(any TableSource, columns: [Int], filter: Expression?)
    case filter(LogicalPlan, Expression)
    case project(LogicalPlan, [NamedExpression])
    /// Output: the group keys, then the aggregates.
    case aggregate(LogicalPlan, keys: [NamedExpression], aggregates: [NamedAggregate])
    /// Output: the left columns, then the right ones (semi and anti: the left ones only).
    case join(LogicalPlan, LogicalPlan, JoinKind, on: [EquiKey], residual: Expression?)
    case sort(LogicalPlan, [SortKey], limit: Int?)
    case limit(LogicalPlan, offset: Int, count: Int?)
    case distinct(LogicalPlan)
    case union([LogicalPlan], all: Bool)
    /// Appends `row_number() OVER (PARTITION BY … ORDER BY …)` as a BIGINT column.
    case rowNumber(LogicalPlan, partition: [Expression], order: [SortKey], name: String)
    /// A constant relation (SELECT without FROM).
    case values(Table)

    public var schema: Schema {
        switch self {
        case .scan(let source, let columns, _): return Schema(columns.map { source.schema.fields[$0] })
        case .filter(let input, _), .sort(let input, _, _), .limit(let input, _, _), .distinct(let input): return input.schema
        case .project(_, let expressions): return Schema(expressions.map { Field($0.name, $0.expression.type) })
        case .aggregate(_, let keys, let aggregates):
            return Schema(keys.map { Field($0.name, $0.expression.type) } + aggregates.map { Field($0.name, $0.call.type) })
        case .join(let left, let right, let kind, _, _):
            switch kind {
            case .semi, .anti: return left.schema
            default: return Schema(left.schema.fields + right.schema.fields)
            }
        case .union(let inputs, _): return inputs[0].schema
        case .rowNumber(let input, _, _, let name): return Schema(input.schema.fields + [Field(name, .int64, nullable: false)])
        case .values(let table): return table.schema
        }
    }

    public var children: [LogicalPlan] {
        switch self {
        case .scan, .values: []
        case .filter(let input, _), .project(let input, _), .aggregate(let input, _, _), .sort(let input, _, _),
            .limit(let input, _, _), .distinct(let input), .rowNumber(let input, _, _, _):
            [input]
        case .join(let left, let right, _, _, _): [left, right]
        case .union(let inputs, _): inputs
        }
    }
}

public struct NamedExpression: Sendable, Equatable {
    public var expression: Expression
    public var name: String
    public init(_ expression: Expression, name: String) {
        self.expression = expression
        self.name = name
    }
}

public struct NamedAggregate: Sendable, Equatable {
    public var call: AggregateCall
    public var name: String
    public init(_ call: AggregateCall, name: String) {
        self.call = call
        self.name = name
    }
}

public enum JoinKind: String, Sendable, Equatable {
    case inner, left, right, full, semi, anti, cross
}

/// One equality of a join condition: `left` over the left input's columns, `right` over the right's.
public struct EquiKey: Sendable, Equatable {
    public var left: Expression
    public var right: Expression
    public init(_ left: Expression, _ right: Expression) {
        self.left = left
        self.right = right
    }
}

public struct SortKey: Sendable, Equatable {
    public var expression: Expression
    public var descending: Bool
    /// DuckDB's default: NULLS LAST for ascending and descending alike.
    public var nullsFirst: Bool
    public init(_ expression: Expression, descending: Bool = false, nullsFirst: Bool = false) {
        self.expression = expression
        self.descending = descending
        self.nullsFirst = nullsFirst
    }
}
