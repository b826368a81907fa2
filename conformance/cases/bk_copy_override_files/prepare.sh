chmod 700 sub sub/dir1 sub/dir1/dir2 files; chmod 600 sub/dir1/dir2/foo files/foo.go
