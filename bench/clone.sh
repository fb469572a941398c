#!/usr/bin/env bash
# bench/clone.sh — local clone creation time for a ~1 GB source database,
# and the tracing overhead of `reviewer experiment` (migration wall time with
# and without measurement).
#
#   bench/clone.sh [ROWS]      default 7500000 rows (~1 GB with its index)
#
# Starts a throwaway PostgreSQL (initdb into a temp dir, a free loopback
# port, as the postgres OS user when run as root; fsync stays on so that
# file copies are real), or uses the server of PGAI_TEST_DATABASE_URL
# (a role that may CREATE DATABASE). It builds the source with
# generate_series, then prints:
#   1. CREATE DATABASE … TEMPLATE time through dblab/localpg (Go benchmark
#      BenchmarkClone, WAL_LOG and FILE_COPY strategies);
#   2. the wall time of a rewriting ALTER on the 1 GB table, plainly (psql
#      on a fresh clone) and under `reviewer experiment`;
#   3. BenchmarkMigration: a 10-statement migration on a small table,
#      plain vs measured (5 ms pg_locks sampling), without sampling, and
#      with the traffic probe.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
ROWS=${1:-7500000}
OUT=bench/out
mkdir -p "$OUT"

. bench/pg.sh
trap stop_bench_postgres EXIT
start_bench_postgres 8GB
SRC=${ADMIN%%\?*}; SRC=${SRC%/*}/pgai_bench_src?sslmode=disable
q() { psql -X -q -v ON_ERROR_STOP=1 "$1" -c "$2"; }

echo "== building the source database ($ROWS rows)"
q "$ADMIN" "DROP DATABASE IF EXISTS pgai_bench_src"
q "$ADMIN" "CREATE DATABASE pgai_bench_src"
start=$(date +%s.%N)
q "$SRC" "CREATE TABLE orders AS SELECT g AS id, (g % 100000)::int AS customer_id,
  now() - (g % 31536000) * interval '1 second' AS created_at, md5(g::text) || md5((g + 1)::text) AS note
  FROM generate_series(1, $ROWS) g"
q "$SRC" "ALTER TABLE orders ADD PRIMARY KEY (id)"
q "$SRC" "VACUUM ANALYZE orders"
q "$ADMIN" "CHECKPOINT"
echo "loaded in $(echo "$(date +%s.%N) - $start" | bc) s"
psql -X -At "$SRC" -c "SELECT 'source size: ' || pg_size_pretty(pg_database_size(current_database())) || ' (' || pg_database_size(current_database()) || ' bytes), orders ' || pg_size_pretty(pg_table_size('orders')) || ' + index ' || pg_size_pretty(pg_indexes_size('orders'))"

echo
echo "== 1. local clone creation (dblab/localpg, CREATE DATABASE ... TEMPLATE)"
PGAI_BENCH_SOURCE_DSN=$SRC go test -run '^$' -bench 'BenchmarkClone' -benchtime 3x ./dblab/ | grep -E '^Benchmark' | tee "$OUT/clone-bench.txt"

echo
echo "== 2. rewriting ALTER on orders: plain vs reviewer experiment"
go build -o "$OUT/reviewer" ./cmd/reviewer
ALTER="ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint"
for i in 1 2; do
  q "$ADMIN" "DROP DATABASE IF EXISTS pgai_bench_plain"
  # The same sequence as the measured run: a checkpoint, then the same
  # CREATE DATABASE as the provider's (server default strategy), then the
  # ALTER at once.
  q "$ADMIN" "CHECKPOINT"
  q "$ADMIN" "CREATE DATABASE pgai_bench_plain TEMPLATE pgai_bench_src"
  PLAIN=${SRC/pgai_bench_src/pgai_bench_plain}
  t0=$(date +%s.%N); q "$PLAIN" "$ALTER"; t1=$(date +%s.%N)
  echo "plain run $i: $(echo "($t1 - $t0) * 1000" | bc) ms (psql, includes connecting)"
  q "$ADMIN" "DROP DATABASE pgai_bench_plain"
  q "$ADMIN" "CHECKPOINT"
  "$OUT/reviewer" experiment --clone local --source-dsn "$SRC" --sql "$ALTER" --format json >"$OUT/experiment.json" || true
  python3 - "$OUT/experiment.json" "$i" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["measurements"][0]
locks = ", ".join(f'{l["mode"]} on {l["relation"]} held {l["held_ms"]:.0f} ms' for l in m["locks"] if l.get("kind") == "table")
print(f'measured run {sys.argv[2]}: statement {m["duration_ms"]:.0f} ms, experiment {r["duration_ms"]:.0f} ms with clone create+drop; '
      f'rewritten {m["rewritten"]}; WAL {m.get("wal_bytes", 0) / 2**20:.0f} MiB; {locks}')
PY
done

echo
echo "== 3. BenchmarkMigration (10 statements, 20k-row table; fresh clone per run, outside the timer)"
PGAI_TEST_DATABASE_URL=$ADMIN go test -run '^$' -bench 'BenchmarkMigration' -benchtime 10x ./dblab/ | grep -E '^Benchmark' | tee "$OUT/migration-bench.txt"
q "$ADMIN" "DROP DATABASE IF EXISTS pgai_bench_src"
