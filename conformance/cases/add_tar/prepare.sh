# the archive tree (uid/gid 123:456 inside the archive, fixed mtime)
mk_top() {
  local d; d=$(mktemp -d)
  mkdir -p "$d/top/inner"
  printf "t1\n" > "$d/top/t1"; chmod 640 "$d/top/t1"
  printf "t2\n" > "$d/top/inner/t2"; chmod 644 "$d/top/inner/t2"
  ln -s t1 "$d/top/l1"
  tar --sort=name --mtime=@1700000000 --owner=${OWNER:-123} --group=${GROUP:-456} --numeric-owner -C "$d" -cf - top
  rm -rf "$d"
}
mk_top | gzip -n > arch.tar.gz
