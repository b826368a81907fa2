chmod 600 foo
