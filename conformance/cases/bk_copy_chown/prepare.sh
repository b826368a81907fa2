chmod 600 foo bar/sub; chmod 700 bar
