#!/bin/sh
# waldo hash / verify / diff / dbhash against databases real SQLite wrote.
#
# dbhash is checked against an independent implementation of SQLite's
# dbhash algorithm in Python (sqlite3 + hashlib), written from the same
# description (docs/dbhash.md), which reads a copy of the files through
# SQLite itself (WAL applied by SQLite's own recovery).
. "$(dirname "$0")/lib.sh"

if ! python3 -c 'import sqlite3, hashlib' 2>/dev/null; then
	echo "ok 1 - $TEST_NAME: # SKIP python3 with sqlite3 is not available"
	exit 0
fi

# mkdb DB PAGE_SIZE 'SQL checkpointed into the file' 'SQL left in the -wal'
cat > "$TRASH_ROOT/mkdb.py" <<'EOF'
import os, sqlite3, sys
path, page_size, durable, in_wal = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
db = sqlite3.connect(path, isolation_level=None)
if os.environ.get("ENCODING"):
    db.execute("PRAGMA encoding='%s'" % os.environ["ENCODING"])
db.execute("PRAGMA page_size=%d" % page_size)
db.execute("PRAGMA journal_mode=WAL")
db.executescript(durable)
db.close()
if in_wal:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(in_wal)
    sys.stdout.flush()
    os._exit(0)          # no close: the -wal and -shm stay as a crash leaves them
EOF

# checkpoint DB: PRAGMA wal_checkpoint(TRUNCATE) on DB (a copy), then close
cat > "$TRASH_ROOT/checkpoint.py" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
row = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
assert row[0] == 0, row
db.close()
EOF

# The reference: SQLite's dbhash algorithm, reimplemented.
#   dbhash_ref.py [--schema-only|--without-schema] [--like P] DB
# prints "SHA1 DB"; reads a private copy of DB, DB-wal and DB-journal (never
# DB itself), through SQLite, which recovers or rolls back the copy.
cat > "$TRASH_ROOT/dbhash_ref.py" <<'EOF'
import hashlib, os, shutil, sqlite3, struct, sys, tempfile

class Text(bytes):
    pass

def dbhash(path, like="%", schema=True, content=True):
    tmp = tempfile.mkdtemp()
    try:
        copy = os.path.join(tmp, "db")
        shutil.copyfile(path, copy)
        for side in ("-wal", "-journal"):    # what dbhash would find beside it
            if os.path.exists(path + side):
                shutil.copyfile(path + side, copy + side)
        con = sqlite3.connect(copy, isolation_level=None)
        con.text_factory = Text          # TEXT as its UTF-8 bytes, told apart from BLOB
        con.execute("SELECT * FROM sqlite_master").fetchall()
        h = hashlib.sha1()
        def rows(sql, *args):
            # dbhash gives up when a query cannot be prepared (EXPLAIN only
            # prepares it), but a query that fails while stepping just ends:
            # the rows before the error are hashed and the hash goes on.
            con.execute("EXPLAIN " + sql, args).fetchall()
            got = []
            try:
                for row in con.execute(sql, args):
                    got.append(row)
            except sqlite3.DatabaseError:
                # Python drops the row fetched just before a failing step:
                # read the rows one by one to get all of those before it.
                got = []
                while True:
                    try:
                        r = con.execute("SELECT * FROM (%s) LIMIT 1 OFFSET %d"
                                        % (sql, len(got)), args).fetchall()
                    except sqlite3.DatabaseError:
                        break
                    if not r:
                        break
                    got.append(r[0])
            for row in got:
                hash_row(row)
        def hash_row(row):
            for v in row:
                if v is None:
                    h.update(b"0")
                elif isinstance(v, int):
                    h.update(b"1" + struct.pack(">q", v))
                elif isinstance(v, float):
                    h.update(b"2" + struct.pack(">d", v))
                elif isinstance(v, Text):
                    h.update(b"3" + bytes(v))
                else:
                    h.update(b"4" + bytes(v))
        if content:
            names = []
            try:
                for r in con.execute(
                        "SELECT name FROM sqlite_master WHERE type='table'"
                        " AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE 'sqlite_%'"
                        " AND name LIKE ? ORDER BY name COLLATE nocase", (like,)):
                    names.append(r[0])
            except sqlite3.DatabaseError:
                pass
            for name in names:
                rows('SELECT * FROM "%s"' % bytes(name).decode().replace('"', '""'))
        if schema:
            rows("SELECT type, name, tbl_name, sql FROM sqlite_master"
                 " WHERE tbl_name LIKE ? ORDER BY name COLLATE nocase", like)
        con.close()
        return h.hexdigest()
    finally:
        shutil.rmtree(tmp)

args = sys.argv[1:]
kw = {}
while args and args[0].startswith("--"):
    a = args.pop(0)
    if a == "--schema-only": kw["content"] = False
    elif a == "--without-schema": kw["schema"] = False
    elif a == "--like": kw["like"] = args.pop(0)
for p in args:
    print(dbhash(p, **kw), p)
EOF

MKDB="python3 $TRASH_ROOT/mkdb.py"
CKPT="python3 $TRASH_ROOT/checkpoint.py"
REF="python3 $TRASH_ROOT/dbhash_ref.py"
FILL="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<"
export MKDB CKPT REF FILL

# SQL for the cases below (kept out of the single-quoted test bodies).
SQL_PEOPLE="CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT);
	CREATE TABLE orders(id INTEGER PRIMARY KEY, what TEXT);
	CREATE INDEX orders_what ON orders(what);
	${FILL}50) INSERT INTO people SELECT i, printf('person %d', i) FROM s;
	${FILL}50) INSERT INTO orders SELECT i, printf('order %d', i) FROM s;"
SQL_PEOPLE_WAL="UPDATE orders SET what = 'CHANGED' WHERE id = 21;"
SQL_TYPES="CREATE TABLE t(a, b, c, d, e);
	INSERT INTO t VALUES (NULL, 0, -1, 9223372036854775807, -9223372036854775808);
	INSERT INTO t VALUES (0.0, -0.0, 1.5e300, -2.25, 3.141592653589793);
	INSERT INTO t VALUES ('', 'text', x'', x'00ff10', 'héllo ☃ 😀');
	CREATE TABLE \"odd \"\"name\"\"\"(x PRIMARY KEY, y) WITHOUT ROWID;
	INSERT INTO \"odd \"\"name\"\"\" VALUES ('b', 2), ('a', 1), ('C', 3);
	CREATE TABLE Zeta(x INTEGER PRIMARY KEY AUTOINCREMENT, y);
	INSERT INTO Zeta(y) VALUES (1), (2);
	CREATE TABLE alpha(q);
	INSERT INTO alpha VALUES (1);
	CREATE VIEW v AS SELECT * FROM t;
	CREATE TRIGGER tr AFTER INSERT ON alpha BEGIN SELECT 1; END;
	CREATE INDEX ti ON t(b);
	ANALYZE;"
SQL_WAL1="CREATE TABLE t(x INTEGER PRIMARY KEY, y); ${FILL}200) INSERT INTO t SELECT i, randomblob(i) FROM s;"
SQL_WAL2="UPDATE t SET y = x * 2.5 WHERE x <= 100;
	CREATE TABLE later(z TEXT); INSERT INTO later VALUES ('only in the wal');"
SQL_U16="CREATE TABLE t(s TEXT); INSERT INTO t VALUES ('grüße 😀'); CREATE TABLE ü(x); INSERT INTO ü VALUES ('ö');"
SQL_U16_WAL="INSERT INTO t VALUES ('in the wal');"
export SQL_PEOPLE SQL_PEOPLE_WAL SQL_U16_WAL SQL_TYPES SQL_WAL1 SQL_WAL2 SQL_U16

# A database with history in its file and more in its -wal.
make_wal_db() {  # make_wal_db DB PAGE_SIZE
	$MKDB "$1" "$2" "
		CREATE TABLE a(x INTEGER PRIMARY KEY, y TEXT);
		CREATE TABLE b(k INTEGER PRIMARY KEY, v BLOB);
		CREATE INDEX ay ON a(y);
		${FILL}300) INSERT INTO a SELECT i, printf('row %05d', i) FROM s;" "
		${FILL}120) INSERT INTO b SELECT i, randomblob(300) FROM s;
		UPDATE a SET y = 'changed' WHERE x = 17;
		DELETE FROM a WHERE x = 250;
		INSERT INTO b VALUES (5000, zeroblob(20000));"
}

test_expect_success 'every command answers --help with its usage' '
	for c in hash verify diff dbhash; do
		"$WALDO" $c --help | grep -q "^usage: waldo $c" || { echo "$c"; exit 1; }
		"$WALDO" help | grep -q "^  $c " || { echo "help lists $c"; exit 1; }
	done
'

test_expect_success 'hash prints a manifest: header, then one sorted line per page' '
	make_wal_db x.db 1024 &&
	test -s x.db-wal &&
	"$WALDO" hash x.db > m &&
	head -1 m > first && echo "waldo-manifest 1" > want && test_cmp want first &&
	grep -q "^state effective$" m &&
	grep -q "^page_size 1024$" m &&
	pages=$(sed -n "s/^pages //p" m) &&
	test "$(grep -cE "^[0-9]+ [0-9a-f]{64}$" m)" = "$pages" &&
	grep -E "^[0-9]+ " m | cut -d" " -f1 > order && seq 1 "$pages" > want && test_cmp want order
'

test_expect_success 'effective state hashes like the file SQLite checkpoints from it' '
	for ps in 512 4096 65536; do
		rm -rf c && mkdir c &&
		make_wal_db x$ps.db $ps &&
		cp x$ps.db c/db && cp x$ps.db-wal c/db-wal &&
		$CKPT c/db &&
		"$WALDO" hash x$ps.db | grep -E "^([0-9]|pages |page_size |state_hash )" > eff &&
		"$WALDO" hash --state db c/db | grep -E "^([0-9]|pages |page_size |state_hash )" > ck &&
		test_cmp ck eff || exit 1
		# and the page hashes are the SHA-256 of the checkpointed pages
		p2=$(dd if=c/db bs=$ps skip=1 count=1 2>/dev/null | sha256sum | cut -d" " -f1) &&
		grep -q "^2 $p2\$" eff || exit 1
	done
'

test_expect_success 'hashing with -j1, -j2 and -j4 gives identical output' '
	make_wal_db x.db 1024 &&
	"$WALDO" hash -j 1 x.db > j1 &&
	"$WALDO" hash -j 2 x.db > j2 &&
	"$WALDO" hash -j 4 x.db > j4 &&
	test_cmp j1 j2 && test_cmp j1 j4
'

test_expect_success 'hash -o writes the manifest and a summary; verify of the same state is 0' '
	make_wal_db x.db 4096 &&
	"$WALDO" hash -o x.manifest x.db > out &&
	grep -q "^x.manifest: [0-9]* pages of 4096 bytes (0 missing), state effective" out &&
	"$WALDO" hash x.db > direct && test_cmp direct x.manifest &&
	"$WALDO" verify x.db x.manifest > out &&
	grep -q "^identical: " out &&
	! ls -A | grep -q "\.tmp$"
'

test_expect_success 'hash refuses to write the manifest over its input' '
	make_wal_db x.db 1024 &&
	cp x.db before &&
	{ "$WALDO" hash -o x.db-wal x.db; test $? = 64; } &&
	cmp before x.db
'

test_expect_success 'verify names each page with a flipped byte (exit 1)' '
	$MKDB x.db 1024 "CREATE TABLE t(x); ${FILL}80) INSERT INTO t SELECT randomblob(200) FROM s;" "" &&
	"$WALDO" hash --state db -o m x.db > /dev/null &&
	n=$(($(wc -c < x.db) / 1024)) &&
	for p in 1 2 7 $((n / 2)) $n; do
		cp x.db y.db &&
		off=$(( (p - 1) * 1024 + 300 )) &&
		printf "\\377" | dd of=y.db bs=1 seek=$off conv=notrunc 2>/dev/null &&
		{ "$WALDO" verify --state db y.db m > out; test $? = 1; } &&
		grep -q "^differ  $p  " out &&
		grep -q "^different: 1 differ, 0 missing, 0 extra$" out || { echo "page $p"; cat out; exit 1; }
	done
'

test_expect_success 'verify --json reports differ/missing/extra' '
	$MKDB x.db 1024 "CREATE TABLE t(x); ${FILL}40) INSERT INTO t SELECT randomblob(300) FROM s;" "" &&
	"$WALDO" hash --state db -o m x.db > /dev/null &&
	n=$(($(wc -c < x.db) / 1024)) &&
	head -c $(( (n - 2) * 1024 )) x.db > y.db &&
	{ "$WALDO" verify --json --state db y.db m > out; test $? = 1; } &&
	python3 -c "
import json, sys
d = json.load(open(\"out\"))
assert d[\"identical\"] is False, d
assert d[\"missing\"] == [$((n - 1)), $n], d[\"missing\"]
assert d[\"differ\"] == [] and d[\"extra\"] == [], d
"
'

test_expect_code 65 'verify: a malformed manifest is 65 and names file:line' '
	make_wal_db x.db 1024 &&
	"$WALDO" hash x.db > m &&
	line=$(grep -n "^5 " m | cut -d: -f1) &&
	sed "s/^5 .*/5 garbage/" m > bad &&
	sed "s/^3 ./3 0/" m > edited && ! cmp -s m edited &&
	{ "$WALDO" verify x.db edited 2> err; test $? = 65; } &&
	grep -q "^waldo: edited:[0-9]*: state_hash does not match" err &&
	"$WALDO" verify x.db bad 2> err; st=$?; grep -q "^waldo: bad:$line: page 5: " err && exit $st
'

test_expect_code 66 'verify: an unreadable manifest is 66' '
	make_wal_db x.db 1024 &&
	"$WALDO" verify x.db no-such-manifest
'

test_expect_success 'diff names the table, the index and the rowids of a changed row' '
	$MKDB x.db 1024 "$SQL_PEOPLE" "$SQL_PEOPLE_WAL" &&
	{ "$WALDO" diff x.db > out; test $? = 1; } &&
	grep -q "b-tree leaf (root) of table .orders." out &&
	grep -q "rowids changed 1: 21$" out &&
	grep -q "^table .orders.: 0 added, 0 removed, 1 changed" out &&
	grep -q "keys added 1: (.CHANGED., 21)" out &&
	grep -q "keys removed 1: (.order 21., 21)" out &&
	! grep -q "people" out
'

test_expect_success 'diff --commit K --commit L compares two states; --json parses' '
	$MKDB x.db 1024 "CREATE TABLE t(x INTEGER PRIMARY KEY, y);" "
		${FILL}30) INSERT INTO t SELECT i, i FROM s;
		INSERT INTO t VALUES (100, 1);
		DELETE FROM t WHERE x = 5;" &&
	{ "$WALDO" diff --json --commit 2 --commit 3 x.db > out; test $? = 1; } &&
	python3 -c "
import json
d = json.load(open(\"out\"))
t = [t for t in d[\"trees\"] if t[\"name\"] == \"t\"][0]
assert t[\"rowids\"][\"removed\"] == [5], t
assert t[\"rowids\"][\"added\"] == [], t
assert d[\"a\"][\"commit\"] == 2 and d[\"b\"][\"commit\"] == 3
" &&
	"$WALDO" diff --commit 3 --commit 3 x.db > out &&
	grep -q "^identical: " out
'

test_expect_success 'diff of two files names a flipped byte in any page' '
	$MKDB x.db 512 "CREATE TABLE t(x); ${FILL}60) INSERT INTO t SELECT randomblob(100) FROM s;" "" &&
	n=$(($(wc -c < x.db) / 512)) &&
	for p in 2 3 $n; do
		cp x.db y.db &&
		printf "\\001" | dd of=y.db bs=1 seek=$(( (p - 1) * 512 + 400 )) conv=notrunc 2>/dev/null &&
		{ "$WALDO" diff --state db x.db y.db > out; test $? = 1; } &&
		grep -q "^page $p differs$" out || { cat out; exit 1; }
	done
'

# dbhash against the reference on varied databases
test_expect_success 'dbhash equals the reference implementation of dbhash' '
	$MKDB types.db 4096 "$SQL_TYPES" "" &&
	$MKDB wal.db 1024 "$SQL_WAL1" "$SQL_WAL2" &&
	$MKDB big.db 1024 "CREATE TABLE t(x); ${FILL}5) INSERT INTO t SELECT zeroblob(5000) || randomblob(3000) FROM s;" "" &&
	ENCODING=UTF-16le $MKDB u16.db 4096 "$SQL_U16" "$SQL_U16_WAL" &&
	ENCODING=UTF-16be $MKDB u16be.db 512 "$SQL_U16" "" &&
	: > empty.db &&
	for db in types.db wal.db big.db u16.db u16be.db empty.db; do
		for opt in "" --schema-only --without-schema "--like t%" "--like %a%"; do
			"$WALDO" dbhash $opt $db > got &&
			$REF $opt $db > want &&
			test_cmp want got || { echo "$db $opt"; exit 1; }
		done
	done &&
	test -s wal.db-wal
'

test_expect_success 'dbhash of the database file alone and of a commit' '
	$MKDB x.db 1024 "CREATE TABLE t(x); INSERT INTO t VALUES (1);" "INSERT INTO t VALUES (2); INSERT INTO t VALUES (3);" &&
	mkdir f && cp x.db f/x.db &&
	"$WALDO" dbhash --state db x.db | cut -d" " -f1 > got &&
	$REF f/x.db | cut -d" " -f1 > want && test_cmp want got &&
	"$WALDO" dbhash --commit 1 x.db | cut -d" " -f1 > c2 &&
	"$WALDO" dbhash x.db | cut -d" " -f1 > eff &&
	$REF x.db | cut -d" " -f1 > want && test_cmp want eff &&
	! cmp -s c2 eff && ! cmp -s got c2
'

test_expect_success 'dbhash --json and several databases' '
	$MKDB a.db 1024 "CREATE TABLE t(x); INSERT INTO t VALUES (1);" "" &&
	$MKDB b.db 4096 "CREATE TABLE t(x); INSERT INTO t VALUES (1);" "" &&
	"$WALDO" dbhash a.db b.db > out &&
	test "$(cut -d" " -f1 out | sort -u | wc -l)" = 1 &&
	"$WALDO" dbhash --json a.db > j &&
	python3 -c "
import json
d = json.load(open(\"j\"))
assert d[\"path\"] == \"a.db\" and d[\"status\"] == \"ok\" and len(d[\"sha1\"]) == 40, d
"
'

test_expect_success 'no command writes to its inputs' '
	make_wal_db x.db 1024 &&
	sha256sum x.db x.db-wal x.db-shm > before &&
	"$WALDO" hash x.db > m && "$WALDO" verify x.db m > /dev/null &&
	"$WALDO" diff x.db > /dev/null; "$WALDO" dbhash x.db > /dev/null &&
	sha256sum x.db x.db-wal x.db-shm > after &&
	test_cmp before after
'

# Every corpus case: dbhash prints what the reference prints (the same hash,
# or no hash when SQLite cannot read the files), and wherever SQLite can
# checkpoint a copy, the effective state hashes like the file it leaves.
test_expect_success 'corpus: dbhash and effective-state hash agree with SQLite' '
	corpus=$TRASH/corpus
	"$BUILD/corpus-gen" --seed 1 --out "$corpus" > /dev/null || exit 1
	nd=0 nh=0
	for dir in "$corpus"/*/; do
		[ -f "$dir/db" ] || continue
		$REF "$dir/db" 2>/dev/null | cut -d" " -f1 > want
		"$WALDO" dbhash "$dir/db" 2>/dev/null | cut -d" " -f1 > got
		test_cmp want got || { echo "dbhash: $dir"; exit 1; }
		nd=$((nd + 1))
		rm -rf c && mkdir c && cp "$dir/db" c/db &&
		{ [ ! -f "$dir/db-wal" ] || cp "$dir/db-wal" c/db-wal; } &&
		$CKPT c/db 2>/dev/null || continue
		# Mispaired files (the case says inspect must report it): SQLite
		# checkpoints frames of one page size into a database of another,
		# which is neither; waldo will not combine them.
		grep -q "\"must\": \[[^]]*WAL_PAGE_SIZE_MISMATCH" "$dir/expected.json" 2>/dev/null && continue
		"$WALDO" hash "$dir/db" | grep -E "^([0-9]|pages |page_size )" > eff
		"$WALDO" hash --state db c/db | grep -E "^([0-9]|pages |page_size )" > ck
		test_cmp ck eff || { echo "hash: $dir"; exit 1; }
		nh=$((nh + 1))
	done
	echo "# corpus: $nd cases dbhash-compared, $nh hash-compared"
	test $nd -gt 0 && test $nh -gt 0
'

test_done
