# rootfs.tar: run/, var/, var/run -> /run; payload.tar writes through var/run (moby/moby#53258)
T="tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 --no-recursion"
d=$(mktemp -d); mkdir "$d/run" "$d/var"; ln -s /run "$d/var/run"; chmod 755 "$d/run" "$d/var"
$T -C "$d" -cf rootfs.tar run/ var/ var/run
rm -rf "$d"; d=$(mktemp -d); g=var/run/act/actions/broad/.git
mkdir -p "$d/$g"; chmod -R 755 "$d/var"; printf 'ref: refs/heads/main\n' > "$d/$g/HEAD"; chmod 644 "$d/$g/HEAD"
ln "$d/$g/HEAD" "$d/$g/HEAD.link"
$T -C "$d" -cf payload.tar var/run/act/ var/run/act/actions/ var/run/act/actions/broad/ $g/ $g/HEAD $g/HEAD.link
rm -rf "$d"
