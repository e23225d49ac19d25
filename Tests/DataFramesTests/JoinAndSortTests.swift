import Columns
import Testing
import Threading

@testable import DataFrames

/// Joins and sorts on small hand-written tables whose answers are worked out in the comments.
@Suite struct JoinAndSortTests {
    /// A pool per use: tests run concurrently and a pool runs one job at a time.
    static var pool: ThreadPool { ThreadPool(threads: 2) }

    // left: id 1 a, 2 b, 2 c, NULL d, 4 e      right: id 2 x, 2 y, 3 z, NULL w
    static func tables() -> (LazyFrame, LazyFrame) {
        let leftSchema = Schema([Field("id", .int64), Field("l", .string)])
        let left = Table(
            schema: leftSchema,
            batches: [
                RecordBatch(
                    schema: leftSchema,
                    columns: [
                        Column.from([.integer(1), .integer(2)], type: .int64), Column.from([.string("a"), .string("b")], type: .string),
                    ]),
                RecordBatch(
                    schema: leftSchema,
                    columns: [
                        Column.from([.integer(2), .null, .integer(4)], type: .int64),
                        Column.from([.string("c"), .string("d"), .string("e")], type: .string),
                    ]),
            ])
        let rightSchema = Schema([Field("id", .int32), Field("r", .string)])
        let right = Table(
            schema: rightSchema,
            batches: [
                RecordBatch(
                    schema: rightSchema,
                    columns: [
                        Column.from([.integer(2), .integer(2), .integer(3), .null], type: .int32),
                        Column.from([.string("x"), .string("y"), .string("z"), .string("w")], type: .string),
                    ])
            ])
        return (LazyFrame(left, name: "left"), LazyFrame(right, name: "right"))
    }

    static func pairs(_ table: Table) -> [String] {
        (0..<table.rowCount).map { row in "\(table.value(row: row, column: 1))\(table.value(row: row, column: table.schema.count - 1))" }
            .sorted()
    }

    @Test func everyJoinKind() throws {
        let (left, right) = JoinAndSortTests.tables()
        func run(_ kind: JoinKind) throws -> [String] {
            JoinAndSortTests.pairs(try left.join(right, on: ["id"], how: kind).collect(pool: JoinAndSortTests.pool))
        }
        // 2 matches x and y twice (b, c); 1, NULL, 4 match nothing; NULL never equals NULL.
        #expect(try run(.inner) == ["bx", "by", "cx", "cy"])
        #expect(try run(.left) == ["aNULL", "bx", "by", "cx", "cy", "dNULL", "eNULL"])
        #expect(try run(.right) == ["NULLw", "NULLz", "bx", "by", "cx", "cy"])
        #expect(try run(.full) == ["NULLw", "NULLz", "aNULL", "bx", "by", "cx", "cy", "dNULL", "eNULL"])
        let semi = try left.join(right, on: ["id"], how: .semi).collect(pool: JoinAndSortTests.pool)
        #expect((0..<semi.rowCount).map { semi.value(row: $0, column: 1).description }.sorted() == ["b", "c"])
        let anti = try left.join(right, on: ["id"], how: .anti).collect(pool: JoinAndSortTests.pool)
        #expect((0..<anti.rowCount).map { anti.value(row: $0, column: 1).description }.sorted() == ["a", "d", "e"])
    }

    /// Random keys with duplicates and NULLs, joined and checked pair by pair, in order, against a
    /// nested loop: `scale` 1 keeps the keys' range small (the build side is addressed by key),
    /// 2^45 spreads them past direct addressing (the build side goes through a hash table).
    @Test(arguments: [Int64(1), Int64(1) << 45]) func joinsEqualANestedLoopInOrder(scale: Int64) throws {
        var state: UInt64 = 3
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        func table(_ name: String, batches: [Int], firstRow: Int) -> (LazyFrame, [Int64?]) {
            let schema = Schema([Field("k", .int64), Field(name, .int64)])
            var keys: [Int64?] = []
            var built: [RecordBatch] = []
            for rows in batches {
                let batchKeys: [Int64?] = (0..<rows).map { _ in next() % 20 == 0 ? nil : Int64(next() % 50) * scale - 7 }
                let ids = (0..<rows).map { Value.integer(Int64(firstRow + keys.count + $0)) }
                built.append(
                    RecordBatch(
                        schema: schema,
                        columns: [
                            Column.from(batchKeys.map { $0.map(Value.integer) ?? .null }, type: .int64), Column.from(ids, type: .int64),
                        ]))
                keys += batchKeys
            }
            return (LazyFrame(Table(schema: schema, batches: built), name: name), keys)
        }
        let (left, leftKeys) = table("l", batches: [300, 1, 250], firstRow: 0)
        let (right, rightKeys) = table("r", batches: [120, 90], firstRow: 10_000)
        for kind in [JoinKind.inner, .left] {
            var expected: [String] = []
            for (l, key) in leftKeys.enumerated() {
                let matches = rightKeys.indices.filter { key != nil && rightKeys[$0] == key }
                for r in matches { expected.append("\(l) \(10_000 + r)") }
                if matches.isEmpty && kind == .left { expected.append("\(l) NULL") }
            }
            let joined = try left.join(right, on: ["k"], how: kind).collect(pool: JoinAndSortTests.pool)
            let got = (0..<joined.rowCount).map {
                "\(joined.value(row: $0, column: 1)) \(joined.value(row: $0, column: joined.schema.count - 1))"
            }
            #expect(got == expected, "\(kind)")
        }
    }

    /// A small table joined to a big one builds on the small one: the same pairs as the nested
    /// loop (in the big side's order), the columns still left-then-right.
    @Test func aSmallLeftSideIsTheBuildSide() throws {
        let small = Schema([Field("k", .int64), Field("s", .string)])
        let big = Schema([Field("k", .int64), Field("b", .int64)])
        let smallKeys: [Int64] = [3, 1, 4, 1, 5]
        let bigKeys = (0..<40).map { Int64($0 % 7) }
        let left = LazyFrame(
            Table(
                schema: small,
                batches: [
                    RecordBatch(
                        schema: small,
                        columns: [
                            Column.from(smallKeys.map { .integer($0) }, type: .int64),
                            Column.from(smallKeys.indices.map { .string("s\($0)") }, type: .string),
                        ])
                ]), name: "small")
        let right = LazyFrame(
            Table(
                schema: big,
                batches: [
                    RecordBatch(
                        schema: big,
                        columns: [
                            Column.from(bigKeys.map { .integer($0) }, type: .int64),
                            Column.from(bigKeys.indices.map { .integer(Int64($0)) }, type: .int64),
                        ])
                ]), name: "big")
        let joined = try left.join(right, on: ["k"], how: .inner).collect(pool: JoinAndSortTests.pool)
        #expect(joined.schema.names.first == "k" && joined.schema.names.contains("s") && joined.schema.names.last == "b")
        var expected: [String] = []
        for (b, bigKey) in bigKeys.enumerated() {
            for (s, smallKey) in smallKeys.enumerated() where smallKey == bigKey {
                expected.append("\(Value.string("s\(s)")) \(Value.integer(Int64(b)))")
            }
        }
        let got = (0..<joined.rowCount).map {
            "\(joined.value(row: $0, column: 1)) \(joined.value(row: $0, column: joined.schema.count - 1))"
        }
        #expect(expected.count == 29)  // keys 1, 3, 4 six times in big, 5 five times; 1 twice in small
        #expect(got.sorted() == expected.sorted())
    }

    @Test func sortPlacesNullsLastAndKeepsTiesStable() throws {
        let (left, _) = JoinAndSortTests.tables()
        let ascending = try left.sort([col("id")]).collect(pool: JoinAndSortTests.pool)
        #expect((0..<5).map { ascending.value(row: $0, column: 1).description } == ["a", "b", "c", "e", "d"])
        let descending = try left.sort([col("id")], descending: true).collect(pool: JoinAndSortTests.pool)
        #expect((0..<5).map { descending.value(row: $0, column: 1).description } == ["e", "b", "c", "a", "d"])
        let top = try left.sort([col("l")], descending: true).limit(2).collect(pool: JoinAndSortTests.pool)
        #expect((0..<2).map { top.value(row: $0, column: 1).description } == ["e", "d"])
    }

    @Test func parallelSortOfManyRowsIsOrdered() throws {
        let count = 200_000
        var state: UInt64 = 7
        let values = (0..<count).map { _ -> Double in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let schema = Schema([Field("v", .float64)])
        let table = Table(schema: schema, batches: [RecordBatch(schema: schema, columns: [Column(.float64(values))])])
        let sorted = try LazyFrame(table).sort([col("v")]).collect(pool: JoinAndSortTests.pool)
        let output = (0..<sorted.rowCount).map { sorted.value(row: $0, column: 0).numeric! }
        #expect(output == values.sorted())
    }

    @Test func filtersArePushedIntoTheScanAndGiveTheSameRows() throws {
        let (left, right) = JoinAndSortTests.tables()
        let joined = try left.join(right, on: ["id"]).filter(col("r") == lit("x"))
        #expect(joined.explain().contains("SCAN right [id, r] FILTER (r = 'x')"))
        let unoptimized = try Executor(pool: JoinAndSortTests.pool).run(joined.plan)
        let optimized = try joined.collect(pool: JoinAndSortTests.pool)
        #expect(JoinAndSortTests.pairs(unoptimized) == ["bx", "cx"])
        #expect(JoinAndSortTests.pairs(optimized) == ["bx", "cx"])
    }
}

/// row_number() ≤ k by the per-partition top-k pass against the general path (number every row by
/// a full sort, then filter), on seeded data with ties: doubles with NULLs (the general
/// comparison), doubles without (with ±0, NaN and infinities) and integers without (the
/// specialized ones), descending and ascending.
@Suite struct TopPerPartitionTests {
    @Test(arguments: [1, 2, 5], ["nulls", "doubles", "integers"]) func sameRowsAsNumberingEveryRow(limit: Int, keys: String) throws {
        var state: UInt64 = 99
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        // Enough rows for the specialized pass to split them between two workers and merge.
        let count = 140_000
        let groups = (0..<count).map { _ in Value.integer(Int64(next() % 30_000)) }
        let specials: [Double] = [0, -0.0, 0, -0.0, .nan, .infinity, -.infinity]
        let values = (0..<count).map { _ -> Value in
            switch keys {
            case "nulls": return next() % 20 == 0 ? .null : .double(Double(next() % 50))
            case "doubles": return .double(next() % 2 == 0 ? specials[Int(next() % 7)] : Double(next() % 5) - 2)
            default: return .integer(Int64(next() % 50) - 25)
            }
        }
        let type: DataType = keys == "integers" ? .int64 : .float64
        // Each row's input position rides along, so equal keys in different rows tell apart.
        let schema = Schema([Field("g", .int64), Field("v", type), Field("id", .int64)])
        let ids = (0..<count).map { Value.integer(Int64($0)) }
        let columns = [Column.from(groups, type: .int64), Column.from(values, type: type), Column.from(ids, type: .int64)]
        let table = Table(schema: schema, batches: [RecordBatch(schema: schema, columns: columns)])
        let scan = LogicalPlan.scan(InMemorySource(table, name: "t"), columns: [0, 1, 2], filter: nil)
        let numbered = LogicalPlan.rowNumber(
            scan, partition: [ExpressionBuilder.column(0, in: schema)],
            order: [SortKey(ExpressionBuilder.column(1, in: schema), descending: limit != 2)],
            name: "rn")
        let rn = Expression.column(index: 3, name: "rn", type: .int64)
        let fast = LogicalPlan.filter(numbered, .binary(.lessOrEqual, rn, .literal(.integer(Int64(limit)), .int64)))
        let slow = LogicalPlan.filter(
            numbered, .binary(.lessOrEqual, .binary(.add, rn, .literal(.integer(0), .int64)), .literal(.integer(Int64(limit)), .int64)))
        func rows(_ plan: LogicalPlan) throws -> [String] {
            let result = try Executor(pool: ThreadPool(threads: 2)).run(plan)
            return (0..<result.rowCount).map { row in (0..<4).map { result.value(row: row, column: $0).description }.joined(separator: "|")
            }.sorted()
        }
        let expected = try rows(slow)
        #expect(expected.count >= 29_000 * limit / 2)  // nearly all of the 30,000 partitions have rows
        #expect(try rows(fast) == expected)
    }
}

/// The nested loop forms its pairs a bounded chunk at a time: any chunk size gives the pairs a
/// loop over every (left row, right row) keeps, in that order, with unmatched left rows last.
@Suite struct NestedLoopChunkTests {
    static let leftSchema = Schema([Field("a", .int64)])
    static let rightSchema = Schema([Field("b", .int64)])
    static let leftValues: [[Int64?]] = [[5, 1, nil, 7], [3, 9, 2]]
    static let rightValues: [Int64?] = [4, 8, 1, nil, 6, 2, 9]

    static func batch(_ schema: Schema, _ values: [Int64?]) -> RecordBatch {
        RecordBatch(schema: schema, columns: [Column.from(values.map { $0.map(Value.integer) ?? .null }, type: .int64)])
    }

    /// Pairs as text, by the batches the join returned.
    static func pairs(_ batches: [RecordBatch]) -> [String] {
        batches.flatMap { batch in (0..<batch.rowCount).map { "\(batch.columns[0].value(at: $0)) \(batch.columns[1].value(at: $0))" } }
    }

    @Test(arguments: [JoinKind.inner, .left, .cross])
    func everyChunkSizeGivesTheLoopsPairs(kind: JoinKind) throws {
        let joinedSchema = Schema([Field("a", .int64), Field("b", .int64)])
        // a < b (NULL compares as unknown: no pair); a cross join has no condition.
        let condition: Expression? =
            kind == .cross
            ? nil
            : .binary(.less, .column(index: 0, name: "a", type: .int64), .column(index: 1, name: "b", type: .int64))
        var expected: [String] = []
        for values in Self.leftValues {
            var unmatched: [String] = []
            for a in values {
                var any = false
                for b in Self.rightValues where condition == nil || (a != nil && b != nil && a! < b!) {
                    expected.append("\(a.map(Value.integer) ?? .null) \(b.map(Value.integer) ?? .null)")
                    any = true
                }
                if kind == .left && !any { unmatched.append("\(a.map(Value.integer) ?? .null) \(Value.null)") }
            }
            expected += unmatched
        }
        for chunk in [1, 2, 3, 7, 8, 20, 1 << 20] {
            let got = try NestedLoopJoin.run(
                left: Self.leftValues.map { Self.batch(Self.leftSchema, $0) }, right: [Self.batch(Self.rightSchema, Self.rightValues)],
                kind: kind, condition: condition, schema: joinedSchema, pool: ThreadPool(threads: 2), pairsPerChunk: chunk)
            #expect(Self.pairs(got) == expected, "\(kind) in chunks of \(chunk) pairs")
        }
        #expect(expected.count > 5)
    }
}
