#!/usr/bin/env bash
# bench/kb-full.sh — the knowledge base as issue 14 asks for it, from scratch:
#   1. build time: fetch PostgreSQL 15's source package from Debian's registry
#      (scripts/kb-fetch, a fresh download) and ingest the PostgreSQL 15 docs,
#      the rule pages and the PostgreSQL 15 source tree, full text only, into
#      an empty database (target < 5 min); then the done-when search
#      `kb search --kind source "where is the lock conflict table defined"`;
#   2. `kb eval` (210 questions, full text) on a docs-only knowledge base, on
#      docs + rules + PostgreSQL 15 source, and on the full knowledge base
#      (plus PgBouncer, pgvector, Patroni and PostgreSQL 17's source when
#      the mirror serves it), with the figures per slice; then the held-out
#      set (`kb eval --set holdout`, 100 questions) on the full knowledge base;
#   3. several versions: PostgreSQL 17's docs and PostgreSQL 18's source
#      added (the mirror serves those), a search, and `kb eval` again.
#
#   bench/kb-full.sh [SOURCES_DIR]   default a fresh temp dir (removed after)
#
# Needs the PostgreSQL 15 HTML docs (scripts/setup installs postgresql-doc-15)
# and apt-get with network access to the Debian mirror. Starts a throwaway
# PostgreSQL as bench/kb.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
DOCS=/usr/share/doc/postgresql-doc-15/html
OUT=bench/out
mkdir -p "$OUT"
[ -f "$DOCS/index.html" ] || { echo "bench/kb-full.sh: no PostgreSQL HTML docs in $DOCS (apt-get install postgresql-doc-15)" >&2; exit 2; }
SRC=${1:-}
CLEAN_SRC=
if [ -z "$SRC" ]; then SRC=$(mktemp -d /tmp/pgai-kb-src-XXXXXX); CLEAN_SRC=$SRC; fi

. bench/pg.sh
cleanup() { stop_bench_postgres; [ -z "$CLEAN_SRC" ] || rm -rf "$CLEAN_SRC"; }
trap cleanup EXIT
start_bench_postgres 4GB
go build -o "$OUT/reviewer" ./cmd/reviewer
R=("$OUT/reviewer" kb)
unset OPENAI_API_KEY PGAI_OPENAI_API_KEY
echo "load before: $(uptime | sed 's/.*load/load/')"

echo "== 1. from scratch: fetch + ingest docs, rules and the PostgreSQL 15 source (full text only)"
fresh_bench_database pgai_kb_full
export PGAI_DATABASE_URL=$DB
rm -rf "$SRC/postgresql-15."*
start=$(date +%s.%N)
scripts/kb-fetch "$SRC" postgresql-15/bookworm 2>&1 | grep -E '^kb-fetch: postgresql' || true
fetched=$(date +%s.%N)
"${R[@]}" ingest --docs "$DOCS" --rules --source "$SRC"/postgresql-15.* 2>&1 | grep -v -E '^(storing|full-text index)' | tee "$OUT/kb-full-ingest.txt"
end=$(date +%s.%N)
printf 'build from scratch: %.0f s (fetch %.0f s, ingest %.0f s; target < 300 s; load %s)\n' \
  "$(echo "$end - $start" | bc)" "$(echo "$fetched - $start" | bc)" "$(echo "$end - $fetched" | bc)" "$(uptime | sed 's/.*average: //')" | tee -a "$OUT/kb-full-ingest.txt"
echo
echo '$ reviewer kb search --kind source "where is the lock conflict table defined" --limit 3'
"${R[@]}" search --kind source "where is the lock conflict table defined" --limit 3 | tee "$OUT/kb-full-search.txt"
echo '$ reviewer kb search "frobnicate"'
"${R[@]}" search "frobnicate"; echo "exit $?"

echo "== 2a. eval: docs + rules + PostgreSQL 15 source"
"${R[@]}" eval | tee "$OUT/kb-full-eval-pg15.txt"

echo "== 2b. eval: docs only"
fresh_bench_database pgai_kb_docs
PGAI_DATABASE_URL=$DB "${R[@]}" ingest --docs "$DOCS" >/dev/null 2>&1
PGAI_DATABASE_URL=$DB "${R[@]}" eval | tee "$OUT/kb-full-eval-docs.txt"

echo "== 2c. eval: full knowledge base (+ PgBouncer, pgvector, Patroni, PostgreSQL 17 if served)"
scripts/kb-fetch "$SRC" postgresql-17/trixie pgbouncer/trixie pgvector/trixie patroni/trixie 2>&1 | grep -E '^kb-fetch: (postgresql|pgb|pgv|pat|not)' || true
srcs=()
for d in "$SRC"/*/; do [ -f "$d/.pgai-kb.json" ] && [ ! -d "$d/html" ] && srcs+=(--source "${d%/}"); done
"${R[@]}" ingest "${srcs[@]}" 2>&1 | grep -E '^(docs|source):' || true
for d in "$SRC"/postgresql-17*/doc/src/sgml/html; do
  [ -f "$d/index.html" ] && "${R[@]}" ingest --docs "$d" >/dev/null 2>&1
done
"${R[@]}" stats
"${R[@]}" eval | tee "$OUT/kb-full-eval-full.txt"
echo "== 2d. eval: the held-out set (100 questions written without looking at the ranker) on the full knowledge base"
"${R[@]}" eval --set holdout | tee "$OUT/kb-full-eval-holdout.txt"

echo "== 3. several versions: + PostgreSQL 17 docs (postgresql-doc-17) and PostgreSQL 18 source, when the registry serves them"
scripts/kb-fetch "$SRC" postgresql-doc-17/trixie postgresql-18/sid 2>&1 | grep -E '^kb-fetch: (postgresql|not)' || true
for d in "$SRC"/postgresql-doc-17-*/html; do [ -f "$d/index.html" ] && "${R[@]}" ingest --docs "$d" 2>&1 | grep -E '^docs:' || true; done
for d in "$SRC"/postgresql-18.*/; do [ -f "$d/.pgai-kb.json" ] && "${R[@]}" ingest --source "${d%/}" 2>&1 | grep -E '^source:' || true; done
"${R[@]}" stats
"${R[@]}" search --limit 3 "lock_timeout"
"${R[@]}" eval | tee "$OUT/kb-full-eval-versions.txt"
echo "done ($(uptime | sed 's/.*load/load/'))"
