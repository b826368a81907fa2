# testDockerfileAddArchive's --unpack=false and default ADD of the same t.tar.gz, on the same
# parent (scratch) in one build: /a/t.tar.gz stays packed, /b/foo is extracted
d=$(mktemp -d); printf content0 > "$d/foo"; chmod 644 "$d/foo"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@2 -C "$d" -cf t.tar foo
rm -rf "$d"; gzip -n t.tar
