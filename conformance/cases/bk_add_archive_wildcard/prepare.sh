# t.tar: one regular file "foo" (0644, "content0"), as the upstream test's tar writer makes it
d=$(mktemp -d); printf content0 > "$d/foo"; chmod 644 "$d/foo"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$d" -cf t.tar foo
rm -rf "$d"

d=$(mktemp -d); printf content1 > "$d/bar"; chmod 644 "$d/bar"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$d" -cf b.tar bar
rm -rf "$d"
