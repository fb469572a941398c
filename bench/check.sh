#!/usr/bin/env bash
# bench/check.sh — how fast `reviewer check` lints a large migration set,
# side by side with squawk (npm squawk-cli) when it is available.
#
#   bench/check.sh [FILES] [STATEMENTS] [RUNS]    default 2000 15000 5
#   SQUAWK=/path/to/squawk bench/check.sh         use that squawk binary
#   bench/check.sh --install-squawk               npm-install squawk-cli into bench/.squawk first
#
# Prints, for each tool, the median wall time and median CPU time (user +
# system) of RUNS runs, statements per second and the highest peak RSS
# (from /usr/bin/time), then the ratios. Run it on a quiet machine: the
# wall times of both tools suffer from other load, the CPU times less.
#
# The reviewer is built to a temporary file and then copied into place,
# as an install would. Run straight after `go build`, the binary's pages
# are still in the page cache as the linker wrote them, and the kernel
# maps them in larger pieces: the same binary then shows about 5 MB more
# peak RSS (file-backed, 22.7 instead of 17.2 MB, measured) than after a
# copy or once the page cache was dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
. bench/lib.sh
if [ "${1:-}" = "--install-squawk" ]; then
  shift
  install_squawk
fi
FILES=${1:-2000}
STMTS=${2:-15000}
RUNS=${3:-5}
OUT=bench/out
DIR=$OUT/migrations-$FILES-$STMTS
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { echo "bench: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

build_reviewer
rm -rf "$DIR"
go run ./bench/gen -files "$FILES" -statements "$STMTS" -out "$DIR"
find_squawk

echo "Linting $STMTS statements in $FILES files, median of $RUNS runs ($(nproc) CPUs)"
read -r _ rt rr rc < <(measure reviewer "$OUT/reviewer" check --format text --color never "$DIR")
printf '  %-9s %6.2f s (CPU %5.2f s)  %9.0f statements/s  peak RSS %6.1f MB\n' reviewer "$rt" "$rc" "$(awk "BEGIN{print $STMTS / $rt}")" "$(awk "BEGIN{print $rr / 1024}")"
if [ -n "${SQUAWK:-}" ]; then
  read -r _ st sr sc < <(measure squawk "$SQUAWK" "$DIR"/*.sql)
  printf '  %-9s %6.2f s (CPU %5.2f s)  %9.0f statements/s  peak RSS %6.1f MB  (%s)\n' squawk "$st" "$sc" "$(awk "BEGIN{print $STMTS / $st}")" "$(awk "BEGIN{print $sr / 1024}")" "$("$SQUAWK" --version 2>/dev/null | head -1)"
  printf '  reviewer/squawk: wall time %.2fx (target <= 0.6), CPU time %.2fx, peak RSS %.2fx (target <= 2)\n' "$(awk "BEGIN{print $rt / $st}")" "$(awk "BEGIN{print $rc / $sc}")" "$(awk "BEGIN{print $rr / $sr}")"
else
  echo "  squawk not found: bench/check.sh --install-squawk, or SQUAWK=/path/to/squawk"
fi
