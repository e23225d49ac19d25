import Columns
import Threading

/// `row_number() OVER (PARTITION BY p ORDER BY o) ≤ k` (db-benchmark's q8, "the two largest v3
/// per id6"): one pass keeps each partition's k first rows in a small sorted list, instead of
/// sorting every row to number them all. Ties are broken by input order, as the stable sort does,
/// so the rows and their numbers are the same as the general path's.
enum TopPerPartition {
    /// k when `predicate` is `column ≤ k` or `column < k + 1` on the row-number column.
    static func limit(of predicate: Expression, rowNumberColumn: Int) -> Int? {
        guard case .binary(let op, .column(let index, _, _), .literal(.integer(let bound), _)) = predicate, index == rowNumberColumn
        else { return nil }
        switch op {
        case .lessOrEqual where bound >= 0 && bound <= 1024: return Int(bound)
        case .less where bound >= 1 && bound <= 1025: return Int(bound) - 1
        default: return nil
        }
    }

    static func run(
        _ batches: [RecordBatch], schema: Schema, partition: [Expression], order: [SortKey], limit: Int, output: Schema
    ) throws -> RecordBatch {
        let all = HashJoin.concatenate(batches, schema: schema)
        let rows = all.rowCount
        var groups = [UInt32](repeating: 0, count: rows)
        var groupCount = 1
        if !partition.isEmpty {
            let columns = try partition.map { try ExpressionEvaluator.evaluate($0, all) }
            let (encoding, encoded) = KeyEncoding.make([columns], types: partition.map(\.type))
            let words = encoding.encode(encoded[0], rows: rows)
            var assigner = GroupAssigner(encoding: encoding, capacity: 1024)
            groups.withUnsafeMutableBufferPointer { assigner.assign(words, rows: rows, into: $0) }
            groupCount = assigner.count
        }
        let keys = try order.map {
            SortOrder.prepare(try ExpressionEvaluator.evaluate($0.expression, all), descending: $0.descending, nullsFirst: $0.nullsFirst)
        }
        func before(_ a: Int32, _ b: Int32) -> Bool {
            for key in keys {
                let order = key.compare(Int(a), Int(b))
                if order != 0 { return order < 0 }
            }
            return a < b
        }
        // Each partition's best rows, best first, in a flat array of `limit` slots a partition.
        var best = [Int32](repeating: -1, count: groupCount * max(1, limit))
        var filled = [Int32](repeating: 0, count: groupCount)
        if limit > 0 {
            for row in 0..<Int32(rows) {
                let group = Int(groups[Int(row)])
                let base = group * limit
                var count = Int(filled[group])
                if count == limit {
                    guard before(row, best[base + limit - 1]) else { continue }
                    count -= 1
                }
                var position = count
                while position > 0 && before(row, best[base + position - 1]) {
                    best[base + position] = best[base + position - 1]
                    position -= 1
                }
                best[base + position] = row
                filled[group] = Int32(count + 1)
            }
        }
        var picked: [Int32] = []
        var numbers: [Int64] = []
        for group in 0..<groupCount {
            for position in 0..<Int(filled[group]) {
                picked.append(best[group * limit + position])
                numbers.append(Int64(position + 1))
            }
        }
        let gathered = Selection.gather(all, picked)
        return RecordBatch(schema: output, columns: gathered.columns + [Column(.int64(numbers))], rowCount: picked.count)
    }
}
