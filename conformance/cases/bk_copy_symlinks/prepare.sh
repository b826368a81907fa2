ln -s bar foo; ln -s subfile sub/l0; ln -s second sub/l1; ln -s baz sub/second; chmod 700 sub; chmod 600 bar sub/*[a-z]e sub/baz
