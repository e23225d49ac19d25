import Columns
import Randomness
import Testing
import Threading

@testable import CSV

/// Record splitting at 64-byte block edges: the bitmask scanner against a byte-by-byte search, and
/// whole files whose fields straddle blocks against the values the test wrote.
@Suite struct FieldSplittingTests {
    @Test func scannerFindsTheSameEndsAsAByteSearch() {
        var random = Xoshiro256(seed: 7)
        for length in [0, 1, 63, 64, 65, 127, 128, 200, 1000] {
            // Bytes from a small alphabet, so delimiters and newlines are frequent; nonzero
            // padding, which must never be reported.
            let alphabet: [UInt8] = Array("ab,;\n\r\"x".utf8)
            var buffer = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            buffer += [UInt8](repeating: 0x2C, count: CSVBytes.padding)
            buffer.withUnsafeBufferPointer { bytes in
                for end in Set([0, length / 2, length]) {
                    var scanner = FieldEndScanner(bytes: bytes.baseAddress!, end: end, delimiter: 0x2C)
                    // Forward in steps of 1–9, as the parser moves, and every index from scratch.
                    var index = 0
                    while index < end {
                        var expected = index
                        while expected < end && bytes[expected] != 0x2C && bytes[expected] != 0x0A { expected += 1 }
                        #expect(scanner.next(from: index) == expected, "length \(length) end \(end) index \(index)")
                        index += 1 + Int(random.next() % 9)
                    }
                    for index in 0..<end {
                        var fresh = FieldEndScanner(bytes: bytes.baseAddress!, end: end, delimiter: 0x2C)
                        var expected = index
                        while expected < end && bytes[expected] != 0x2C && bytes[expected] != 0x0A { expected += 1 }
                        #expect(fresh.next(from: index) == expected)
                    }
                }
            }
        }
    }

    @Test func byteCountsEqualACountOneByOne() {
        var random = Xoshiro256(seed: 3)
        let bytes = (0..<300).map { _ in UInt8([0x0A, 0x22, 0x80, 0xFF, 0x61][Int(random.next() % 5)]) }
        bytes.withUnsafeBufferPointer { buffer in
            for start in [0, 1, 7, 31] {
                for length in [0, 1, 8, 31, 32, 33, 63, 64, 65, 200, 300 - start] {
                    for byte: UInt8 in [0x0A, 0x22, 0xFF, 0x00] {
                        let expected = buffer[start..<(start + length)].filter { $0 == byte }.count
                        #expect(CSVReader.countBytes(byte, buffer.baseAddress! + start, length) == expected)
                    }
                }
            }
        }
    }

    @Test func shortDigitRunsParseLikeTheDigitLoop() {
        // Every field of 1–8 bytes over digits and their neighbours '/' and ':', plus random ones.
        var random = Xoshiro256(seed: 5)
        let alphabet: [UInt8] = Array("0123456789/:a -".utf8)
        var checked = 0
        for _ in 0..<20000 {
            let length = 1 + Int(random.next() % 8)
            var bytes = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(random.next() % 4 == 0 ? 15 : 10))] }
            bytes += [UInt8](repeating: 0x37, count: 8)  // padding that must be ignored
            let fast = bytes.withUnsafeBufferPointer { FieldParsing.shortUnsigned(padded: $0.baseAddress!, length) }
            let slow = bytes.withUnsafeBufferPointer { buffer -> Int64? in
                buffer[0..<length].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? FieldParsing.integer(buffer.baseAddress!, length) : nil
            }
            #expect(fast == slow, "\(String(decoding: bytes[0..<length], as: UTF8.self))")
            if slow != nil { checked += 1 }
        }
        #expect(checked > 5000)
        let nines = Array("99999999".utf8) + [UInt8](repeating: 0, count: 8)
        #expect(nines.withUnsafeBufferPointer { FieldParsing.shortUnsigned(padded: $0.baseAddress!, 8) } == 99_999_999)
    }

    @Test func aColumnWidenedMidBatchKeepsItsLaterRows() throws {
        // A first batch of integers; then integers, one double and integers again within the
        // second batch, which starts with the column known to be integers.
        let values = (0..<ChunkParser.batchRows).map { "\($0)" } + ["7", "12", "2.5", "40", "-3", "123456789", "8"]
        let table = try CSVReader.read(
            path: CSVReaderTests.write("x,y\n" + values.map { "\($0),a\n" }.joined()), pool: ThreadPool(threads: 1))
        #expect(table.schema.fields[0].type == .float64)
        #expect(CSVReaderTests.values(table, 0) == values.map { .double(Double($0)!) })
    }

    @Test func fieldsAcrossBlockEdgesReadAsWritten() throws {
        // Fields 0–150 bytes long (many cross a block), some quoted with delimiters, newlines and
        // doubled quotes inside, CRLF on some lines, no newline at the end.
        var random = Xoshiro256(seed: 11)
        func word(_ length: Int) -> String {
            String((0..<length).map { _ in Character(Unicode.Scalar(UInt8(97 + random.next() % 26))) })
        }
        var expectedText: [String] = []
        var expectedNumbers: [Int64] = []
        var text = "name,n,tag\n"
        for row in 0..<3000 {
            var name = word(Int(random.next() % 151))
            let quoted = random.next() % 4 == 0
            if quoted { name += ", \"q\"\n" + word(Int(random.next() % 70)) }
            expectedText.append(name)
            let number = Int64(bitPattern: random.next()) >> Int64(random.next() % 63)
            expectedNumbers.append(number)
            let field = quoted ? "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : name
            text += "\(field),\(number),t\(row % 3)" + (row == 2999 ? "" : random.next() % 5 == 0 ? "\r\n" : "\n")
        }
        var options = CSVReadOptions()
        options.chunkBytes = 5000
        let table = try CSVReader.read(path: CSVReaderTests.write(text), options: options, pool: ThreadPool(threads: 2))
        #expect(table.rowCount == 3000)
        #expect(table.schema.fields.map(\.type) == [.string, .int64, .string])
        #expect(CSVReaderTests.values(table, 0) == expectedText.map { $0.isEmpty ? .null : .string($0) })
        #expect(CSVReaderTests.values(table, 1) == expectedNumbers.map { .integer($0) })
        #expect(CSVReaderTests.values(table, 2) == (0..<3000).map { .string("t\($0 % 3)") })
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        for character in self { result += String(character) == target ? replacement : String(character) }
        return result
    }
}
