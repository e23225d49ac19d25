import Columns
import Threading

/// GROUP BY: parallel pre-aggregation, then a radix-partitioned merge.
///
/// 1. Morsels: each worker evaluates keys and arguments of the batches it takes, encodes the keys
///    to words (`KeyEncoding`), finds each row's group in its own `KeyTable` and updates its own
///    accumulators — no sharing, no locks. Low-cardinality keys never leave this phase's caches.
/// 2. Merge: a group's partition is the top bits of its key hash; each worker owns whole
///    partitions, so it builds its final tables from every worker's groups of those partitions
///    without synchronisation. The output is the partitions' groups, one batch per partition.
enum HashAggregation {
    static func run(
        _ batches: [RecordBatch], keys: [Expression], aggregates: [AggregateCall], outputSchema: Schema, pool: ThreadPool
    ) throws -> [RecordBatch] {
        // Evaluate keys and arguments per batch (in parallel), then encode keys over all batches.
        let evaluated = try pool.morsels(batches.count) { index, _ in
            let batch = batches[index]
            let keyColumns = try keys.map { try ExpressionEvaluator.evaluate($0, batch) }
            let argumentColumns = try aggregates.map { call in try call.arguments.map { try ExpressionEvaluator.evaluate($0, batch) } }
            return (keyColumns, argumentColumns, batch.rowCount)
        }
        let (encoding, keyColumns) = KeyEncoding.make(evaluated.map(\.0), types: keys.map(\.type))
        var argumentColumns = evaluated.map(\.1)
        // count(DISTINCT x) sees x as key words, so strings and numbers dedupe alike.
        for (position, call) in aggregates.enumerated() where call.function == .countDistinct {
            let (argumentEncoding, encoded) = KeyEncoding.make(argumentColumns.map { [$0[position][0]] }, types: [call.arguments[0].type])
            for batch in argumentColumns.indices {
                let column = encoded[batch][0]
                let words = argumentEncoding.encode([column], rows: column.count)
                let single =
                    argumentEncoding.width == 1
                    ? words
                    : (0..<column.count).map {
                        KeyTable.hash(
                            words.withUnsafeBufferPointer { $0.baseAddress! } + $0 * argumentEncoding.width, width: argumentEncoding.width)
                    }
                argumentColumns[batch][position] = [Column(.int64(single.map { Int64(bitPattern: $0) }), validity: column.validity)]
            }
        }
        let workers = pool.threadCount
        let locals = (0..<workers).map { _ in LocalAggregation(width: encoding.width, aggregates: aggregates) }
        var ordinals = [Int64](repeating: 0, count: batches.count)
        for index in 1..<max(1, batches.count) { ordinals[index] = ordinals[index - 1] + Int64(batches[index - 1].rowCount) }
        _ = try pool.morsels(batches.count) { index, worker in
            let rows = evaluated[index].2
            let words = keys.isEmpty ? [UInt64](repeating: 0, count: rows) : encoding.encode(keyColumns[index], rows: rows)
            locals[worker].add(words, rows: rows, arguments: argumentColumns[index], ordinal: ordinals[index])
        }
        // A global aggregate over no rows still has its one row (count = 0, sum = NULL).
        if keys.isEmpty && locals.allSatisfy({ $0.table.count == 0 }) {
            locals[0].add([0], rows: 0, arguments: [], ordinal: 0, forceGroup: true)
        }
        let partitions = workers == 1 ? 1 : workers * 4
        let outputs = try pool.morsels(partitions) { partition, _ in
            try mergePartition(partition, of: partitions, locals, encoding: encoding, aggregates: aggregates, schema: outputSchema)
        }
        return outputs.filter { $0.rowCount > 0 || (keys.isEmpty && partitions == 1) }
    }

    static func partitionOf(_ hash: UInt64, _ partitions: Int) -> Int { Int((hash >> 40) % UInt64(partitions)) }

    static func mergePartition(
        _ partition: Int, of partitions: Int, _ locals: [LocalAggregation], encoding: KeyEncoding, aggregates: [AggregateCall],
        schema: Schema
    ) throws -> RecordBatch {
        let width = encoding.width
        var table = KeyTable(width: width, capacity: 1024)
        let finals = aggregates.map { Accumulators.make($0) }
        for local in locals where local.table.count > 0 {
            var mapping = [UInt32](repeating: skip, count: local.table.count)
            local.table.keys.withUnsafeBufferPointer { keys in
                for group in 0..<local.table.count {
                    let key = keys.baseAddress! + group * width
                    let hash = KeyTable.hash(key, width: width)
                    guard partitions == 1 || partitionOf(hash, partitions) == partition else { continue }
                    mapping[group] = table.findOrInsert(key, hash: hash)
                }
            }
            for (final, accumulator) in zip(finals, local.accumulators) {
                final.grow(to: table.count)
                mapping.withUnsafeBufferPointer { final.merge(accumulator, $0) }
            }
        }
        let groups = table.count
        var columns = encoding.fields.isEmpty ? [] : encoding.decode(table.keys, count: groups)
        for final in finals {
            final.grow(to: groups)
            columns.append(try final.finish(groups))
        }
        return RecordBatch(schema: schema, columns: columns, rowCount: groups)
    }
}

/// One worker's groups and accumulators.
final class LocalAggregation {
    var table: KeyTable
    let accumulators: [any Accumulator]
    private var groups: [UInt32] = []

    init(width: Int, aggregates: [AggregateCall]) {
        table = KeyTable(width: max(1, width), capacity: 256)
        accumulators = aggregates.map { Accumulators.make($0) }
    }

    func add(_ words: [UInt64], rows: Int, arguments: [[Column]], ordinal: Int64, forceGroup: Bool = false) {
        let width = table.width
        if groups.count < rows { groups = [UInt32](repeating: 0, count: rows) }
        words.withUnsafeBufferPointer { words in
            groups.withUnsafeMutableBufferPointer { groups in
                if forceGroup { _ = table.findOrInsert(words.baseAddress!, hash: KeyTable.hash(words.baseAddress!, width: width)) }
                for row in 0..<rows {
                    let key = words.baseAddress! + row * width
                    groups[row] = table.findOrInsert(key, hash: KeyTable.hash(key, width: width))
                }
            }
        }
        for (accumulator, columns) in zip(accumulators, arguments) {
            accumulator.grow(to: table.count)
            groups.withUnsafeBufferPointer { accumulator.update(UnsafeBufferPointer(rebasing: $0[0..<rows]), columns, ordinals: ordinal) }
        }
        if forceGroup { for accumulator in accumulators { accumulator.grow(to: table.count) } }
    }
}
