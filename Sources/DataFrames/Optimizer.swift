import Columns

/// Rewrites a plan into an equivalent cheaper one:
/// - constant folding (expressions without columns are evaluated once);
/// - predicate pushdown: each conjunct of a filter moves below projections and into the join side
///   it reads, equalities across the two sides of a cross/inner join become hash-join keys, and
///   whatever reaches a scan is evaluated by the scan;
/// - projection pushdown: scans read only the columns something above uses.
public enum Optimizer {
    public static func optimize(_ plan: LogicalPlan) -> LogicalPlan {
        let pushed = pushFilters(fold(plan))
        let all = Set(0..<pushed.schema.count)
        return prune(pushed, required: all).plan
    }

    // MARK: constant folding

    static func fold(_ plan: LogicalPlan) -> LogicalPlan {
        switch plan {
        case .scan(let source, let columns, let filter): return .scan(source, columns: columns, filter: filter.map(fold))
        case .values: return plan
        case .filter(let input, let predicate): return .filter(fold(input), fold(predicate))
        case .project(let input, let expressions):
            return .project(fold(input), expressions.map { NamedExpression(fold($0.expression), name: $0.name) })
        case .aggregate(let input, let keys, let aggregates):
            return .aggregate(fold(input), keys: keys.map { NamedExpression(fold($0.expression), name: $0.name) }, aggregates: aggregates)
        case .join(let left, let right, let kind, let keys, let residual):
            return .join(fold(left), fold(right), kind, on: keys, residual: residual.map(fold))
        case .sort(let input, let keys, let limit): return .sort(fold(input), keys, limit: limit)
        case .limit(let input, let offset, let count): return .limit(fold(input), offset: offset, count: count)
        case .distinct(let input): return .distinct(fold(input))
        case .union(let inputs, let all): return .union(inputs.map(fold), all: all)
        case .rowNumber(let input, let partition, let order, let name):
            return .rowNumber(fold(input), partition: partition, order: order, name: name)
        }
    }

    public static func fold(_ expression: Expression) -> Expression {
        if case .literal = expression { return expression }
        guard expression.columnsUsed.isEmpty else { return expression }
        if case .function(.currentDate, _, _) = expression { return expression }
        let one = RecordBatch(schema: Schema([]), columns: [], rowCount: 1)
        guard let column = try? ExpressionEvaluator.evaluate(expression, one), column.count == 1 else { return expression }
        return .literal(column.value(at: 0), expression.type)
    }

    // MARK: predicate pushdown

    static func pushFilters(_ plan: LogicalPlan) -> LogicalPlan {
        switch plan {
        case .filter(let input, let predicate):
            return push(predicate.conjuncts, into: pushFilters(input))
        case .scan, .values: return plan
        case .project(let input, let expressions): return .project(pushFilters(input), expressions)
        case .aggregate(let input, let keys, let aggregates): return .aggregate(pushFilters(input), keys: keys, aggregates: aggregates)
        case .join(let left, let right, let kind, let keys, let residual):
            let join = LogicalPlan.join(pushFilters(left), pushFilters(right), kind, on: keys, residual: nil)
            guard let residual, kind == .inner || kind == .cross else {
                return .join(pushFilters(left), pushFilters(right), kind, on: keys, residual: residual)
            }
            return push(residual.conjuncts, into: join)
        case .sort(let input, let keys, let limit): return .sort(pushFilters(input), keys, limit: limit)
        case .limit(let input, let offset, let count): return .limit(pushFilters(input), offset: offset, count: count)
        case .distinct(let input): return .distinct(pushFilters(input))
        case .union(let inputs, let all): return .union(inputs.map(pushFilters), all: all)
        case .rowNumber(let input, let partition, let order, let name):
            return .rowNumber(pushFilters(input), partition: partition, order: order, name: name)
        }
    }

    /// Places each conjunct as low as it can go over `plan` (already pushed below).
    static func push(_ conjuncts: [Expression], into plan: LogicalPlan) -> LogicalPlan {
        guard !conjuncts.isEmpty else { return plan }
        switch plan {
        case .scan(let source, let columns, let filter):
            let merged = (filter.map { $0.conjuncts } ?? []) + conjuncts
            return .scan(source, columns: columns, filter: Expression.conjunction(merged))
        case .filter(let input, let predicate):
            return push(predicate.conjuncts + conjuncts, into: input)
        case .project(let input, let expressions):
            // A conjunct over plain column references moves below; others stay above.
            var below: [Expression] = [], above: [Expression] = []
            for conjunct in conjuncts {
                var sources: [Int: Int] = [:]
                var simple = true
                for index in conjunct.columnsUsed {
                    if case .column(let source, _, _) = expressions[index].expression { sources[index] = source } else { simple = false }
                }
                if simple { below.append(conjunct.remapColumns { sources[$0]! }) } else { above.append(conjunct) }
            }
            let pushed = LogicalPlan.project(push(below, into: input), expressions)
            return above.isEmpty ? pushed : .filter(pushed, Expression.conjunction(above)!)
        case .join(let left, let right, let kind, let keys, let residual) where kind == .inner || kind == .cross:
            let leftWidth = left.schema.count
            var leftSide: [Expression] = [], rightSide: [Expression] = [], both: [Expression] = []
            var newKeys = keys
            for conjunct in conjuncts {
                let used = conjunct.columnsUsed
                if used.allSatisfy({ $0 < leftWidth }) {
                    leftSide.append(conjunct)
                } else if used.allSatisfy({ $0 >= leftWidth }) {
                    rightSide.append(conjunct.remapColumns { $0 - leftWidth })
                } else if case .binary(.equal, let a, let b) = conjunct, let key = equiKey(a, b, leftWidth: leftWidth) {
                    newKeys.append(key)
                } else {
                    both.append(conjunct)
                }
            }
            let residualParts = (residual.map { $0.conjuncts } ?? []) + both
            return .join(
                push(leftSide, into: left), push(rightSide, into: right), newKeys.isEmpty ? kind : .inner, on: newKeys,
                residual: Expression.conjunction(residualParts))
        case .join(let left, let right, let kind, let keys, let residual) where kind == .left || kind == .semi || kind == .anti:
            // Conditions on the preserved (left) side only may move into it.
            let leftWidth = left.schema.count
            let (leftSide, rest) = conjuncts.partitioned { $0.columnsUsed.allSatisfy { $0 < leftWidth } }
            let join = LogicalPlan.join(push(leftSide, into: left), right, kind, on: keys, residual: residual)
            return rest.isEmpty ? join : .filter(join, Expression.conjunction(rest)!)
        case .sort(let input, let keys, nil):
            return .sort(push(conjuncts, into: input), keys, limit: nil)
        case .aggregate(let input, let keys, let aggregates):
            // Conditions on group keys that are plain columns filter rows before grouping.
            var below: [Expression] = [], above: [Expression] = []
            for conjunct in conjuncts {
                var sources: [Int: Int] = [:]
                var simple = true
                for index in conjunct.columnsUsed {
                    if index < keys.count, case .column(let source, _, _) = keys[index].expression {
                        sources[index] = source
                    } else {
                        simple = false
                    }
                }
                if simple { below.append(conjunct.remapColumns { sources[$0]! }) } else { above.append(conjunct) }
            }
            let pushed = LogicalPlan.aggregate(push(below, into: input), keys: keys, aggregates: aggregates)
            return above.isEmpty ? pushed : .filter(pushed, Expression.conjunction(above)!)
        default:
            return .filter(plan, Expression.conjunction(conjuncts)!)
        }
    }

    /// `a = b` as a hash-join key when one side reads only the left input and the other only the right.
    public static func equiKey(_ a: Expression, _ b: Expression, leftWidth: Int) -> EquiKey? {
        let aUsed = a.columnsUsed, bUsed = b.columnsUsed
        guard !aUsed.isEmpty, !bUsed.isEmpty else { return nil }
        if aUsed.allSatisfy({ $0 < leftWidth }) && bUsed.allSatisfy({ $0 >= leftWidth }) {
            return EquiKey(a, b.remapColumns { $0 - leftWidth })
        }
        if bUsed.allSatisfy({ $0 < leftWidth }) && aUsed.allSatisfy({ $0 >= leftWidth }) {
            return EquiKey(b, a.remapColumns { $0 - leftWidth })
        }
        return nil
    }

    // MARK: projection pushdown

    /// The plan producing at least the `required` output columns, and where each old output
    /// column now is (only required ones are guaranteed).
    static func prune(_ plan: LogicalPlan, required: Set<Int>) -> (plan: LogicalPlan, mapping: [Int: Int]) {
        switch plan {
        case .scan(let source, let columns, let filter):
            var keep = required
            // Columns only the filter reads are scanned too; the scan drops them after filtering.
            let filterColumns = filter?.columnsUsed ?? []
            keep.formUnion(filterColumns)
            if keep.isEmpty && !columns.isEmpty { keep = [0] }
            let kept = columns.indices.filter { keep.contains($0) }
            var mapping: [Int: Int] = [:]
            for (position, old) in kept.enumerated() { mapping[old] = position }
            let scan = LogicalPlan.scan(source, columns: kept.map { columns[$0] }, filter: filter?.remapColumns { mapping[$0]! })
            if filterColumns.isSubset(of: required) || filter == nil { return (scan, mapping) }
            // Drop filter-only columns right after the scan.
            let outputs = kept.enumerated().filter { required.contains($0.element) || required.isEmpty && $0.offset == 0 }
            var outer: [Int: Int] = [:]
            var expressions: [NamedExpression] = []
            let schema = scan.schema
            for (newPosition, (scanPosition, old)) in outputs.enumerated() {
                outer[old] = newPosition
                expressions.append(
                    NamedExpression(
                        .column(index: scanPosition, name: schema.fields[scanPosition].name, type: schema.fields[scanPosition].type),
                        name: schema.fields[scanPosition].name))
            }
            return (.project(scan, expressions), outer)
        case .values:
            return (plan, Dictionary(uniqueKeysWithValues: (0..<plan.schema.count).map { ($0, $0) }))
        case .filter(let input, let predicate):
            let (child, mapping) = prune(input, required: required.union(predicate.columnsUsed))
            return (.filter(child, predicate.remapColumns { mapping[$0]! }), mapping)
        case .project(let input, let expressions):
            let kept = expressions.indices.filter { required.contains($0) }
            let needed = kept.reduce(into: Set<Int>()) { $0.formUnion(expressions[$1].expression.columnsUsed) }
            let (child, mapping) = prune(input, required: needed.isEmpty ? [] : needed)
            var outer: [Int: Int] = [:]
            for (position, old) in kept.enumerated() { outer[old] = position }
            let rewritten = kept.map {
                NamedExpression(expressions[$0].expression.remapColumns { mapping[$0]! }, name: expressions[$0].name)
            }
            // Keep at least one column so the row count survives (SELECT count(*) FROM (SELECT a …)).
            if rewritten.isEmpty, let first = expressions.first {
                let (fullChild, fullMapping) = prune(input, required: first.expression.columnsUsed)
                return (
                    .project(fullChild, [NamedExpression(first.expression.remapColumns { fullMapping[$0]! }, name: first.name)]), [0: 0]
                )
            }
            return (.project(child, rewritten), outer)
        case .aggregate(let input, let keys, let aggregates):
            var needed = Set<Int>()
            for key in keys { needed.formUnion(key.expression.columnsUsed) }
            for aggregate in aggregates { for argument in aggregate.call.arguments { needed.formUnion(argument.columnsUsed) } }
            let (child, mapping) = prune(input, required: needed)
            let newKeys = keys.map { NamedExpression($0.expression.remapColumns { mapping[$0]! }, name: $0.name) }
            let newAggregates = aggregates.map { aggregate -> NamedAggregate in
                var call = aggregate.call
                call.arguments = call.arguments.map { $0.remapColumns { mapping[$0]! } }
                return NamedAggregate(call, name: aggregate.name)
            }
            return (.aggregate(child, keys: newKeys, aggregates: newAggregates), identity(plan.schema.count))
        case .join(let left, let right, let kind, let keys, let residual):
            let leftWidth = left.schema.count
            var leftNeeded = Set(required.filter { $0 < leftWidth })
            var rightNeeded = Set(required.filter { $0 >= leftWidth }.map { $0 - leftWidth })
            for key in keys {
                leftNeeded.formUnion(key.left.columnsUsed)
                rightNeeded.formUnion(key.right.columnsUsed)
            }
            for index in residual?.columnsUsed ?? [] {
                if index < leftWidth { leftNeeded.insert(index) } else { rightNeeded.insert(index - leftWidth) }
            }
            let (newLeft, leftMapping) = prune(left, required: leftNeeded)
            let (newRight, rightMapping) = prune(right, required: rightNeeded)
            let newLeftWidth = newLeft.schema.count
            var mapping: [Int: Int] = [:]
            for (old, new) in leftMapping { mapping[old] = new }
            for (old, new) in rightMapping { mapping[old + leftWidth] = new + newLeftWidth }
            let newKeys = keys.map { EquiKey($0.left.remapColumns { leftMapping[$0]! }, $0.right.remapColumns { rightMapping[$0]! }) }
            let join = LogicalPlan.join(newLeft, newRight, kind, on: newKeys, residual: residual?.remapColumns { mapping[$0]! })
            return (join, mapping)
        case .sort(let input, let keys, let limit):
            let needed = keys.reduce(into: required) { $0.formUnion($1.expression.columnsUsed) }
            let (child, mapping) = prune(input, required: needed)
            let newKeys = keys.map {
                SortKey($0.expression.remapColumns { mapping[$0]! }, descending: $0.descending, nullsFirst: $0.nullsFirst)
            }
            return (.sort(child, newKeys, limit: limit), mapping)
        case .limit(let input, let offset, let count):
            let (child, mapping) = prune(input, required: required)
            return (.limit(child, offset: offset, count: count), mapping)
        case .rowNumber(let input, let partition, let order, let name):
            let width = input.schema.count
            var needed = Set(required.filter { $0 < width })
            for expression in partition { needed.formUnion(expression.columnsUsed) }
            for key in order { needed.formUnion(key.expression.columnsUsed) }
            let (child, mapping) = prune(input, required: needed)
            var outer = mapping
            outer[width] = child.schema.count
            return (
                .rowNumber(
                    child, partition: partition.map { $0.remapColumns { mapping[$0]! } },
                    order: order.map {
                        SortKey($0.expression.remapColumns { mapping[$0]! }, descending: $0.descending, nullsFirst: $0.nullsFirst)
                    },
                    name: name),
                outer
            )
        case .distinct, .union:
            // Every column takes part in the comparison: nothing below can be dropped.
            let all = Set(0..<plan.schema.count)
            switch plan {
            case .distinct(let input): return (.distinct(prune(input, required: all).plan), identity(plan.schema.count))
            case .union(let inputs, let isAll):
                return (.union(inputs.map { prune($0, required: all).plan }, all: isAll), identity(plan.schema.count))
            default: return (plan, identity(plan.schema.count))
            }
        }
    }

    static func identity(_ count: Int) -> [Int: Int] { Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, $0) }) }
}

extension Array {
    func partitioned(_ belongs: (Element) -> Bool) -> ([Element], [Element]) {
        var yes: [Element] = [], no: [Element] = []
        for element in self { if belongs(element) { yes.append(element) } else { no.append(element) } }
        return (yes, no)
    }
}
