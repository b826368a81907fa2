chmod 777 dir1 dir2 dir3 dir4; chmod 600 dir*/*; ln -s file-401.txt dir4/file-402.txt; ln -s file-404.txt dir4/file-403.txt
