import CPrefetch

/// Distinct strings → dense codes 0, 1, 2, … in first-seen order. The CSV reader dictionary-encodes
/// low-cardinality columns with it; the query engine interns string keys that do not share one
/// dictionary, so grouping and joining on strings becomes grouping and joining on integers.
///
/// Strings of at most 12 bytes (most keys: db-benchmark's are 5–12) are their whole view, and live
/// in a table of 16-byte slots holding the view itself with the code folded into its length word:
/// one probe touches one slot, the comparison is exact, and there is no second array to miss in.
/// Longer strings are keyed by the view's head and a 64-bit hash of all the bytes in a `KeyTable`,
/// confirmed byte for byte; the (never yet seen) case of two different strings with equal head and
/// hash goes to a small exact side table, so interning is exact.
public struct StringInterner: Sendable {
    private var builder = StringArrayBuilder()
    private var short: [StringView]
    private var shortMask: Int
    private var shortCount = 0
    private var table = KeyTable(width: 2, capacity: 1 << 12)
    private var codeOfSlot: [UInt32] = []
    private var collisions: [String: UInt32] = [:]

    /// A short slot's head is the view's head with the code in bits 4..<32: a length ≤ 12 needs
    /// four bits. An empty slot has length 15, which no view has.
    static let codeShift: UInt64 = 4
    static let codeLimit = 1 << 28
    static let codeMask: UInt64 = UInt64(codeLimit - 1) << codeShift
    static let emptySlot = StringView(head: 15, tail: 0)

    public init() {
        short = [StringView](repeating: StringInterner.emptySlot, count: 1 << 10)
        shortMask = (1 << 10) - 1
    }

    /// Distinct strings so far.
    public var count: Int { builder.count }

    @inline(__always)
    static func shortHash(_ view: StringView) -> UInt64 { KeyTable.hash(view.head ^ (view.tail &* 0x9e37_79b9_7f4a_7c15)) }

    /// Starts loading the slot `intern(bytes)` will probe first, so a caller with other work to do
    /// in between (the CSV parser: the rest of the record) does not wait for it. A high-cardinality
    /// column's table outgrows the caches and nearly every probe would otherwise miss.
    /// (`mutating` only so a caller reaching the interner through an optional or an array element
    /// accesses it in place instead of copying it.)
    @inline(__always)
    public mutating func prefetch(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= StringView.inlineLimit else { return }
        let slot = Int(truncatingIfNeeded: Self.shortHash(StringView(bytes: bytes, buffer: 0, offset: 0))) & shortMask
        short.withUnsafeBufferPointer { atelier_prefetch($0.baseAddress! + slot) }
    }

    /// `prefetch(_:)` for a string already made into its inline view.
    @inline(__always)
    public mutating func prefetch(inline view: StringView) {
        let slot = Int(truncatingIfNeeded: Self.shortHash(view)) & shortMask
        short.withUnsafeBufferPointer { atelier_prefetch($0.baseAddress! + slot) }
    }

    /// `intern(_:)` for a string of at most 12 bytes already made into its inline view.
    @inline(__always)
    public mutating func intern(inline view: StringView, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        if let code = internShort(view, bytes) { return code }
        return internLong((view.head, StringInterner.hashBytes(bytes)), bytes)
    }

    @inline(__always)
    public mutating func intern(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let view = StringView(bytes: bytes, buffer: 0, offset: 0)
        if view.isInline { return intern(inline: view, bytes) }
        return internLong((view.head, StringInterner.hashBytes(bytes)), bytes)
    }

    /// The code of a string of at most 12 bytes, inserting it when new; nil when it is new and the
    /// codes have outgrown the slots' 28 bits (it then goes to the long table).
    @inline(__always)
    private mutating func internShort(_ view: StringView, _ bytes: UnsafeRawBufferPointer) -> UInt32? {
        var slot = Int(truncatingIfNeeded: Self.shortHash(view)) & shortMask
        let found: UInt32? = short.withUnsafeBufferPointer { slots in
            while true {
                let entry = slots[slot]
                if entry.head == Self.emptySlot.head { return nil }
                if entry.head & ~Self.codeMask == view.head && entry.tail == view.tail {
                    return UInt32(truncatingIfNeeded: (entry.head & Self.codeMask) >> Self.codeShift)
                }
                slot = (slot + 1) & shortMask
            }
        }
        if let found { return found }
        guard builder.count < Self.codeLimit else { return nil }
        let code = UInt32(builder.count)
        builder.append(bytes)
        short[slot] = StringView(head: view.head | UInt64(code) << Self.codeShift, tail: view.tail)
        shortCount += 1
        if shortCount * 2 > short.count { growShort() }
        return code
    }

    private mutating func growShort() {
        let size = short.count * 2
        var slots = [StringView](repeating: Self.emptySlot, count: size)
        let mask = size - 1
        for entry in short where entry.head != Self.emptySlot.head {
            let view = StringView(head: entry.head & ~Self.codeMask, tail: entry.tail)
            var slot = Int(truncatingIfNeeded: Self.shortHash(view)) & mask
            while slots[slot].head != Self.emptySlot.head { slot = (slot + 1) & mask }
            slots[slot] = entry
        }
        short = slots
        shortMask = mask
    }

    private mutating func internLong(_ key: (UInt64, UInt64), _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var words = key
        let group = withUnsafePointer(to: &words) { pointer in
            pointer.withMemoryRebound(to: UInt64.self, capacity: 2) { table.findOrInsert($0, hash: KeyTable.hash($0, width: 2)) }
        }
        if Int(group) == codeOfSlot.count {
            let code = UInt32(builder.count)
            builder.append(bytes)
            codeOfSlot.append(code)
            return code
        }
        let code = codeOfSlot[Int(group)]
        if builder.bytesEqual(Int(code), bytes) { return code }
        let text = String(decoding: bytes, as: UTF8.self)
        if let known = collisions[text] { return known }
        let fresh = UInt32(builder.count)
        builder.append(bytes)
        collisions[text] = fresh
        return fresh
    }

    /// Codes for every row of a string column (null rows get code 0; validity is the caller's).
    public mutating func intern(_ column: Column) -> [UInt32] {
        if case .dictionary(let codes, let values) = column.storage {
            // Each distinct value once, then the codes translated: a dictionary column's rows are
            // far more than its values.
            let translated = (0..<values.count).map { code in values.withBytes(code) { intern($0) } }
            return translated.withUnsafeBufferPointer { translated in
                guard let validity = column.validity else { return codes.map { translated[Int($0)] } }
                return (0..<codes.count).map { row in validity.isValid(row) ? translated[Int(codes[row])] : 0 }
            }
        }
        let strings = column.decodedStrings()
        var codes = [UInt32](repeating: 0, count: strings.count)
        for row in 0..<strings.count where !column.isNull(row) {
            codes[row] = strings.withBytes(row) { intern($0) }
        }
        return codes
    }

    /// The distinct strings, code order (the dictionary of the encoded column). Ends interning:
    /// call it once, last.
    public mutating func finish() -> StringArray {
        let dictionary = builder.finish()
        table = KeyTable(width: 2, capacity: 16)
        short = [StringInterner.emptySlot]
        shortMask = 0
        shortCount = 0
        codeOfSlot = []
        collisions = [:]
        return dictionary
    }

    /// 64-bit hash of a byte string, 8 bytes a step.
    @inline(__always)
    public static func hashBytes(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(bytes.count)
        var index = 0
        while index + 8 <= bytes.count {
            h = KeyTable.hash(h ^ bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            index += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            tail |= UInt64(bytes[index]) << shift
            shift += 8
            index += 1
        }
        return KeyTable.hash(h ^ tail ^ 0x5bd1_e995)
    }
}
