chmod 750 ctxdir
chmod 711 ctxdir/inner
