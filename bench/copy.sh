#!/usr/bin/env bash
# copy.sh -- kiln's COPY of a 10,000-file context against `cp -a` of the same tree on the same
# disk (issue 13).  Not a test.  Needs root and the reference registry (conformance/setup.sh).
#
#     sudo bench/copy.sh
#
# The tree is run.sh's copy10k context (100 dirs x 100 files of 200-2000 random bytes, 11 MB).
# Every round, in alternating order:
#   cp-a      `cp -a files/ DEST` into a new directory on the same disk
#   kiln      a store holding busybox (copied from a template): `kiln build` of
#             FROM busybox + COPY files/ /files/ (the context read and hashed, the COPY into the
#             step's upper dir, the layer packed and stored, the image tagged)
#   kiln-1    the same with a one-file context: the fixed cost of a build; kiln minus kiln-1 is
#             what the 10,000 files cost
# Then one run of each under `strace -f -c` (syscall counts, kiln's and cp's).
#
# Environment: RUNS (5), BENCH_DIR (default /tmp/kiln-bench-copy, emptied first; keep it on the
#   disk under test), KILN (a kiln binary; default: built from this tree), REG (default
#   127.0.0.1:5000/kiln-conformance), OUT (markdown, default $BENCH_DIR/copy.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); top=$(dirname "$here")
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
W=${BENCH_DIR:-/tmp/kiln-bench-copy}
REG=${REG:-127.0.0.1:5000/kiln-conformance}
RUNS=${RUNS:-5}
OUT=${OUT:-$W/copy.md}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for c in python3 strace /usr/bin/time; do command -v "$c" >/dev/null || { echo "needs $c" >&2; exit 1; }; done

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

rm -rf "$W"; mkdir -p "$W"/{ctx,runs,times,strace}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -z "${KILN:-}" ]; then
  log "building kiln from $top"
  ( cd "$top" && go build -o "$W/kiln" ./cmd/kiln ); KILN=$W/kiln
fi

C=$W/ctx
mkdir -p "$C/copy10k" "$C/copy1" "$C/warm"
printf 'FROM %s/busybox\nCOPY files/ /files/\n' "$REG" > "$C/copy10k/Dockerfile"
printf 'FROM %s/busybox\nCOPY files/ /files/\n' "$REG" > "$C/copy1/Dockerfile"
printf 'FROM %s/busybox\nRUN echo warm-up > /warm-up\n' "$REG" > "$C/warm/Dockerfile"
mkdir -p "$C/copy1/files"; echo one > "$C/copy1/files/one.txt"
export FSINFO; FSINFO=$(bash "$here/fsinfo.sh" "$W")
python3 - "$C/copy10k/files" <<'PY'
import os, sys, random
root = sys.argv[1]; rnd = random.Random(10000)
for d in range(100):
    os.makedirs(f"{root}/{d:02d}")
    for f in range(100):
        with open(f"{root}/{d:02d}/{f:02d}.txt", "wb") as fh:
            fh.write(rnd.randbytes(rnd.randint(200, 2000)))
PY
"$KILN" --root "$W/tmpl" build "$C/warm" > "$W/tmpl.log" 2>&1

timed() { # NAME ROUND CMD...
  local name=$1 round=$2; shift 2
  local t=$W/times/$name.$round.raw ru=$W/times/$name.$round.rusage
  sh "$here/settle.sh"
  KILN_RUSAGE=$ru /usr/bin/time -f '%e %U %S %O' -o "$t" "$@" > "$W/times/$name.$round.log" 2>&1
  local rss=-
  [ -f "$ru" ] && rss=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$ru" | sort -n | tail -1)
  read -r wall user sys out < "$t"
  echo "$wall $user $sys $((out / 2)) $rss" >> "$W/times/$name"
  log "  round $round $name: ${wall} s (user $user, sys $sys, written $((out / 2048)) MB)"
}

run_one() { # WHAT ROUND
  local d=$W/runs/$2/$1
  mkdir -p "$W/runs/$2"
  case $1 in
    cp-a) mkdir -p "$d"; timed cp-a "$2" cp -a "$C/copy10k/files" "$d/files" ;;
    kiln) cp -a "$W/tmpl" "$d"; timed kiln "$2" "$KILN" --root "$d" build --progress plain "$C/copy10k" ;;
    kiln-1) cp -a "$W/tmpl" "$d"; timed kiln-1 "$2" "$KILN" --root "$d" build --progress plain "$C/copy1" ;;
  esac
}

WHAT="cp-a kiln kiln-1"
for r in $(seq 1 "$RUNS"); do
  order=$WHAT
  [ $((r % 2)) = 0 ] && order=$(echo "$WHAT" | tr ' ' '\n' | tac | tr '\n' ' ')
  for what in $order; do run_one "$what" "$r"; done
  rm -rf "$W/runs/$r"   # each round's trees go before the next round (sync'd by timed)
done

log "strace -f -c"
mkdir -p "$W/runs/s"
strace -f -c -o "$W/strace/cp-a" cp -a "$C/copy10k/files" "$W/runs/s/files" 2>/dev/null
cp -a "$W/tmpl" "$W/runs/s/store"
strace -f -c -o "$W/strace/kiln" "$KILN" --root "$W/runs/s/store" build --progress plain "$C/copy10k" > /dev/null 2>&1
rm -rf "$W/runs/s"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$W" "$OUT" "$load_start" "$load_end" "$RUNS" <<'PY'
import os, re, statistics, sys
w, out, l0, l1, runs = sys.argv[1:]
def rows(name):
    return [l.split() for l in open(f"{w}/times/{name}") if l.strip()]
med = lambda xs: statistics.median(xs)
walls = {t: [float(r[0]) for r in rows(t)] for t in ["cp-a", "kiln", "kiln-1"]}
lines = [f"COPY of 10,000 files (bench/copy.sh): {runs} rounds; load average before/after: {l0} / {l1}; filesystem: {os.environ.get('FSINFO', '?')}", "",
         "| what | wall median (min–max) | CPU user+sys median | written MB | ÷ cp -a (wall) |", "|---|---:|---:|---:|---:|"]
for t in ["cp-a", "kiln", "kiln-1"]:
    rs = rows(t); wl = walls[t]
    cpu = med([float(r[1]) + float(r[2]) for r in rs]); mb = med([int(r[3]) for r in rs]) / 1024
    ratio = f"{med(wl) / med(walls['cp-a']):.2f}" if t != "cp-a" else "—"
    lines.append(f"| {t} | {med(wl):.2f} s ({min(wl):.2f}–{max(wl):.2f}) | {cpu:.2f} s | {mb:.0f} | {ratio} |")
d = med(walls["kiln"]) - med(walls["kiln-1"])
lines += ["", f"kiln − kiln-1 (the 10,000 files' share of kiln's build): {d:.2f} s = {d / med(walls['cp-a']):.2f}× cp -a", ""]
def strace(name):
    total, top = 0, []
    for l in open(f"{w}/strace/{name}"):
        f = l.split()
        if len(f) >= 5 and re.match(r"^[0-9.]+$", f[0]) and f[-1] != "total":
            calls = int(f[3]); top.append((calls, f[-1]))
        if f and f[-1] == "total":
            total = int(f[3]) if len(f) >= 5 else 0
    top.sort(reverse=True)
    return total, ", ".join(f"{n} {c:,}" for c, n in top[:6])
lines += ["| strace -f -c | syscalls | the most frequent |", "|---|---:|---|"]
for n in ["cp-a", "kiln"]:
    total, top = strace(n)
    lines.append(f"| {n} | {total:,} | {top} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
