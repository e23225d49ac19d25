import Columns
import DataFrames

/// Expressions: column names resolved in a scope, operators and functions typed by
/// `ExpressionBuilder`. Above a GROUP BY (`context` given) a group key's expression becomes a
/// reference to the key, an aggregate call a reference to its result, and any other column is an
/// error. Uncorrelated subqueries run once, here, and become constants.
extension Binder {
    func bindExpression(_ syntax: SyntaxExpression, _ scope: Scope, _ context: AggregateContext?) throws(SQLError) -> Expression {
        do {
            return try bind(syntax, scope, context)
        } catch let error as SQLError {
            throw error
        } catch let error as QueryError {
            throw SQLError(error.message, at: syntax.range)
        } catch {
            throw SQLError("\(error)", at: syntax.range)
        }
    }

    private func bind(_ syntax: SyntaxExpression, _ scope: Scope, _ context: AggregateContext?) throws -> Expression {
        if let context {
            // A whole group key (or an expression of keys only) refers to the key.
            if !containsAggregate(syntax), let bound = try? bind(syntax, scope, nil) {
                if let key = context.keys.firstIndex(where: { $0.expression == bound }) {
                    return ExpressionBuilder.column(key, in: context.outputSchema)
                }
                if bound.columnsUsed.isEmpty { return bound }
            }
        }
        let recurse = { (child: SyntaxExpression) throws -> Expression in try self.bind(child, scope, context) }
        switch syntax.node {
        case .literal(let value):
            return ExpressionBuilder.literal(value)
        case .typedLiteral(let type, let text):
            return try ExpressionBuilder.cast(ExpressionBuilder.literal(.string(text)), to: type)
        case .column(let qualifier, let name):
            let index = try scope.resolve(qualifier, name, at: syntax.range)
            if context != nil {
                throw SQLError("column \"\(name)\" must be in GROUP BY or inside an aggregate such as any_value(\(name))", at: syntax.range)
            }
            return ExpressionBuilder.column(index, in: scope.schema)
        case .star:
            throw SQLError("* is only allowed in SELECT * and count(*)", at: syntax.range)
        case .unary(let op, let operand):
            return op == "NOT" ? try ExpressionBuilder.not(recurse(operand)) : try ExpressionBuilder.negate(recurse(operand))
        case .binary(let op, let left, let right):
            let operators: [String: BinaryOperator] = [
                "+": .add, "-": .subtract, "*": .multiply, "/": .divide, "%": .modulo, "=": .equal, "<>": .notEqual, "<": .less,
                "<=": .lessOrEqual,
                ">": .greater, ">=": .greaterOrEqual, "AND": .and, "OR": .or, "||": .concatenate,
            ]
            return try ExpressionBuilder.binary(operators[op]!, recurse(left), recurse(right))
        case .isNull(let operand, let negated):
            return ExpressionBuilder.isNull(try recurse(operand), negated: negated)
        case .isDistinct(let left, let right, let negated):
            return try ExpressionBuilder.binary(negated ? .notDistinct : .distinct, recurse(left), recurse(right))
        case .inList(let operand, let items, let negated):
            return try ExpressionBuilder.inList(recurse(operand), items.map(recurse), negated: negated)
        case .inQuery(let operand, let query, let negated):
            let table = try runSubquery(query, at: syntax.range)
            guard table.schema.count == 1 else {
                throw SQLError("IN (SELECT …) must select one column, not \(table.schema.count)", at: syntax.range)
            }
            let values = (0..<table.rowCount).map { ExpressionBuilder.literal(table.value(row: $0, column: 0)) }
            if values.isEmpty { return .literal(.boolean(negated), .boolean) }
            return try ExpressionBuilder.inList(recurse(operand), values, negated: negated)
        case .between(let operand, let low, let high, let negated):
            return try ExpressionBuilder.between(recurse(operand), recurse(low), recurse(high), negated: negated)
        case .like(let operand, let pattern, let insensitive, let negated):
            return try ExpressionBuilder.like(recurse(operand), pattern: recurse(pattern), caseInsensitive: insensitive, negated: negated)
        case .caseWhen(let operand, let branches, let otherwise):
            let subject = try operand.map(recurse)
            let bound = try branches.map { branch -> (Expression, Expression) in
                let condition = try recurse(branch.0)
                return (try subject.map { try ExpressionBuilder.binary(.equal, $0, condition) } ?? condition, try recurse(branch.1))
            }
            return try ExpressionBuilder.caseWhen(bound, otherwise: otherwise.map(recurse))
        case .cast(let operand, let type):
            return try ExpressionBuilder.cast(recurse(operand), to: type)
        case .call(let name, let arguments, let distinct, let window):
            if window != nil { throw SQLError("window functions are allowed in the SELECT list only, not here", at: syntax.range) }
            if ExpressionBuilder.isAggregate(name) {
                guard let context else {
                    throw SQLError("aggregate \(name)() is not allowed here", at: syntax.range)
                }
                if arguments.contains(where: containsAggregate) {
                    throw SQLError("aggregates cannot be nested (\(name)() inside another aggregate)", at: syntax.range)
                }
                let star = arguments.count == 1 && { if case .star = arguments[0].node { true } else { false } }()
                let bound = try star ? [] : arguments.map { try self.bind($0, context.scope, nil) }
                let call = try ExpressionBuilder.aggregate(name, bound, distinct: distinct, star: star)
                let position = context.position(of: call, name: defaultName(syntax))
                return ExpressionBuilder.column(position, in: context.outputSchema)
            }
            if distinct { throw SQLError("DISTINCT is only allowed inside aggregates", at: syntax.range) }
            return try ExpressionBuilder.function(name, arguments.map(recurse))
        case .subquery(let query):
            let table = try runSubquery(query, at: syntax.range)
            guard table.schema.count == 1 else {
                throw SQLError("a scalar subquery must select one column, not \(table.schema.count)", at: syntax.range)
            }
            guard table.rowCount <= 1 else {
                throw SQLError("a scalar subquery returned \(table.rowCount) rows (at most 1 allowed)", at: syntax.range)
            }
            let value = table.rowCount == 0 ? Value.null : table.value(row: 0, column: 0)
            return .literal(value, table.schema.fields[0].type)
        case .exists(let query, let negated):
            let table = try runSubquery(query, at: syntax.range)
            return .literal(.boolean((table.rowCount > 0) != negated), .boolean)
        }
    }

    /// Runs an uncorrelated subquery now (a correlated one fails to bind: its outer columns are unknown inside).
    func runSubquery(_ query: Query, at range: SourceRange) throws(SQLError) -> Table {
        let plan: LogicalPlan
        do {
            plan = try bindQuery(query).0
        } catch {
            throw SQLError("\(error.message) (subqueries cannot refer to the outer query's columns)", at: error.range ?? range)
        }
        return try session.run(plan)
    }
}
