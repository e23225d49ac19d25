#!/usr/bin/env bash
# db-benchmark's group-by and join questions: atelier sql against Polars and DuckDB, same files,
# same thread count, each engine in its own process, alternating, median of the repeats.
set -euo pipefail

rows=1e7 repeats=3 threads=2 engines="atelier polars duckdb"
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --engines) engines="$2"; shift 2 ;;
    -h|--help)
      cat <<'USAGE'
Usage: scripts/bench-data-vs-polars-duckdb.sh [--rows 1e7] [--repeats 3] [--threads 2] [--engines "atelier polars duckdb"]

Makes G1_<rows>_1e2_0_0 and J1_<rows>_* with `atelier datagen` (cached in ~/.cache/atelier/bench-data),
then runs, per engine in its own process: the CSV read, q1–q10, the join tables' read, j1–j5
(each answer materialised, not printed). Engines alternate within each repeat; the table gives the
median wall seconds per question, the ratio to the fastest engine, the process's CPU seconds and
peak RSS. Polars and DuckDB come from BENCH_VENV (default /root/.cache/atelier-dev/venv; pip
install polars duckdb there). Machines here are shared: `uptime` is printed at the start and end.
USAGE
      exit 0 ;;
    *) echo "bench-data: unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
atelier="${ATELIER:-.build/release/atelier}"
python="${BENCH_VENV:-/root/.cache/atelier-dev/venv}/bin/python"
[ -x "$atelier" ] || { echo "bench-data: no atelier binary at $atelier (swift build -c release)" >&2; exit 1; }
data="${HOME}/.cache/atelier/bench-data"
mkdir -p "$data"
rows_n=$(python3 -c "print(int(float('$rows')))")
pretty() { python3 -c "import sys; n=int(float(sys.argv[1])); e=len(str(n))-1; print(f'{str(n)[0]}e{e}')" "$1"; }
size=$(pretty "$rows_n")
groupby="$data/G1_${size}_1e2_0_0.csv"
[ -f "$groupby" ] || "$atelier" datagen groupby --rows "$rows_n" --groups 100 --out "$data"
jx="$data/J1_${size}_NA_0_0.csv"
[ -f "$jx" ] || "$atelier" datagen join --rows "$rows_n" --out "$data"
small="$data/J1_${size}_$(pretty $(( rows_n / 1000000 > 10 ? rows_n / 1000000 : 10 )))_0_0.csv"
medium="$data/J1_${size}_$(pretty $(( rows_n / 1000 > 100 ? rows_n / 1000 : 100 )))_0_0.csv"
big="$data/J1_${size}_$(pretty "$rows_n")_0_0.csv"
ls "$small" "$medium" "$big" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The join files under the names the Python runner expects.
ln -s "$jx" "$work/J_x.csv"; ln -s "$small" "$work/J_small.csv"; ln -s "$medium" "$work/J_medium.csv"; ln -s "$big" "$work/J_big.csv"

atelier_script="$work/atelier.sql"
{
  echo "CREATE TABLE x AS SELECT * FROM '$groupby';"
  grep -P '^q' Tests/SQLTests/Fixtures/questions.txt | cut -f2 | sed 's/^/CREATE TABLE ans AS /; s/$/;/'
  echo "CREATE TABLE x AS SELECT * FROM '$work/J_x.csv'; CREATE TABLE small AS SELECT * FROM '$work/J_small.csv';"
  echo "CREATE TABLE medium AS SELECT * FROM '$work/J_medium.csv'; CREATE TABLE big AS SELECT * FROM '$work/J_big.csv';"
  grep -P '^j' Tests/SQLTests/Fixtures/questions.txt | cut -f2 | sed 's/^/CREATE TABLE ans AS /; s/$/;/'
} > "$atelier_script"

run_atelier() {  # prints "name wall cpu" lines like the Python runner (cpu: not per statement)
  "$atelier" sql --file "$atelier_script" --timer --threads "$threads" 2>&1 >/dev/null | awk '
    /^Run Time:/ { t[++n] = $3 }
    END {
      names = "read q1 q2 q3 q4 q5 q6 q7 q8 q9 q10 jx jsmall jmedium jbig j1 j2 j3 j4 j5"; split(names, m, " ")
      for (i = 1; i <= n; i++) {
        if (m[i] == "jx") { j = t[i]; continue }
        if (m[i] == "jsmall" || m[i] == "jmedium") { j += t[i]; continue }
        if (m[i] == "jbig") { print "jread", j + t[i], "-"; continue }
        print m[i], t[i], "-"
      }
    }'
}

echo "load: $(uptime)"
results="$work/results"
for rep in $(seq 1 "$repeats"); do
  for engine in $engines; do
    out="$work/$engine.$rep"
    if [ "$engine" = atelier ]; then
      /usr/bin/time -f "%e %U %S %M" -o "$out.time" bash -c "$(declare -f run_atelier); atelier='$atelier' atelier_script='$atelier_script' threads=$threads run_atelier" > "$out"
    else
      /usr/bin/time -f "%e %U %S %M" -o "$out.time" "$python" scripts/dev/bench_data_engines.py "$engine" "$groupby" "$work" J "$threads" > "$out"
    fi
    read -r wall user sys rss < "$out.time"
    echo "$engine run $rep: process ${wall}s wall, $(python3 -c "print(round($user+$sys,1))") CPU-s, peak RSS $((rss / 1024)) MiB"
    awk -v e="$engine" -v r="$rep" '{ print e, r, $1, $2 }' "$out" >> "$results"
    echo "$engine $rep process $(python3 -c "print($user+$sys)") $rss" >> "$work/process"
  done
done
echo "load: $(uptime)"
python3 - "$results" "$work/process" "$engines" <<'PY'
import statistics, sys
from collections import defaultdict
results, process, engines = sys.argv[1], sys.argv[2], sys.argv[3].split()
times = defaultdict(list)
for line in open(results):
    engine, _, name, seconds = line.split()
    times[(engine, name)].append(float(seconds))
order = ["read"] + [f"q{i}" for i in range(1, 11)] + ["jread"] + [f"j{i}" for i in range(1, 6)]
print(f"{'step':8}" + "".join(f"{e:>12}" for e in engines) + "   ratio atelier/fastest other")
totals = defaultdict(float)
for name in order:
    medians = {e: statistics.median(times[(e, name)]) for e in engines if times[(e, name)]}
    if not medians: continue
    others = [v for e, v in medians.items() if e != "atelier"]
    ratio = medians.get("atelier", float("nan")) / min(others) if others and "atelier" in medians else float("nan")
    group = "groupby" if name.startswith("q") else "join" if name.startswith("j") and name != "jread" else name
    for e, v in medians.items(): totals[(e, group)] += v
    print(f"{name:8}" + "".join(f"{medians.get(e, float('nan')):12.3f}" for e in engines) + f"   {ratio:.2f}")
for group in ("groupby", "join"):
    values = {e: totals[(e, group)] for e in engines}
    others = [v for e, v in values.items() if e != "atelier"]
    ratio = values.get("atelier", float("nan")) / min(others) if others else float("nan")
    print(f"{group:8}" + "".join(f"{values[e]:12.3f}" for e in engines) + f"   {ratio:.2f}")
rss = defaultdict(list); cpu = defaultdict(list)
for line in open(process):
    engine, _, _, seconds, kb = line.split()
    cpu[engine].append(float(seconds)); rss[engine].append(int(kb))
print("process CPU-s (median): " + ", ".join(f"{e} {statistics.median(cpu[e]):.1f}" for e in engines))
print("peak RSS MiB (max): " + ", ".join(f"{e} {max(rss[e]) // 1024}" for e in engines))
PY
