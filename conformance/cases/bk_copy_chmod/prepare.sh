chmod 600 foo; chmod 700 bar
