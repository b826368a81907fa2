# a unix socket in the context (mode 0600, as the upstream test's fstest.CreateSocket)
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => "socket.sock", Listen => 1) or die $!'
chmod 600 socket.sock
