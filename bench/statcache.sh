#!/usr/bin/env bash
# statcache.sh -- issue 14's context stat cache rows: a context of N small files, `COPY . /ctx/`
# from scratch, built twice into a fresh store: the first build reads and hashes every file and
# writes N stat cache entries; the rebuild must read none (every digest from the stat cache).
# Not a test (CI never runs it); kiln only; needs root (as every kiln build here).
#
#     sudo bench/statcache.sh                 # N = 100000 and 1000000
#     sudo SIZES=100000 bench/statcache.sh    # one size
#     sudo KILN=/path/to/kiln bench/statcache.sh   # another build of kiln (say, main's)
#
# Then, with kiln built from this tree, the stat cache write alone (go test -bench
# BenchmarkStatCacheFlush ./cache/: s-first, s-update).
#
# Environment: SIZES (file counts, default "100000 1000000"), BENCH_DIR (scratch, default
# /tmp/kiln-bench-statcache, deleted at the start and the end), KILN (a kiln binary; default:
# built from this tree). Prints one markdown row per size: wall seconds of the first build and
# the rebuild, kiln's own "context: … files checked, … read" counts and peak RSS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); top=$(dirname "$here")
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export GOFLAGS=-buildvcs=false
W=${BENCH_DIR:-/tmp/kiln-bench-statcache}
SIZES=${SIZES:-"100000 1000000"}
rm -rf "$W"; mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
if [ -z "${KILN:-}" ]; then
  KILN=$W/kiln
  (cd "$top" && go build -o "$KILN" ./cmd/kiln)
fi

# makectx DIR N: N files of 16-48 bytes, 1000 per directory
makectx() {
  python3 - "$1" "$2" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "Dockerfile"), "w") as f:
    f.write("FROM scratch\nCOPY . /ctx/\n")
for i in range(n):
    sub = os.path.join(d, "src", "d%04d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%07d.txt" % i), "w") as f:
        f.write("file %d %s\n" % (i, "x" * (i % 32)))
PY
}

# build LABEL: one timed build; prints "seconds|context counts|maxrss KB"
build() {
  local log=$W/build.log
  local t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$W/rss" "$KILN" --root "$W/store" build --progress=plain -t statcache:1 "$W/ctx" >"$log" 2>&1 ||
    { cat "$log" >&2; exit 1; }
  local t1=$(date +%s.%N)
  local counts=$(grep -o 'context: [0-9]* files[^)]*read' "$log" | tail -1)
  printf '%.2f|%s|%s' "$(echo "$t1 - $t0" | bc)" "${counts:-?}" "$(cat "$W/rss")"
}

command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
echo "| files | first build (s) | first: context | rebuild (s) | rebuild: context | peak RSS rebuild (MB) |"
echo "|---|---|---|---|---|---|"
for n in $SIZES; do
  rm -rf "$W/ctx" "$W/store"
  makectx "$W/ctx" "$n"
  sh "$here/settle.sh"
  IFS='|' read -r s1 c1 _ <<<"$(build)"
  IFS='|' read -r s2 c2 r2 <<<"$(build)"
  echo "| $n | $s1 | $c1 | $s2 | $c2 | $((r2 / 1024)) |"
done

# the stat cache write alone (cache.BenchmarkStatCacheFlush: N new entries into an empty index,
# then all N changed), for the sizes it has (10000, 100000, 1000000)
if [ "$KILN" = "$W/kiln" ]; then
  echo
  (cd "$top" && go test -run '^$' -bench "BenchmarkStatCacheFlush/($(echo $SIZES | tr ' ' '|'))\$" -benchtime 1x \
     -timeout 60m ./cache/ | grep '^Benchmark')
fi
