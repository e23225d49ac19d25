/// db-benchmark's questions as its DuckDB scripts ask them (duckdb/groupby-duckdb.R,
/// duckdb/join-duckdb.R), over tables x (group-by) and x, small, medium, big (join).
public enum DataBenchmarkQuestions {
    public static let groupBy: [(name: String, sql: String)] = [
        (name: "q1", sql: "SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1"),
        (name: "q2", sql: "SELECT id1, id2, sum(v1) AS v1 FROM x GROUP BY id1, id2"),
        (name: "q3", sql: "SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM x GROUP BY id3"),
        (name: "q4", sql: "SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM x GROUP BY id4"),
        (name: "q5", sql: "SELECT id6, sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3 FROM x GROUP BY id6"),
        (name: "q6", sql: "SELECT id4, id5, median(v3) AS median_v3, stddev(v3) AS sd_v3 FROM x GROUP BY id4, id5"),
        (name: "q7", sql: "SELECT id3, max(v1)-min(v2) AS range_v1_v2 FROM x GROUP BY id3"),
        (
            name: "q8",
            sql:
                "SELECT id6, v3 AS largest2_v3 FROM (SELECT id6, v3, row_number() OVER (PARTITION BY id6 ORDER BY v3 DESC) AS order_v3 FROM x WHERE v3 IS NOT NULL) sub_query WHERE order_v3 <= 2"
        ),
        (name: "q9", sql: "SELECT id2, id4, pow(corr(v1, v2), 2) AS r2 FROM x GROUP BY id2, id4"),
        (
            name: "q10",
            sql: "SELECT id1, id2, id3, id4, id5, id6, sum(v3) AS v3, count(*) AS count FROM x GROUP BY id1, id2, id3, id4, id5, id6"
        ),
    ]

    /// q8 without a window function: the two largest v3 per id6 as an engine without row_number()
    /// could ask it (ClickHouse's db-benchmark script says `ORDER BY v3 DESC LIMIT 2 BY id6`; this is
    /// the portable form: rows with fewer than two larger v3 in their id6, ties broken like rank()).
    public static let largestTwoWithoutWindow =
        "SELECT id6, v3 AS largest2_v3 FROM x AS a WHERE v3 IS NOT NULL AND "
        + "(SELECT count(*) FROM x AS b WHERE b.id6 = a.id6 AND b.v3 > a.v3) < 2"

    public static let join: [(name: String, sql: String)] = [
        (name: "j1", sql: "SELECT x.*, small.id4 AS small_id4, v2 FROM x JOIN small USING (id1)"),
        (
            name: "j2",
            sql:
                "SELECT x.*, medium.id1 AS medium_id1, medium.id4 AS medium_id4, medium.id5 AS medium_id5, v2 FROM x JOIN medium USING (id2)"
        ),
        (
            name: "j3",
            sql:
                "SELECT x.*, medium.id1 AS medium_id1, medium.id4 AS medium_id4, medium.id5 AS medium_id5, v2 FROM x LEFT JOIN medium USING (id2)"
        ),
        (
            name: "j4",
            sql:
                "SELECT x.*, medium.id1 AS medium_id1, medium.id2 AS medium_id2, medium.id4 AS medium_id4, v2 FROM x JOIN medium USING (id5)"
        ),
        (
            name: "j5",
            sql:
                "SELECT x.*, big.id1 AS big_id1, big.id2 AS big_id2, big.id4 AS big_id4, big.id5 AS big_id5, big.id6 AS big_id6, v2 FROM x JOIN big USING (id3)"
        ),
    ]
}
