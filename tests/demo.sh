#!/bin/sh
# tests/demo.sh — `make demo`: build an example WAL-mode database with real
# SQLite (a writer killed in the middle of a transaction, the last frame
# torn), then show what waldo sees in it.  Nothing here writes to the
# example's files except the extract step, which writes a new file.
BUILD=${BUILD:-build}
W=$BUILD/waldo
dir=$BUILD/demo
rm -rf "$dir"
"$BUILD/corpus-gen" --seed 1 --out "$dir" --only demo > /dev/null || exit 1
db=$dir/demo/db
run() {
	echo "\$ waldo $*"
	"$W" "$@"
	echo "(exit status $?)"
	echo
}
run inspect "$db"
run log "$db"
run wal --summary "$db"
run shm "$db"
run extract "$db" -o "$dir/extracted.db"
echo "Try also: $W page $db 2; $W history $db 2; $W hash $db"
