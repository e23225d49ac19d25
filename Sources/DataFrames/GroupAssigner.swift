import Columns

/// Group numbers for encoded keys (`KeyEncoding` words), dense in first-seen order, as GROUP BY and
/// the per-partition top-k number them. Packed keys of at most `directBits` bits find their group
/// by index in an array of every possible word (4 MiB at most) instead of hashing —
/// db-benchmark's id1…id6 alone or in pairs all fit; wider keys go through the `KeyTable`, which
/// holds the distinct keys either way.
struct GroupAssigner {
    static let directBits = 20

    private(set) var table: KeyTable
    /// The group of every possible packed word (`KeyTable.empty` until seen), or empty when the
    /// keys are wider than `directBits`.
    private var direct: [UInt32]

    init(encoding: KeyEncoding, capacity: Int) {
        table = KeyTable(width: max(1, encoding.width), capacity: capacity)
        let small = encoding.packed && encoding.packedBits <= Self.directBits
        direct = small ? [UInt32](repeating: KeyTable.empty, count: 1 << encoding.packedBits) : []
    }

    var count: Int { table.count }

    mutating func reserve(_ capacity: Int) { table.reserve(capacity) }

    /// Adds the first key of `words` as a group (a global aggregate's one group over no rows).
    mutating func insert(_ words: [UInt64]) {
        words.withUnsafeBufferPointer { _ = table.findOrInsert($0.baseAddress!, hash: KeyTable.hash($0.baseAddress!, width: table.width)) }
    }

    /// `groups[row]` = the group of row `row`'s key, for the first `rows` keys of `words`.
    mutating func assign(_ words: [UInt64], rows: Int, into groups: UnsafeMutableBufferPointer<UInt32>) {
        let width = table.width
        words.withUnsafeBufferPointer { words in
            let base = words.baseAddress!
            if direct.isEmpty {
                for row in 0..<rows {
                    let key = base + row * width
                    groups[row] = table.findOrInsert(key, hash: KeyTable.hash(key, width: width))
                }
                return
            }
            direct.withUnsafeMutableBufferPointer { direct in
                for row in 0..<rows {
                    let word = Int(truncatingIfNeeded: base[row])
                    var group = direct[word]
                    if group == KeyTable.empty {
                        group = table.findOrInsert(base + row, hash: KeyTable.hash(base + row, width: 1))
                        direct[word] = group
                    }
                    groups[row] = group
                }
            }
        }
    }
}
