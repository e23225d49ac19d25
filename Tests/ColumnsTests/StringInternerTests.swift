import Columns
import Randomness
import Testing

/// Interning against a Swift dictionary: equal strings ⇔ equal codes, codes dense in first-seen
/// order, and the finished dictionary holds each string at its code — across the short (≤ 12
/// bytes) and long tables, the 12/13-byte boundary, shared heads, the empty string and growth.
@Suite struct StringInternerTests {
    static func strings() -> [String] {
        var generator = Xoshiro256(seed: 11)
        let alphabet = Array("ab1é€_")
        var result = ["", "", "id001", "id0000000001", "id00000000012", "id00000000013", "abcd", "abcde", "abcd"]
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 20)
            // Few distinct heads, so many strings share the view's first four bytes.
            let head = ["idxx", "idyy", "zz"][Int(generator.next() % 3)]
            let tail = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            result.append(head + tail)
            if generator.next() % 4 == 0 { result.append(result[Int(generator.next() % UInt64(result.count))]) }
        }
        return result
    }

    @Test func codesAreExactDenseAndFirstSeen() {
        var interner = StringInterner()
        var expected: [String: UInt32] = [:]
        var order: [String] = []
        for string in Self.strings() {
            var bytes = Array(string.utf8)
            let code = bytes.withUnsafeMutableBytes { interner.intern(UnsafeRawBufferPointer($0)) }
            if let known = expected[string] {
                #expect(code == known, "\(string)")
            } else {
                #expect(Int(code) == order.count, "\(string) is new: code \(code), expected \(order.count)")
                expected[string] = code
                order.append(string)
            }
        }
        #expect(interner.count == order.count)
        let dictionary = interner.finish()
        #expect(dictionary.count == order.count)
        for (code, string) in order.enumerated() { #expect(dictionary.string(at: code) == string) }
    }

    @Test func aDictionaryColumnInternsLikeItsStrings() {
        // Codes that skip dictionary entries, repeat, and sit under NULL rows; an interner that
        // already knows some of the strings.
        let values = StringArray(["zeta", "", "a long string of many bytes", "alpha", "unused"])
        let codes: [UInt32] = [3, 0, 0, 2, 1, 3, 4, 2, 0]
        let validity = Validity(codes.indices.map { $0 != 4 && $0 != 6 })
        let column = Column(.dictionary(codes: codes, values: values), validity: validity)
        var interner = StringInterner()
        var known = Array("alpha".utf8)
        #expect(known.withUnsafeMutableBytes { interner.intern(UnsafeRawBufferPointer($0)) } == 0)
        let interned = interner.intern(column)
        let dictionary = interner.finish()
        for row in codes.indices {
            if column.isNull(row) {
                #expect(interned[row] == 0)
            } else {
                #expect(dictionary.string(at: Int(interned[row])) == values.string(at: Int(codes[row])), "row \(row)")
            }
        }
        #expect(Set(codes.indices.filter { !column.isNull($0) }.map { interned[$0] }).count == 3)
    }
}
