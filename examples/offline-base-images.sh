#!/usr/bin/env bash
# offline-base-images.sh -- make the base images the examples and tests use,
# from local material only, and load them into kiln's store with `kiln import`:
#   busybox:latest  from Debian's busybox-static (/bin/busybox)
#   golang:1.22     busybox + the Go toolchain at /usr/local/go (GOTOOLCHAIN=local)
# On a machine that reaches Docker Hub none of this is needed: kiln pulls them.
#
# Usage: offline-base-images.sh [KILN] [--root STORE]   (BUSYBOX_ONLY=1: skip golang)
set -euo pipefail
KILN=${1:-kiln}; shift || true
ROOT_ARGS=("$@")
BUSYBOX=${BUSYBOX:-/bin/busybox}
GOROOT_SRC=${GOROOT_SRC:-/usr/local/go}
[ -x "$BUSYBOX" ] || { echo "no static busybox at $BUSYBOX (apt-get install busybox-static)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

busybox_rootfs() { # DIR
  local r=$1 p
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,home,var/tmp,proc,sys,dev}
  chmod 1777 "$r/tmp" "$r/var/tmp"; chmod 700 "$r/root"
  install -m 0755 "$BUSYBOX" "$r/bin/busybox"
  for p in $("$BUSYBOX" --list-full); do
    [ "$p" = bin/busybox ] && continue
    [ -e "$r/$p" ] || ln -s /bin/busybox "$r/$p"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
}

PATH_DEFAULT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
busybox_rootfs "$work/busybox"
"$KILN" "${ROOT_ARGS[@]}" import -c "ENV PATH=$PATH_DEFAULT" -c 'CMD ["sh"]' "$work/busybox" busybox:latest

if [ -z "${BUSYBOX_ONLY:-}" ] && [ -d "$GOROOT_SRC" ]; then
  busybox_rootfs "$work/golang"
  mkdir -p "$work/golang/usr/local" "$work/golang/go/bin" "$work/golang/go/src"
  cp -a "$GOROOT_SRC" "$work/golang/usr/local/go"
  chmod -R 777 "$work/golang/go"
  v=$(head -1 "$GOROOT_SRC/VERSION" | sed 's/^go//')
  "$KILN" "${ROOT_ARGS[@]}" import \
    -c "ENV PATH=/go/bin:/usr/local/go/bin:$PATH_DEFAULT GOLANG_VERSION=$v GOTOOLCHAIN=local GOPATH=/go" \
    -c 'WORKDIR /go' -c 'CMD ["sh"]' "$work/golang" golang:1.22
fi
