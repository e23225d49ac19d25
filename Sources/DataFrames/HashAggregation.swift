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
        let totalRows = batches.reduce(0) { $0 + $1.rowCount }
        let locals = (0..<workers).map { _ in
            LocalAggregation(encoding: encoding, aggregates: aggregates, expectedRows: totalRows / workers + totalRows / 8 / workers)
        }
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
        let shares = try pool.morsels(locals.count) { index, _ in locals[index].split(into: partitions) }
        let outputs = try pool.morsels(partitions) { partition, _ in
            try mergePartition(partition, locals, shares, encoding: encoding, aggregates: aggregates, schema: outputSchema)
        }
        return outputs.filter { $0.rowCount > 0 || (keys.isEmpty && partitions == 1) }
    }

    static func partitionOf(_ hash: UInt64, _ partitions: Int) -> Int { Int((hash >> 40) % UInt64(partitions)) }

    /// One worker's groups that belong to one partition, with their key hashes.
    struct PartitionShare {
        var groups: [UInt32] = []
        var hashes: [UInt64] = []
    }

    static func mergePartition(
        _ partition: Int, _ locals: [LocalAggregation], _ shares: [[PartitionShare]], encoding: KeyEncoding,
        aggregates: [AggregateCall], schema: Schema
    ) throws -> RecordBatch {
        let width = encoding.width
        // At most every worker's groups of this partition are distinct: room for them up front.
        var table = KeyTable(width: width, capacity: max(16, shares.reduce(0) { $0 + $1[partition].groups.count }))
        let finals = aggregates.map { Accumulators.make($0) }
        for (local, share) in zip(locals, shares.map { $0[partition] }) where !share.groups.isEmpty {
            var targets = [UInt32](repeating: 0, count: share.groups.count)
            local.table.keys.withUnsafeBufferPointer { keys in
                targets.withUnsafeMutableBufferPointer { targets in
                    for index in 0..<share.groups.count {
                        targets[index] = table.findOrInsert(keys.baseAddress! + Int(share.groups[index]) * width, hash: share.hashes[index])
                    }
                }
            }
            for (final, accumulator) in zip(finals, local.accumulators) {
                final.grow(to: table.count)
                share.groups.withUnsafeBufferPointer { sources in
                    targets.withUnsafeBufferPointer { targets in final.merge(accumulator, GroupMapping(sources: sources, targets: targets))
                    }
                }
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
    private var assigner: GroupAssigner
    var table: KeyTable { assigner.table }
    let accumulators: [any Accumulator]
    private var groups: [UInt32] = []
    /// About the rows this worker will see, and how many it has seen: when nearly every row so
    /// far was a new group, the table is sized for all of them at once instead of doubling ~20 times.
    private let expectedRows: Int
    private var rowsSeen = 0
    private var reserved = false

    init(encoding: KeyEncoding, aggregates: [AggregateCall], expectedRows: Int) {
        self.expectedRows = expectedRows
        assigner = GroupAssigner(encoding: encoding, capacity: 256)
        accumulators = aggregates.map { Accumulators.make($0) }
    }

    func add(_ words: [UInt64], rows: Int, arguments: [[Column]], ordinal: Int64, forceGroup: Bool = false) {
        if groups.count < rows { groups = [UInt32](repeating: 0, count: rows) }
        if forceGroup { assigner.insert(words) }
        groups.withUnsafeMutableBufferPointer { assigner.assign(words, rows: rows, into: $0) }
        rowsSeen += rows
        if !reserved && rowsSeen >= 1 << 16 && table.count * 2 > rowsSeen {
            reserved = true
            assigner.reserve(expectedRows)
        }
        for (accumulator, columns) in zip(accumulators, arguments) {
            accumulator.grow(to: table.count)
            groups.withUnsafeBufferPointer { accumulator.update(UnsafeBufferPointer(rebasing: $0[0..<rows]), columns, ordinals: ordinal) }
        }
        if forceGroup { for accumulator in accumulators { accumulator.grow(to: table.count) } }
    }

    /// This worker's groups by partition (the top bits of their key hash), each hashed once.
    func split(into partitions: Int) -> [HashAggregation.PartitionShare] {
        var shares = [HashAggregation.PartitionShare](repeating: .init(), count: partitions)
        let width = table.width
        table.keys.withUnsafeBufferPointer { keys in
            for group in 0..<table.count {
                let hash = KeyTable.hash(keys.baseAddress! + group * width, width: width)
                let partition = partitions == 1 ? 0 : HashAggregation.partitionOf(hash, partitions)
                shares[partition].groups.append(UInt32(group))
                shares[partition].hashes.append(hash)
            }
        }
        return shares
    }

}
