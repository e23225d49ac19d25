import Testing

@testable import Columns

@Suite struct StringArrayTests {
    // Lengths around the 4-byte prefix and the 12-byte inline limit, plus multi-byte UTF-8.
    static let samples = [
        "", "a", "abc", "abcd", "abcde", "abcdefghijkl", "abcdefghijklm", "id0000000001", "héllo wörld ✓",
        String(repeating: "x", count: 1000),
    ]

    @Test func roundTripsEveryLength() {
        let array = StringArray(StringArrayTests.samples)
        #expect(array.count == StringArrayTests.samples.count)
        for (row, expected) in StringArrayTests.samples.enumerated() {
            #expect(array.string(at: row) == expected)
            #expect(array.views[row].length == expected.utf8.count)
        }
    }

    @Test func equalityAndOrderMatchByteOrder() {
        let words = StringArrayTests.samples + ["abd", "ab", "abcdefghijkm", "b", "A"]
        let array = StringArray(words)
        for i in words.indices {
            for j in words.indices {
                let a = array.views[i], b = array.views[j]
                #expect(StringArray.equal(a, array.buffers, b, array.buffers) == (words[i] == words[j]))
                let bytesOrder = words[i].utf8.lexicographicallyPrecedes(words[j].utf8) ? -1 : (words[i] == words[j] ? 0 : 1)
                #expect(StringArray.compare(a, array.buffers, b, array.buffers) == bytesOrder, "\(words[i]) vs \(words[j])")
            }
        }
    }

    @Test func gatherAndAppendShareBuffers() {
        let first = StringArray(["short", String(repeating: "long-", count: 10)])
        var second = StringArray([String(repeating: "other-", count: 5), "x"])
        second.append(contentsOf: first)
        #expect(
            (0..<4).map { second.string(at: $0) } == [
                String(repeating: "other-", count: 5), "x", "short", String(repeating: "long-", count: 10),
            ])
        let picked = [Int32(3), 0].withUnsafeBufferPointer { second.gather($0) }
        #expect(picked.string(at: 0) == String(repeating: "long-", count: 10))
        #expect(picked.string(at: 1) == String(repeating: "other-", count: 5))
    }
}

@Suite struct ColumnBasicsTests {
    @Test func validityCountsNulls() {
        var validity = Validity(count: 130, allValid: true)
        #expect(validity.nullCount == 0)
        validity.set(0, valid: false)
        validity.set(129, valid: false)
        #expect(validity.nullCount == 2)
        #expect(!validity.isValid(129) && validity.isValid(128))
        #expect(Validity([true, false, true]).nullCount == 1)
    }

    @Test func columnDropsABitmapWithoutNulls() {
        let column = Column(.int64([1, 2, 3]), validity: Validity(count: 3, allValid: true))
        #expect(column.validity == nil)
        let withNull = Column.from([.integer(1), .null, .integer(3)], type: .int64)
        #expect(withNull.nullCount == 1)
        #expect(withNull.value(at: 1) == .null && withNull.value(at: 2) == .integer(3))
    }

    // Reference values: Python's datetime.date.fromordinal / toordinal arithmetic.
    @Test func civilDatesMatchTheGregorianCalendar() {
        #expect(CivilDate(year: 1970, month: 1, day: 1).daysSinceEpoch == 0)
        #expect(CivilDate(year: 2000, month: 3, day: 1).daysSinceEpoch == 11_017)
        #expect(CivilDate(year: 1969, month: 12, day: 31).daysSinceEpoch == -1)
        #expect(CivilDate(year: 2024, month: 2, day: 29).daysSinceEpoch == 19_782)
        #expect(CivilDate(daysSinceEpoch: 19_782) == CivilDate(year: 2024, month: 2, day: 29))
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            #expect(CivilDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
        #expect(!CivilDate.isValid(year: 1900, month: 2, day: 29) && CivilDate.isValid(year: 2000, month: 2, day: 29))
        #expect(CivilDate.formatTimestamp(1_700_000_000_123_000) == "2023-11-14 22:13:20.123")
        #expect(CivilDate.formatTimestamp(-1) == "1969-12-31 23:59:59.999999")
    }

    @Test func typesWidenInsteadOfFailing() {
        #expect(DataType.common(.int32, .int64) == .int64)
        #expect(DataType.common(.int64, .float64) == .float64)
        #expect(DataType.common(.float64, .string) == .string)
        #expect(DataType.common(.date, .timestamp) == .timestamp)
    }
}
