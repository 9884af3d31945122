#!/bin/sh
# tests/demo.sh — `make demo`: build an example WAL-mode database with real
# SQLite (a writer killed mid-way, so the -wal and -shm stay), then show
# what waldo sees in it.
set -e
BUILD=${BUILD:-build}
W=$BUILD/waldo
dir=$BUILD/demo
rm -rf "$dir"
"$BUILD/corpus-gen" --seed 1 --out "$dir" --only demo >/dev/null
db=$dir/demo/db
for cmd in "header $db" "wal $db" "shm $db" "page $db 1"; do
	echo "\$ waldo $cmd"
	# shellcheck disable=SC2086
	"$W" $cmd || true
	echo
done
