#!/usr/bin/env python3
"""One engine's run of db-benchmark's questions, for scripts/bench-data-vs-polars-duckdb.sh.

Usage: bench_data_engines.py polars|duckdb GROUPBY_CSV JOIN_DIR JOIN_PREFIX THREADS
Prints "name wall_seconds cpu_seconds" per step: read (the group-by CSV), q1..q10, jread (the four
join CSVs), j1..j5. Each answer is materialised (DuckDB: CREATE TABLE ans AS …; Polars: collect()),
as db-benchmark does, and not printed.
"""
import os
import resource
import sys
import time

engine, groupby_csv, join_dir, join_prefix, threads = sys.argv[1:6]
os.environ["POLARS_MAX_THREADS"] = threads


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(name, action):
    wall, start = time.perf_counter(), cpu()
    action()
    print(f"{name} {time.perf_counter() - wall:.4f} {cpu() - start:.4f}", flush=True)


sys.path.insert(0, os.path.join(os.path.dirname(__file__), "."))
questions = {}
for line in open(os.path.join(os.path.dirname(__file__), "../../Tests/SQLTests/Fixtures/questions.txt")):
    name, sql = line.rstrip("\n").split("\t")
    questions[name] = sql
join_files = {t: os.path.join(join_dir, f"{join_prefix}_{t}.csv") for t in ("x", "small", "medium", "big")}

if engine == "duckdb":
    import duckdb

    con = duckdb.connect()
    con.sql(f"SET threads={threads}")
    timed("read", lambda: con.sql(f"CREATE TABLE x AS SELECT * FROM read_csv('{groupby_csv}')"))
    for name in [f"q{i}" for i in range(1, 11)]:
        timed(name, lambda: con.sql(f"CREATE OR REPLACE TABLE ans AS {questions[name]}"))
    con.sql("DROP TABLE x")

    def read_join():
        for table, path in join_files.items():
            con.sql(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv('{path}')")

    timed("jread", read_join)
    for name in [f"j{i}" for i in range(1, 6)]:
        timed(name, lambda: con.sql(f"CREATE OR REPLACE TABLE ans AS {questions[name]}"))
else:
    import polars as pl

    frames = {}
    timed("read", lambda: frames.__setitem__("x", pl.read_csv(groupby_csv)))
    x = frames["x"].lazy()
    # db-benchmark's polars script: the lazy API, one collect() per question.
    plans = {
        "q1": lambda: x.group_by("id1").agg(pl.sum("v1").alias("v1")),
        "q2": lambda: x.group_by("id1", "id2").agg(pl.sum("v1").alias("v1")),
        "q3": lambda: x.group_by("id3").agg(pl.sum("v1").alias("v1"), pl.mean("v3").alias("v3")),
        "q4": lambda: x.group_by("id4").agg(pl.mean("v1").alias("v1"), pl.mean("v2").alias("v2"), pl.mean("v3").alias("v3")),
        "q5": lambda: x.group_by("id6").agg(pl.sum("v1").alias("v1"), pl.sum("v2").alias("v2"), pl.sum("v3").alias("v3")),
        "q6": lambda: x.group_by("id4", "id5").agg(pl.median("v3").alias("median_v3"), pl.std("v3").alias("sd_v3")),
        "q7": lambda: x.group_by("id3").agg((pl.max("v1") - pl.min("v2")).alias("range_v1_v2")),
        "q8": lambda: x.drop_nulls("v3").group_by("id6").agg(pl.col("v3").top_k(2).alias("largest2_v3")).explode("largest2_v3"),
        "q9": lambda: x.group_by("id2", "id4").agg((pl.corr("v1", "v2") ** 2).alias("r2")),
        "q10": lambda: x.group_by("id1", "id2", "id3", "id4", "id5", "id6").agg(pl.sum("v3").alias("v3"), pl.len().alias("count")),
    }
    for name, plan in plans.items():
        timed(name, lambda: plan().collect())
    frames.clear()
    del x

    def read_join():
        for table, path in join_files.items():
            frames[table] = pl.read_csv(path)

    timed("jread", read_join)
    jx, small, medium, big = (frames[t].lazy() for t in ("x", "small", "medium", "big"))
    joins = {
        "j1": lambda: jx.join(small, on="id1"),
        "j2": lambda: jx.join(medium, on="id2"),
        "j3": lambda: jx.join(medium, how="left", on="id2"),
        "j4": lambda: jx.join(medium, on="id5"),
        "j5": lambda: jx.join(big, on="id3"),
    }
    for name, plan in joins.items():
        timed(name, lambda: plan().collect())
