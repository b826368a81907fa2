#!/usr/bin/env bash
# build-hello.sh -- build examples/hello (golang:1.22 builder → scratch) with kiln and run it.
# Builds kiln, creates offline base images when Docker Hub is out of reach, exports the image
# to a directory and runs the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
export PATH=/usr/local/go/bin:$PATH
out=${OUT:-$top/_out}
root=${KILN_ROOT:-$out/store}
mkdir -p "$out"
( cd "$top" && go build -o "$out/kiln" ./cmd/kiln )
kiln() { "$out/kiln" --root "$root" "$@"; }
if ! kiln images | grep -q '^golang  *1.22 '; then
  if ! timeout 10 bash -c 'exec 3<>/dev/tcp/registry-1.docker.io/443' 2>/dev/null; then
    echo "no registry reachable: making offline base images" >&2
    if [ ! -x /bin/busybox ] && [ "$(id -u)" = 0 ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static) >/dev/null
    fi
    "$here/offline-base-images.sh" "$out/kiln" --root "$root"
  fi
fi
kiln build -t hello:latest -o "type=local,dest=$out/hello" -o type=image "$here/hello"
"$out/hello/app"
