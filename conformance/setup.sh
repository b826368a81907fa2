#!/usr/bin/env bash
# conformance/setup.sh -- reference services for kiln's differential conformance suite and its
# side-by-side benchmarks (bench/run.sh): the one setup script for both.
#
# Debian 12 (bookworm), as root.  Needs only Debian packages (apt), the Go toolchain in
# /usr/local/go and the Go module proxy.  Everything lives under the state dir
# $KILN_CONFORMANCE_STATE (default /var/cache/kiln-conformance); rerunning skips finished steps
# (the BuildKit binaries and the debootstrap tarball are cached there), a fresh machine builds
# everything (~6-8 min, mostly `go build` of BuildKit).
#
# Usage: conformance/setup.sh [step ...]
#   steps: packages base registry push buildkit env status stop clean, and for bench/run.sh
#   also dockerd (docker 20.10) and containers (buildah config)
#   (default: packages base registry push multiarch buildkit env status)
#
# Results (also written to $STATE/env, which the Go test reads for its defaults):
#   REGISTRY        127.0.0.1:$PORT/kiln-conformance  holding busybox, debian, golang (:latest)
#                   (an existing registry on 127.0.0.1:$PORT, e.g. the anchors' one, is reused;
#                   the kiln-conformance/ prefix keeps our images apart from anybody else's)
#   BUILDKIT_ADDR   unix://$STATE/buildkitd.sock  (buildkitd built from the Go module at the
#                   version kiln's go.mod requires; root $STATE/buildkit, log $STATE/buildkitd.log)
#   BUILDCTL        $STATE/bin/buildctl
set -euo pipefail

S=${KILN_CONFORMANCE_STATE:-/var/cache/kiln-conformance}
PORT=${KILN_CONFORMANCE_REGISTRY_PORT:-5000}
REGHOST=127.0.0.1:$PORT
REGISTRY=$REGHOST/kiln-conformance
BASE=$S/base
BK_SOCK=$S/buildkitd.sock
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p "$S" "$BASE"
log() { printf '[setup %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# The Debian mirror apt is configured with (deb822 .sources or one-line .list).
debian_mirror() {
  local m=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    m=$(awk '/^URIs:/{u=$2} /^Suites:/{ if ($0 ~ /bookworm( |$)/ && u != "") {print u; exit} }' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  fi
  if [ -z "$m" ]; then
    m=$(grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        grep -v security | awk '$3=="bookworm"{print $2; exit}' || true)
  fi
  [ -n "$m" ] || { echo "cannot find the Debian mirror in apt's sources" >&2; return 1; }
  echo "$m"
}

# ---------------------------------------------------------------------------------------
step_packages() {
  # runc: buildkitd's OCI worker; zstd/xz-utils/bzip2: cases' prepare.sh make archives with them
  local pkgs="busybox-static runc docker-registry skopeo debootstrap curl ca-certificates
              zstd xz-utils bzip2 gzip tar attr"
  local missing="" p
  for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    log "packages: installing$missing"
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -600 2>/dev/null | head -1)" ] || apt-get update -qq
    # policy-rc.d-less machines may try to start docker-registry's service: harmless, we start our own
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    log "packages: all present"
  fi
  command -v go >/dev/null || { echo "Go is required in /usr/local/go (or on PATH)" >&2; return 1; }
}

# ---------------------------------------------------------------------------------------
# mkoci OUTDIR 'ENV-JSON-ARRAY' 'CMD-JSON-ARRAY' 'WORKDIR' LAYER.tar...
# Writes an OCI image layout (gzip layers, reproducible: gzip -n, fixed created date).
mkoci() {
  local out=$1 envj=$2 cmdj=$3 wd=$4; shift 4
  rm -rf "$out"; mkdir -p "$out/blobs/sha256"
  local diffids="" layers="" hist="" t d g gs
  for t in "$@"; do
    d=$(sha256sum "$t" | cut -d' ' -f1)
    gzip -n -c "$t" > "$out/blob.tmp"
    g=$(sha256sum "$out/blob.tmp" | cut -d' ' -f1); gs=$(stat -c %s "$out/blob.tmp")
    mv "$out/blob.tmp" "$out/blobs/sha256/$g"
    diffids="$diffids${diffids:+,}\"sha256:$d\""
    layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$g\",\"size\":$gs}"
    hist="$hist${hist:+,}{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"kiln-conformance: $(basename "$t")\"}"
  done
  local cfg="{\"architecture\":\"${ARCH:-amd64}\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\"config\":{\"Env\":$envj,\"Cmd\":$cmdj,\"WorkingDir\":\"$wd\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffids]},\"history\":[$hist]}"
  printf '%s' "$cfg" > "$out/blob.tmp"
  local cd cs; cd=$(sha256sum "$out/blob.tmp" | cut -d' ' -f1); cs=$(stat -c %s "$out/blob.tmp")
  mv "$out/blob.tmp" "$out/blobs/sha256/$cd"
  local man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cd\",\"size\":$cs},\"layers\":[$layers]}"
  printf '%s' "$man" > "$out/blob.tmp"
  local md ms; md=$(sha256sum "$out/blob.tmp" | cut -d' ' -f1); ms=$(stat -c %s "$out/blob.tmp")
  mv "$out/blob.tmp" "$out/blobs/sha256/$md"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' "$md" "$ms" > "$out/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
}

tar_rootfs() { # DIR OUT.tar  -- numeric ownership, sorted names
  tar --numeric-owner --sort=name -C "$1" -cf "$2.tmp" . && mv "$2.tmp" "$2"
}

PATH_DEFAULT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

build_busybox() {
  [ -s "$BASE/busybox.tar" ] && [ -f "$BASE/oci-busybox/index.json" ] && { log "base: busybox cached"; return 0; }
  log "base: busybox (Debian busybox-static)"
  ( cd "$BASE"
    rm -rf busybox-rootfs
    local r=busybox-rootfs bb
    # the installed busybox-static package's binary: no download needed
    bb=$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')
    mkdir -p $r/bin $r/sbin $r/usr/bin $r/usr/sbin $r/etc $r/root $r/tmp $r/home $r/var/tmp $r/proc $r/sys $r/dev
    chmod 1777 $r/tmp $r/var/tmp; chmod 700 $r/root
    install -m 0755 "$bb" $r/bin/busybox
    local p
    for p in $($r/bin/busybox --list-full); do
      [ "$p" = bin/busybox ] && continue
      [ -e "$r/$p" ] || ln -s /bin/busybox "$r/$p"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > $r/etc/passwd
    printf 'root:x:0:\nnogroup:x:65534:\n' > $r/etc/group
    tar_rootfs $r busybox.tar
    rm -rf busybox-rootfs
    mkoci oci-busybox '["PATH='$PATH_DEFAULT'"]' '["sh"]' '' busybox.tar )
}

build_debian() {
  [ -s "$BASE/debian.tar" ] && [ -f "$BASE/oci-debian/index.json" ] && { log "base: debian cached"; return 0; }
  local mirror; mirror=$(debian_mirror)
  log "base: debian (debootstrap --variant=minbase bookworm $mirror; ~1 min)"
  ( cd "$BASE"; rm -rf debian-rootfs
    local t0=$SECONDS
    debootstrap --variant=minbase bookworm debian-rootfs "$mirror" > debootstrap.log 2>&1 ||
      { tail -20 debootstrap.log >&2; exit 1; }
    log "debootstrap took $((SECONDS - t0)) s"
    # slim it like the official image: no .debs, no apt lists, no logs
    rm -rf debian-rootfs/var/cache/apt/archives/*.deb debian-rootfs/var/lib/apt/lists/* \
           debian-rootfs/var/log/*.log debian-rootfs/var/cache/debconf/*-old
    tar_rootfs debian-rootfs debian.tar
    rm -rf debian-rootfs
    mkoci oci-debian '["PATH='$PATH_DEFAULT'"]' '["bash"]' '' debian.tar )
}

build_golang() {
  local gover; gover=$(head -1 /usr/local/go/VERSION)
  [ -s "$BASE/go-layer.tar" ] && [ -f "$BASE/oci-golang/index.json" ] && [ "$(cat "$BASE/go-layer.version" 2>/dev/null)" = "$gover" ] &&
    { log "base: golang cached ($gover)"; return 0; }
  log "base: golang (debian + /usr/local/go $gover)"
  ( cd "$BASE"; rm -rf go-layer; mkdir -p go-layer/usr/local go-layer/go/bin go-layer/go/src
    cp -a /usr/local/go go-layer/usr/local/go
    chmod -R 777 go-layer/go
    tar_rootfs go-layer go-layer.tar
    rm -rf go-layer
    # env like the official golang image; GOTOOLCHAIN=local so nothing is ever downloaded
    mkoci oci-golang \
      '["PATH=/go/bin:/usr/local/go/bin:'$PATH_DEFAULT'","GOLANG_VERSION='"${gover#go}"'","GOTOOLCHAIN=local","GOPATH=/go"]' \
      '["bash"]' '/go' debian.tar go-layer.tar
    echo "$gover" > go-layer.version )
}

step_base() { build_busybox; build_debian; build_golang; }

# ---------------------------------------------------------------------------------------
registry_up() { curl -fsS "http://$REGHOST/v2/" >/dev/null 2>&1; }
step_registry() {
  if registry_up; then log "registry: $REGHOST already serves, reusing it"; return 0; fi
  log "registry: docker-registry $(dpkg-query -W -f '${Version}' docker-registry) on $REGHOST (data $S/registry)"
  mkdir -p "$S/registry/data"
  cat > "$S/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $S/registry/data
  delete:
    enabled: true
http:
  addr: $REGHOST
EOF
  (cd / && exec setsid nohup /usr/bin/docker-registry serve "$S/registry/config.yml" > "$S/registry.log" 2>&1 < /dev/null) &
  echo $! > "$S/registry.pid"
  for _ in $(seq 50); do registry_up && return 0; sleep 0.2; done
  echo "registry did not come up; see $S/registry.log (is port $PORT taken? set KILN_CONFORMANCE_REGISTRY_PORT)" >&2
  return 1
}

step_push() {
  local n digest
  for n in busybox debian golang; do
    # push when the registry lacks the image or holds another version of it
    digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$BASE/oci-$n/index.json" 2>/dev/null || true)
    if curl -fsS "http://$REGHOST/v2/kiln-conformance/$n/manifests/latest" \
         -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' -o /dev/null 2>/dev/null &&
       [ -f "$S/pushed-$n" ] && [ "$(cat "$S/pushed-$n")" = "$REGHOST $digest" ]; then
      log "push: $REGISTRY/$n up to date"; continue
    fi
    log "push: $REGISTRY/$n:latest"
    # --format v2s2: docker v2 schema 2 manifests, what Docker Hub serves for these images
    skopeo copy --quiet --format v2s2 --dest-tls-verify=false "oci:$BASE/oci-$n:latest" "docker://$REGISTRY/$n:latest"
    echo "$REGHOST $digest" > "$S/pushed-$n"
  done
}

# ---------------------------------------------------------------------------------------
# BuildKit at the version kiln's go.mod requires (override: BUILDKIT_VERSION).  `go install` is
# refused because of the module's exclude directives: download the module through the proxy and
# build it as the main module in a writable copy.
buildkit_up() { [ -x "$S/bin/buildctl" ] && "$S/bin/buildctl" --addr "unix://$BK_SOCK" debug workers >/dev/null 2>&1; }
step_buildkit() {
  local want=${BUILDKIT_VERSION:-$(awk '$1=="github.com/moby/buildkit"{print $2; exit}' "$REPO/go.mod")}
  [ -n "$want" ] || want=latest
  if [ -x "$S/bin/buildkitd" ] && [ -x "$S/bin/buildctl" ] && [ "$(cat "$S/bin/version" 2>/dev/null)" = "$want" ]; then
    log "buildkit $want: binaries cached"
  else
    (
      export GOPATH=$S/gopath GOCACHE=$S/gocache GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
      local dir ver t0=$SECONDS
      dir=$(cd /tmp && go mod download -json "github.com/moby/buildkit@$want" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      [ -n "$dir" ] || { echo "go mod download github.com/moby/buildkit@$want failed" >&2; exit 1; }
      ver=${dir##*@}
      log "buildkit $ver: building buildkitd + buildctl from the Go module (takes minutes)"
      rm -rf "$S/src/buildkit"; mkdir -p "$S/src" "$S/bin"
      cp -r "$dir" "$S/src/buildkit"; chmod -R u+w "$S/src/buildkit"
      ( cd "$S/src/buildkit" && CGO_ENABLED=0 go build -mod=mod \
          -ldflags "-X github.com/moby/buildkit/version.Version=$ver" \
          -o "$S/bin/" ./cmd/buildkitd ./cmd/buildctl ) > "$S/build-buildkit.log" 2>&1 ||
        { tail -20 "$S/build-buildkit.log" >&2; exit 1; }
      echo "$want" > "$S/bin/version"
      rm -rf "$S/src/buildkit"
      log "buildkit $ver: go build took $((SECONDS - t0)) s"
    )
    # a buildkitd of another version may still run from the state dir: restart it
    stop_pid buildkitd
  fi
  if buildkit_up; then log "buildkitd: already up ($BK_SOCK)"; return 0; fi
  mkdir -p "$S/buildkit"
  cat > "$S/buildkitd.toml" <<EOF
root = "$S/buildkit"
[grpc]
  address = ["unix://$BK_SOCK"]
[worker.oci]
  enabled = true
  snapshotter = "overlayfs"
  binary = "/usr/sbin/runc"
  gc = true
  gckeepstorage = "10GB"
[worker.containerd]
  enabled = false
[registry."$REGHOST"]
  http = true
  insecure = true
EOF
  log "buildkitd $("$S/bin/buildkitd" --version | awk '{print $3}'): starting on $BK_SOCK"
  rm -f "$BK_SOCK"
  (cd / && exec setsid nohup "$S/bin/buildkitd" --config "$S/buildkitd.toml" > "$S/buildkitd.log" 2>&1 < /dev/null) &
  echo $! > "$S/buildkitd.pid"
  for _ in $(seq 100); do buildkit_up && return 0; sleep 0.3; done
  echo "buildkitd did not come up; see $S/buildkitd.log" >&2; tail -20 "$S/buildkitd.log" >&2; return 1
}

# ---------------------------------------------------------------------------------------
# multiarch: QEMU user emulation (binfmt_misc, F flag; buildkitd and kiln use the same) and a
# two-platform busybox index, $REGISTRY/busybox-multi (linux/amd64 + linux/arm64 from Debian's
# busybox-static:arm64), for the cases that build for other platforms.
step_multiarch() {
  need_pkgs qemu-user-static binfmt-support
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    { log "multiarch: binfmt_misc cannot be mounted here: cases for other platforms will fail"; return 0; }
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 || true
  if curl -fsS "http://$REGHOST/v2/kiln-conformance/busybox-multi/manifests/latest" \
       -H 'Accept: application/vnd.oci.image.index.v1+json' -o /dev/null 2>/dev/null; then
    log "multiarch: $REGISTRY/busybox-multi up to date"; return 0
  fi
  log "multiarch: $REGISTRY/busybox-multi (amd64 + arm64)"
  build_busybox
  ( cd "$BASE"
    dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
    rm -rf bb-arm64 busybox-static_*arm64.deb busybox-arm64-rootfs
    apt-get download -qq busybox-static:arm64 >/dev/null
    dpkg -x busybox-static_*_arm64.deb bb-arm64
    mkdir busybox-arm64-rootfs; tar -C busybox-arm64-rootfs -xf busybox.tar
    install -m 0755 bb-arm64/bin/busybox busybox-arm64-rootfs/bin/busybox
    tar_rootfs busybox-arm64-rootfs busybox-arm64.tar; rm -rf busybox-arm64-rootfs bb-arm64
    ARCH=arm64 mkoci oci-busybox-arm64 '["PATH='$PATH_DEFAULT'"]' '["sh"]' '' busybox-arm64.tar
    python3 - "$BASE" <<'PY'
import hashlib, json, os, shutil, sys
base = sys.argv[1]; out = os.path.join(base, 'oci-busybox-multi')
shutil.rmtree(out, ignore_errors=True); os.makedirs(out + '/blobs/sha256')
mans = []
for d, arch in (('oci-busybox', 'amd64'), ('oci-busybox-arm64', 'arm64')):
    src = os.path.join(base, d)
    for b in os.listdir(src + '/blobs/sha256'):
        shutil.copy(f'{src}/blobs/sha256/{b}', f'{out}/blobs/sha256/{b}')
    m = json.load(open(src + '/index.json'))['manifests'][0]
    mans.append({'mediaType': m['mediaType'], 'digest': m['digest'], 'size': m['size'],
                 'platform': {'architecture': arch, 'os': 'linux'}})
idx = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                  'manifests': mans}).encode()
dg = hashlib.sha256(idx).hexdigest()
open(f'{out}/blobs/sha256/{dg}', 'wb').write(idx)
json.dump({'schemaVersion': 2, 'manifests': [{'mediaType': 'application/vnd.oci.image.index.v1+json',
           'digest': 'sha256:' + dg, 'size': len(idx),
           'annotations': {'org.opencontainers.image.ref.name': 'latest'}}]}, open(out + '/index.json', 'w'))
open(out + '/oci-layout', 'w').write('{"imageLayoutVersion":"1.0.0"}')
PY
  )
  skopeo copy --quiet --all --dest-tls-verify=false "oci:$BASE/oci-busybox-multi:latest" "docker://$REGISTRY/busybox-multi:latest"
}

# ---------------------------------------------------------------------------------------
# The bench's other peers (bench/run.sh asks for these steps; the conformance suite does not):
# docker 20.10 (Debian docker.io, BuildKit v0.8 inside) and buildah, each with private state here.
need_pkgs() {
  local missing="" p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  log "packages: installing$missing"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

DOCKER_SOCK=$S/docker.sock
docker_up() { DOCKER_HOST=unix://$DOCKER_SOCK /usr/bin/docker version >/dev/null 2>&1; }
step_dockerd() {
  docker_up && { log "dockerd already up"; return 0; }
  need_pkgs docker.io
  log "dockerd $(dpkg-query -W -f '${Version}' docker.io)"
  mkdir -p "$S/docker" "$S/docker-exec"
  cat > "$S/daemon.json" <<JSON
{
  "data-root": "$S/docker",
  "exec-root": "$S/docker-exec",
  "pidfile": "$S/dockerd.pid",
  "hosts": ["unix://$DOCKER_SOCK"],
  "insecure-registries": ["$REGHOST"],
  "storage-driver": "overlay2",
  "iptables": false,
  "ip-masq": false,
  "features": { "buildkit": true }
}
JSON
  (cd / && PATH=/usr/sbin:/usr/bin:/sbin:/bin exec setsid nohup /usr/sbin/dockerd --config-file "$S/daemon.json" \
    > "$S/dockerd.log" 2>&1 < /dev/null) &
  for _ in $(seq 100); do docker_up && return 0; sleep 0.3; done
  echo "dockerd did not come up; see $S/dockerd.log" >&2; tail -20 "$S/dockerd.log" >&2; return 1
}

# buildah: config under $S/containers, selected by CONTAINERS_* environment variables
step_containers() {
  need_pkgs buildah
  log "buildah $(buildah --version | awk '{print $3}'): config in $S/containers"
  mkdir -p "$S/containers"
  cat > "$S/containers/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
location = "$REGHOST"
insecure = true
CONF
  cat > "$S/containers/containers.conf" <<CONF
[containers]
# CAP_SYS_RESOURCE may be missing from the bounding set: podman's default (raise nofile/nproc
# to the maximum) then fails with "setrlimit ... Operation not permitted"; ask for less.
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
# crun 1.8 refuses the cgroup v1 + v2 hybrid layout; runc 1.1 works.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

# ---------------------------------------------------------------------------------------
step_env() {
  cat > "$S/env" <<EOF
REGISTRY=$REGISTRY
BUILDKIT_ADDR=unix://$BK_SOCK
BUILDCTL=$S/bin/buildctl
EOF
  log "env: $S/env"
}

step_status() {
  registry_up && echo "registry:  up ($REGHOST), images under $REGISTRY/" || echo "registry:  down"
  buildkit_up && echo "buildkitd: up (unix://$BK_SOCK, $("$S/bin/buildkitd" --version | awk '{print $3}'))" || echo "buildkitd: down"
  docker_up && echo "dockerd:   up (unix://$DOCKER_SOCK)" || echo "dockerd:   down (bench only)"
}

stop_pid() {
  local f=$1 pid
  [ -f "$S/$f.pid" ] || return 0
  pid=$(cat "$S/$f.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    log "stopped $f ($pid)"
  fi
  rm -f "$S/$f.pid"
}
step_stop() { stop_pid dockerd; stop_pid buildkitd; stop_pid registry; }

# stop our services and delete all state; the next run starts from zero
step_clean() {
  step_stop
  awk -v a="$S/" 'index($2, a) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  chmod -R u+w "$S/gopath" 2>/dev/null || true
  rm -rf "$S"
}

main() {
  local steps=("$@"); [ ${#steps[@]} -gt 0 ] || steps=(packages base registry push multiarch buildkit env status)
  local t0=$SECONDS s
  for s in "${steps[@]}"; do "step_$s"; done
  log "done in $((SECONDS - t0)) s (state $S)"
}
main "$@"
