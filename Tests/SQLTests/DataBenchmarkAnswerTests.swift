import Columns
import Glibc
import SQL
import Testing
import Threading

/// db-benchmark's 10 group-by and 5 join questions against DuckDB's answers on the same files
/// (scripts/dev/make-db-benchmark-fixtures.py wrote both at development time): integers and
/// strings exact, doubles within 1e-9 relative, NULLs where DuckDB has them.
@Suite struct DataBenchmarkAnswerTests {
    static func fixture(_ name: String) -> String {
        let here = #filePath
        return here[..<here.lastIndex(of: "/")!] + "/Fixtures/" + name
    }

    static func questions() -> [(String, String)] {
        let text = readText(fixture("questions.txt"))
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        }
    }

    static func readText(_ path: String) -> String {
        guard let file = fopen(path, "rb") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// DuckDB's answer: a header and rows of fields (empty = NULL).
    static func expected(_ path: String) -> (header: [String], rows: [[String]]) {
        let lines = readText(path).split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        let header = lines[0].split(separator: ",").map(String.init)
        return (header, lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) })
    }

    static func matches(_ value: Value, _ text: String) -> Bool {
        if text.isEmpty { return value.isNull }
        switch value {
        case .null: return false
        case .double(let actual):
            guard let wanted = Double(text) else { return false }
            if wanted.isNaN { return actual.isNaN }
            return abs(actual - wanted) <= 1e-9 * max(1, abs(wanted))
        case .integer(let actual): return Int64(text) == actual || Double(text) == Double(actual)
        default: return value.description == text
        }
    }

    static func check(_ session: SQLSession, _ name: String, _ sql: String, _ answer: String) throws {
        let results = try session.execute(sql)
        guard case .table(let table) = results.last else {
            Issue.record("\(name): no table")
            return
        }
        let (header, rows) = expected(answer)
        #expect(table.schema.names == header, "\(name): columns")
        #expect(table.rowCount == rows.count, "\(name): \(table.rowCount) rows, DuckDB \(rows.count)")
        // Both sorted by every column (NULLs first, as the fixture script sorts).
        var ours = (0..<table.rowCount).map { row in (0..<table.schema.count).map { table.value(row: row, column: $0) } }
        ours.sort { a, b in
            for (x, y) in zip(a, b) {
                let order = x.isNull && y.isNull ? 0 : x.isNull ? 1 : y.isNull ? -1 : ValueOrderForTests.compare(x, y)
                if order != 0 { return order < 0 }
            }
            return false
        }
        var mismatches = 0
        for (row, wanted) in zip(ours, rows) where !zip(row, wanted).allSatisfy({ matches($0, $1) }) {
            mismatches += 1
            if mismatches <= 3 { Issue.record("\(name): \(row.map(\.description)) vs DuckDB \(wanted)") }
        }
        #expect(mismatches == 0, "\(name): \(mismatches) rows differ")
    }

    @Test(arguments: ["G1_2000_10_0_0", "G1_2000_10_5_0"])
    func groupByQuestions(data: String) throws {
        let session = SQLSession(pool: ThreadPool(threads: 2))
        _ = try session.execute("CREATE TABLE x AS SELECT * FROM '\(Self.fixture(data + ".csv"))'")
        for (name, sql) in Self.questions() where name.hasPrefix("q") {
            try Self.check(session, "\(data) \(name)", sql, Self.fixture("\(data).\(name).csv"))
        }
    }

    @Test(arguments: ["J1_2000_0", "J1_2000_5"])
    func joinQuestions(data: String) throws {
        let session = SQLSession(pool: ThreadPool(threads: 2))
        for table in ["x", "small", "medium", "big"] {
            _ = try session.execute("CREATE TABLE \(table) AS SELECT * FROM '\(Self.fixture("\(data)_\(table).csv"))'")
        }
        for (name, sql) in Self.questions() where name.hasPrefix("j") {
            try Self.check(session, "\(data) \(name)", sql, Self.fixture("\(data).\(name).csv"))
        }
    }
}

/// Python's sort order for the fixture rows: numbers by value, strings by code point.
enum ValueOrderForTests {
    static func compare(_ a: Value, _ b: Value) -> Int {
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return x == y ? 0 : (Array(x.unicodeScalars.map(\.value)).lexicographicallyPrecedes(y.unicodeScalars.map(\.value)) ? -1 : 1)
        case (.integer(let x), .integer(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        default:
            let x = a.numericForTests, y = b.numericForTests
            return x == y ? 0 : (x < y ? -1 : 1)
        }
    }
}

extension Value {
    var numericForTests: Double {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        case .boolean(let flag): flag ? 1 : 0
        default: 0
        }
    }
}
