#!/usr/bin/env bash
# bench/kb.sh — knowledge-base figures:
#   1. `reviewer kb ingest --docs` of the full PostgreSQL 15 manual, without
#      embeddings (wall time; target under 60 s), and the done-when search;
#   2. `reviewer kb eval`: hit@1/5/10 and MRR, full text only, then vector and
#      hybrid with the LOCAL HASHED N-GRAM EMBEDDER (deterministic, offline,
#      NOT a language model: it shows the plumbing, not semantic quality; set
#      PGAI_OPENAI_API_KEY to evaluate a real embedding model instead);
#   3. Go benchmarks: BenchmarkIngestDocs (parse + store), BenchmarkEvalDocs
#      (eval figures and search latency p50/p95 on the real manual), and
#      BenchmarkSearch100k: search latency p50/p95 at 100,000 chunks with
#      synthetic clustered 256-d vectors, and HNSW recall@10 against exact
#      search (targets p95 under 30 ms, recall at least 0.95), also with a
#      kind filter and a version filter; latency figures are medians of
#      three runs over the same 200 queries.
#
#   bench/kb.sh [DOCS_DIR]      default /usr/share/doc/postgresql-doc-15/html
#   PGAI_KB_BENCH_CHUNKS=20000 bench/kb.sh     smaller synthetic set
#
# Starts a throwaway PostgreSQL (initdb into a temp dir, a free loopback
# port, as the postgres OS user when run as root), or uses the server of
# PGAI_TEST_DATABASE_URL (a role that may CREATE DATABASE). Needs pgvector.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
DOCS=${1:-/usr/share/doc/postgresql-doc-15/html}
OUT=bench/out
mkdir -p "$OUT"
[ -f "$DOCS/index.html" ] || { echo "bench/kb.sh: no PostgreSQL HTML docs in $DOCS (apt-get install postgresql-doc-15)" >&2; exit 2; }

. bench/pg.sh
trap stop_bench_postgres EXIT
start_bench_postgres 4GB
fresh_bench_database pgai_kb_bench

go build -o "$OUT/reviewer" ./cmd/reviewer
R=("$OUT/reviewer" kb)
export PGAI_DATABASE_URL=$DB
unset OPENAI_API_KEY
KEY=${PGAI_OPENAI_API_KEY:-}
unset PGAI_OPENAI_API_KEY

echo "== 1. ingest the PostgreSQL manual (no embeddings)"
start=$(date +%s.%N)
"${R[@]}" ingest --docs "$DOCS" 2>/dev/null | tee "$OUT/kb-ingest.txt"
end=$(date +%s.%N)
printf 'ingest wall time: %.1f s (target < 60 s)\n' "$(echo "$end - $start" | bc)" | tee -a "$OUT/kb-ingest.txt"
echo
echo '$ reviewer kb search "why does SET NOT NULL scan the whole table" --limit 3'
"${R[@]}" search "why does SET NOT NULL scan the whole table" --limit 3 | tee "$OUT/kb-search.txt"

echo "== 2. eval"
"${R[@]}" eval | tee "$OUT/kb-eval.txt"
echo
echo "-- with the local hashed n-gram embedder (NOT a language model)"
"${R[@]}" ingest --docs "$DOCS" --local-hash-embedder 2>/dev/null | tail -1
"${R[@]}" eval --local-hash-embedder | tee -a "$OUT/kb-eval.txt"
if [ -n "$KEY" ]; then
  echo
  echo "-- with ${PGAI_EMBEDDING_MODEL:-text-embedding-3-small} (PGAI_OPENAI_API_KEY is set)"
  PGAI_OPENAI_API_KEY=$KEY "${R[@]}" ingest --docs "$DOCS" 2>/dev/null | tail -1
  PGAI_OPENAI_API_KEY=$KEY "${R[@]}" eval | tee -a "$OUT/kb-eval.txt"
fi

echo "== 3. Go benchmarks ($(uptime | sed 's/.*load/load/'))"
PGAI_TEST_DATABASE_URL=$ADMIN PGAI_KB_DOCS=$DOCS go test -run '^$' -bench 'BenchmarkIngestDocs|BenchmarkEvalDocs' -benchtime 3x -timeout 30m ./kb/ \
  | grep -E '^Benchmark' | tee "$OUT/kb-bench.txt"
PGAI_TEST_DATABASE_URL=$ADMIN go test -run '^$' -bench 'BenchmarkSearch100k' -benchtime 3x -timeout 60m ./kb/ \
  | grep -E '^Benchmark|bench_test' | tee -a "$OUT/kb-bench.txt"
echo "done ($(uptime | sed 's/.*load/load/'))" | tee -a "$OUT/kb-bench.txt"
