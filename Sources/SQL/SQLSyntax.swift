import Columns

/// The parsed form of a SQL statement: structure and source positions only; names are resolved
/// by the binder.
public indirect enum Statement: Sendable {
    case query(Query)
    case explain(Statement)
    case copy(Query, path: String, options: [String: SyntaxExpression])
    case createTableAs(name: String, Query)
}

public struct Query: Sendable {
    public var with: [CommonTableExpression] = []
    public var body: QueryBody
    public var orderBy: [OrderItem] = []
    public var limit: SyntaxExpression?
    public var offset: SyntaxExpression?
}

public struct CommonTableExpression: Sendable {
    public var name: String
    public var columns: [String]
    public var query: Query
    public var range: SourceRange
}

public indirect enum QueryBody: Sendable {
    case select(SelectCore)
    case union(QueryBody, QueryBody, all: Bool)
    case nested(Query)
}

public struct SelectCore: Sendable {
    public var distinct = false
    public var items: [SelectItem] = []
    public var from: [TableReference] = []
    public var filter: SyntaxExpression?
    public var groupBy: [SyntaxExpression] = []
    public var groupByAll = false
    public var having: SyntaxExpression?
}

public enum SelectItem: Sendable {
    case all(qualifier: String?, range: SourceRange)
    case expression(SyntaxExpression, alias: String?)
}

public struct OrderItem: Sendable {
    public var expression: SyntaxExpression
    public var descending: Bool
    public var nullsFirst: Bool?
}

public indirect enum TableReference: Sendable {
    case table(name: String, alias: TableAlias?, range: SourceRange)
    case file(path: String, alias: TableAlias?, range: SourceRange)
    case function(name: String, arguments: [SyntaxExpression], named: [String: SyntaxExpression], alias: TableAlias?, range: SourceRange)
    case subquery(Query, alias: TableAlias?, range: SourceRange)
    case join(TableReference, TableReference, kind: JoinSyntax, condition: JoinCondition?, range: SourceRange)
}

public struct TableAlias: Sendable {
    public var name: String
    public var columns: [String]
}

public enum JoinSyntax: String, Sendable {
    case inner, left, right, full, cross, semi, anti
}

public enum JoinCondition: Sendable {
    case on(SyntaxExpression)
    case using([String], SourceRange)
}

public struct WindowSpecification: Sendable {
    public var partitionBy: [SyntaxExpression]
    public var orderBy: [OrderItem]
}

/// An expression as written, with where it was written.
public struct SyntaxExpression: Sendable {
    public var node: SyntaxNode
    public var range: SourceRange
    public init(_ node: SyntaxNode, _ range: SourceRange) {
        self.node = node
        self.range = range
    }
}

public indirect enum SyntaxNode: Sendable {
    case literal(Value)
    case typedLiteral(DataType, String)
    case column(qualifier: String?, name: String)
    case star
    case unary(String, SyntaxExpression)
    case binary(String, SyntaxExpression, SyntaxExpression)
    case isNull(SyntaxExpression, negated: Bool)
    case isDistinct(SyntaxExpression, SyntaxExpression, negated: Bool)
    case inList(SyntaxExpression, [SyntaxExpression], negated: Bool)
    case inQuery(SyntaxExpression, Query, negated: Bool)
    case between(SyntaxExpression, SyntaxExpression, SyntaxExpression, negated: Bool)
    case like(SyntaxExpression, SyntaxExpression, caseInsensitive: Bool, negated: Bool)
    case caseWhen(operand: SyntaxExpression?, branches: [(SyntaxExpression, SyntaxExpression)], otherwise: SyntaxExpression?)
    case cast(SyntaxExpression, DataType)
    case call(name: String, arguments: [SyntaxExpression], distinct: Bool, window: WindowSpecification?)
    case subquery(Query)
    case exists(Query, negated: Bool)
}
