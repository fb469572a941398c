#!/usr/bin/env bash
# bench/noise.sh — how often each rule speaks on a real migration history,
# next to squawk on the same files, so that the effect of a rule change on
# noise is measured rather than guessed.
#
#   bench/noise.sh DIR [reviewer check flags…]     e.g. --framework goose
#   bench/noise.sh --install-squawk DIR            npm-install squawk-cli first
#   SQUAWK=/path/to/squawk bench/noise.sh DIR
#
# Runs `reviewer check --format json` on DIR (frameworks detected as usual),
# and squawk (JSON reporter) on the SQL files whose statements the reviewer
# reviews as forward migrations: down parts (diesel/golang-migrate/sqlx
# down.sql, Flyway U…, sqitch revert/) are left out, since squawk would
# lint a rollback as a change. Prints per rule the findings, the findings
# per 100 reviewed statements and the statements with at least one finding,
# for each tool; then the totals. Save the output before and after a rule
# change and diff the two.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
. bench/lib.sh
if [ "${1:-}" = "--install-squawk" ]; then
  shift
  install_squawk
fi
DIR=${1:?usage: bench/noise.sh DIR [reviewer check flags]}
shift
OUT=bench/out
mkdir -p "$OUT"
build_reviewer
find_squawk
"$OUT/reviewer" check --format json "$@" "$DIR" > "$OUT/noise-reviewer.json" || [ $? -eq 1 ]
python3 - "$OUT/noise-reviewer.json" > "$OUT/noise-files.txt" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
down = re.compile(r'(^|/)(down\.sql|[^/]*\.down\.sql|U\d[^/]*__[^/]*\.sql)$|(^|/)revert/')
for f in d['files']:
    if not down.search(f['path']):
        print(f['path'])
PY
if [ -n "${SQUAWK:-}" ]; then
  tr '\n' '\0' < "$OUT/noise-files.txt" | xargs -0 "$SQUAWK" --reporter json > "$OUT/noise-squawk.json" 2>/dev/null || true
else
  echo '[]' > "$OUT/noise-squawk.json"
  echo "squawk not found: bench/noise.sh --install-squawk DIR, or SQUAWK=/path/to/squawk" >&2
fi
python3 - "$OUT/noise-reviewer.json" "$OUT/noise-squawk.json" "$DIR" <<'PY'
import collections, json, sys
rev = json.load(open(sys.argv[1]))
try:
    sq = json.load(open(sys.argv[2]))
except ValueError:
    sq = []
stmts = sum(f.get('statements', 0) for f in rev['files'])
fws = collections.Counter(f['framework'] for f in rev['files'])
def table(title, items):
    # items: list of (rule, file, line)
    n = collections.Counter(r for r, _, _ in items)
    s = collections.defaultdict(set)
    for r, f, l in items:
        s[r].add((f, l))
    print(f"\n{title}: {len(items)} findings, {len(set((f, l) for _, f, l in items))} statements with one or more")
    print(f"| rule | findings | per 100 statements | statements |\n|---|---|---|---|")
    for r, c in n.most_common():
        print(f"| {r} | {c} | {100*c/max(stmts,1):.1f} | {len(s[r])} |")
print(f"{sys.argv[3]}: {len(rev['files'])} files ({', '.join(f'{k} {v}' for k, v in fws.items())}), {stmts} statements")
table("reviewer", [(x['rule'], x['path'], x['line']) for x in rev['findings']])
# squawk lines are 0-based; its statements are keyed by start line
table("squawk", [(x['rule_name'], x['file'], x['line'] + 1) for x in sq])
PY
