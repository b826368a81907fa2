# mtime 1 (not 0): an archive of its own, so that kiln's ADD cache cannot hand it to bk_add_archive_gz
# t.tar: one regular file "foo" (0644, "content0"), as the upstream test's tar writer makes it
d=$(mktemp -d); printf content0 > "$d/foo"; chmod 644 "$d/foo"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@1 -C "$d" -cf t.tar foo
rm -rf "$d"
gzip -n t.tar
