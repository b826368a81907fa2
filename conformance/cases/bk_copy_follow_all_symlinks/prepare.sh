mkdir foo; chmod 700 foo; ln -s ../bar foo/sub; chmod 600 bar
