chmod 700 myscript.sh
