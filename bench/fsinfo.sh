#!/usr/bin/env bash
# fsinfo.sh DIR -- one line on the filesystem DIR lives on, for the bench reports: its type and,
# for ext4, whether it has a journal.  ext4 without a journal makes every file creation near
# recently deleted inodes scan them (the kernel's recently_deleted() in ext4's inode allocator),
# which made cold builds grow run after run on this project's bench machine; see bench/README.md
# "Where the time goes: the disk".  Prints e.g. "ext4 (journal) on /dev/loop0".
set -euo pipefail
dir=${1:?usage: fsinfo.sh DIR}
read -r src type < <(findmnt -no SOURCE,FSTYPE -T "$dir" | head -1)
if [ "$type" = ext4 ]; then
  journal=$(cat "/sys/fs/ext4/$(basename "$src")/journal_task" 2>/dev/null || echo '?')
  case $journal in
    '<none>') echo "ext4 WITHOUT a journal on $src: creates near recent deletes are slow, see bench/README.md" ;;
    '?') echo "ext4 (journal unknown) on $src" ;;
    *) echo "ext4 (journal) on $src" ;;
  esac
else
  echo "$type on $src"
fi
