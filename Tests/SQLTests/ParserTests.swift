import Columns
import Testing

@testable import DataFrames
@testable import SQL

/// The parser alone: shapes checked against hand-written prefix forms, the db-benchmark questions as
/// DuckDB's scripts write them, errors by exact text and caret, and hostile input.
@Suite struct ParserTests {
    static func expression(_ sql: String) throws -> String {
        let statements = try SQLParser.parse("SELECT " + sql)
        guard statements.count == 1, case .query(let query) = statements[0], case .select(let core) = query.body,
            core.items.count == 1, case .expression(let expression, _) = core.items[0]
        else { return "not one expression" }
        return PrefixForm.of(expression)
    }

    static func error(_ sql: String) -> String {
        do {
            _ = try SQLParser.parse(sql)
            return "no error"
        } catch {
            return error.render(source: sql)
        }
    }

    @Test func precedence() throws {
        #expect(try Self.expression("1 + 2 * 3 - 4") == "(- (+ 1 (* 2 3)) 4)")
        #expect(try Self.expression("a OR b AND NOT c = d") == "(OR a (AND b (NOT (= c d))))")
        #expect(try Self.expression("NOT a OR b") == "(OR (NOT a) b)")
        #expect(try Self.expression("a || b = c || d") == "(= (|| a b) (|| c d))")
        #expect(try Self.expression("a + b || c") == "(|| (+ a b) c)")
        #expect(try Self.expression("-a * b") == "(* (- a) b)")
        #expect(try Self.expression("-x::INTEGER") == "(- (cast x INTEGER))")
        #expect(try Self.expression("a % b / c") == "(/ (% a b) c)")
        #expect(try Self.expression("a != b") == "(<> a b)")
        #expect(try Self.expression("a + 1 BETWEEN b AND c + 2 AND d") == "(AND (between (+ a 1) b (+ c 2)) d)")
        #expect(try Self.expression("a NOT BETWEEN 1 AND 2") == "(not-between a 1 2)")
        #expect(try Self.expression("x NOT IN (1, 2 + 3)") == "(not-in x 1 (+ 2 3))")
        #expect(try Self.expression("x IN (SELECT y FROM t)") == "(in x <query>)")
        #expect(try Self.expression("name NOT ILIKE 'a%' AND b LIKE c") == "(AND (not-ilike name 'a%') (like b c))")
        #expect(try Self.expression("a IS NOT NULL AND b IS NULL") == "(AND (is-not-null a) (is-null b))")
        #expect(try Self.expression("a IS NOT DISTINCT FROM b + 1") == "(is-not-distinct a (+ b 1))")
        #expect(try Self.expression("(a + b) * c") == "(* (+ a b) c)")
        #expect(try Self.expression("t.a * 2.5e1") == "(* t.a 25.0)")
        #expect(try Self.expression("'it''s' || \"Odd \"\"Name\"\"\"") == "(|| 'it's' Odd \"Name\")")
        #expect(try Self.expression("CAST(a AS DOUBLE) + b::VARCHAR") == "(+ (cast a DOUBLE) (cast b VARCHAR))")
        #expect(try Self.expression("DATE '2024-01-01'") == "DATE'2024-01-01'")
        #expect(try Self.expression("TRUE AND NULL") == "(AND true null)")
        #expect(try Self.expression("CASE WHEN a > 1 THEN 'x' ELSE 'y' END") == "(case (when (> a 1) 'x') (else 'y'))")
        #expect(try Self.expression("CASE k WHEN 1 THEN 2 WHEN 3 THEN 4 END") == "(case k (when 1 2) (when 3 4))")
        #expect(try Self.expression("count(*)") == "(count *)")
        #expect(try Self.expression("count(DISTINCT x)") == "(count distinct x)")
        #expect(try Self.expression("(SELECT max(y) FROM t) + 1") == "(+ <subquery> 1)")
        #expect(
            try Self.expression("row_number() OVER (PARTITION BY id6 ORDER BY v3 DESC)")
                == "(row_number over (partition id6) (order v3 desc))")
    }

    @Test func statementShapes() throws {
        let sql = """
            WITH a (k, v) AS (SELECT 1, 2) SELECT DISTINCT t.*, x AS y FROM 'data/*.csv' AS t (c1, c2)
            LEFT OUTER JOIN read_csv('g.csv', header = true, delim = ';') r USING (k)
            CROSS JOIN (SELECT 1) s, u
            WHERE x > 0 GROUP BY ALL HAVING count(*) > 1
            UNION ALL (SELECT 1, 2) ORDER BY 1 DESC NULLS LAST, 2 OFFSET 5 LIMIT 10
            """
        let statements = try SQLParser.parse(sql)
        #expect(statements.count == 1)
        guard case .query(let query) = statements.first else {
            Issue.record("not a query")
            return
        }
        #expect(query.with.map(\.name) == ["a"])
        #expect(query.with.first?.columns == ["k", "v"])
        #expect(query.orderBy.count == 2)
        #expect(query.orderBy.first?.descending == true)
        #expect(query.orderBy.first?.nullsFirst == false)
        #expect(query.limit.map(PrefixForm.of) == "10")
        #expect(query.offset.map(PrefixForm.of) == "5")
        guard case .union(.select(let core), .nested, all: true) = query.body else {
            Issue.record("not a UNION ALL of a select and a parenthesised query")
            return
        }
        #expect(core.distinct)
        #expect(core.groupByAll)
        #expect(core.having != nil)
        #expect(core.from.count == 2)
        guard case .join(let left, .table(name: "u", _, _), kind: .cross, _, _) = core.from.count == 2 ? joinOfCommas(core.from) : nil,
            case .join(let fileAndFunction, .subquery(_, alias: let subqueryAlias, _), kind: .cross, condition: nil, _) = left,
            case .join(
                .file(path: "data/*.csv", alias: let fileAlias, _),
                .function(name: "read_csv", _, named: let named, alias: let functionAlias, _), kind: .left,
                condition: .using(let usingColumns, _), _) = fileAndFunction
        else {
            Issue.record("unexpected FROM shape")
            return
        }
        #expect(fileAlias?.name == "t")
        #expect(fileAlias?.columns == ["c1", "c2"])
        #expect(functionAlias?.name == "r")
        #expect(subqueryAlias?.name == "s")
        #expect(usingColumns == ["k"])
        #expect(named["header"].map(PrefixForm.of) == "true")
        #expect(named["delim"].map(PrefixForm.of) == "';'")
    }

    /// Comma-separated FROM items are a cross join; the test folds them the same way the binder does.
    func joinOfCommas(_ items: [TableReference]) -> TableReference {
        items.dropFirst().reduce(items[0]) { .join($0, $1, kind: .cross, condition: nil, range: .none) }
    }

    @Test func otherStatements() throws {
        let statements = try SQLParser.parse(
            """
            EXPLAIN SELECT 1;
            COPY (SELECT * FROM t) TO 'out.csv' (FORMAT csv, HEADER true, DELIMITER ',');
            CREATE TABLE ans AS SELECT id1 FROM x;;
            """)
        #expect(statements.count == 3)
        if case .explain(.query) = statements[0] {} else { Issue.record("not EXPLAIN") }
        if case .copy(_, let path, let options) = statements[1] {
            #expect(path == "out.csv")
            #expect(options.count == 3)
        } else {
            Issue.record("not COPY")
        }
        if case .createTableAs(let name, _) = statements[2] { #expect(name == "ans") } else { Issue.record("not CREATE TABLE AS") }
    }

    /// duckdblabs/db-benchmark duckdb/groupby-duckdb.R and duckdb/join-duckdb.R, as the scripts write them.
    static let benchmarkQuestions = [
        "CREATE TABLE ans AS SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1",
        "CREATE TABLE ans AS SELECT id1, id2, sum(v1) AS v1 FROM x GROUP BY id1, id2",
        "CREATE TABLE ans AS SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM x GROUP BY id3",
        "CREATE TABLE ans AS SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM x GROUP BY id4",
        "CREATE TABLE ans AS SELECT id6, sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3 FROM x GROUP BY id6",
        "CREATE TABLE ans AS SELECT id4, id5, quantile_cont(v3, 0.5) AS median_v3, stddev(v3) AS sd_v3 FROM x GROUP BY id4, id5",
        "CREATE TABLE ans AS SELECT id4, id5, median(v3) AS median_v3, stddev(v3) AS sd_v3 FROM x GROUP BY id4, id5",
        "CREATE TABLE ans AS SELECT id3, max(v1)-min(v2) AS range_v1_v2 FROM x GROUP BY id3",
        """
        CREATE TABLE ans AS SELECT id6, v3 AS largest2_v3 FROM (SELECT id6, v3, row_number() OVER (PARTITION BY id6 ORDER BY v3 DESC) AS order_v3 \
        FROM x WHERE v3 IS NOT NULL) sub_query WHERE order_v3 <= 2
        """,
        "CREATE TABLE ans AS SELECT id2, id4, pow(corr(v1, v2), 2) AS r2_v1_v2 FROM x GROUP BY id2, id4",
        "CREATE TABLE ans AS SELECT id2, id4, regr_r2(v2, v1) AS r2_v1_v2 FROM x GROUP BY id2, id4",
        "CREATE TABLE ans AS SELECT id1, id2, id3, id4, id5, id6, sum(v3) AS v3, count(*) AS count FROM x GROUP BY id1, id2, id3, id4, id5, id6",
        "CREATE TABLE ans AS SELECT x.*, small.id4 AS small_id4, v2 FROM x JOIN small USING (id1)",
        "CREATE TABLE ans AS SELECT x.*, medium.id1 AS medium_id1, medium.id4 AS medium_id4, medium.id5 AS medium_id5, v2 FROM x JOIN medium USING (id2)",
        "CREATE TABLE ans AS SELECT x.*, medium.id1 AS medium_id1, medium.id4 AS medium_id4, medium.id5 AS medium_id5, v2 FROM x LEFT JOIN medium USING (id2)",
        "CREATE TABLE ans AS SELECT x.*, medium.id1 AS medium_id1, medium.id2 AS medium_id2, medium.id4 AS medium_id4, v2 FROM x JOIN medium USING (id5)",
        "CREATE TABLE ans AS SELECT x.*, big.id1 AS big_id1, big.id2 AS big_id2, big.id4 AS big_id4, big.id5 AS big_id5, big.id6 AS big_id6, v2 FROM x JOIN big USING (id3)",
        "SELECT sum(v1) AS v1 FROM ans",
        "SELECT sum(v3) AS v3, sum(count) AS count FROM ans",
        "SELECT count(*) AS cnt, sum(v1) AS v1, sum(v2) AS v2 FROM ans",
    ]

    @Test(arguments: benchmarkQuestions) func benchmarkQuestionParses(_ sql: String) throws {
        let statements = try SQLParser.parse(sql)
        #expect(statements.count == 1)
    }

    @Test func benchmarkWindowAndJoinShapes() throws {
        guard case .createTableAs("ans", let outer) = try SQLParser.parse(Self.benchmarkQuestions[8]).first,
            case .select(let core) = outer.body, case .subquery(let inner, alias: let alias, _) = core.from.first,
            case .select(let innerCore) = inner.body, case .expression(let window, alias: "order_v3") = innerCore.items.last
        else {
            Issue.record("q8 shape")
            return
        }
        #expect(alias?.name == "sub_query")
        #expect(PrefixForm.of(window) == "(row_number over (partition id6) (order v3 desc))")
        #expect(innerCore.filter.map(PrefixForm.of) == "(is-not-null v3)")
        guard case .createTableAs(_, let join) = try SQLParser.parse(Self.benchmarkQuestions[14]).first,
            case .select(let joinCore) = join.body,
            case .join(.table(name: "x", _, _), .table(name: "medium", _, _), kind: .left, condition: .using(["id2"], _), _) = joinCore.from
                .first,
            case .all(qualifier: "x", _) = joinCore.items.first
        else {
            Issue.record("join q3 shape")
            return
        }
    }

    @Test func errorsPointAtTheToken() {
        #expect(
            Self.error("SELECT a FORM t") == """
                Error at line 1, column 15: expected FROM, WHERE, GROUP BY, ORDER BY, LIMIT or end of query but found "t"
                SELECT a FORM t
                              ^
                """)
        #expect(
            Self.error("SELECT a\nFROM t\nWHERE") == """
                Error at line 3, column 6: expected an expression but found end of query
                WHERE
                     ^
                """)
        #expect(
            Self.error("SELECT CAST(a AS BLOB) FROM t") == """
                Error at line 1, column 18: unknown type BLOB (expected BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, REAL, DOUBLE, VARCHAR, DATE or TIMESTAMP)
                SELECT CAST(a AS BLOB) FROM t
                                 ^^^^
                """)
        #expect(
            Self.error("SELECT 'abc FROM t") == """
                Error at line 1, column 8: unterminated string
                SELECT 'abc FROM t
                       ^
                """)
        #expect(
            Self.error("SELECT 1 /* no end") == """
                Error at line 1, column 10: unterminated comment
                SELECT 1 /* no end
                         ^^
                """)
        #expect(
            Self.error("SELECT a FROM t JOIN u") == """
                Error at line 1, column 23: expected ON or USING but found end of query
                SELECT a FROM t JOIN u
                                      ^
                """)
        #expect(
            Self.error("SELECT a FROM t ORDER BY a NULLS MIDDLE") == """
                Error at line 1, column 34: expected FIRST or LAST but found "MIDDLE"
                SELECT a FROM t ORDER BY a NULLS MIDDLE
                                                 ^^^^^^
                """)
        #expect(
            Self.error("SELECT a IS 3") == """
                Error at line 1, column 13: expected NULL or DISTINCT FROM after IS but found "3"
                SELECT a IS 3
                            ^
                """)
        #expect(
            Self.error("SELECT (1 + 2 FROM t") == """
                Error at line 1, column 15: expected ")" but found "FROM"
                SELECT (1 + 2 FROM t
                              ^^^^
                """)
        #expect(
            Self.error("SELECT 1 SELECT 2") == """
                Error at line 1, column 10: expected FROM, WHERE, GROUP BY, ORDER BY, LIMIT or end of query but found "SELECT"
                SELECT 1 SELECT 2
                         ^^^^^^
                """)
        #expect(
            Self.error("UPDATE t SET a = 1") == """
                Error at line 1, column 1: expected SELECT, WITH, EXPLAIN, COPY or CREATE TABLE but found "UPDATE"
                UPDATE t SET a = 1
                ^^^^^^
                """)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let depth = 100_000
        let parentheses = "SELECT " + String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)
        #expect(Self.error(parentheses).contains("nests deeper than"))
        let negations = "SELECT " + String(repeating: "NOT ", count: depth) + "TRUE"
        #expect(Self.error(negations).contains("nests deeper than"))
        let minuses = "SELECT " + String(repeating: "- ", count: depth) + "1"
        #expect(Self.error(minuses).contains("nests deeper than"))
        let subqueries = String(repeating: "SELECT * FROM (", count: depth) + "SELECT 1" + String(repeating: ")", count: depth)
        #expect(Self.error(subqueries).contains("nests deeper than"))
        #expect(Self.error("SELECT " + String(repeating: "(", count: 50) + "1" + String(repeating: ")", count: 50)) == "no error")
    }

    @Test func everyPrefixAndRandomBytesNeverTrap() {
        let long =
            Self.benchmarkQuestions[8]
            + "; COPY (SELECT CASE WHEN a NOT BETWEEN 1 AND 2 THEN 'x''y' END::TEXT FROM 'f.csv') TO 'o.csv' (HEADER true) -- done"
        var errors = 0
        for end in long.utf8.indices {
            let prefix = String(decoding: long.utf8[..<end], as: UTF8.self)
            if Self.error(prefix) != "no error" { errors += 1 }
        }
        #expect(errors > 0)
        var generator = SplitMix64(seed: 0x5EED)
        let alphabet = Array("SELECT FROM WHERE ( ) , . ; ' \" -- /* */ * + - :: || = < > a b 1 2.5e3 \u{0} \u{FF} é\n".utf8)
        for trial in 0..<2_000 {
            let length = Int(generator.next() % 64)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                bytes.append(
                    trial % 2 == 0 ? UInt8(truncatingIfNeeded: generator.next()) : alphabet[Int(generator.next() % UInt64(alphabet.count))])
            }
            _ = Self.error(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func nameSuggestions() {
        #expect(NameSuggestion.nearest(to: "id7", among: ["idx1", "id6", "v1"]) == "id6")
        #expect(NameSuggestion.nearest(to: "ID6", among: ["id1", "id6"]) == "id6")
        #expect(NameSuggestion.nearest(to: "vl", among: ["v1", "id1"]) == "v1")
        #expect(NameSuggestion.nearest(to: "cutsomer", among: ["customer", "order"]) == "customer")  // one transposition
        #expect(NameSuggestion.nearest(to: "xyz", among: ["id1", "v1"]) == nil)
        #expect(NameSuggestion.nearest(to: "a", among: []) == nil)
    }
}

/// A deterministic generator so a failing hostile input can be replayed.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
