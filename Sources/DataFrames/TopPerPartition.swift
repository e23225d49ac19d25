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
        _ batches: [RecordBatch], schema: Schema, partition: [Expression], order: [SortKey], limit: Int, output: Schema,
        pool: ThreadPool
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
        // Each partition's best rows, best first, in a flat array of `limit` slots a partition.
        var best = [Int32](repeating: -1, count: groupCount * max(1, limit))
        var filled = [Int32](repeating: 0, count: groupCount)
        if limit > 0 {
            let withoutNulls = keys.count == 1 && (keys[0].validity?.nullCount ?? 0) == 0
            if withoutNulls, case .double(let values) = keys[0].data {
                (best, filled) = try values.withUnsafeBufferPointer {
                    try keepBestInParallel(
                        DoubleRowOrder(values: $0, descending: keys[0].descending), groups, groupCount: groupCount, limit, pool: pool)
                }
            } else if withoutNulls, case .integer(let values) = keys[0].data {
                (best, filled) = try values.withUnsafeBufferPointer {
                    try keepBestInParallel(
                        IntegerRowOrder(values: $0, descending: keys[0].descending), groups, groupCount: groupCount, limit, pool: pool)
                }
            } else {
                keepBest(KeyRowOrder(keys: keys), groups, limit, &best, &filled)
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

    /// One pass over the rows keeping each partition's `limit` first rows under any keys (the
    /// general path; one numeric key without NULLs takes `keepBestInParallel`).
    static func keepBest(
        _ order: KeyRowOrder, _ groups: [UInt32], _ limit: Int, _ best: inout [Int32], _ filled: inout [Int32]
    ) {
        for row in 0..<Int32(groups.count) {
            let group = Int(groups[Int(row)])
            let base = group * limit
            var count = Int(filled[group])
            if count == limit {
                guard order.before(row, best[base + limit - 1]) else { continue }
                count -= 1
            }
            var position = count
            while position > 0 && order.before(row, best[base + position - 1]) {
                best[base + position] = best[base + position - 1]
                position -= 1
            }
            best[base + position] = row
            filled[group] = Int32(count + 1)
        }
    }
}

extension TopPerPartition {
    /// `keepBest` for one key that maps to a word (smaller first): each worker keeps the best of
    /// a contiguous range of rows with their words beside them — a comparison reads the kept
    /// word, not the key column at a random row — and the ranges' lists are merged in row order.
    static func keepBestInParallel<Order: RowWordOrder>(
        _ order: Order, _ groups: [UInt32], groupCount: Int, _ limit: Int, pool: ThreadPool
    ) throws -> (best: [Int32], filled: [Int32]) {
        let rows = groups.count
        let parts = max(1, min(pool.threadCount, rows / 65536))
        let kept = try groups.withUnsafeBufferPointer { groups in
            try pool.morsels(parts) { part, _ in
                var best = [Int32](repeating: -1, count: groupCount * limit)
                var words = [UInt64](repeating: 0, count: groupCount * limit)
                var filled = [Int32](repeating: 0, count: groupCount)
                for row in (rows * part / parts)..<(rows * (part + 1) / parts) {
                    let group = Int(groups[row])
                    let base = group * limit
                    var count = Int(filled[group])
                    let word = order.word(row)
                    // Rows come in order, so a tie with a kept row loses to it.
                    if count == limit {
                        guard word < words[base + limit - 1] else { continue }
                        count -= 1
                    }
                    var position = count
                    while position > 0 && word < words[base + position - 1] {
                        best[base + position] = best[base + position - 1]
                        words[base + position] = words[base + position - 1]
                        position -= 1
                    }
                    best[base + position] = Int32(row)
                    words[base + position] = word
                    filled[group] = Int32(count + 1)
                }
                return (best, words, filled)
            }
        }
        var (best, words, filled) = kept[0]
        for part in kept.dropFirst() {
            // Merge per partition; on equal words the earlier range's row (the smaller) goes first.
            var mergedBest = [Int32](repeating: -1, count: limit)
            var mergedWords = [UInt64](repeating: 0, count: limit)
            for group in 0..<groupCount {
                let base = group * limit
                let leftCount = Int(filled[group]), rightCount = Int(part.2[group])
                var left = 0, right = 0, count = 0
                while count < limit && (left < leftCount || right < rightCount) {
                    if right == rightCount || (left < leftCount && words[base + left] <= part.1[base + right]) {
                        (mergedBest[count], mergedWords[count]) = (best[base + left], words[base + left])
                        left += 1
                    } else {
                        (mergedBest[count], mergedWords[count]) = (part.0[base + right], part.1[base + right])
                        right += 1
                    }
                    count += 1
                }
                for position in 0..<count {
                    (best[base + position], words[base + position]) = (mergedBest[position], mergedWords[position])
                }
                filled[group] = Int32(count)
            }
        }
        return (best, filled)
    }
}

/// A one-key order given as a word a row: a row comes before another when its word is smaller,
/// or equal and the row earlier.
protocol RowWordOrder {
    func word(_ row: Int) -> UInt64
}

/// Any keys, through `SortOrder.PreparedKey.compare`: whether row a comes before row b, ties going
/// to the earlier row (the stable sort's order).
struct KeyRowOrder {
    let keys: [SortOrder.PreparedKey]

    @inline(__always)
    func before(_ a: Int32, _ b: Int32) -> Bool {
        for key in keys {
            let order = key.compare(Int(a), Int(b))
            if order != 0 { return order < 0 }
        }
        return a < b
    }
}

/// One double key without NULLs, as unsigned integers that order the way `compare` does (−0 equal
/// to 0, NaN after every number), complemented when descending.
struct DoubleRowOrder: RowWordOrder {
    let values: UnsafeBufferPointer<Double>
    let descending: Bool

    @inline(__always)
    static func ordered(_ x: Double) -> UInt64 {
        if x.isNaN { return .max }
        let bits = (x == 0 ? 0.0 : x).bitPattern
        return bits >> 63 == 1 ? ~bits : bits | 1 << 63
    }

    @inline(__always)
    func word(_ row: Int) -> UInt64 {
        let ordered = Self.ordered(values[row])
        return descending ? ~ordered : ordered
    }
}

/// One integer key without NULLs, as offset binary, complemented when descending.
struct IntegerRowOrder: RowWordOrder {
    let values: UnsafeBufferPointer<Int64>
    let descending: Bool

    @inline(__always)
    func word(_ row: Int) -> UInt64 {
        let ordered = UInt64(bitPattern: values[row]) ^ 1 << 63  // two's complement to offset binary
        return descending ? ~ordered : ordered
    }
}
