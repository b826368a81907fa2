#!/usr/bin/env bash
# run.sh -- kiln's side-by-side benchmark suite (issue 5 "Benchmarks", issue 4's and issue 3's
# figures).  Not a test: CI never runs it.  One command runs everything:
#
#     sudo bench/run.sh            # 14 min on 2 cores with RUNS=3; writes bench/results/RESULTS.md + .png
#
# Environment: RUNS (default 5, runs per scenario and tool), NOOP_RUNS (default 10),
#   ONLY="cold noop ..." (subset of scenarios: cold noop edit plat2 par3 sleep2 debian1 copy10k large
#   cachert cachertfresh editcache pull pullgo extract copycp runoverhead), TOOLS="kiln docker buildkitd buildah",
#   BENCH_DIR (scratch dir, default /tmp/kiln-bench), KILN_CONFORMANCE_STATE (the reference
#   services' state, default /var/cache/kiln-conformance), SKIP_SETUP=1 (do not call
#   conformance/setup.sh), SKIP_RUN_OVERHEAD=1, OUT (results dir).
# See bench/README.md for what each scenario measures and how caches are emptied.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); top=$(dirname "$here")
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
export W=${BENCH_DIR:-/tmp/kiln-bench}
# the reference services (registry, base images, buildkitd, dockerd, buildah config) come from
# conformance/setup.sh, the conformance suite's own setup: one script for both
export A=${KILN_CONFORMANCE_STATE:-/var/cache/kiln-conformance}
export REGHOST=127.0.0.1:${KILN_CONFORMANCE_REGISTRY_PORT:-5000}
export REG=$REGHOST/kiln-conformance
export RUNS=${RUNS:-5} NOOP_RUNS=${NOOP_RUNS:-10}
OUT=${OUT:-$here/results}
# /usr/bin/docker is Debian's 20.10 client: a newer CLI without buildx refuses DOCKER_BUILDKIT=1
export DOCKER=/usr/bin/docker DOCKER_HOST=unix://$A/docker.sock DOCKER_BUILDKIT=1
export BUILDCTL="$A/bin/buildctl --addr unix://$A/buildkitd.sock"
export CONTAINERS_CONF=$W/containers/containers.conf CONTAINERS_STORAGE_CONF=$W/containers/storage.conf \
       CONTAINERS_REGISTRIES_CONF=$W/containers/registries.conf
export KSTORE=$W/kiln-store
BASES="busybox debian golang"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---------------------------------------------------------------------------------------
# Cache emptying, the same rule for every tool ("cold"): the build cache is emptied, then the
# base image is made present and unpacked by a throwaway warm-up build
#     FROM 127.0.0.1:5000/<base>
#     RUN echo warm-up > /warm-up
# so the timed build starts with: base pulled + unpacked, no cache entry it can hit.
#   kiln:      rm -rf the store, cp -a a template store that holds exactly that warm-up build
#              (same state as emptying + warm-up; kiln extracts slowly, so the template saves time)
#   docker:    docker builder prune -af; docker rmi bench/* images; warm-up build
#              (the base images themselves were `docker pull`ed once and stay in the image store)
#   buildkitd: buildctl prune --all; warm-up build
#   buildah:   buildah rm -a; buildah rmi -f every image but the pulled bases; warm-up build
cold() { # TOOL BASE
  local tool=$1 base=$2 ctx=$W/ctx/warm-$2
  case $tool in
    kiln) rm -rf "$KSTORE"; cp -a "$W/tmpl/$base" "$KSTORE" ;;
    docker)
      $DOCKER builder prune -af >/dev/null
      $DOCKER images -q --filter 'reference=bench/*' | sort -u | xargs -r $DOCKER rmi -f >/dev/null 2>&1 || true
      $DOCKER build -q -t "bench/warm-up-$base" "$ctx" >/dev/null ;;
    buildkitd)
      $BUILDCTL prune --all >/dev/null
      $BUILDCTL build --frontend dockerfile.v0 --local context="$ctx" --local dockerfile="$ctx" >/dev/null 2>&1 ;;
    buildah)
      buildah rm -a >/dev/null 2>&1 || true
      buildah images -a --format '{{.ID}} {{.Name}}' | awk -v r="$REG/" 'index($2, r) != 1 {print $1}' |
        sort -u | xargs -r buildah rmi -f >/dev/null 2>&1 || true
      buildah build --layers -q "$ctx" >/dev/null 2>&1 ;;
  esac
  sh "$here/settle.sh"
}

# "Pull" (issue 13): nothing at all, not even the base image, so the timed build pulls it.
empty() { # TOOL
  case $1 in
    kiln) rm -rf "$KSTORE" ;;
    docker)
      $DOCKER builder prune -af >/dev/null
      $DOCKER images --format '{{.Repository}}:{{.Tag}}' | grep -E "^(bench/|$REG/)" | sort -u |
        xargs -r $DOCKER rmi -f >/dev/null 2>&1 || true ;;
    buildkitd) $BUILDCTL prune --all >/dev/null ;;
    buildah) buildah rm -a >/dev/null 2>&1 || true; buildah rmi -af >/dev/null 2>&1 || true ;;
  esac
  sh "$here/settle.sh"
}

# The build command of TOOL on CTX (one process, run by hyperfine without a shell).
# kiln runs under /usr/bin/time -v for the peak RSS of its process tree (appended to
# $W/rss/$SCEN.txt; with a RUN step that is often the RUN's process) and with KILN_RUSAGE,
# which makes kiln append its own peak RSS and CPU time, without its containers', to
# $W/rss/$SCEN.kiln.
build_cmd() { # TOOL CTX TAG [EXTRA...]
  local tool=$1 ctx=$2 tag=$3; shift 3
  case $tool in
    kiln)      echo "/usr/bin/time -v -a -o $W/rss/$SCEN.txt env KILN_RUSAGE=$W/rss/$SCEN.kiln $W/kiln --root $KSTORE build -t bench/$tag $* $ctx" ;;
    docker)    echo "$DOCKER build -t bench/$tag $* $ctx" ;;
    buildkitd) echo "$BUILDCTL build --frontend dockerfile.v0 --local context=$ctx --local dockerfile=$ctx --output type=image,name=bench/$tag $*" ;;
    buildah)   echo "buildah build --layers -t bench/$tag $* $ctx" ;;
  esac
}

# hf NAME PREPARE(or "") RUNS WARMUP COMMAND -> $W/json/NAME.json
hf() {
  local name=$1 prep=$2 runs=$3 warm=$4 cmd=$5 args=()
  [ -n "$prep" ] && args+=(--prepare "$prep")
  [ "$warm" -gt 0 ] && args+=(--warmup "$warm")
  log "  $name: $runs runs"
  if ! hyperfine -N --runs "$runs" "${args[@]}" --export-json "$W/json/$name.json" --command-name "$name" \
         "$cmd" > "$W/logs/$name.hyperfine" 2>&1; then
    log "  $name FAILED (see $W/logs/$name.hyperfine)"
    rm -f "$W/json/$name.json"
    echo "FAILED: $cmd" >> "$W/failures.txt"
  fi
}

want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
TOOLS=${TOOLS:-kiln docker buildkitd buildah}

# ---------------------------------------------------------------------------------------
# internal entry points used by hyperfine's --prepare (no shell there)
case "${1:-}" in
  __cold) cold "$2" "$3"; exit ;;
  __empty) empty "$2"; exit ;;
  __edit) printf '// edit %s\n' "$(date +%s%N)" >> "$2/main.go"; exit ;;
  __coldedit) cold "$2" "$3"; printf '// edit %s\n' "$(date +%s%N)" >> "$4/main.go"; exit ;;
  __gocache) rm -rf "$W/host-gocache"; exit ;;
  __noop) exit ;;
esac

[ "$(id -u)" = 0 ] || { echo "run as root (kiln, buildah and the reference services need it)" >&2; exit 1; }
T0=$SECONDS

# ---------------------------------------------------------------------------------------
log "setup: reference services (registry + base images, buildkitd, dockerd 20.10, buildah config)"
setup=$top/conformance/setup.sh
if [ -z "${SKIP_SETUP:-}" ]; then
  KILN_CONFORMANCE_STATE=$A bash "$setup" packages base registry push buildkit dockerd containers env status
else
  KILN_CONFORMANCE_STATE=$A bash "$setup" status
fi
need=""
for p in hyperfine time python3-matplotlib busybox-static; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
[ -z "$need" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null

rm -rf "$W"; mkdir -p "$W"/{json,logs,rss,ctx,tmpl,out,containers}
cut -d' ' -f1-3 /proc/loadavg > "$W/load-start"
fsinfo=$(bash "$here/fsinfo.sh" "$W")  # once: the machine description below reuses it
case $fsinfo in *WITHOUT*)
  log "warning: $W is on ext4 without a journal: cold runs there depend on what was deleted in the"
  log "last minutes (bench/README.md, the disk); bench/scratch-fs.sh makes a journaled one" ;; esac
log "setup: build kiln from $top"
( cd "$top" && go build -o "$W/kiln" ./cmd/kiln )
git -C "$top" rev-parse --short HEAD > "$W/kiln-commit" 2>/dev/null || echo unknown > "$W/kiln-commit"
git -C "$top" status --porcelain -- . ':!bench' | grep -q . && echo "+dirty" >> "$W/kiln-commit" || true

# buildah: private storage under $W, the reference containers.conf (runc, cgroupfs) and registries.conf
cat > "$W/containers/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$W/containers/storage"
runroot = "$W/containers/run"
EOF
has() { [[ " $TOOLS " == *" $1 "* ]]; }
! has buildah || cp "$A/containers/containers.conf" "$A/containers/registries.conf" "$W/containers/"

# ---------------------------------------------------------------------------------------
log "setup: contexts"
C=$W/ctx
for b in $BASES; do
  mkdir -p "$C/warm-$b"; printf 'FROM %s/%s\nRUN echo warm-up > /warm-up\n' "$REG" "$b" > "$C/warm-$b/Dockerfile"
done
# the seed example, FROM rewritten to the local registry's golang image (same for every tool)
for d in hello hello-noop hello-edit hello-editc; do
  cp -r "$top/examples/hello" "$C/$d"
  sed -i "s|^FROM golang:1.22 |FROM $REG/golang:latest |" "$C/$d/Dockerfile"
done
grep -q "^FROM $REG/golang" "$C/hello/Dockerfile" || { echo "could not rewrite examples/hello/Dockerfile" >&2; exit 1; }
# the seed example cross-compiled for two platforms (issue 11): the builder runs natively
cp -r "$top/examples/hello" "$C/hello-x"
cat > "$C/hello-x/Dockerfile" <<EOF
FROM --platform=\$BUILDPLATFORM $REG/golang:latest AS builder
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=\$TARGETOS GOARCH=\$TARGETARCH go build -o app .
FROM scratch
COPY --from=builder /src/app /app
ENTRYPOINT ["/app"]
EOF

# CPU-bound work: busybox awk loop, single-threaded, calibrated here to ~2 s
BB=/bin/busybox
n=2000000
while :; do
  s=$( { /usr/bin/time -f %U $BB awk "BEGIN{for(i=0;i<$n;i++)s+=i; print s}" >/dev/null; } 2>&1 )
  awk -v s="$s" 'BEGIN{exit !(s >= 0.5)}' && break; n=$((n * 2))
done
ITER=$(awk -v n="$n" -v s="$s" 'BEGIN{printf "%d", n * 2.0 / s}')
echo "$ITER" > "$W/cpu-iterations"
mkdir -p "$C/par3"
{ for s in a b c; do
    printf 'FROM %s/busybox AS %s\nRUN awk "BEGIN{for(i=0;i<%s;i++)s+=i; print \\"%s\\", s}" > /%s\n' "$REG" "$s" "$ITER" "$s" "$s"
  done
  printf 'FROM %s/busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCOPY --from=c /c /c\n' "$REG"
} > "$C/par3/Dockerfile"
mkdir -p "$C/sleep2"
printf 'FROM %s/busybox AS a\nRUN sleep 2 && echo a > /a\nFROM %s/busybox AS b\nRUN sleep 2 && echo b > /b\nFROM %s/busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n' \
  "$REG" "$REG" "$REG" > "$C/sleep2/Dockerfile"
mkdir -p "$C/debian1" "$C/golang1"
printf 'FROM %s/debian\nRUN echo bench >> /etc/issue\n' "$REG" > "$C/debian1/Dockerfile"
printf 'FROM %s/golang\nRUN go version > /go-version\n' "$REG" > "$C/golang1/Dockerfile"
mkdir -p "$C/copy10k"
printf 'FROM %s/busybox\nCOPY files/ /files/\n' "$REG" > "$C/copy10k/Dockerfile"
python3 - "$C/copy10k/files" <<'PY'
import os, sys, random
root = sys.argv[1]; rnd = random.Random(10000)
for d in range(100):
    os.makedirs(f"{root}/{d:02d}")
    for f in range(100):
        with open(f"{root}/{d:02d}/{f:02d}.txt", "wb") as fh:
            fh.write(rnd.randbytes(rnd.randint(200, 2000)))
PY
mkdir -p "$C/large"
printf 'FROM %s/busybox\nRUN for i in 1 2 3 4 5 6; do head -c 100000000 /dev/urandom > /big$i; done\n' "$REG" > "$C/large/Dockerfile"

# composite commands (build, then export to a tar) for the large-image scenario
cat > "$W/docker-large.sh" <<EOF
#!/bin/sh
set -e
$DOCKER build -q -t bench/large "$C/large" >/dev/null
$DOCKER save -o "$W/out/docker.tar" bench/large
EOF
cat > "$W/buildah-large.sh" <<EOF
#!/bin/sh
set -e
buildah build --layers -q -t bench/large "$C/large" >/dev/null
rm -f "$W/out/buildah.tar"
buildah push -q bench/large "oci-archive:$W/out/buildah.tar"
EOF
chmod +x "$W/docker-large.sh" "$W/buildah-large.sh"

# ---------------------------------------------------------------------------------------
log "setup: base images present for every tool"
for b in $BASES; do
  ! has docker || $DOCKER pull -q "$REG/$b:latest" >/dev/null
  ! has buildah || buildah pull -q "$REG/$b:latest" >/dev/null
  log "  kiln template store for $b (empty cache + the warm-up build)"
  "$W/kiln" --root "$W/tmpl/$b" build "$C/warm-$b" > "$W/logs/tmpl-$b.log" 2>&1
done

self="bash $here/run.sh"
run_cold() { # SCEN BASE CTX TAG [EXTRA...]: cold build for every tool
  local scen=$1 base=$2 ctx=$3 tag=$4; shift 4; local t
  for t in $TOOLS; do
    SCEN=$scen hf "$scen.$t" "$self __cold $t $base" "$RUNS" 0 "$(SCEN=$scen build_cmd "$t" "$ctx" "$tag" "$@")"
  done
}

# The compiler's own time, the floor of the seed example's cold and edit builds: the same go
# build on the host with an empty GOCACHE (as in the container).  Once per suite.
compiler() {
  [ ! -e "$W/json/compiler.json" ] || return 0
  log "  the compiler's own time: the same go build on the host, empty GOCACHE"
  hf compiler "$self __gocache" "$RUNS" 0 \
    "env -C $C/hello GOCACHE=$W/host-gocache CGO_ENABLED=0 /usr/local/go/bin/go build -o $W/out/app ."
}

# ---------------------------------------------------------------------------------------
if want cold; then log "scenario cold: seed example (golang → scratch), empty caches, base present"
  run_cold cold golang "$C/hello" hello; compiler; fi

if want noop; then log "scenario noop: seed example, nothing changed"
  for t in $TOOLS; do
    cold "$t" golang
    cmd=$(SCEN=noop build_cmd "$t" "$C/hello-noop" hello)
    $cmd > "$W/logs/noop-first-$t.log" 2>&1   # the first (full) build, untimed
    [ "$t" != kiln ] || rm -f "$W/rss/noop.txt" "$W/rss/noop.kiln"
    SCEN=noop hf "noop.$t" "" "$NOOP_RUNS" 2 "$cmd"
  done; fi

if want edit; then log "scenario edit: seed example, main.go edited before each run"
  for t in $TOOLS; do
    cold "$t" golang
    SCEN=edit hf "edit.$t" "$self __edit $C/hello-edit" "$RUNS" 1 "$(SCEN=edit build_cmd "$t" "$C/hello-edit" hello)"
  done
  compiler
fi

if want plat2; then log "scenario plat2: seed example cross-compiled for linux/amd64,linux/arm64 (kiln, buildkitd)"
  for t in $TOOLS; do
    case $t in
      kiln)      cmd=$(SCEN=plat2 build_cmd kiln "$C/hello-x" hello-x --platform linux/amd64,linux/arm64) ;;
      buildkitd) cmd=$(build_cmd buildkitd "$C/hello-x" hello-x --opt platform=linux/amd64,linux/arm64) ;;
      *) continue ;; # docker 20.10's builder and buildah build one platform per image
    esac
    SCEN=plat2 hf "plat2.$t" "$self __cold $t golang" "$RUNS" 0 "$cmd"
  done; fi

if want par3; then log "scenario par3: 3 independent CPU-bound stages (~2 s each) joined"
  run_cold par3 busybox "$C/par3" par3; fi

if want sleep2; then log "scenario sleep2: two independent RUN sleep 2 stages"
  run_cold sleep2 busybox "$C/sleep2" sleep2; fi

if want debian1; then log "scenario debian1: RUN touching one file on debian"
  run_cold debian1 debian "$C/debian1" debian1; fi

if want copy10k; then log "scenario copy10k: COPY of a 10,000-file context"
  run_cold copy10k busybox "$C/copy10k" copy10k; fi

if want large; then log "scenario large: 600 MB of random files in a RUN, exported to a tar"
  for t in $TOOLS; do
    case $t in
      kiln)      cmd=$(SCEN=large build_cmd kiln "$C/large" large -o "type=oci,dest=$W/out/kiln.tar") ;;
      buildkitd) cmd="$BUILDCTL build --frontend dockerfile.v0 --local context=$C/large --local dockerfile=$C/large --output type=oci,dest=$W/out/buildkitd.tar" ;;
      docker)    cmd="$W/docker-large.sh" ;;
      buildah)   cmd="$W/buildah-large.sh" ;;
    esac
    SCEN=large hf "large.$t" "$self __cold $t busybox" "$RUNS" 0 "$cmd"
  done
  ls -l "$W/out/"*.tar > "$W/large-sizes.txt" 2>/dev/null || true
  if [[ " $TOOLS " == *" kiln "* ]]; then
    SCEN=large-unc hf "large-unc.kiln" "$self __cold kiln busybox" "$RUNS" 0 \
      "$(SCEN=large-unc build_cmd kiln "$C/large" large --compression uncompressed -o "type=oci,dest=$W/out/kiln-unc.tar")"
  fi
fi

# seed_cache TOOL CTX REF SCEN: a cold build (base present) that exports a mode=max registry cache
seed_cache() {
  cold "$1" golang
  case $1 in
    kiln) "$W/kiln" --root "$KSTORE" build --cache-to "type=registry,ref=$3,mode=max" "$2" ;;
    buildkitd) $BUILDCTL build --frontend dockerfile.v0 --local context="$2" --local dockerfile="$2" \
      --export-cache "type=registry,ref=$3,mode=max" ;;
  esac > "$W/logs/$4-$1-export.log" 2>&1
}

if want cachert; then log "scenario cachert: registry cache round trip (seed example)"
  ref=$REG/bench/cache; bkref=$REG/bench/bkcache
  if [[ " $TOOLS " == *" kiln "* ]]; then
    seed_cache kiln "$C/hello" "$ref" cachert
    SCEN=cachert hf "cachert.kiln" "$self __cold kiln golang" "$RUNS" 0 \
      "$(SCEN=cachert build_cmd kiln "$C/hello" hello --cache-from "type=registry,ref=$ref")"
    cold kiln golang   # one more, with its output kept: did any RUN execute?
    "$W/kiln" --root "$KSTORE" build --cache-from "type=registry,ref=$ref" "$C/hello" > "$W/logs/cachert-kiln-import.log" 2>&1
  fi
  if [[ " $TOOLS " == *" buildkitd "* ]]; then
    seed_cache buildkitd "$C/hello" "$bkref" cachert
    hf "cachert.buildkitd" "$self __cold buildkitd golang" "$RUNS" 0 \
      "$(build_cmd buildkitd "$C/hello" hello --import-cache "type=registry,ref=$bkref")"
    cold buildkitd golang
    $BUILDCTL build --progress plain --frontend dockerfile.v0 --local context="$C/hello" --local dockerfile="$C/hello" \
      --import-cache "type=registry,ref=$bkref" > "$W/logs/cachert-buildkitd-import.log" 2>&1
  fi
fi

# issue 13: pulls.  "pull"/"pullgo": nothing present, not even the base (each tool's empty()),
# so the timed build pulls, unpacks and runs.  "cachertfresh": scenario 8 on an empty store:
# every step comes from the registry cache and the base is not even present.
run_empty() { # SCEN CTX TAG [EXTRA...]
  local scen=$1 ctx=$2 tag=$3; shift 3; local t
  for t in $TOOLS; do
    SCEN=$scen hf "$scen.$t" "$self __empty $t" "$RUNS" 0 "$(SCEN=$scen build_cmd "$t" "$ctx" "$tag" "$@")"
  done
}
if want pull; then log "scenario pull: FROM debian + RUN, nothing present (the base is pulled)"
  run_empty pull "$C/debian1" pull; fi
if want pullgo; then log "scenario pullgo: FROM golang + RUN go version, nothing present"
  run_empty pullgo "$C/golang1" pullgo; fi
if want cachertfresh; then log "scenario cachertfresh: empty store (no base) + registry --cache-from (seed example)"
  ref=$REG/bench/cache; bkref=$REG/bench/bkcache
  if [[ " $TOOLS " == *" kiln "* ]]; then
    seed_cache kiln "$C/hello" "$ref" cachertfresh
    SCEN=cachertfresh hf "cachertfresh.kiln" "$self __empty kiln" "$RUNS" 0 \
      "$(SCEN=cachertfresh build_cmd kiln "$C/hello" hello --cache-from "type=registry,ref=$ref")"
    empty kiln   # one more, with its output kept: what was pulled?
    "$W/kiln" --root "$KSTORE" build --cache-from "type=registry,ref=$ref" "$C/hello" > "$W/logs/cachertfresh-kiln-import.log" 2>&1
    du -sm "$KSTORE" | cut -f1 > "$W/cachertfresh-kiln-store-mb"
  fi
  if [[ " $TOOLS " == *" buildkitd "* ]]; then
    seed_cache buildkitd "$C/hello" "$bkref" cachertfresh
    hf "cachertfresh.buildkitd" "$self __empty buildkitd" "$RUNS" 0 \
      "$(build_cmd buildkitd "$C/hello" hello --import-cache "type=registry,ref=$bkref")"
  fi
fi

# issue 13: kiln's extraction against tar -xzf of the same blobs on the same disk (its own table)
# and the COPY of the 10,000-file context against cp -a of the same tree
kiln_script() { # NAME SCRIPT: run a kiln-only bench script; its table goes to $W/NAME.md
  KILN=$W/kiln BENCH_DIR=$W/$1 RUNS=$RUNS OUT=$W/$1.md bash "$here/$2" > /dev/null 2> "$W/logs/$1.log" ||
    { echo "$2 failed, see $W/logs/$1.log" > "$W/$1.md"; }
  rm -rf "$W/$1/runs"
}
if want extract && [[ " $TOOLS " == *" kiln "* ]]; then log "extract.sh (issue 13)"; kiln_script extract extract.sh; fi
if want copycp && [[ " $TOOLS " == *" kiln "* ]]; then log "copy.sh (issue 13)"; kiln_script copycp copy.sh; fi

# a fresh CI runner's edit rebuild: the registry cache (mode=max) of a build of the unedited
# source, a cold store (base present), one edited file. kiln's cache carries its automatic Go
# build cache (docs/auto-cache.md); BuildKit cannot export cache mounts (moby/buildkit#1512).
if want editcache; then log "scenario edit-cached: fresh store + registry cache (mode=max) + one edited file"
  ref=$REG/bench/editcache; bkref=$REG/bench/bkeditcache
  if [[ " $TOOLS " == *" kiln "* ]]; then
    seed_cache kiln "$C/hello-editc" "$ref" editcache
    SCEN=editcache hf "editcache.kiln" "$self __coldedit kiln golang $C/hello-editc" "$RUNS" 0 \
      "$(SCEN=editcache build_cmd kiln "$C/hello-editc" hello --cache-from "type=registry,ref=$ref")"
  fi
  if [[ " $TOOLS " == *" buildkitd "* ]]; then
    seed_cache buildkitd "$C/hello-editc" "$bkref" editcache
    hf "editcache.buildkitd" "$self __coldedit buildkitd golang $C/hello-editc" "$RUNS" 0 \
      "$(build_cmd buildkitd "$C/hello-editc" hello --import-cache "type=registry,ref=$bkref")"
  fi
fi

# issue 3's per-RUN overhead benchmark (kiln only; its own table)
if want runoverhead && [ -z "${SKIP_RUN_OVERHEAD:-}" ]; then log "run-overhead.sh (issue 3)"
  BENCH_DIR=$W/run-overhead bash "$here/run-overhead.sh" > "$W/run-overhead.md" 2> "$W/logs/run-overhead.log" ||
    { echo "run-overhead.sh failed, see $W/logs/run-overhead.log" > "$W/run-overhead.md"; }
fi

# ---------------------------------------------------------------------------------------
log "machine description and report"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs"
  echo "memory: $(free -g | awk '/^Mem:/{print $2}') GiB"
  echo "kernel: $(uname -r); filesystem of $W: $fsinfo"
  echo "os: $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "kiln: commit $(tr '\n' ' ' < "$W/kiln-commit")($(go version | awk '{print $3}'))"
  echo "docker: dockerd $($DOCKER version -f '{{.Server.Version}}') (BuildKit built in), overlay2, runc $(runc --version | awk 'NR==1{print $3}')"
  echo "buildkitd: $($A/bin/buildkitd --version | awk '{print $3}') (OCI worker, overlayfs snapshotter, runc)"
  ! has buildah || echo "buildah: $(buildah --version 2>/dev/null | awk '{print $3}') (overlay, runc)"
  echo "load average before/after: $(cat "$W/load-start" 2>/dev/null || echo ?) / $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "cpu loop iterations (~2 s): $ITER"
  echo "suite wall time: $(( (SECONDS - T0) / 60 )) min"
} > "$W/machine.txt"
mkdir -p "$OUT"
/usr/bin/python3 "$here/report.py" "$W" "$OUT"
log "done in $(( (SECONDS - T0) / 60 )) min: $OUT/RESULTS.md"
