chmod 700 sub sub/dir1 sub/dir1/dir2; chmod 600 foo.go bar.go sub/dir1/dir2/foo
