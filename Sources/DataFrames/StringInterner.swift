import Columns

/// Distinct strings → dense codes, for string keys that are not already dictionary-encoded with
/// one shared dictionary (the CSV reader's high-cardinality columns, strings from different files).
/// After interning, grouping and joining on strings is grouping and joining on integers, and the
/// interned strings become the dictionary of the output key column.
struct StringInterner {
    private var builder = StringArrayBuilder()
    private var table = KeyTable(width: 2, capacity: 1 << 12)
    private var stored: [StringView] = []
    private var storedBuffers: [StringBuffer] = []

    /// Codes for every row of `column` (nulls get code 0; the caller tracks validity).
    mutating func intern(_ column: Column) -> [UInt32] {
        let strings = column.decodedStrings()
        var codes = [UInt32](repeating: 0, count: strings.count)
        // Key words: the view's head (length + prefix) and a 64-bit hash of all the bytes; equal
        // words are then confirmed byte for byte against the stored string.
        var words = [UInt64](repeating: 0, count: 2)
        for row in 0..<strings.count where !column.isNull(row) {
            let view = strings.views[row]
            let full = strings.withBytes(row) { StringInterner.hashBytes($0) }
            words[0] = view.head
            words[1] = full
            let hash = KeyTable.hash(words.withUnsafeBufferPointer { $0.baseAddress! }, width: 2)
            let before = table.count
            let code = words.withUnsafeBufferPointer { table.findOrInsert($0.baseAddress!, hash: hash) }
            if table.count > before {
                strings.withBytes(row) { builder.append($0) }
            }
            codes[row] = code
        }
        return codes
    }

    var count: Int { table.count }

    func dictionary() -> StringArray {
        var copy = builder
        return copy.finish()
    }

    /// 64-bit hash of a byte string (8 bytes a step, then the tail), strong enough that two
    /// different strings with equal heads collide with probability ~2^-64.
    static func hashBytes(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
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
