chmod 700 foo1 foo1/foo2; chmod 600 foo1/foo2/*
