#!/usr/bin/env bash
# extract.sh -- kiln's base-image extraction against `tar -xzf` of the same blobs on the same
# disk (issue 13).  Not a test.  Needs root and the reference registry (conformance/setup.sh).
#
#     sudo bench/extract.sh [IMAGE...]        # default: debian golang (kiln-conformance/…)
#
# Every round, for each image, in alternating order (one round tar first, the next kiln first):
#   tar       `tar -xzf` of each layer blob, one after the other, each into its own dir
#   tar-par   the same, all layers at once (one tar per layer, in parallel)
#   kiln      a fresh store: `kiln build` of FROM <registry image> + RUN true (pull: download,
#             decompress, extract; the blobs are kept in the store, as kiln does)
#   kiln-oci  a fresh store: the same image from an OCI layout on this disk
#             (--build-context base=oci-layout://…): no network, like tar
#   run-only  the same build again on kiln's store with --no-cache: what RUN true and the build
#             itself cost once the base is there (subtract it from kiln to get the extraction)
# Each timed command runs under /usr/bin/time (wall, user, sys, file system output); kiln also
# writes its own peak RSS (KILN_RUSAGE: the kiln process alone, not the RUN's).
#
# Environment: RUNS (5), BENCH_DIR (default /tmp/kiln-bench-extract, emptied first; keep it on the
#   disk under test), KILN (a kiln binary; default: built from this tree), REG (the registry repo,
#   default 127.0.0.1:5000/kiln-conformance), DELETES=1 (delete each round's trees before the
#   next round, as a benchmark's cold reset does: on ext4 without a journal the next round's
#   inode allocations then skip the recently deleted inodes, see bench/README.md), WHAT (default
#   "tar tar-par kiln kiln-oci"), NO_RUN_ONLY=1 (skip run-only), OUT (markdown table, default
#   $BENCH_DIR/extract.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); top=$(dirname "$here")
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
W=${BENCH_DIR:-/tmp/kiln-bench-extract}
REG=${REG:-127.0.0.1:5000/kiln-conformance}
RUNS=${RUNS:-5}
WHAT=${WHAT:-tar tar-par kiln kiln-oci}
IMAGES=${*:-debian golang}
OUT=${OUT:-$W/extract.md}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for c in curl python3 /usr/bin/time; do command -v "$c" >/dev/null || { echo "needs $c" >&2; exit 1; }; done

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

rm -rf "$W"; mkdir -p "$W"/{blobs,layout,ctx,runs,times}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -z "${KILN:-}" ]; then
  log "building kiln from $top"
  ( cd "$top" && go build -o "$W/kiln" ./cmd/kiln ); KILN=$W/kiln
fi

# the blobs of each image, as files on this disk, and an OCI layout holding them
for img in $IMAGES; do
  python3 - "$REG" "$img" "$W" <<'PY'
import json, os, sys, urllib.request
reg, img, w = sys.argv[1:]
host, repo = reg.split("/", 1)
accept = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"])
def get(path, accept=None):
    req = urllib.request.Request(f"http://{host}/v2/{repo}/{img}/{path}")
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req) as r:
        return r.read(), r.headers.get("Content-Type")
raw, mt = get("manifests/latest", accept)
m = json.loads(raw)
lay = f"{w}/layout/{img}"
os.makedirs(f"{lay}/blobs/sha256", exist_ok=True)
def put(digest, data):
    with open(f"{lay}/blobs/sha256/{digest.split(':')[1]}", "wb") as f:
        f.write(data)
import hashlib
md = "sha256:" + hashlib.sha256(raw).hexdigest()
put(md, raw)
put(m["config"]["digest"], get("blobs/" + m["config"]["digest"])[0])
os.makedirs(f"{w}/blobs/{img}", exist_ok=True)
for i, l in enumerate(m["layers"]):
    data = get("blobs/" + l["digest"])[0]
    put(l["digest"], data)
    with open(f"{w}/blobs/{img}/{i}.tar.gz", "wb") as f:
        f.write(data)
with open(f"{lay}/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(f"{lay}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": mt.split(";")[0], "digest": md, "size": len(raw),
               "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
PY
  mkdir -p "$W/ctx/$img" "$W/ctx/$img-oci"
  printf 'FROM %s/%s\nRUN true\n' "$REG" "$img" > "$W/ctx/$img/Dockerfile"
  printf 'FROM base\nRUN true\n' > "$W/ctx/$img-oci/Dockerfile"
  log "$img: $(ls "$W/blobs/$img" | wc -l) layers, $(du -sh "$W/blobs/$img" | cut -f1) compressed"
done
sh "$here/settle.sh"

# timed NAME ROUND IMAGE CMD...: one measurement → $W/times/NAME.IMAGE (wall user sys fs_out_kB kiln_rss_kB)
timed() {
  local name=$1 round=$2 img=$3; shift 3
  local t=$W/times/.t ru=$W/times/.ru
  rm -f "$ru"
  sh "$here/settle.sh"
  KILN_RUSAGE=$ru /usr/bin/time -f '%e %U %S %O' -o "$t" "$@" > "$W/times/.log" 2>&1 ||
    { log "$name $img failed:"; tail -5 "$W/times/.log" >&2; exit 1; }
  local rss=-
  [ -f "$ru" ] && rss=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$ru" | sort -n | tail -1)
  read -r wall user sys out < "$t"
  echo "$wall $user $sys $((out / 2)) $rss" >> "$W/times/$name.$img"
  log "  round $round $img $name: ${wall} s (user $user, sys $sys, written $((out / 2048)) MB, kiln rss ${rss} kB)"
}

run_tool() { # TOOL ROUND IMAGE
  local tool=$1 r=$2 img=$3 d=$W/runs/$2/$1-$3 n
  case $tool in
    tar)
      mkdir -p "$d"; n=0
      for b in $(ls "$W/blobs/$img" | sort -n); do mkdir -p "$d/$n"; n=$((n + 1)); done
      timed tar "$r" "$img" bash -c 'n=0; for b in $(ls "$1" | sort -n); do tar -xzf "$1/$b" -C "$2/$n"; n=$((n + 1)); done' _ "$W/blobs/$img" "$d" ;;
    tar-par)
      mkdir -p "$d"; n=0
      for b in $(ls "$W/blobs/$img" | sort -n); do mkdir -p "$d/$n"; n=$((n + 1)); done
      timed tar-par "$r" "$img" bash -c 'n=0; for b in $(ls "$1" | sort -n); do tar -xzf "$1/$b" -C "$2/$n" & n=$((n + 1)); done; wait' _ "$W/blobs/$img" "$d" ;;
    kiln)
      timed kiln "$r" "$img" "$KILN" --root "$d" build --progress plain "$W/ctx/$img"
      [ -n "${NO_RUN_ONLY:-}" ] ||
        timed run-only "$r" "$img" "$KILN" --root "$d" build --no-cache --progress plain "$W/ctx/$img" ;;
    kiln-oci)
      timed kiln-oci "$r" "$img" "$KILN" --root "$d" build --progress plain \
        --build-context "base=oci-layout://$W/layout/$img:latest" "$W/ctx/$img-oci" ;;
  esac
}

for r in $(seq 1 "$RUNS"); do
  if [ -n "${DELETES:-}" ] && [ "$r" -gt 1 ]; then
    log "round $r: deleting round $((r - 1))'s trees"; rm -rf "$W/runs/$((r - 1))"; sh "$here/settle.sh"
  fi
  order=$WHAT
  [ $((r % 2)) = 0 ] && order=$(echo "$WHAT" | tr ' ' '\n' | tac | tr '\n' ' ')
  for img in $IMAGES; do
    for tool in $order; do run_tool "$tool" "$r" "$img"; done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

export FSINFO; FSINFO=$(bash "$here/fsinfo.sh" "$W")
python3 - "$W" "$OUT" "$load_start" "$load_end" "$RUNS" "${DELETES:-0}" "$IMAGES" <<'PY'
import os, statistics, sys
w, out, l0, l1, runs, deletes, images = sys.argv[1:]
tools = ["tar", "tar-par", "kiln", "kiln-oci", "run-only"]
def rows(name, img):
    p = f"{w}/times/{name}.{img}"
    if not os.path.exists(p):
        return None
    return [l.split() for l in open(p) if l.strip()]
lines = [f"Base extraction (bench/extract.sh): {runs} rounds, deletes between rounds: {'yes' if deletes != '0' else 'no'}; "
         f"load average before/after: {l0} / {l1}; filesystem: {os.environ.get('FSINFO', '?')}", "",
         "| image | what | wall median (min–max) | CPU user+sys median | written MB | kiln peak RSS | ÷ tar (wall) |",
         "|---|---|---:|---:|---:|---:|---:|"]
for img in images.split():
    tar = rows("tar", img)
    tar_med = statistics.median(float(r[0]) for r in tar) if tar else None
    for t in tools:
        rs = rows(t, img)
        if not rs:
            continue
        wall = [float(r[0]) for r in rs]
        cpu = [float(r[1]) + float(r[2]) for r in rs]
        mb = statistics.median(int(r[3]) for r in rs) / 1024
        rss = [int(r[4]) for r in rs if r[4] != "-"]
        rss_s = f"{max(rss) / 1024:.0f} MB" if rss else "—"
        ratio = f"{statistics.median(wall) / tar_med:.2f}" if tar_med and t != "tar" else "—"
        lines.append(f"| {img} | {t} | {statistics.median(wall):.2f} s ({min(wall):.2f}–{max(wall):.2f}) | "
                     f"{statistics.median(cpu):.2f} s | {mb:.0f} | {rss_s} | {ratio} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
log "rounds kept in $W/runs (rm -rf it when done; deleting right before other measurements slows them, see bench/README.md)"
