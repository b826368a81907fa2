chown 1234:4321 owned.txt
chown -R 2000:3000 odir
chmod 000 zero.txt
setfattr -n user.test -v hello userx
setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= caps
chmod 700 odir/in
