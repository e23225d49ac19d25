#!/usr/bin/env python3
"""db-benchmark data and DuckDB's answers, for Tests/SQLTests/Fixtures (development time only).

Writes small versions of db-benchmark's tables (duckdblabs/db-benchmark, _data/groupby-datagen.R and
_data/join-datagen.R: the same columns, value ranges and key overlap, drawn with numpy's generator
instead of R's, so values differ but the shapes do not) and, for each of the 10 group-by and 5 join
questions as db-benchmark's DuckDB script asks them, DuckDB's answer as CSV with rows sorted by every
column. Also usable at benchmark scale: --rows 1e7 --out DIR writes only the data.

Usage: make-db-benchmark-fixtures.py [--rows N] [--groups K] [--nas PCT] [--out DIR] [--data-only]
"""
import argparse
import os

import numpy as np

GROUPBY = [
    ("q1", "SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1"),
    ("q2", "SELECT id1, id2, sum(v1) AS v1 FROM x GROUP BY id1, id2"),
    ("q3", "SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM x GROUP BY id3"),
    ("q4", "SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM x GROUP BY id4"),
    ("q5", "SELECT id6, sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3 FROM x GROUP BY id6"),
    ("q6", "SELECT id4, id5, median(v3) AS median_v3, stddev(v3) AS sd_v3 FROM x GROUP BY id4, id5"),
    ("q7", "SELECT id3, max(v1)-min(v2) AS range_v1_v2 FROM x GROUP BY id3"),
    ("q8", "SELECT id6, v3 AS largest2_v3 FROM (SELECT id6, v3, row_number() OVER (PARTITION BY id6 ORDER BY v3 DESC) AS order_v3 "
           "FROM x WHERE v3 IS NOT NULL) sub_query WHERE order_v3 <= 2"),
    ("q9", "SELECT id2, id4, pow(corr(v1, v2), 2) AS r2 FROM x GROUP BY id2, id4"),
    ("q10", "SELECT id1, id2, id3, id4, id5, id6, sum(v3) AS v3, count(*) AS count FROM x GROUP BY id1, id2, id3, id4, id5, id6"),
]
JOIN = [
    ("j1", "SELECT x.*, small.id4 AS small_id4, v2 FROM x JOIN small USING (id1)"),
    ("j2", "SELECT x.*, medium.id1 AS medium_id1, medium.id4 AS medium_id4, medium.id5 AS medium_id5, v2 FROM x JOIN medium USING (id2)"),
    ("j3", "SELECT x.*, medium.id1 AS medium_id1, medium.id4 AS medium_id4, medium.id5 AS medium_id5, v2 FROM x LEFT JOIN medium USING (id2)"),
    ("j4", "SELECT x.*, medium.id1 AS medium_id1, medium.id2 AS medium_id2, medium.id4 AS medium_id4, v2 FROM x JOIN medium USING (id5)"),
    ("j5", "SELECT x.*, big.id1 AS big_id1, big.id2 AS big_id2, big.id4 AS big_id4, big.id5 AS big_id5, big.id6 AS big_id6, v2 "
           "FROM x JOIN big USING (id3)"),
]


def with_nas(rng, column, pct):
    column = column.astype(object)
    if pct > 0:
        column[rng.random(len(column)) < pct / 100] = None
    return column


def write_csv(path, columns):
    names = list(columns)
    n = len(columns[names[0]])
    with open(path, "w") as out:
        out.write(",".join(names) + "\n")
        for start in range(0, n, 1_000_000):
            rows = []
            for i in range(start, min(n, start + 1_000_000)):
                rows.append(",".join("" if columns[c][i] is None else str(columns[c][i]) for c in names))
            out.write("\n".join(rows) + "\n")


def groupby_data(n, k, nas, seed):
    """groupby-datagen.R: id1/id2 'id%03d' of 1..K, id3 'id%010d' of 1..N/K, id4/id5 1..K, id6 1..N/K,
    v1 1..5, v2 1..15, v3 uniform(0, 100) rounded to 6 decimals."""
    rng = np.random.default_rng(seed)
    col = {
        "id1": np.array([f"id{i:03d}" for i in rng.integers(1, k + 1, n)], dtype=object),
        "id2": np.array([f"id{i:03d}" for i in rng.integers(1, k + 1, n)], dtype=object),
        "id3": np.array([f"id{i:010d}" for i in rng.integers(1, max(1, n // k) + 1, n)], dtype=object),
        "id4": rng.integers(1, k + 1, n), "id5": rng.integers(1, k + 1, n), "id6": rng.integers(1, max(1, n // k) + 1, n),
        "v1": rng.integers(1, 6, n), "v2": rng.integers(1, 16, n), "v3": np.round(rng.uniform(0, 100, n), 6),
    }
    # The R script leaves the id columns complete at nas > 0 only for id1..id6 keys? It sets NAs in
    # every column; so do we.
    return {name: with_nas(rng, values, nas) for name, values in col.items()}


def join_data(n, nas, seed, sizes):
    """join-datagen.R: keys of x split so that 90% have a match in each right table; the right tables
    also hold 10% keys x lacks. id4..id6 are 'id' + the number of id1..id3."""
    rng = np.random.default_rng(seed)
    tables = {}
    n_small, n_medium, n_big = sizes

    def keys(count):
        return np.arange(1, int(count * 1.1) + 1)

    k1, k2, k3 = keys(n_small), keys(n_medium), keys(n_big)
    def split(keyset, count):
        rng.shuffle(keyset)
        cut = int(len(keyset) / 1.1 * 0.9 / 0.9)  # 1/1.1 of the keys are shared with x
        return keyset[:cut], keyset[cut:]
    x_only1, both1 = k1[: len(k1) - n_small], k1[len(k1) - n_small:]
    x_only2, both2 = k2[: len(k2) - n_medium], k2[len(k2) - n_medium:]
    x_only3, both3 = k3[: len(k3) - n_big], k3[len(k3) - n_big:]
    # x draws 90% of its keys from those the right tables hold, 10% from its own.
    def draw(shared, own, count):
        take = rng.random(count) < 0.9
        return np.where(take, rng.choice(shared[: max(1, int(len(shared) * 0.9))], count), rng.choice(own if len(own) else shared, count))
    id1, id2, id3 = draw(both1, x_only1, n), draw(both2, x_only2, n), draw(both3, x_only3, n)
    tables["x"] = {"id1": id1, "id2": id2, "id3": id3,
                   "id4": np.array([f"id{i}" for i in id1], dtype=object), "id5": np.array([f"id{i}" for i in id2], dtype=object),
                   "id6": np.array([f"id{i}" for i in id3], dtype=object), "v1": np.round(rng.uniform(0, 100, n), 6)}
    def right(keys1, keys2, keys3, count, columns):
        a = rng.permutation(keys1)[:count] if keys1 is not None else None
        data = {}
        if "id1" in columns: data["id1"] = rng.choice(both1, count) if keys1 is None else np.resize(rng.permutation(both1), count)
        if "id2" in columns: data["id2"] = np.resize(rng.permutation(both2), count) if keys2 is not None else rng.choice(both2, count)
        if "id3" in columns: data["id3"] = np.resize(rng.permutation(both3), count)
        if "id4" in columns: data["id4"] = np.array([f"id{i}" for i in data["id1"]], dtype=object)
        if "id5" in columns: data["id5"] = np.array([f"id{i}" for i in data["id2"]], dtype=object)
        if "id6" in columns: data["id6"] = np.array([f"id{i}" for i in data["id3"]], dtype=object)
        data["v2"] = np.round(rng.uniform(0, 100, count), 6)
        return data
    tables["small"] = right(both1, None, None, n_small, ["id1", "id4"])
    tables["medium"] = right(None, both2, None, n_medium, ["id1", "id2", "id4", "id5"])
    tables["big"] = right(None, None, both3, n_big, ["id1", "id2", "id3", "id4", "id5", "id6"])
    for t in tables.values():
        for c in list(t):
            t[c] = with_nas(rng, np.asarray(t[c]), nas) if not c.startswith("id") else np.asarray(t[c]).astype(object)
    return tables


def answer(con, sql, path):
    rel = con.sql(sql)
    names = rel.columns
    rows = rel.fetchall()
    def key(row):
        return tuple((v is None, v if v is not None else 0) for v in row)
    rows.sort(key=key)
    with open(path, "w") as out:
        out.write(",".join(names) + "\n")
        for row in rows:
            out.write(",".join("" if v is None else (repr(float(v)) if isinstance(v, float) else str(v)) for v in row) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=float, default=2000)
    parser.add_argument("--groups", type=float, default=10)
    parser.add_argument("--nas", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../Tests/SQLTests/Fixtures"))
    parser.add_argument("--data-only", action="store_true")
    args = parser.parse_args()
    n, k = int(args.rows), int(args.groups)
    os.makedirs(args.out, exist_ok=True)
    gname = f"G1_{n}_{k}_{args.nas}_0"
    write_csv(os.path.join(args.out, gname + ".csv"), groupby_data(n, k, args.nas, seed=108))
    tables = join_data(n, args.nas, seed=108, sizes=(max(10, n // 1_000_000), max(100, n // 1000), n))
    for name, data in tables.items():
        write_csv(os.path.join(args.out, f"J1_{n}_{args.nas}_{name}.csv"), data)
    if args.data_only:
        return
    import duckdb
    con = duckdb.connect()
    con.sql("SET threads=1")
    con.sql(f"CREATE TABLE x AS SELECT * FROM read_csv('{args.out}/{gname}.csv')")
    for name, sql in GROUPBY:
        answer(con, sql, os.path.join(args.out, f"{gname}.{name}.csv"))
    con = duckdb.connect()
    for name in tables:
        con.sql(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{args.out}/J1_{n}_{args.nas}_{name}.csv')")
    for name, sql in JOIN:
        answer(con, sql, os.path.join(args.out, f"J1_{n}_{args.nas}.{name}.csv"))
    with open(os.path.join(args.out, "questions.txt"), "w") as out:
        for name, sql in GROUPBY + JOIN:
            out.write(f"{name}\t{sql}\n")


if __name__ == "__main__":
    main()
