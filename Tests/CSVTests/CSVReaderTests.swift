import Columns
import Glibc
import Testing
import Threading

@testable import CSV

/// The reader against hand-worked expectations: what each field of a small file must become.
@Suite struct CSVReaderTests {
    /// A pool per use: tests run concurrently and a pool runs one job at a time.
    static var pool: ThreadPool { ThreadPool(threads: 2) }

    static func write(_ text: String, name: String = #function) -> String {
        let directory = "/tmp/atelier-csv-tests-\(getpid())"
        mkdir(directory, 0o755)
        let path = directory + "/" + name.filter { $0.isLetter || $0.isNumber || $0 == "." } + (name.hasSuffix(".csv") ? "" : ".csv")
        let file = fopen(path, "wb")!
        _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress!, 1, $0.count - 1, file) }
        fclose(file)
        return path
    }

    static func values(_ table: Table, _ column: Int) -> [Value] { (0..<table.rowCount).map { table.value(row: $0, column: column) } }

    static func fixture(_ name: String) -> String {
        let here = #filePath
        return here[..<here.lastIndex(of: "/")!] + "/Fixtures/" + name
    }

    @Test func typesQuotesNullsAndLineEnds() throws {
        // BOM, CRLF, a quoted delimiter, a quoted newline, doubled quotes, an empty quoted string
        // (a value) next to an empty unquoted field (NULL), no newline at the end.
        let text =
            "\u{FEFF}id,name,score,day,flag\r\n1,\"Smith, J\",2.5,2024-02-29,true\r\n2,\"two\nlines\",,2024-03-01,false\r\n3,\"say \"\"hi\"\"\",7,,\r\n4,\"\",-1e3,1970-01-01,TRUE"
        let table = try CSVReader.read(path: Self.write(text), pool: Self.pool)
        #expect(table.schema.names == ["id", "name", "score", "day", "flag"])
        #expect(table.schema.fields.map(\.type) == [.int64, .string, .float64, .date, .boolean])
        #expect(Self.values(table, 0) == [.integer(1), .integer(2), .integer(3), .integer(4)])
        #expect(Self.values(table, 1) == [.string("Smith, J"), .string("two\nlines"), .string("say \"hi\""), .string("")])
        #expect(Self.values(table, 2) == [.double(2.5), .null, .double(7), .double(-1000)])
        #expect(Self.values(table, 3) == [.date(19_782), .date(19_783), .null, .date(0)])
        #expect(Self.values(table, 4) == [.boolean(true), .boolean(false), .null, .boolean(true)])
    }

    @Test func columnsWidenInsteadOfFailingMidFile() throws {
        // Small chunks, so the widening happens across chunk boundaries too.
        var lines = ["a,b,c,d"]
        for row in 0..<3000 { lines.append("\(row),\(row),\(row),2024-01-0\(row % 9 + 1)") }
        lines.append("1.5,x,99999999999999999999,2024-01-01 10:30:00")
        var options = CSVReadOptions()
        options.chunkBytes = 4096
        let table = try CSVReader.read(path: Self.write(lines.joined(separator: "\n") + "\n"), options: options, pool: Self.pool)
        #expect(table.schema.fields.map(\.type) == [.float64, .string, .float64, .timestamp])
        #expect(table.rowCount == 3001)
        #expect(table.value(row: 2999, column: 1) == .string("2999"))
        #expect(table.value(row: 3000, column: 0) == .double(1.5))
        #expect(table.value(row: 3000, column: 2) == .double(1e20))
        #expect(
            table.value(row: 0, column: 3) == .timestamp(Int64(CivilDate(year: 2024, month: 1, day: 1).daysSinceEpoch) * 86_400_000_000))
        #expect(table.value(row: 3000, column: 3) == .timestamp(Int64(19_723) * 86_400_000_000 + 37_800_000_000))
    }

    @Test func parallelChunksEqualOneChunkWithQuotedNewlinesAtEveryCut() throws {
        var lines = ["k,text,v"]
        for row in 0..<5000 { lines.append("k\(row % 37),\"line \(row)\nsecond, \"\"part\"\"\",\(Double(row) / 8)") }
        let path = Self.write(lines.joined(separator: "\n") + "\n")
        var small = CSVReadOptions()
        small.chunkBytes = 1000
        var whole = CSVReadOptions()
        whole.chunkBytes = 1 << 30
        let parallel = try CSVReader.read(path: path, options: small, pool: Self.pool)
        let single = try CSVReader.read(path: path, options: whole, pool: ThreadPool(threads: 1))
        #expect(parallel.batches.count > 10)
        #expect(parallel.rowCount == 5000 && single.rowCount == 5000)
        for column in 0..<3 { #expect(Self.values(parallel, column) == Self.values(single, column)) }
        #expect(parallel.value(row: 4321, column: 1) == .string("line 4321\nsecond, \"part\""))
        // k has 37 distinct values: one dictionary for the whole table.
        guard case .dictionary(_, let first) = parallel.batches[0].columns[0].storage,
            case .dictionary(_, let last) = parallel.batches.last!.columns[0].storage
        else {
            Issue.record("k is not dictionary-encoded")
            return
        }
        #expect(first.count == 37 && first.sharesStorage(with: last))
    }

    @Test func numbersRoundLikePython() throws {
        // Expected: Python's float() of each text (correctly rounded).
        let cases: [(String, Double)] = [
            ("0.1", 0x1.999999999999ap-4), ("1e23", 0x1.52d02c7e14af6p+76),
            ("2.2250738585072011e-308", Double(bitPattern: 0x000F_FFFF_FFFF_FFFF)),
            ("9007199254740993.0", 0x1.0000000000000p+53), ("123456.789012", 0x1.e240c9fcb0c02p+16), ("-0.000001", -0x1.0c6f7a0b5ed8dp-20),
            ("1.7976931348623157e308", 0x1.fffffffffffffp+1023), ("4.9e-324", Double(bitPattern: 1)),
            ("0.30000000000000004", 0x1.3333333333334p-2),
        ]
        let table = try CSVReader.read(path: Self.write("x\n" + cases.map(\.0).joined(separator: "\n") + "\n"), pool: Self.pool)
        #expect(Self.values(table, 0) == cases.map { .double($0.1) })
        let integers = try CSVReader.read(
            path: Self.write("n\n9223372036854775807\n-9223372036854775808\n", name: "integers.csv"), pool: Self.pool)
        #expect(Self.values(integers, 0) == [.integer(.max), .integer(.min)])
    }

    @Test func gzipFilesAreReadByTheirMagicNumber() throws {
        let table = try CSVReader.read(path: Self.fixture("small.csv.gz"), pool: Self.pool)
        #expect(table.schema.names == ["id", "name", "score"])
        #expect(Self.values(table, 1) == [.string("Smith, J"), .string("say \"hi\""), .null])
        #expect(Self.values(table, 2) == [.double(2.5), .null, .double(7)])
    }

    @Test func duplicateAndEmptyHeaderNamesAreRenamed() throws {
        let table = try CSVReader.read(path: Self.write("a,,a,A\n1,2,3,4\n"), pool: Self.pool)
        #expect(table.schema.names == ["a", "column1", "a_1", "A_2"])
    }

    @Test func globsMatchColumnsByName() throws {
        _ = Self.write("a,b\n1,x\n", name: "globpart1.csv")
        let path = Self.write("b,c,a\ny,2.5,2\n", name: "globpart2.csv")
        let table = try CSVReader.read(path: String(path.dropLast(13)) + "globpart*.csv", pool: Self.pool)
        #expect(table.schema.names == ["a", "b", "c"])
        #expect(Self.values(table, 0) == [.integer(1), .integer(2)])
        #expect(Self.values(table, 2) == [.null, .double(2.5)])
    }

    @Test func hostileFilesGiveErrorsNamingFileAndLine() throws {
        func message(_ text: String, _ options: CSVReadOptions = CSVReadOptions()) -> String {
            let path = Self.write(text, name: "bad\(text.utf8.count).csv")
            do {
                _ = try CSVReader.read(path: path, options: options, pool: Self.pool)
                return "no error"
            } catch {
                return String(describing: error).split(separator: path, omittingEmptySubsequences: false).joined(separator: "bad.csv")
            }
        }
        #expect(message("a,b\n1,2\n3\n") == "bad.csv:3: expected 2 fields, found 1")
        #expect(message("a,b\n1,2,3\n") == "bad.csv:2: expected 2 fields, found 3")
        #expect(message("a,b\n1,\"open\n2,3\n") == "bad.csv:2: unterminated quoted field (column 2, \"b\")")
        #expect(message("a,b\n1,\u{E9}t\u{E9}\n") == "no error")
        #expect(message("") == "bad.csv: the file is empty (no header, no rows)")
        var tight = CSVReadOptions()
        tight.maximumLineBytes = 100
        #expect(message("a\n" + String(repeating: "x", count: 500), tight) == "bad.csv:2: a record longer than 100 bytes")
        var padded = CSVReadOptions()
        padded.padMissingFields = true
        #expect(message("a,b\n1,2\n3\n", padded) == "no error")
    }

    @Test func invalidUTF8IsReportedWithLineAndColumn() throws {
        let directory = "/tmp/atelier-csv-tests-\(getpid())"
        mkdir(directory, 0o755)
        let path = directory + "/utf8.csv"
        let bytes: [UInt8] = Array("a,b\nx,y\nz,".utf8) + [0xC3, 0x28] + [0x0A]
        let file = fopen(path, "wb")!
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress!, 1, $0.count, file) }
        fclose(file)
        #expect(throws: CSVError.self) { try CSVReader.read(path: path, pool: Self.pool) }
        do {
            _ = try CSVReader.read(path: path, pool: Self.pool)
        } catch {
            #expect(String(describing: error) == "\(path):3: invalid UTF-8 (column 2, \"b\")")
        }
    }

    @Test func writerRoundTrips() throws {
        let text = "id,name,score\n1,\"a, b\",2.5\n2,\"\",\n3,\"q\"\"uote\",1e-7\n"
        let table = try CSVReader.read(path: Self.write(text), pool: Self.pool)
        let out = Self.write("", name: "roundtrip-out.csv")
        try CSVWriter.write(table, to: out)
        let again = try CSVReader.read(path: out, pool: Self.pool)
        for column in 0..<3 { #expect(Self.values(again, column) == Self.values(table, column)) }
    }
}
