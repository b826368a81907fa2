#!/usr/bin/env bash
# scratch-fs.sh -- a journaled ext4 scratch filesystem for the bench, on the same disk (issue 13).
#
#     sudo bench/scratch-fs.sh [DIR [SIZE]]    # default /var/tmp/kiln-bench-fs, 40G (sparse)
#
# Why: on a machine whose filesystem is ext4 without a journal (this project's bench VM), a file
# created near inodes freed in the last 5 s -- 305 s while their inode-table block is dirty, and
# creating files next to them dirties it -- makes the allocator walk over every one of them
# (fs/ext4/ialloc.c, recently_deleted()).  A benchmark that deletes the previous run's store
# and builds again pays that walk on every new file: `cp -a` of 10,000 files goes from 0.3 s to
# 2-3.6 s, and whichever tool deleted last is hit hardest.  A journaled ext4 (mkfs's default, what
# CI runners and servers use) has no such check.  bench/README.md "Where the time goes: the disk".
#
# Makes DIR.img (sparse) with mkfs.ext4's defaults, mounts it on DIR, copies the reference
# services' state ($KILN_CONFORMANCE_STATE, default /var/cache/kiln-conformance; stopped first)
# to DIR/state once, and prints the command that runs the bench there.  Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); top=$(dirname "$here")
dir=${1:-/var/tmp/kiln-bench-fs}; size=${2:-40G}
state=${KILN_CONFORMANCE_STATE:-/var/cache/kiln-conformance}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

if ! mountpoint -q "$dir"; then
  mkdir -p "$dir"
  if [ ! -e "$dir.img" ]; then
    log "making $dir.img ($size, sparse) with mkfs.ext4's defaults (journal)"
    truncate -s "$size" "$dir.img"
    mkfs.ext4 -q -F "$dir.img"
  fi
  # discard: deleted files punch holes in the sparse image, so it does not grow without bound
  mount -o loop,discard "$dir.img" "$dir"
fi
log "$dir: $(bash "$here/fsinfo.sh" "$dir")"
if [ ! -d "$dir/state" ] && [ -d "$state" ]; then
  log "copying the reference services' state $state to $dir/state (services stopped first)"
  KILN_CONFORMANCE_STATE=$state bash "$top/conformance/setup.sh" stop >&2
  cp -a "$state" "$dir/state.tmp" && mv "$dir/state.tmp" "$dir/state"
fi
echo "KILN_CONFORMANCE_STATE=$dir/state BENCH_DIR=$dir/bench bench/run.sh"
