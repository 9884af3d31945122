#!/bin/sh
# waldo page: one page decoded, on databases the sqlite3 CLI made.
. "$(dirname "$0")/lib.sh"

# A rollback-mode database with a table (one overflowing row), an index and
# a freelist.
make_db() {
	sqlite3 app.db "PRAGMA page_size=1024;
		CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB, d REAL);
		CREATE INDEX tb ON t(b);
		INSERT INTO t VALUES(1, 'first row', x'00ff', 0.5);
		INSERT INTO t VALUES(2, 'hello world', NULL, -2);
		INSERT INTO t VALUES(3, 'big', randomblob(5000), NULL);
		CREATE TABLE junk(x);
		WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<50)
		  INSERT INTO junk SELECT randomblob(900) FROM s;
		DELETE FROM junk;" >/dev/null
}

# A WAL-mode database whose -wal survives: the CLI is killed before it can
# checkpoint.  Frame 1 holds t's leaf after the UPDATE (committed); the big
# transaction that follows spills uncommitted frames.
make_wal_db() {
	sqlite3 w.db "PRAGMA page_size=1024; PRAGMA journal_mode=WAL;
		CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
		INSERT INTO t VALUES(1, 'old value');" >/dev/null
	sqlite3 w.db "PRAGMA wal_autocheckpoint=0; UPDATE t SET b='new value' WHERE a=1;
		PRAGMA cache_size=1; BEGIN;
		WITH RECURSIVE s(i) AS (SELECT 2 UNION ALL SELECT i+1 FROM s WHERE i<400)
		  INSERT INTO t SELECT i, printf('%.*c', 100, 'z') FROM s;" \
		'.system kill -9 $PPID' >/dev/null 2>&1
	test -s w.db-wal
}

json_get() {  # json_get FILE PYTHON-EXPRESSION-ON-d
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

test_expect_success 'page 1: database header summary and the sqlite_schema rows' '
	make_db &&
	"$WALDO" page app.db 1 > out &&
	grep -q "^database header" out &&
	grep -q "100    1  0d           13 (table leaf)" out &&
	grep -q "role       b-tree leaf page of table .sqlite_schema." out &&
	grep -q "(.table., .t., .t., 2, .CREATE TABLE t(a INTEGER PRIMARY KEY" out &&
	grep -q "^hex dump" out &&
	grep -q "|SQLite format 3.|" out
'
test_expect_success 'page 1 as JSON' '
	make_db &&
	"$WALDO" page --json app.db 1 > out.json &&
	test "$(json_get out.json "d[\"page\"], d[\"type\"], d[\"header\"][\"offset\"], d[\"status\"]")" = "1 13 100 ok" &&
	test "$(json_get out.json "d[\"cells\"][0][\"values\"][1][\"value\"]")" = t &&
	test "$(json_get out.json "d[\"source\"][\"file\"], d[\"source\"][\"offset\"], d[\"source\"][\"frame\"]")" = "db 0 None" &&
	test "$(json_get out.json "len(d[\"hex\"])")" = 2048
'
test_expect_success 'a table leaf shows its rows decoded' '
	make_db &&
	root=$(sqlite3 app.db "SELECT rootpage FROM sqlite_schema WHERE name=\"t\"") &&
	"$WALDO" page --no-hex app.db "$root" > out &&
	grep -q "(NULL, .hello world., NULL, -2)" out &&
	grep -q "(NULL, .first row., x.00ff., 0.5)" out &&
	! grep -q "^hex dump" out &&
	"$WALDO" page --json app.db "$root" > out.json &&
	test "$(json_get out.json "[c[\"values\"][1][\"value\"] for c in d[\"cells\"] if c[\"rowid\"] == 2][0]")" = "hello world" &&
	test "$(json_get out.json "d[\"role\"], d[\"object\"][\"name\"]")" = "b-tree leaf t"
'
test_expect_success 'an index page shows key and rowid' '
	make_db &&
	root=$(sqlite3 app.db "SELECT rootpage FROM sqlite_schema WHERE name=\"tb\"") &&
	"$WALDO" page --no-hex app.db "$root" > out &&
	grep -q "10 (index leaf)" out &&
	grep -q "(.hello world., 2)" out
'
test_expect_success 'an overflow page is named as such' '
	make_db &&
	pg=$(sqlite3 app.db "SELECT min(pageno) FROM dbstat WHERE pagetype=\"overflow\"") &&
	"$WALDO" page --no-hex app.db "$pg" > out &&
	grep -q "role       overflow page of table .t." out &&
	grep -q "next overflow page" out &&
	"$WALDO" page --json app.db "$pg" > out.json &&
	test "$(json_get out.json "d[\"role\"], d[\"decoded_as\"]")" = "overflow overflow"
'
test_expect_success 'the big row is shown with its value read through the overflow chain' '
	make_db &&
	root=$(sqlite3 app.db "SELECT rootpage FROM sqlite_schema WHERE name=\"t\"") &&
	"$WALDO" page --json app.db "$root" > out.json &&
	test "$(json_get out.json "[c[\"values\"][2][\"size\"] for c in d[\"cells\"] if c[\"rowid\"] == 3][0]")" = 5000 &&
	test "$(json_get out.json "[c[\"values\"][2][\"hex\"] for c in d[\"cells\"] if c[\"rowid\"] == 3][0]")" = \
	     "$(sqlite3 app.db "SELECT lower(hex(substr(c, 1, 64))) FROM t WHERE a=3")"
'
test_expect_success 'a freelist trunk lists its leaves' '
	make_db &&
	trunk=$(python3 -c "import struct; print(struct.unpack(\">I\", open(\"app.db\",\"rb\").read()[32:36])[0])") &&
	test "$trunk" -gt 1 &&
	"$WALDO" page --no-hex app.db "$trunk" > out &&
	grep -q "role       freelist trunk page" out &&
	grep -q "leaf count" out
'
test_expect_success 'a pointer-map page lists its entries' '
	sqlite3 av.db "PRAGMA page_size=512; PRAGMA auto_vacuum=INCREMENTAL;
		CREATE TABLE t(a, b); INSERT INTO t VALUES(1, randomblob(1200));
		CREATE TABLE u(x); DELETE FROM t;" &&
	"$WALDO" page --no-hex av.db 2 > out &&
	grep -q "role       pointer map page" out &&
	grep -q "^        3  1 root page           0$" out &&
	grep -q "^        5  2 free page           0$" out
'
test_expect_success 'the default version is the WAL one; --db shows the file' '
	make_wal_db &&
	"$WALDO" page --no-hex w.db 2 > out &&
	grep -q "version    WAL frame 1 (committed; the version SQLite reads)" out &&
	grep -q "new value" out &&
	"$WALDO" page --no-hex --db w.db 2 > out &&
	grep -q "version    database file (the WAL holds a newer committed version" out &&
	grep -q "old value" out
'
test_expect_success '--frame shows a frame, its state and which page it holds' '
	make_wal_db &&
	"$WALDO" page --no-hex --frame 1 w.db > out &&
	grep -q "new value" out &&
	"$WALDO" page --no-hex --frame 1 w.db 5 > out &&
	grep -q "note       frame 1 holds page 2, not page 5" out &&
	"$WALDO" page --no-hex --frame 3 w.db > out &&
	grep -q "version    WAL frame 3 (uncommitted)" out &&
	"$WALDO" page --json --frame 3 w.db > out.json &&
	test "$(json_get out.json "d[\"source\"][\"file\"], d[\"source\"][\"frame\"], d[\"source\"][\"frame_state\"], d[\"source\"][\"offset\"]")" = \
	     "wal 3 uncommitted $((32 + 2 * 1048 + 24))"
'
test_expect_code 2 'a damaged page exits 2 and names the offset' '
	make_db &&
	root=$(sqlite3 app.db "SELECT rootpage FROM sqlite_schema WHERE name=\"t\"") &&
	printf "\\007" | dd of=app.db bs=1 seek=$(( (root - 1) * 1024 )) conv=notrunc 2>/dev/null &&
	"$WALDO" page --json app.db "$root" > out.json; st=$? &&
	test "$(json_get out.json "d[\"findings\"][0][\"code\"], d[\"findings\"][0][\"offset\"], d[\"status\"]")" = \
	     "BTREE_PAGE_INVALID $(( (root - 1) * 1024 )) error" &&
	exit $st
'
test_expect_code 2 'a damaged WAL frame is located in the WAL' '
	make_wal_db &&
	printf "\\007" | dd of=w.db-wal bs=1 seek=56 conv=notrunc 2>/dev/null &&
	"$WALDO" page --frame 1 w.db > out; st=$? &&
	grep -q "BTREE_PAGE_INVALID  w.db-wal offset 56 frame 1 page 2" out &&
	exit $st
'
test_expect_code 64 'page 0 is a usage error' '
	make_db && "$WALDO" page app.db 0
'
test_expect_code 64 'a page past the end is refused with a clear message' '
	make_db &&
	"$WALDO" page app.db 99999 2> err; st=$?
	grep -q "page 99999 does not exist: the database has [0-9]* pages" err && exit $st
'
test_expect_code 64 'a frame past the end of the WAL is refused' '
	make_wal_db && "$WALDO" page --frame 999 w.db
'
test_expect_code 64 '--db and --frame together are refused' '
	make_wal_db && "$WALDO" page --db --frame 1 w.db 2
'
test_expect_code 66 'a missing file exits 66' '
	"$WALDO" page nothere.db 1
'
test_done
