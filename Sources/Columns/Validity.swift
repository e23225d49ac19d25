/// Which values of a column are present: one bit per row, 1 = valid, as Arrow's validity bitmap.
/// A column with no nulls carries no bitmap at all (`Column.validity == nil`), so kernels test for
/// nil once per column rather than a bit per row.
public struct Validity: Sendable, Equatable {
    public private(set) var words: [UInt64]
    public let count: Int

    /// All `count` rows valid (`true`) or all null (`false`).
    public init(count: Int, allValid: Bool) {
        self.count = count
        let wordCount = (count + 63) >> 6
        words = [UInt64](repeating: allValid ? ~0 : 0, count: wordCount)
        if allValid, count & 63 != 0 { words[wordCount - 1] = (UInt64(1) << UInt64(count & 63)) - 1 }
    }

    public init(words: [UInt64], count: Int) {
        precondition(words.count == (count + 63) >> 6, "validity words do not match the row count")
        self.words = words
        self.count = count
    }

    public init<S: Sequence>(_ flags: S) where S.Element == Bool {
        var words: [UInt64] = []
        var current: UInt64 = 0
        var count = 0
        for flag in flags {
            if flag { current |= UInt64(1) << UInt64(count & 63) }
            count += 1
            if count & 63 == 0 {
                words.append(current)
                current = 0
            }
        }
        if count & 63 != 0 { words.append(current) }
        self.words = words
        self.count = count
    }

    @inline(__always)
    public func isValid(_ row: Int) -> Bool { words[row >> 6] >> UInt64(row & 63) & 1 == 1 }

    @inline(__always)
    public mutating func set(_ row: Int, valid: Bool) {
        let bit = UInt64(1) << UInt64(row & 63)
        if valid { words[row >> 6] |= bit } else { words[row >> 6] &= ~bit }
    }

    public var nullCount: Int { count - words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
