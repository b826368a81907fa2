#!/bin/sh
# settle.sh -- write out everything dirty before a timed run, so no writeback of earlier work
# runs under it.  Twice: on a loop mount (bench/scratch-fs.sh) the first sync moves the scratch
# filesystem's dirty data into the image file, whose pages are then dirty on the host filesystem;
# the second writes those (bench/README.md, "Where the time goes: the disk").
sync
sync
