#!/usr/bin/env bash
# bench/history.sh — how `reviewer check` scales with the length of a
# migration history that builds a real schema (bench/histgen: tables with
# keys, foreign keys and unique indexes, later altered, indexed, renamed
# and dropped), side by side with squawk in the same run.
#
#   bench/history.sh [SIZES] [RUNS]         default "2000 8000 20000" 3
#   bench/history.sh --install-squawk ...   npm-install squawk-cli first
#   DIR=path bench/history.sh               measure an existing directory instead
#
# Prints one row per size: median wall and CPU time, highest peak RSS of
# each tool, the ratios to squawk, and then the growth of the reviewer's
# wall time from the first size to the others. Targets (issue 16): wall
# <= 0.6x squawk's at 2,000 and 8,000 files, time(8,000) <= 4.4x
# time(2,000), peak RSS <= 2x squawk's at 8,000.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
. bench/lib.sh
if [ "${1:-}" = "--install-squawk" ]; then
  shift
  install_squawk
fi
SIZES=${1:-"2000 8000 20000"}
RUNS=${2:-3}
OUT=bench/out
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { echo "bench: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
build_reviewer
find_squawk

row() { # row LABEL DIR
  local label=$1 dir=$2 n
  n=$(find "$dir" -name '*.sql' | wc -l)
  read -r _ rt rr rc < <(measure reviewer "$OUT/reviewer" check --format text --color never "$dir")
  if [ -n "${SQUAWK:-}" ]; then
    # squawk takes the files as arguments (find | sort keeps the history order)
    mapfile -t sqlfiles < <(find "$dir" -name '*.sql' | sort)
    read -r _ st sr sc < <(measure squawk "$SQUAWK" "${sqlfiles[@]}")
    printf '| %s | %d | %.2f s | %.2f s | %.1f MB | %.2f s | %.2f s | %.1f MB | %.2fx | %.2fx | %.2fx |\n' "$label" "$n" \
      "$rt" "$rc" "$(awk "BEGIN{print $rr/1024}")" "$st" "$sc" "$(awk "BEGIN{print $sr/1024}")" \
      "$(awk "BEGIN{print $rt/$st}")" "$(awk "BEGIN{print $rc/$sc}")" "$(awk "BEGIN{print $rr/$sr}")"
  else
    printf '| %s | %d | %.2f s | %.2f s | %.1f MB | – | – | – | – | – | – |\n' "$label" "$n" "$rt" "$rc" "$(awk "BEGIN{print $rr/1024}")"
  fi
  echo "$rt" > "$OUT/wall-$label"
}

echo "reviewer vs $([ -n "${SQUAWK:-}" ] && "$SQUAWK" --version 2>/dev/null | head -1 || echo "squawk (not found: --install-squawk)"), median of $RUNS runs, $(nproc) CPUs"
echo
echo "| history | files | reviewer wall | reviewer CPU | reviewer RSS | squawk wall | squawk CPU | squawk RSS | wall ratio | CPU ratio | RSS ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
if [ -n "${DIR:-}" ]; then
  row "$(basename "$DIR")" "$DIR"
  exit 0
fi
first=""
for n in $SIZES; do
  d=$OUT/history-$n
  [ -d "$d" ] || go run ./bench/histgen -files "$n" -out "$d" 2>/dev/null
  row "$n" "$d"
  [ -z "$first" ] && first=$n
done
echo
for n in $SIZES; do
  [ "$n" = "$first" ] && continue
  printf 'growth: time(%d) / time(%d) = %.2f (files x%.1f)\n' "$n" "$first" \
    "$(awk "BEGIN{print $(cat "$OUT/wall-$n") / $(cat "$OUT/wall-$first")}")" "$(awk "BEGIN{print $n/$first}")"
done
