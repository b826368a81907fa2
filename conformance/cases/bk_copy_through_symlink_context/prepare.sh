ln -s sub link; chmod 700 sub; chmod 600 sub/foo
