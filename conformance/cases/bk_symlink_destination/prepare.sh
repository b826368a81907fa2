# t.tar: one symlink "symlink" -> ../tmp/symlink-target
d=$(mktemp -d); ln -s ../tmp/symlink-target "$d/symlink"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$d" -cf t.tar symlink
rm -rf "$d"; chmod 600 foo
