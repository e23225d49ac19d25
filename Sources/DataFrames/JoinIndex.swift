import Columns

/// The build side of a hash join: for every key, the chain of build rows that carry it, in build
/// order (`first(key)`, then `next[row]` until −1).
///
/// Packed keys whose range is small next to the build side (at most 2^20 words, or at most two
/// slots per build row) are addressed directly: the chain heads are an array indexed by the key
/// word, so building and probing need no hash and no key comparison. Others go through a
/// `KeyTable` of the distinct keys. Rows are linked last to first, so each chain comes out in build
/// order without a reversal pass.
struct JoinIndex {
    let width: Int
    private let direct: Bool
    private var table: KeyTable
    /// Chain heads: by key word when direct, by the key table's group otherwise.
    private var heads: [Int32]
    private(set) var next: [Int32]

    static func addressesDirectly(_ encoding: KeyEncoding, buildRows: Int) -> Bool {
        guard encoding.packed, encoding.packedBits < 40 else { return false }
        let slots = 1 << encoding.packedBits
        return slots <= 1 << 20 || slots <= 2 * buildRows
    }

    /// `words(batch)`: the encoded keys of build batch `batch` (`rows[batch]` rows × `width`);
    /// `skips(batch, row)`: rows whose key is NULL, which match nothing.
    init(encoding: KeyEncoding, rows: [Int], words: (Int) -> [UInt64], skips: (Int) -> HashJoin.NullRows) {
        width = encoding.width
        let total = rows.reduce(0, +)
        direct = Self.addressesDirectly(encoding, buildRows: total)
        table = KeyTable(width: width, capacity: direct ? 16 : max(16, total))
        heads = direct ? [Int32](repeating: -1, count: 1 << encoding.packedBits) : []
        next = [Int32](repeating: -1, count: total)
        var end = total
        for batch in rows.indices.reversed() {
            let start = end - rows[batch]
            Self.link(words(batch), skips(batch), start: start, count: rows[batch], direct: direct, &table, &heads, &next)
            end = start
        }
    }

    private static func link(
        _ words: [UInt64], _ skips: HashJoin.NullRows, start: Int, count: Int, direct: Bool, _ table: inout KeyTable,
        _ heads: inout [Int32], _ next: inout [Int32]
    ) {
        let width = table.width
        words.withUnsafeBufferPointer { words in
            next.withUnsafeMutableBufferPointer { next in
                for row in stride(from: count - 1, through: 0, by: -1) where !skips.contains(row) {
                    let key = words.baseAddress! + row * width
                    let slot: Int
                    if direct {
                        slot = Int(truncatingIfNeeded: key.pointee)
                    } else {
                        slot = Int(table.findOrInsert(key, hash: KeyTable.hash(key, width: width)))
                        if slot == heads.count { heads.append(-1) }
                    }
                    next[start + row] = heads[slot]
                    heads[slot] = Int32(start + row)
                }
            }
        }
    }

    /// The first build row whose key is `key`, or −1.
    @inline(__always)
    func first(_ key: UnsafePointer<UInt64>) -> Int32 {
        if direct {
            let word = Int(truncatingIfNeeded: key.pointee)
            return word < heads.count ? heads[word] : -1
        }
        guard let group = table.find(key, hash: KeyTable.hash(key, width: width)) else { return -1 }
        return heads[Int(group)]
    }
}
