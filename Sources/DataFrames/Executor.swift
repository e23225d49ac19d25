import Columns
import Threading

/// Runs a logical plan on the thread pool: every operator takes its input's batches and returns
/// its output's, each parallel over batches (morsels) or partitions. Scans apply their pushed-down
/// filter and projection batch by batch, so unneeded columns and rows never materialise.
public struct Executor: Sendable {
    public let pool: ThreadPool

    public init(pool: ThreadPool) { self.pool = pool }

    public func run(_ plan: LogicalPlan) throws -> Table {
        let schema = plan.schema
        let batches = try execute(plan).filter { $0.rowCount > 0 }
        return Table(schema: schema, batches: batches.map { RecordBatch(schema: schema, columns: $0.columns, rowCount: $0.rowCount) })
    }

    func execute(_ plan: LogicalPlan) throws -> [RecordBatch] {
        switch plan {
        case .values(let table):
            return table.batches
        case .scan(let source, let columns, let filter):
            let batches = try source.batches(columns: columns, pool: pool)
            guard let filter else { return batches }
            return try pool.morsels(batches.count) { index, _ in try Selection.filter(batches[index], filter) }
        case .filter(.rowNumber(let input, let partition, let order, _), let predicate)
        where TopPerPartition.limit(of: predicate, rowNumberColumn: input.schema.count) != nil:
            // row_number() ≤ k: the k first rows of each partition, without sorting every row.
            let limit = TopPerPartition.limit(of: predicate, rowNumberColumn: input.schema.count)!
            let top = try TopPerPartition.run(
                execute(input), schema: input.schema, partition: partition, order: order, limit: limit, output: plan.schema, pool: pool)
            return [try Selection.filter(top, predicate)]
        case .filter(let input, let predicate):
            let batches = try execute(input)
            return try pool.morsels(batches.count) { index, _ in try Selection.filter(batches[index], predicate) }
        case .project(let input, let expressions):
            let batches = try execute(input)
            let schema = plan.schema
            return try pool.morsels(batches.count) { index, _ in
                let batch = batches[index]
                let columns = try expressions.map { try ExpressionEvaluator.evaluate($0.expression, batch) }
                return RecordBatch(schema: schema, columns: columns, rowCount: batch.rowCount)
            }
        case .aggregate(let input, let keys, let aggregates):
            return try HashAggregation.run(
                try execute(input), keys: keys.map(\.expression), aggregates: aggregates.map(\.call), outputSchema: plan.schema, pool: pool)
        case .distinct(let input):
            let schema = input.schema
            let keys = schema.fields.enumerated().map { Expression.column(index: $0.offset, name: $0.element.name, type: $0.element.type) }
            return try HashAggregation.run(try execute(input), keys: keys, aggregates: [], outputSchema: schema, pool: pool)
        case .join(let leftPlan, let rightPlan, let kind, let keys, let residual):
            let left = try execute(leftPlan), right = try execute(rightPlan)
            if kind == .cross || keys.isEmpty {
                return try NestedLoopJoin.run(left: left, right: right, kind: kind, condition: residual, schema: plan.schema, pool: pool)
            }
            return try HashJoin.run(left: left, right: right, kind: kind, on: keys, residual: residual, schema: plan.schema, pool: pool)
        case .sort(let input, let keys, let limit):
            return [try sort(execute(input), schema: input.schema, keys: keys, limit: limit)]
        case .limit(let input, let offset, let count):
            var remainingOffset = offset
            var remaining = count ?? Int.max
            var output: [RecordBatch] = []
            for batch in try execute(input) where remaining > 0 {
                if remainingOffset >= batch.rowCount {
                    remainingOffset -= batch.rowCount
                    continue
                }
                let end = min(batch.rowCount, remainingOffset + remaining)
                output.append(
                    remainingOffset == 0 && end == batch.rowCount
                        ? batch
                        : RecordBatch(
                            schema: batch.schema, columns: batch.columns.map { $0.slice(remainingOffset..<end) },
                            rowCount: end - remainingOffset))
                remaining -= end - remainingOffset
                remainingOffset = 0
            }
            return output
        case .union(let inputs, let all):
            let schema = plan.schema
            var batches: [RecordBatch] = []
            for input in inputs {
                batches += try execute(input).map { RecordBatch(schema: schema, columns: $0.columns, rowCount: $0.rowCount) }
            }
            if all { return batches }
            let keys = schema.fields.enumerated().map { Expression.column(index: $0.offset, name: $0.element.name, type: $0.element.type) }
            return try HashAggregation.run(batches, keys: keys, aggregates: [], outputSchema: schema, pool: pool)
        case .rowNumber(let input, let partition, let order, _):
            return [try rowNumbers(execute(input), schema: input.schema, partition: partition, order: order, output: plan.schema)]
        }
    }

    func sort(_ batches: [RecordBatch], schema: Schema, keys: [SortKey], limit: Int?) throws -> RecordBatch {
        let all = HashJoin.concatenate(batches, schema: schema)
        let prepared = try keys.map { key in
            SortOrder.prepare(try ExpressionEvaluator.evaluate(key.expression, all), descending: key.descending, nullsFirst: key.nullsFirst)
        }
        let order = SortOrder.permutation(prepared, count: all.rowCount, limit: limit, pool: pool)
        return Selection.gather(all, order)
    }

    /// row_number() OVER (PARTITION BY p ORDER BY o): sort by (p, o), number each run of equal p.
    func rowNumbers(_ batches: [RecordBatch], schema: Schema, partition: [Expression], order: [SortKey], output: Schema) throws
        -> RecordBatch
    {
        let all = HashJoin.concatenate(batches, schema: schema)
        let partitionColumns = try partition.map { try ExpressionEvaluator.evaluate($0, all) }
        let partitionKeys = partitionColumns.map { SortOrder.prepare($0, descending: false, nullsFirst: false) }
        let orderKeys = try order.map {
            SortOrder.prepare(try ExpressionEvaluator.evaluate($0.expression, all), descending: $0.descending, nullsFirst: $0.nullsFirst)
        }
        let permutation = SortOrder.permutation(partitionKeys + orderKeys, count: all.rowCount, limit: nil, pool: pool)
        var numbers = [Int64](repeating: 0, count: all.rowCount)
        var current: Int64 = 0
        for (position, row) in permutation.enumerated() {
            let samePartition = position > 0 && partitionKeys.allSatisfy { $0.compare(Int(permutation[position - 1]), Int(row)) == 0 }
            current = samePartition ? current + 1 : 1
            numbers[Int(row)] = current
        }
        return RecordBatch(schema: output, columns: all.columns + [Column(.int64(numbers))], rowCount: all.rowCount)
    }
}

/// Joins without equality keys (CROSS JOIN, or ON conditions with no `a = b` part): every pair,
/// filtered by the condition, a left batch at a time.
enum NestedLoopJoin {
    static let maximumRows = 1 << 31
    /// Pairs formed at once before the condition filters them: without the bound, a 64 K-row batch
    /// against a million-row side would form 64 G pairs to keep a few.
    static let pairsPerChunk = 1 << 20

    static func run(
        left: [RecordBatch], right: [RecordBatch], kind: JoinKind, condition: Expression?, schema: Schema, pool: ThreadPool,
        pairsPerChunk: Int = pairsPerChunk
    ) throws -> [RecordBatch] {
        let leftSchema = left.first?.schema ?? Schema(Array(schema.fields.prefix(0)))
        let build = HashJoin.concatenate(right, schema: right.first?.schema ?? Schema([]))
        let leftTotal = left.reduce(0) { $0 + $1.rowCount }
        guard leftTotal.multipliedReportingOverflow(by: build.rowCount).partialValue < maximumRows || condition != nil else {
            throw QueryError("a cross join of \(leftTotal) × \(build.rowCount) rows is over 2^31 rows")
        }
        guard kind == .inner || kind == .cross || kind == .left else {
            throw QueryError("\(kind.rawValue.uppercased()) JOIN needs an equality between the two sides in its ON condition")
        }
        // Chunks of whole left rows against the whole right side when it fits in one, else one left
        // row against a run of right rows: either way pairs come in (left row, right row) order.
        let rightRun = max(1, min(build.rowCount, pairsPerChunk))
        let leftRun = build.rowCount <= pairsPerChunk ? max(1, pairsPerChunk / max(1, build.rowCount)) : 1
        return try pool.morsels(left.count) { index, _ in
            let batch = left[index]
            var keptLeft = [Int32](), keptRight = [Int32]()
            var matched = [Bool](repeating: false, count: kind == .left ? batch.rowCount : 0)
            var leftRows = [Int32](), rightRows = [Int32]()
            for leftStart in stride(from: 0, to: batch.rowCount, by: leftRun) {
                for rightStart in stride(from: 0, to: build.rowCount, by: rightRun) {
                    leftRows.removeAll(keepingCapacity: true)
                    rightRows.removeAll(keepingCapacity: true)
                    for row in Int32(leftStart)..<Int32(min(batch.rowCount, leftStart + leftRun)) {
                        for other in Int32(rightStart)..<Int32(min(build.rowCount, rightStart + rightRun)) {
                            leftRows.append(row)
                            rightRows.append(other)
                        }
                    }
                    guard let condition else {
                        keptLeft += leftRows
                        keptRight += rightRows
                        continue
                    }
                    let pairs = HashJoin.pairBatch(batch, leftRows, build, rightRows, leftSchema: batch.schema, rightSchema: build.schema)
                    for position in Selection.rows(where: try ExpressionEvaluator.evaluate(condition, pairs)) {
                        let row = leftRows[Int(position)]
                        keptLeft.append(row)
                        keptRight.append(rightRows[Int(position)])
                        if kind == .left { matched[Int(row)] = true }
                    }
                    guard keptLeft.count < maximumRows else {
                        throw QueryError("a join of \(leftTotal) × \(build.rowCount) rows keeps over 2^31 of its pairs")
                    }
                }
            }
            if kind == .left {
                for row in 0..<batch.rowCount where !matched[row] {
                    keptLeft.append(Int32(row))
                    keptRight.append(-1)
                }
            }
            return HashJoin.pairBatch(batch, keptLeft, build, keptRight, leftSchema: leftSchema, rightSchema: build.schema)
        }
    }
}
