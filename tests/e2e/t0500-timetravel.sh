#!/bin/sh
# Time travel end to end: log, history, extract, bisect on files the sqlite3
# CLI wrote; read-only commands leave their inputs' bytes and mtimes alone.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || { echo "ok 1 - $TEST_NAME: # skip (no sqlite3 CLI)"; exit 0; }

# The fixture: a database whose WAL holds 6 commits, saved (with its -shm)
# while the connection was still open, so the WAL was never checkpointed.
FIX=$TRASH_ROOT/fixture
mkdir -p "$FIX"
(cd "$FIX" && sqlite3 live.db >/dev/null <<'EOF'
PRAGMA page_size=1024;
PRAGMA journal_mode=WAL;
PRAGMA wal_autocheckpoint=0;
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40) INSERT INTO t(b) SELECT printf('first %d', i) FROM s;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40) INSERT INTO t(b) SELECT printf('second %d', i) FROM s;
UPDATE t SET b = upper(b) WHERE a % 7 = 0;
DELETE FROM t WHERE a % 10 = 0;
CREATE INDEX tb ON t(b);
.shell cp live.db app.db; cp live.db-wal app.db-wal; cp live.db-shm app.db-shm
EOF
) || exit 1
export FIX

# fingerprint FILES...: content hash, size and mtime (ns) of each file
fingerprint() {
	for f in "$@"; do
		sha256sum "$f"
		stat -c '%n %s %y' "$f"
	done
}
# commit_frames DB: "K LAST_FRAME" for every commit SQLite sees (from `waldo log`)
commit_frames() {
	"$WALDO" log "$1" | awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+-[0-9]+$/ && $NF == "yes" { split($2, r, "-"); print $1, r[2] }'
}
# cut_view DB BYTES COPY: copy DB and the first BYTES of its WAL (none when 0)
cut_view() {
	cp "$1" "$3" && rm -f "$3-wal" "$3-shm" &&
	if [ "$2" -gt 0 ]; then head -c "$2" "$1-wal" > "$3-wal"; fi
}

test_expect_success 'log lists the commits SQLite sees, with frames, pages and sizes' '
	cp "$FIX"/app.db* . &&
	"$WALDO" log app.db > out &&
	grep -q "^ *0  -  .*yes (database file)" out &&
	test "$(grep -c " yes$" out)" = 6 &&
	grep -q "^ *1  1-2 " out &&
	! grep -q "NO:" out &&
	"$WALDO" log --json app.db > json &&
	grep -q "\"commits_visible\":6" json &&
	test "$(grep -o "\"sqlite_sees\":true" json | wc -l)" = 6 &&
	grep -q "\"status\":\"ok\"" json
'

test_expect_success 'read-only commands leave every input byte and mtime unchanged' '
	cp -p "$FIX"/app.db* . &&
	fingerprint app.db app.db-wal app.db-shm > before &&
	sleep 1 &&
	"$WALDO" log app.db > /dev/null &&
	"$WALDO" log --json app.db > /dev/null &&
	"$WALDO" history app.db 2 > /dev/null &&
	"$WALDO" history --json app.db 1 > /dev/null &&
	"$WALDO" extract app.db -o out.db > /dev/null &&
	"$WALDO" extract app.db -o out0.db --commit 0 > /dev/null &&
	"$WALDO" bisect app.db > /dev/null &&
	"$WALDO" bisect --all --json app.db > /dev/null &&
	{ "$WALDO" readers app.db > /dev/null; test $? = 0; } &&
	fingerprint app.db app.db-wal app.db-shm > after &&
	test_cmp before after &&
	test ! -e app.db-journal
'

test_expect_success 'extract of every commit equals sqlite3 reading the WAL cut there' '
	cp "$FIX"/app.db* . &&
	commit_frames app.db > commits &&
	test "$(wc -l < commits)" = 6 &&
	echo "0 0" >> commits &&
	while read k last; do
		"$WALDO" extract app.db -o "x$k.db" --commit "$k" > log.$k || { echo "extract $k"; exit 1; }
		grep -q "integrity  ok" log.$k || { cat log.$k; exit 1; }
		bytes=0; [ "$last" -gt 0 ] && bytes=$((32 + last * (1024 + 24)))
		cut_view app.db "$bytes" "v$k.db"
		q="SELECT count(*) FROM sqlite_schema; SELECT count(*), total(a), group_concat(b) FROM (SELECT * FROM t ORDER BY a);"
		[ "$k" = 0 ] && q="SELECT count(*) FROM sqlite_schema;"
		sqlite3 "v$k.db" "$q" > want.$k 2>&1
		sqlite3 "x$k.db" "$q" > got.$k 2>&1
		test_cmp want.$k got.$k || { echo "commit $k differs"; exit 1; }
		test "$(sqlite3 "x$k.db" "PRAGMA journal_mode")" = delete || exit 1
		test ! -e "x$k.db-wal" || exit 1
	done < commits
'

test_expect_success 'extract refuses to overwrite, --force replaces, inputs are never targets' '
	cp "$FIX"/app.db* . &&
	echo precious > out.db &&
	{ "$WALDO" extract app.db -o out.db 2> err; test $? = 73; } &&
	grep -q "refusing to overwrite" err &&
	test "$(cat out.db)" = precious &&
	"$WALDO" extract app.db -o out.db --force > /dev/null &&
	test "$(sqlite3 out.db "SELECT count(*) FROM t")" = 72 &&
	fingerprint app.db app.db-wal > before &&
	{ "$WALDO" extract app.db -o app.db --force 2> err; test $? = 73; } &&
	{ "$WALDO" extract app.db -o app.db-wal --force 2> err; test $? = 73; } &&
	fingerprint app.db app.db-wal > after &&
	test_cmp before after &&
	! ls -a | grep -q "waldo-.*tmp"
'

test_expect_success 'extract --salvage recovers commits behind a checksum break, clearly labelled' '
	cp "$FIX"/app.db* . && rm app.db-shm &&
	k4=$(commit_frames app.db | awk "\$1 == 3 { print \$2 + 1 }") &&
	printf "\\377" | dd of=app.db-wal bs=1 seek=$((32 + (k4 - 1) * 1048 + 17)) conv=notrunc 2>/dev/null &&
	cp app.db c.db && cp app.db-wal c.db-wal &&
	test "$(sqlite3 c.db "SELECT count(*) FROM t")" = 80 &&
	{ "$WALDO" log app.db > log; test $? = 2; } &&
	test "$(grep -c " yes$" log)" = 3 &&
	test "$(grep -c "NO: salvage, after-break" log)" = 3 &&
	grep -q "SQLite stops reading at frame $k4: checksum break" log &&
	"$WALDO" extract app.db -o plain.db > /dev/null &&
	test "$(sqlite3 plain.db "SELECT count(*) FROM t")" = 80 &&
	{ "$WALDO" extract app.db -o s.db --salvage > out; test $? = 1; } &&
	grep -q "DATA SQLITE WOULD DROP" out &&
	grep -q "integrity  ok" out &&
	test "$(sqlite3 s.db "SELECT count(*) FROM t")" = 72 &&
	test "$(sqlite3 plain.db "SELECT count(*) FROM t WHERE b = upper(b)")" = 0 &&
	test "$(sqlite3 s.db "SELECT count(*) FROM t WHERE b = upper(b)")" = 10 &&
	{ "$WALDO" extract app.db -o no.db --commit 6 2> err; test $? = 64; } &&
	grep -q "add --salvage" err
'

test_expect_success 'history shows every version of a page and which one SQLite reads' '
	cp "$FIX"/app.db* . &&
	"$WALDO" history app.db 2 > out &&
	test "$(grep -c "^  wal " out)" -ge 3 &&
	test "$(grep -c "<- SQLite reads this" out)" = 1 &&
	grep -q "waldo page app.db 2 --frame" out &&
	"$WALDO" history --json app.db 2 > json &&
	grep -q "\"sqlite_reads\":{\"source\":\"wal\"" json
'

test_expect_success 'bisect on a healthy WAL says every state passes' '
	cp "$FIX"/app.db* . &&
	"$WALDO" bisect app.db > out &&
	grep -q "every state checked passes" out &&
	"$WALDO" bisect --all app.db > out &&
	test "$(grep -c "^  commit [0-9]* *ok$" out)" = 7
'

test_expect_code 66 'a missing database is an input error' '
	"$WALDO" log nosuch.db
'
test_expect_code 66 'extract of something that is not a database is an input error' '
	head -c 4096 /dev/urandom > junk.db && "$WALDO" extract junk.db -o out.db
'
test_expect_code 64 'history needs a page number' '
	cp "$FIX"/app.db* . && "$WALDO" history app.db page-two
'
test_expect_code 64 'extract needs -o' '
	cp "$FIX"/app.db* . && "$WALDO" extract app.db
'
test_expect_success 'each time-travel command answers --help' '
	for c in log history extract bisect readers; do
		"$WALDO" $c --help | grep -q "^usage: waldo $c" || { echo $c; exit 1; }
	done
'
test_done
