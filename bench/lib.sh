# bench/lib.sh — pieces shared by the bench scripts (sourced, not run).
# Callers set OUT (a scratch directory) and RUNS before calling measure.

# install_squawk npm-installs squawk-cli into bench/.squawk.
install_squawk() {
  mkdir -p bench/.squawk
  (cd bench/.squawk && npm install --silent --no-audit --no-fund squawk-cli@2.66.0 >/dev/null)
}

# find_squawk sets SQUAWK to the squawk binary, if one is found.
find_squawk() {
  if [ -z "${SQUAWK:-}" ]; then
    for c in bench/.squawk/node_modules/@squawk-cli/linux-x64/bin/squawk "$(command -v squawk 2>/dev/null || true)"; do
      if [ -n "$c" ] && [ -x "$c" ]; then SQUAWK=$c; break; fi
    done
  fi
}

# build_reviewer builds bench's copy of the reviewer into $OUT/reviewer
# (built to a temporary file, then copied, as an install would: see
# check.sh for why the copy matters to peak RSS).
build_reviewer() {
  go build -o "$OUT/reviewer.new" ./cmd/reviewer
  cp "$OUT/reviewer.new" "$OUT/reviewer" && rm -f "$OUT/reviewer.new"
}

# measure NAME CMD... → prints "NAME median_wall_seconds max_rss_kb median_cpu_seconds"
measure() {
  local name=$1; shift
  local times=() cpus=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M %U %S' -o "$OUT/time.txt" "$@" >/dev/null 2>&1 || true
    read -r t m u s < <(tail -n 1 "$OUT/time.txt")
    times+=("$t")
    cpus+=("$(awk "BEGIN{print $u + $s}")")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  echo "$name $(median "${times[@]}") $rss $(median "${cpus[@]}")"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
