/// Distinct strings → dense codes 0, 1, 2, … in first-seen order. The CSV reader dictionary-encodes
/// low-cardinality columns with it; the query engine interns string keys that do not share one
/// dictionary, so grouping and joining on strings becomes grouping and joining on integers.
///
/// The table's key is the view's head (length + first four bytes) and a 64-bit hash of all the
/// bytes; a hit is confirmed byte for byte, and the (never yet seen) case of two different strings
/// with equal head and hash goes to a small exact side table, so interning is exact.
public struct StringInterner: Sendable {
    private var builder = StringArrayBuilder()
    private var table = KeyTable(width: 2, capacity: 1 << 12)
    private var codeOfSlot: [UInt32] = []
    private var collisions: [String: UInt32] = [:]

    public init() {}

    /// Distinct strings so far.
    public var count: Int { builder.count }

    @inline(__always)
    public mutating func intern(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let view = StringView(bytes: bytes, buffer: 0, offset: 0)
        // A string of at most 12 bytes is its whole view: the key is exact, no bytes to compare.
        // Longer ones are keyed by head and a hash of all bytes, and confirmed byte for byte.
        let inline = view.isInline
        var words = (view.head, inline ? view.tail : StringInterner.hashBytes(bytes))
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
        if inline || builder.bytesEqual(Int(code), bytes) { return code }
        let text = String(decoding: bytes, as: UTF8.self)
        if let known = collisions[text] { return known }
        let fresh = UInt32(builder.count)
        builder.append(bytes)
        collisions[text] = fresh
        return fresh
    }

    /// Codes for every row of a string column (null rows get code 0; validity is the caller's).
    public mutating func intern(_ column: Column) -> [UInt32] {
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
