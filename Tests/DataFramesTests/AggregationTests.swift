import Columns
import Testing
import Threading

@testable import DataFrames

/// Group-by results against a direct computation in the test (a dictionary of arrays per group,
/// statistics by their textbook formulas in f64) on seeded random data with nulls.
@Suite struct AggregationTests {
    /// A pool per use: tests run concurrently and a pool runs one job at a time.
    static var pool: ThreadPool { ThreadPool(threads: 2) }

    struct Rows {
        var key: [String?] = []
        var number: [Int64?] = []
        var x: [Double?] = []
    }

    /// Seeded rows in several batches; keys drawn from `distinct` strings, ~10% nulls.
    static func data(rows: Int, distinct: Int, batches: Int, seed: UInt64) -> (Table, Rows) {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        var reference = Rows()
        for _ in 0..<rows {
            reference.key.append(next() % 10 == 0 ? nil : "k\(next() % UInt64(distinct))")
            reference.number.append(next() % 10 == 0 ? nil : Int64(next() % 1000) - 500)
            reference.x.append(next() % 10 == 0 ? nil : Double(next() % 1_000_000) / 1000)
        }
        let schema = Schema([Field("key", .string), Field("number", .int64), Field("x", .float64)])
        var tableBatches: [RecordBatch] = []
        for part in 0..<batches {
            let range = (rows * part / batches)..<(rows * (part + 1) / batches)
            let key = Column.from(range.map { reference.key[$0].map(Value.string) ?? .null }, type: .string)
            let number = Column.from(range.map { reference.number[$0].map(Value.integer) ?? .null }, type: .int64)
            let x = Column.from(range.map { reference.x[$0].map(Value.double) ?? .null }, type: .float64)
            tableBatches.append(RecordBatch(schema: schema, columns: [key, number, x]))
        }
        return (Table(schema: schema, batches: tableBatches), reference)
    }

    static func rowsByKey(_ table: Table) -> [String: [Value]] {
        var result: [String: [Value]] = [:]
        for row in 0..<table.rowCount {
            let key = table.value(row: row, column: 0)
            result[key.isNull ? "<null>" : key.description] = (1..<table.schema.count).map { table.value(row: row, column: $0) }
        }
        return result
    }

    static func close(_ value: Value, _ expected: Double?, _ tolerance: Double = 1e-9) -> Bool {
        guard let expected else { return value.isNull }
        guard let actual = value.numeric else { return false }
        if expected.isNaN { return actual.isNaN }
        return abs(actual - expected) <= tolerance * max(1, abs(expected))
    }

    @Test(arguments: [1, 2])
    func groupedStatisticsMatchDirectComputation(threads: Int) throws {
        let (table, reference) = AggregationTests.data(rows: 20_000, distinct: 37, batches: 7, seed: 42)
        let pool = ThreadPool(threads: threads)
        let frame = try LazyFrame(table).groupBy([col("key")]).agg([
            sum(col("number")).alias("s"), mean(col("x")).alias("m"), count().alias("n"),
            Expr.aggregate("count", [col("x")], distinct: false).alias("nx"),
            Expr.aggregate("min", [col("number")], distinct: false).alias("lo"),
            Expr.aggregate("max", [col("x")], distinct: false).alias("hi"),
            Expr.aggregate("median", [col("x")], distinct: false).alias("med"),
            Expr.aggregate("stddev", [col("x")], distinct: false).alias("sd"),
            Expr.aggregate("count", [col("number")], distinct: true).alias("nd"),
            Expr.aggregate("corr", [col("x"), col("number")], distinct: false).alias("r"),
        ])
        let result = AggregationTests.rowsByKey(try frame.collect(pool: pool))
        var groups: [String: [Int]] = [:]
        for row in reference.key.indices { groups[reference.key[row] ?? "<null>", default: []].append(row) }
        #expect(result.count == groups.count)
        for (key, rows) in groups {
            let values = try #require(result[key], "group \(key) missing")
            let numbers = rows.compactMap { reference.number[$0] }
            let xs = rows.compactMap { reference.x[$0] }
            #expect(values[0] == (numbers.isEmpty ? .null : .integer(numbers.reduce(0, +))))
            #expect(AggregationTests.close(values[1], xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)))
            #expect(values[2] == .integer(Int64(rows.count)))
            #expect(values[3] == .integer(Int64(xs.count)))
            #expect(values[4] == (numbers.min().map { .integer($0) } ?? .null))
            #expect(values[5] == (xs.max().map { .double($0) } ?? .null))
            let sorted = xs.sorted()
            let median = sorted.isEmpty ? nil : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
            #expect(AggregationTests.close(values[6], median))
            let mean = xs.reduce(0, +) / Double(xs.count)
            let sd = xs.count > 1 ? (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1)).squareRoot() : nil
            #expect(AggregationTests.close(values[7], sd))
            #expect(values[8] == .integer(Int64(Set(numbers).count)))
            let pairs = rows.compactMap { row -> (Double, Double)? in
                guard let x = reference.x[row], let n = reference.number[row] else { return nil }
                return (x, Double(n))
            }
            let mx = pairs.map(\.0).reduce(0, +) / Double(pairs.count), my = pairs.map(\.1).reduce(0, +) / Double(pairs.count)
            let sxy = pairs.map { ($0.0 - mx) * ($0.1 - my) }.reduce(0, +)
            let sxx = pairs.map { ($0.0 - mx) * ($0.0 - mx) }.reduce(0, +), syy = pairs.map { ($0.1 - my) * ($0.1 - my) }.reduce(0, +)
            #expect(AggregationTests.close(values[9], pairs.isEmpty ? nil : sxy / (sxx * syy).squareRoot(), 1e-9))
        }
    }

    @Test func globalAggregateOverNoRowsHasOneRow() throws {
        let (table, _) = AggregationTests.data(rows: 100, distinct: 3, batches: 2, seed: 1)
        let result = try LazyFrame(table).filter(col("number") > lit(10_000)).groupBy([]).agg([
            count().alias("n"), sum(col("number")).alias("s"),
        ])
        .collect(pool: AggregationTests.pool)
        #expect(result.rowCount == 1)
        #expect(result.value(row: 0, column: 0) == .integer(0))
        #expect(result.value(row: 0, column: 1) == .null)
    }

    @Test func compositeKeysWiderThanOneWordStillGroupExactly() throws {
        // Two full-range BIGINT keys cannot pack into 64 bits: the multi-word path.
        let schema = Schema([Field("a", .int64), Field("b", .int64)])
        let a: [Int64] = [.min, .max, .min, 0, .max, 0]
        let b: [Int64] = [1, 2, 1, .min, 2, .max]
        let table = Table(schema: schema, batches: [RecordBatch(schema: schema, columns: [Column(.int64(a)), Column(.int64(b))])])
        let result = try LazyFrame(table).groupBy([col("a"), col("b")]).agg([count().alias("n")]).collect(pool: AggregationTests.pool)
        var counts: [String: Int64] = [:]
        for row in 0..<result.rowCount {
            if case .integer(let n) = result.value(row: row, column: 2) {
                counts["\(result.value(row: row, column: 0)),\(result.value(row: row, column: 1))"] = n
            }
        }
        #expect(counts == ["\(Int64.min),1": 2, "\(Int64.max),2": 2, "0,\(Int64.min)": 1, "0,\(Int64.max)": 1])
    }

    @Test func integerSumOverflowIsAnErrorNotAWrap() throws {
        let schema = Schema([Field("v", .int64)])
        let table = Table(schema: schema, batches: [RecordBatch(schema: schema, columns: [Column(.int64([.max, 1]))])])
        #expect(throws: QueryError.self) { try LazyFrame(table).groupBy([]).agg([sum(col("v"))]).collect(pool: AggregationTests.pool) }
    }
}
