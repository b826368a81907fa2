# entries "etc/dnf/" and "etc/dnf/dnf.conf" only: no "etc/" entry (moby/moby#53257)
d=$(mktemp -d); mkdir -p "$d/etc/dnf"; printf content0 > "$d/etc/dnf/dnf.conf"
chmod 755 "$d/etc/dnf"; chmod 644 "$d/etc/dnf/dnf.conf"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 --no-recursion -C "$d" -cf t.tar etc/dnf/ etc/dnf/dnf.conf
gzip -n t.tar; rm -rf "$d"
