/// An open-addressing hash table from fixed-width keys (`width` 64-bit words, already normalized
/// so that equal values have equal words) to dense group numbers 0, 1, 2, … in first-seen order.
/// Keys live in one flat array, group-number order, so the table is also the list of distinct keys.
/// Linear probing over a power-of-two slot array kept at most half full; the hash is stored beside
/// each slot's group so most probes compare one word before touching the key.
public struct KeyTable: Sendable {
    public let width: Int
    public private(set) var keys: [UInt64] = []
    /// Per slot: the hash's top 32 bits and the group number, in one word (one cache line a probe).
    private var slots: [UInt64]
    private var mask: Int
    public private(set) var count = 0
    public static let empty = UInt32.max
    static let emptySlot = UInt64(UInt32.max)

    public init(width: Int, capacity: Int = 1024) {
        self.width = width
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: KeyTable.emptySlot, count: size)
        mask = size - 1
        keys.reserveCapacity(capacity * width)
    }

    @inline(__always)
    public static func hash(_ word: UInt64) -> UInt64 {
        // murmur3's 64-bit finalizer: every input bit reaches every output bit.
        var h = word
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    @inline(__always)
    public static func hash(_ key: UnsafePointer<UInt64>, width: Int) -> UInt64 {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15
        for index in 0..<width { h = hash(h ^ key[index]) &+ UInt64(index) }
        return h
    }

    /// The group of `key` (`width` words), inserting it as a new group when absent.
    @inline(__always)
    public mutating func findOrInsert(_ key: UnsafePointer<UInt64>, hash: UInt64) -> UInt32 {
        let tag = (hash & 0xFFFF_FFFF_0000_0000)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == KeyTable.emptySlot { break }
            if entry & 0xFFFF_FFFF_0000_0000 == tag && matches(UInt32(truncatingIfNeeded: entry), key) {
                return UInt32(truncatingIfNeeded: entry)
            }
            slot = (slot + 1) & mask
        }
        let group = UInt32(count)
        slots[slot] = tag | UInt64(group)
        for index in 0..<width { keys.append(key[index]) }
        count += 1
        if count * 2 > slots.count { grow() }
        return group
    }

    /// The group of `key`, or nil.
    @inline(__always)
    public func find(_ key: UnsafePointer<UInt64>, hash: UInt64) -> UInt32? {
        let tag = (hash & 0xFFFF_FFFF_0000_0000)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == KeyTable.emptySlot { return nil }
            if entry & 0xFFFF_FFFF_0000_0000 == tag && matches(UInt32(truncatingIfNeeded: entry), key) {
                return UInt32(truncatingIfNeeded: entry)
            }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private func matches(_ group: UInt32, _ key: UnsafePointer<UInt64>) -> Bool {
        let base = Int(group) * width
        return keys.withUnsafeBufferPointer { stored in
            for index in 0..<width where stored[base + index] != key[index] { return false }
            return true
        }
    }

    /// Makes room for `capacity` keys without growing again (one rehash now instead of several
    /// doublings later, when a caller can tell the keys will be many).
    public mutating func reserve(_ capacity: Int) {
        var size = slots.count
        while size < capacity * 2 { size <<= 1 }
        if size > slots.count { rehash(size) }
        keys.reserveCapacity(capacity * width)
    }

    private mutating func grow() { rehash(slots.count * 2) }

    private mutating func rehash(_ size: Int) {
        var newSlots = [UInt64](repeating: KeyTable.emptySlot, count: size)
        let newMask = size - 1
        let width = self.width
        keys.withUnsafeBufferPointer { stored in
            newSlots.withUnsafeMutableBufferPointer { newSlots in
                for group in 0..<count {
                    let hash = KeyTable.hash(stored.baseAddress! + group * width, width: width)
                    var slot = Int(truncatingIfNeeded: hash) & newMask
                    while newSlots[slot] != KeyTable.emptySlot { slot = (slot + 1) & newMask }
                    newSlots[slot] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(group)
                }
            }
        }
        slots = newSlots
        mask = newMask
    }
}
