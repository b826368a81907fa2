chmod 604 f
chmod 711 d/sub
chown -R 42:43 d
