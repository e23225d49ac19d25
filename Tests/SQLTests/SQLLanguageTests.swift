import Columns
import Testing
import Threading

@testable import SQL

/// The language: precedence and semantics checked by evaluating constant queries whose answers
/// are worked out by hand, errors checked by their exact text and caret, and hostile input.
@Suite struct SQLLanguageTests {
    /// A session per use: tests run concurrently and a session runs one statement at a time.
    static var session: SQLSession { SQLSession(pool: ThreadPool(threads: 2)) }

    static func value(_ sql: String) throws -> Value {
        guard case .table(let table) = try session.execute(sql).last, table.rowCount == 1 else { return .string("no single row") }
        return table.value(row: 0, column: 0)
    }

    static func error(_ sql: String) -> String {
        do {
            _ = try session.execute(sql)
            return "no error"
        } catch {
            return error.render(source: sql)
        }
    }

    @Test func precedenceAndSemantics() throws {
        #expect(try Self.value("SELECT 1 + 2 * 3 - 4 / 2") == .double(5))  // integer / is DOUBLE division
        #expect(try Self.value("SELECT 7 % 3 * 2") == .integer(2))
        #expect(try Self.value("SELECT NOT 1 = 2 AND 2 < 3 OR FALSE") == .boolean(true))
        #expect(try Self.value("SELECT -2 * -3") == .integer(6))
        #expect(try Self.value("SELECT 'a' || 'b' || 1") == .string("ab1"))
        #expect(try Self.value("SELECT CAST('2024-02-29' AS DATE) + 1") == .date(19_783))
        #expect(try Self.value("SELECT '12'::BIGINT * 2") == .integer(24))
        #expect(try Self.value("SELECT NULL = NULL") == .null)
        #expect(try Self.value("SELECT NULL IS NOT DISTINCT FROM NULL") == .boolean(true))
        #expect(try Self.value("SELECT 3 BETWEEN 1 AND 3") == .boolean(true))
        #expect(try Self.value("SELECT 2 IN (1, NULL)") == .null)
        #expect(try Self.value("SELECT 'Hello' ILIKE 'h%o'") == .boolean(true))
        #expect(try Self.value("SELECT 'ab_c' LIKE 'ab\\_c'") == .boolean(false))
        #expect(try Self.value("SELECT CASE WHEN 1 > 2 THEN 'x' WHEN 2 > 1 THEN 'y' END") == .string("y"))
        #expect(try Self.value("SELECT CASE 3 WHEN 1 THEN 10 ELSE 2.5 END") == .double(2.5))
        #expect(try Self.value("SELECT 1 / 0") == .null)
        #expect(try Self.value("SELECT (SELECT 40) + 2") == .integer(42))
        #expect(try Self.value("WITH t(a) AS (SELECT 5 UNION ALL SELECT 7) SELECT sum(a) FROM t") == .integer(12))
        #expect(try Self.value("SELECT count(*) FROM (SELECT 1 UNION SELECT 1 UNION SELECT 2)") == .integer(2))
        #expect(try Self.value("SELECT round(2.5) + round(-2.5)") == .double(0))
        #expect(try Self.value("SELECT substring('héllo', 2, 3)") == .string("éll"))
        #expect(try Self.value("SELECT year(DATE '2024-06-30') * 100 + month(DATE '2024-06-30')") == .integer(202_406))
    }

    @Test func errorsPointAtTheToken() {
        // FORM is an alias of a (AS is optional, as in DuckDB); t is what cannot follow.
        #expect(
            Self.error("SELECT a FORM t")
                == "Error at line 1, column 15: expected FROM, WHERE, GROUP BY, ORDER BY, LIMIT or end of query but found \"t\"\nSELECT a FORM t\n              ^"
        )
        #expect(
            Self.error("SELECT 1 +") == "Error at line 1, column 11: expected an expression but found end of query\nSELECT 1 +\n          ^"
        )
        #expect(Self.error("SELECT 'open") == "Error at line 1, column 8: unterminated string\nSELECT 'open\n       ^")
        #expect(
            Self.error("SELECT\n  nme FROM (SELECT 1 AS name)")
                == "Error at line 2, column 3: unknown column \"nme\"; did you mean \"name\"?\n  nme FROM (SELECT 1 AS name)\n  ^^^")
        #expect(
            Self.error("SELECT x FROM nowhere")
                == "Error at line 1, column 15: unknown table \"nowhere\"; read a file with FROM 'file.csv'\nSELECT x FROM nowhere\n              ^^^^^^^"
        )
        #expect(
            Self.error("SELECT CAST(1 AS BIGNUM)")
                == "Error at line 1, column 18: unknown type BIGNUM (expected BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, REAL, DOUBLE, VARCHAR, DATE or TIMESTAMP)\nSELECT CAST(1 AS BIGNUM)\n                 ^^^^^^"
        )
        #expect(
            Self.error("SELECT a, sum(b) FROM (SELECT 1 AS a, 2 AS b, 3 AS c) GROUP BY c")
                == "Error at line 1, column 8: column \"a\" must be in GROUP BY or inside an aggregate such as any_value(a)\nSELECT a, sum(b) FROM (SELECT 1 AS a, 2 AS b, 3 AS c) GROUP BY c\n       ^"
        )
        #expect(
            Self.error("SELECT 'a' + 1")
                == "Error at line 1, column 8: cannot apply + to VARCHAR and BIGINT ('a' + 1)\nSELECT 'a' + 1\n       ^^^^^^^")
        #expect(
            Self.error("SELECT nosuch(1)") == "Error at line 1, column 8: unknown function nosuch()\nSELECT nosuch(1)\n       ^^^^^^^^^")
        #expect(Self.error("SELECT sum(1) WHERE sum(1) > 0") != "no error")
    }

    @Test func hostileInputNeverTraps() {
        let query =
            "WITH t AS (SELECT 1 AS a, 'x''y' AS b) SELECT a, b, CASE WHEN a IN (1, 2) THEN -a::DOUBLE ELSE NULL END FROM t WHERE b LIKE '%y' ORDER BY 1 DESC NULLS FIRST LIMIT 5"
        let bytes = Array(query.utf8)
        for end in 0...bytes.count { _ = try? SQLParser.parse(String(decoding: bytes[0..<end], as: UTF8.self)) }
        var state: UInt64 = 1
        for _ in 0..<2000 {
            var text: [UInt8] = []
            for _ in 0..<40 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text.append(UInt8(truncatingIfNeeded: state >> 33) % 96 + 32)
            }
            _ = try? SQLParser.parse(String(decoding: text, as: UTF8.self))
        }
        let deep = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        #expect(Self.error("SELECT " + deep).contains("nests deeper than 200 levels"))
        let minus = "SELECT " + String(repeating: "- ", count: 10_000) + "1"
        #expect(Self.error(minus).contains("nests deeper than 200 levels"))
    }
}
