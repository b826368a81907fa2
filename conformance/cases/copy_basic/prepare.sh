chmod 600 dir/a
mkdir -p dir/empty
chmod 755 exec.sh
chmod 700 dir/sub
