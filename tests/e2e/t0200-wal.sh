#!/bin/sh
# `waldo wal` on WALs the sqlite3 CLI wrote: text and JSON output, damaged
# copies cross-checked with what sqlite3 itself reads, exit statuses.
. "$(dirname "$0")/lib.sh"

# make_wal N: db + db-wal in the current folder holding N one-row
# transactions.  A second sqlite3 process keeps the database open while the
# writer runs, so the writer's close can neither checkpoint nor delete the
# WAL; the pair is copied before that reader goes away.
make_wal() {
	mkdir live &&
	sqlite3 live/a.db "PRAGMA journal_mode=WAL; CREATE TABLE t(a);" >/dev/null &&
	mkfifo live/ctl &&
	{ sqlite3 live/a.db <live/ctl >/dev/null 2>&1 & } &&
	reader=$! &&
	exec 3>live/ctl &&
	echo "SELECT count(*) FROM t;" >&3 &&
	echo ".shell touch live/ready" >&3 &&
	while [ ! -f live/ready ]; do sleep 0.05; done &&
	i=0 &&
	while [ $i -lt "$1" ]; do
		sqlite3 live/a.db "INSERT INTO t VALUES(randomblob(3000));" || return 1
		i=$((i + 1))
	done &&
	cp live/a.db db && cp live/a.db-wal db-wal &&
	exec 3>&- &&
	wait $reader &&
	rm -rf live
}

# rows DB: what sqlite3 reads from a copy of DB and its WAL.
rows() {
	rm -rf q && mkdir q && cp "$1" q/db && cp "$1-wal" q/db-wal &&
	sqlite3 q/db "SELECT count(*) FROM t"
}

# flip FILE OFFSET: invert one byte.
flip() {
	python3 -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2]); f.seek(o); b = f.read(1)
f.seek(o); f.write(bytes([b[0] ^ 0xff])); f.close()' "$1" "$2"
}

# json EXPR: evaluate a Python expression over the JSON on stdin (as d).
json() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); v = eval(sys.argv[1]); print(v)
sys.exit(0 if v is not False else 1)' "$1"
}

test_expect_success 'a healthy WAL: every frame committed, exit 0' '
	make_wal 3 &&
	"$WALDO" wal db > out &&
	grep -q "^WAL header of db-wal" out &&
	grep -q "magic (little-endian checksum words)\|magic (big-endian checksum words)" out &&
	grep -q "^transactions: 3 committed" out &&
	grep -q "every whole frame is valid" out &&
	! grep -q "^findings:" out &&
	test "$(rows db)" = 3
'

test_expect_success 'naming the -wal itself gives the same listing' '
	make_wal 2 &&
	"$WALDO" wal db > a && "$WALDO" wal db-wal > b && test_cmp a b
'

test_expect_success '--json parses and agrees with sqlite3' '
	make_wal 4 &&
	"$WALDO" wal --json db > out.json &&
	json "d[\"status\"] == \"ok\" and d[\"findings\"] == []" < out.json &&
	json "d[\"summary\"][\"commits\"] == 4 and len(d[\"transactions\"]) == 4" < out.json &&
	json "d[\"summary\"][\"mx_frame\"] == d[\"summary\"][\"frames_total\"] == len(d[\"frames\"])" < out.json &&
	json "all(f[\"state\"] == \"committed\" and f[\"txn\"] for f in d[\"frames\"])" < out.json &&
	json "d[\"header\"][\"valid\"] and d[\"header\"][\"page_size\"] == 4096" < out.json &&
	json "d[\"file_size\"] == 32 + len(d[\"frames\"]) * 4120" < out.json &&
	pages=$(mkdir q && cp db q/db && cp db-wal q/db-wal && sqlite3 q/db "PRAGMA page_count") &&
	json "d[\"summary\"][\"npage\"] == $pages" < out.json
'

test_expect_code 2 'a checksum break with commits after it is an error, and sqlite3 agrees' '
	make_wal 5 &&
	"$WALDO" wal --json db > before.json &&
	k=$(json "d[\"transactions\"][2][\"first\"]" < before.json) &&
	flip db-wal $((32 + (k - 1) * 4120 + 24 + 200)) || exit 99
	"$WALDO" wal --json db > after.json; st=$?
	json "d[\"summary\"][\"end\"] == \"checksum\" and d[\"summary\"][\"frames_valid\"] == $k - 1" < after.json &&
	json "d[\"frames\"][$k - 1][\"state\"] == \"checksum-break\"" < after.json &&
	json "[f[\"code\"] for f in d[\"findings\"]] == [\"WAL_CHECKSUM_MISMATCH\"]" < after.json &&
	json "d[\"findings\"][0][\"frame\"] == $k and d[\"findings\"][0][\"path\"] == \"db-wal\"" < after.json &&
	json "d[\"summary\"][\"last_commit_frame\"] > d[\"summary\"][\"mx_frame\"]" < after.json &&
	test "$(rows db)" = "$(json "d[\"summary\"][\"commits\"]" < after.json)" &&
	test "$(rows db)" = 2 || exit 99
	"$WALDO" wal db > out.txt
	test $? = 2 &&
	grep -q "^error   WAL_CHECKSUM_MISMATCH  db-wal offset" out.txt &&
	grep -q "checksum-break" out.txt || exit 99
	exit $st
'

test_expect_code 1 'a torn last frame is a warning' '
	make_wal 3 &&
	size=$(wc -c < db-wal) &&
	python3 -c "import os; os.truncate(\"db-wal\", $size - 1000)" || exit 99
	"$WALDO" wal db > out; st=$?
	grep -q "^warning WAL_PARTIAL_FRAME" out &&
	grep -q "^transactions: 2 committed" out &&
	test "$(rows db)" = 2 || exit 99
	exit $st
'

test_expect_code 2 'a damaged header checksum: SQLite ignores the WAL' '
	make_wal 2 &&
	flip db-wal 26 || exit 99
	"$WALDO" wal db > out; st=$?
	grep -q "^error   WAL_HEADER_INVALID" out &&
	grep -q "SQLite ignores all" out &&
	test "$(rows db)" = 0 || exit 99
	exit $st
'

test_expect_success '--wal reads a WAL saved apart; --frames and --summary select' '
	make_wal 3 &&
	mv db-wal saved.wal &&
	"$WALDO" wal --wal saved.wal > a &&
	grep -q "^WAL header of saved.wal" a &&
	"$WALDO" wal --wal saved.wal db > b &&
	test_cmp a b &&
	"$WALDO" wal --json --frames 2-3 --wal saved.wal > f.json &&
	json "[f[\"frame\"] for f in d[\"frames\"]] == [2, 3]" < f.json &&
	"$WALDO" wal --json --frames 2- --wal saved.wal > g.json &&
	json "len(d[\"frames\"]) == d[\"summary\"][\"frames_total\"] - 1" < g.json &&
	"$WALDO" wal --json --summary --wal saved.wal > s.json &&
	json "\"frames\" not in d and \"transactions\" not in d and d[\"summary\"][\"commits\"] == 3" < s.json &&
	"$WALDO" wal --summary --wal saved.wal > s.txt &&
	! grep -q "^frames:" s.txt && grep -q "^summary:" s.txt
'

test_expect_code 66 'a missing database is an input error naming the file' '
	"$WALDO" wal nosuch.db 2> err; st=$?
	grep -q "nosuch.db" err || exit 99
	exit $st
'

test_expect_code 66 'a database without a WAL names the -wal it looked for' '
	sqlite3 lone.db "CREATE TABLE t(a)" || exit 99
	"$WALDO" wal lone.db 2> err; st=$?
	grep -q "lone.db-wal" err || exit 99
	exit $st
'

test_expect_code 66 'a missing --wal file names it' '
	"$WALDO" wal --wal gone.wal 2> err; st=$?
	grep -q "gone.wal" err || exit 99
	exit $st
'

test_expect_success 'bad usage exits 64' '
	for args in "" "--bogus x" "a b" "--frames 0 x" "--frames 5-2 x" "--frames 1-x x" "--frames"; do
		"$WALDO" wal $args 2> err
		st=$?
		[ $st = 64 ] || { echo "waldo wal $args: status $st"; exit 1; }
		grep -q "^usage: waldo wal" err || exit 99
	done
'

test_done
