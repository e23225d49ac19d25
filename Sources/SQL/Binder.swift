import CSV
import Columns
import DataFrames

/// The columns visible at one point of a query: each with the table (alias) it came from.
struct Scope {
    struct Column {
        var qualifier: String?
        var name: String
        var type: DataType
        /// The right side's USING columns: reachable by qualifier, not by `*` or a bare name.
        var hidden = false
    }
    var columns: [Column]

    var schema: Schema { Schema(columns.map { Field($0.name, $0.type) }) }

    func resolve(_ qualifier: String?, _ name: String, at range: SourceRange) throws(SQLError) -> Int {
        let folded = name.lowercased(), folder = qualifier?.lowercased()
        let matches = columns.indices.filter { index in
            let column = columns[index]
            guard column.name.lowercased() == folded else { return false }
            if let folder { return column.qualifier?.lowercased() == folder }
            return !column.hidden
        }
        if matches.count == 1 { return matches[0] }
        let shown = (qualifier.map { $0 + "." } ?? "") + name
        if matches.count > 1 {
            throw SQLError(
                "column \"\(shown)\" is ambiguous: it is in \(matches.compactMap { columns[$0].qualifier }.joined(separator: " and ")); qualify it",
                at: range)
        }
        if let folder, !columns.contains(where: { $0.qualifier?.lowercased() == folder }) {
            throw SQLError("unknown table \"\(qualifier!)\" in \"\(shown)\"", at: range)
        }
        let candidates = columns.filter { folder == nil || $0.qualifier?.lowercased() == folder }.map(\.name)
        let hint = NameSuggestion.nearest(to: name, among: candidates).map { "; did you mean \"\($0)\"?" } ?? ""
        throw SQLError("unknown column \"\(shown)\"\(hint)", at: range)
    }
}

/// Turns parsed queries into logical plans: names resolved against the FROM clause's scope, types
/// checked through DataFrames' `ExpressionBuilder`, aggregates and window functions lifted into
/// their own operators, uncorrelated subqueries run once and replaced by their values.
struct Binder {
    let session: SQLSession
    var commonTables: [String: (LogicalPlan, Scope)] = [:]

    init(session: SQLSession) { self.session = session }

    func bind(_ query: Query) throws(SQLError) -> LogicalPlan { try bindQuery(query).0 }

    // MARK: queries

    func bindQuery(_ query: Query) throws(SQLError) -> (LogicalPlan, Scope) {
        var binder = self
        for common in query.with {
            let (plan, scope) = try binder.bindQuery(common.query)
            var renamed = scope
            if !common.columns.isEmpty {
                guard common.columns.count <= scope.columns.count else {
                    throw SQLError(
                        "WITH \(common.name) names \(common.columns.count) columns but its query has \(scope.columns.count)",
                        at: common.range)
                }
                for (index, name) in common.columns.enumerated() { renamed.columns[index].name = name }
            }
            binder.commonTables[common.name.lowercased()] = (rename(plan, renamed), renamed)
        }
        // ORDER BY may name columns the SELECT does not output (simple queries only).
        let (plan, scope, hidden) = try binder.bindBody(query.body, extraOrder: query.orderBy.map(\.expression))
        var result = plan
        if !query.orderBy.isEmpty {
            var keys: [SortKey] = []
            var hiddenIndex = 0
            for item in query.orderBy {
                let expression: Expression
                if let bound = try? binder.bindOrderItem(item.expression, scope: scope) {
                    expression = bound
                } else if hiddenIndex < hidden {
                    expression = ExpressionBuilder.column(scope.columns.count + hiddenIndex, in: result.schema)
                    hiddenIndex += 1
                } else {
                    expression = try binder.bindOrderItem(item.expression, scope: scope)
                }
                keys.append(SortKey(expression, descending: item.descending, nullsFirst: item.nullsFirst ?? false))
            }
            result = .sort(result, keys, limit: nil)
        }
        if hidden > 0 {
            let visible = Schema(Array(result.schema.fields.prefix(scope.columns.count)))
            result = .project(
                result,
                visible.fields.indices.map { NamedExpression(ExpressionBuilder.column($0, in: visible), name: visible.fields[$0].name) })
        }
        if query.limit != nil || query.offset != nil {
            let count = try query.limit.map { expression throws(SQLError) in try binder.constantInteger(expression, "LIMIT") }
            let offset = try query.offset.map { expression throws(SQLError) in try binder.constantInteger(expression, "OFFSET") } ?? 0
            if case .sort(let input, let keys, nil) = result, let count, offset == 0 {
                result = .sort(input, keys, limit: count)
            } else {
                result = .limit(result, offset: offset, count: count)
            }
        }
        return (result, scope)
    }

    func constantInteger(_ syntax: SyntaxExpression, _ clause: String) throws(SQLError) -> Int {
        let bound = Optimizer.fold(try bindExpression(syntax, Scope(columns: []), nil))
        guard case .literal(.integer(let value), _) = bound, value >= 0 else {
            throw SQLError("\(clause) expects a non-negative integer constant", at: syntax.range)
        }
        return Int(value)
    }

    func bindOrderItem(_ syntax: SyntaxExpression, scope: Scope) throws(SQLError) -> Expression {
        if case .literal(.integer(let position)) = syntax.node {
            guard position >= 1 && position <= scope.columns.count else {
                throw SQLError("ORDER BY position \(position) is not in the select list (1…\(scope.columns.count))", at: syntax.range)
            }
            return ExpressionBuilder.column(Int(position) - 1, in: scope.schema)
        }
        return try bindExpression(syntax, scope, nil)
    }

    /// A plan whose output columns carry the scope's names.
    func rename(_ plan: LogicalPlan, _ scope: Scope) -> LogicalPlan {
        let schema = plan.schema
        guard schema.names != scope.columns.map(\.name) else { return plan }
        return .project(
            plan, schema.fields.indices.map { NamedExpression(ExpressionBuilder.column($0, in: schema), name: scope.columns[$0].name) })
    }

    func bindBody(_ body: QueryBody, extraOrder: [SyntaxExpression]) throws(SQLError) -> (LogicalPlan, Scope, Int) {
        switch body {
        case .select(let core): return try bindSelect(core, extraOrder: extraOrder)
        case .nested(let query):
            let (plan, scope) = try bindQuery(query)
            return (plan, scope, 0)
        case .union(let left, let right, let all):
            let (leftPlan, leftScope, _) = try bindBody(left, extraOrder: [])
            let (rightPlan, rightScope, _) = try bindBody(right, extraOrder: [])
            guard leftScope.columns.count == rightScope.columns.count else {
                throw SQLError("UNION: the left query has \(leftScope.columns.count) columns, the right \(rightScope.columns.count)")
            }
            var types: [DataType] = []
            for (a, b) in zip(leftScope.columns, rightScope.columns) {
                let common = DataType.common(a.type, b.type)
                types.append(common)
            }
            func aligned(_ plan: LogicalPlan, _ scope: Scope) throws(SQLError) -> LogicalPlan {
                let schema = plan.schema
                guard schema.fields.map(\.type) != types else { return rename(plan, leftScope) }
                var expressions: [NamedExpression] = []
                for index in schema.fields.indices {
                    do {
                        expressions.append(
                            NamedExpression(
                                try ExpressionBuilder.cast(ExpressionBuilder.column(index, in: schema), to: types[index]),
                                name: leftScope.columns[index].name))
                    } catch {
                        throw SQLError("UNION: \(error)")
                    }
                }
                return .project(plan, expressions)
            }
            let scope = Scope(columns: zip(leftScope.columns, types).map { Scope.Column(qualifier: nil, name: $0.name, type: $1) })
            return (.union([try aligned(leftPlan, leftScope), try aligned(rightPlan, rightScope)], all: all), scope, 0)
        }
    }

    // MARK: SELECT

    func bindSelect(_ core: SelectCore, extraOrder: [SyntaxExpression]) throws(SQLError) -> (LogicalPlan, Scope, Int) {
        var (plan, scope) = try bindFrom(core.from)
        if let filter = core.filter {
            if containsAggregate(filter) { throw SQLError("aggregates are not allowed in WHERE; use HAVING", at: filter.range) }
            let predicate = try bindExpression(filter, scope, nil)
            guard predicate.type == .boolean else {
                throw SQLError("WHERE expects a BOOLEAN condition, got \(predicate.type)", at: filter.range)
            }
            plan = .filter(plan, predicate)
        }
        // Select items, with * expanded.
        var items: [(SyntaxExpression?, Int?, String)] = []  // (expression, or a scope column; its output name)
        for item in core.items {
            switch item {
            case .all(let qualifier, let range):
                let picked = scope.columns.indices.filter { index in
                    let column = scope.columns[index]
                    if let qualifier { return column.qualifier?.lowercased() == qualifier.lowercased() }
                    return !column.hidden
                }
                if picked.isEmpty { throw SQLError(qualifier.map { "no table \"\($0)\" in FROM" } ?? "SELECT * with no FROM", at: range) }
                for index in picked { items.append((nil, index, scope.columns[index].name)) }
            case .expression(let syntax, let alias):
                items.append((syntax, nil, alias ?? defaultName(syntax)))
            }
        }
        let aggregating =
            !core.groupBy.isEmpty || core.groupByAll || core.having.map(containsAggregate) == true
            || items.contains { $0.0.map(containsAggregate) ?? false }
        var outputs: [NamedExpression] = []
        var outputScope: [Scope.Column] = []
        var hidden = 0
        if aggregating {
            // Group keys: expressions, select aliases, or select positions.
            var keySyntax: [SyntaxExpression] = []
            if core.groupByAll {
                keySyntax = items.compactMap { item in
                    if let index = item.1 {
                        return SyntaxExpression(.column(qualifier: scope.columns[index].qualifier, name: scope.columns[index].name), .none)
                    }
                    return containsAggregate(item.0!) ? nil : item.0
                }
            } else {
                for key in core.groupBy {
                    if case .literal(.integer(let position)) = key.node {
                        guard position >= 1, position <= items.count, let syntax = items[Int(position) - 1].0 else {
                            throw SQLError("GROUP BY position \(position) is not an expression of the select list", at: key.range)
                        }
                        keySyntax.append(syntax)
                    } else if case .column(nil, let name) = key.node, (try? scope.resolve(nil, name, at: key.range)) == nil,
                        let aliased = items.first(where: { $0.2.lowercased() == name.lowercased() && $0.0 != nil })
                    {
                        keySyntax.append(aliased.0!)
                    } else {
                        keySyntax.append(key)
                    }
                }
            }
            let context = AggregateContext(scope: scope)
            for key in keySyntax {
                if containsAggregate(key) { throw SQLError("aggregates are not allowed in GROUP BY", at: key.range) }
                let bound = try bindExpression(key, scope, nil)
                if !context.keys.contains(where: { $0.expression == bound }) {
                    context.keys.append(NamedExpression(bound, name: defaultName(key)))
                }
            }
            for (syntax, column, name) in items {
                let syntax =
                    syntax
                    ?? SyntaxExpression(.column(qualifier: scope.columns[column!].qualifier, name: scope.columns[column!].name), .none)
                outputs.append(NamedExpression(try bindExpression(syntax, scope, context), name: name))
            }
            var having: Expression?
            if let condition = core.having {
                having = try bindExpression(condition, scope, context)
                guard having!.type == .boolean else { throw SQLError("HAVING expects a BOOLEAN condition", at: condition.range) }
            }
            plan = .aggregate(plan, keys: context.keys, aggregates: context.aggregates)
            if let having { plan = .filter(plan, having) }
            outputScope = outputs.map { Scope.Column(qualifier: nil, name: $0.name, type: $0.expression.type) }
            // ORDER BY over the aggregate's output (keys and aggregates not selected).
            for syntax in extraOrder where !canBindOverOutput(syntax, items: items) {
                if let bound = try? bindExpression(syntax, scope, context) {
                    outputs.append(NamedExpression(bound, name: "#order\(hidden)"))
                    hidden += 1
                }
            }
            plan = .project(plan, outputs)
        } else {
            // Window functions become a row_number column under the projection.
            var windowed = scope
            for (syntax, column, name) in items {
                if let column {
                    outputs.append(NamedExpression(ExpressionBuilder.column(column, in: scope.schema), name: name))
                    continue
                }
                outputs.append(NamedExpression(try bindWindowed(syntax!, &plan, &windowed), name: name))
            }
            outputScope = outputs.map { Scope.Column(qualifier: nil, name: $0.name, type: $0.expression.type) }
            if !core.distinct {
                for syntax in extraOrder where !canBindOverOutput(syntax, items: items) {
                    if let bound = try? bindExpression(syntax, windowed, nil) {
                        outputs.append(NamedExpression(bound, name: "#order\(hidden)"))
                        hidden += 1
                    }
                }
            }
            plan = .project(plan, outputs)
        }
        if core.distinct { plan = .distinct(plan) }
        return (plan, Scope(columns: outputScope), hidden)
    }

    /// Whether an ORDER BY item names an output column (alias, position) rather than an input one.
    func canBindOverOutput(_ syntax: SyntaxExpression, items: [(SyntaxExpression?, Int?, String)]) -> Bool {
        if case .literal(.integer) = syntax.node { return true }
        let names = items.map { $0.2 }
        let scope = Scope(columns: names.map { Scope.Column(qualifier: nil, name: $0, type: .int64) })
        return (try? bindExpression(syntax, scope, nil)) != nil
    }

    func bindWindowed(_ syntax: SyntaxExpression, _ plan: inout LogicalPlan, _ scope: inout Scope) throws(SQLError) -> Expression {
        if case .call(let name, let arguments, _, let window?) = syntax.node {
            guard name.lowercased() == "row_number", arguments.isEmpty else {
                throw SQLError("window function \(name)() is not supported (row_number() is)", at: syntax.range)
            }
            let partition = try window.partitionBy.map { expression throws(SQLError) in try bindExpression(expression, scope, nil) }
            let order = try window.orderBy.map { item throws(SQLError) in
                SortKey(try bindExpression(item.expression, scope, nil), descending: item.descending, nullsFirst: item.nullsFirst ?? false)
            }
            let name = "#row_number\(scope.columns.count)"
            plan = .rowNumber(plan, partition: partition, order: order, name: name)
            scope.columns.append(Scope.Column(qualifier: nil, name: name, type: .int64, hidden: true))
            return ExpressionBuilder.column(scope.columns.count - 1, in: scope.schema)
        }
        return try bindExpression(syntax, scope, nil)
    }

    func defaultName(_ syntax: SyntaxExpression) -> String {
        switch syntax.node {
        case .column(_, let name): return name
        case .call(let name, let arguments, let distinct, _):
            let inner = arguments.map(defaultName).joined(separator: ", ")
            if arguments.count == 1, case .star = arguments[0].node { return "count_star()" }
            return "\(name)(\(distinct ? "DISTINCT " : "")\(inner))"
        case .literal(let value): return value.description
        case .binary(let op, let left, let right): return "(\(defaultName(left)) \(op) \(defaultName(right)))"
        case .cast(let inner, let type): return "CAST(\(defaultName(inner)) AS \(type))"
        default: return "expr"
        }
    }

    func containsAggregate(_ syntax: SyntaxExpression) -> Bool {
        switch syntax.node {
        case .call(let name, let arguments, _, let window):
            if window == nil && ExpressionBuilder.isAggregate(name) { return true }
            return arguments.contains(where: containsAggregate)
        case .unary(_, let operand), .isNull(let operand, _), .cast(let operand, _): return containsAggregate(operand)
        case .binary(_, let a, let b), .isDistinct(let a, let b, _), .like(let a, let b, _, _):
            return containsAggregate(a) || containsAggregate(b)
        case .inList(let a, let items, _): return containsAggregate(a) || items.contains(where: containsAggregate)
        case .between(let a, let b, let c, _): return containsAggregate(a) || containsAggregate(b) || containsAggregate(c)
        case .caseWhen(let operand, let branches, let otherwise):
            return (operand.map(containsAggregate) ?? false) || branches.contains { containsAggregate($0.0) || containsAggregate($0.1) }
                || (otherwise.map(containsAggregate) ?? false)
        case .inQuery(let a, _, _): return containsAggregate(a)
        default: return false
        }
    }
}

/// Group keys and aggregates collected while binding the expressions above a GROUP BY.
final class AggregateContext {
    let scope: Scope
    var keys: [NamedExpression] = []
    var aggregates: [NamedAggregate] = []
    init(scope: Scope) { self.scope = scope }

    /// Output position of an aggregate, added when new.
    func position(of call: AggregateCall, name: String) -> Int {
        if let existing = aggregates.firstIndex(where: { $0.call == call }) { return keys.count + existing }
        aggregates.append(NamedAggregate(call, name: name))
        return keys.count + aggregates.count - 1
    }

    var outputSchema: Schema {
        Schema(keys.map { Field($0.name, $0.expression.type) } + aggregates.map { Field($0.name, $0.call.type) })
    }
}
