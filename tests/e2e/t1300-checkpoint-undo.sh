#!/bin/sh
# waldo checkpoint --save-undo and waldo rollback from the command line, on
# databases real SQLite made (Python's sqlite3 leaves a WAL behind with
# os._exit): the database file comes back byte for byte; the JSON says what
# happened; the three failed-manual-rollback corpus cases, whose saved pages
# are turned into page sets here by an independent implementation of
# docs/pageset.md, end as pre-checkpoint.db; a checkpoint taken while a writer
# commits is still undone exactly.
. "$(dirname "$0")/lib.sh"

# mkwal DB PAGE_SIZE SQL_SETUP SQL_IN_WAL: a database whose last changes stay in its WAL.
mkwal() {
	python3 - "$@" <<'EOF'
import os, sqlite3, sys
db, ps, setup, inwal = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = sqlite3.connect(db, isolation_level=None)
c.execute("PRAGMA page_size=%d" % ps)
c.execute("PRAGMA journal_mode=wal")
c.executescript(setup)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.execute("PRAGMA wal_autocheckpoint=0")
c.executescript(inwal)
os._exit(0)
EOF
}
ROWS="CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX tv ON t(length(v));
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<120) INSERT INTO t(v) SELECT randomblob(700) FROM s;"
GROW="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<80) INSERT INTO t(v) SELECT randomblob(900) FROM s;"
SHRINK="DELETE FROM t WHERE id > 10; VACUUM;"
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }

for ps in 512 4096 65536; do
	test_expect_success "page size $ps: checkpoint that grows the file, then rollback" '
		mkwal db '$ps' "$ROWS" "$GROW" && cp db pre.db &&
		"$WALDO" checkpoint --mode truncate --save-undo set --json db > ck.json &&
		[ "$(jget ck.json "d[\"undo_verified\"]")" = True ] &&
		[ "$(jget ck.json "d[\"checkpoint\"][\"complete\"]")" = True ] &&
		[ "$(jget ck.json "d[\"undo_set\"][\"file_sha256\"]")" = "$(sha256sum pre.db | cut -c1-64)" ] &&
		[ $(stat -c %s db) -gt $(stat -c %s pre.db) ] && [ $(stat -c %s db-wal) = 0 ] &&
		"$WALDO" rollback db set > rb && grep -q "^  verified " rb &&
		cmp db pre.db
	'
done
test_expect_success 'a checkpoint that shrinks the file (VACUUM in the WAL), then rollback' '
	mkwal db 1024 "$ROWS" "$SHRINK" && cp db pre.db &&
	"$WALDO" checkpoint --mode full --save-undo set --json db > ck.json &&
	[ $(stat -c %s db) -lt $(stat -c %s pre.db) ] &&
	cut=$(jget ck.json "d[\"undo_set\"][\"pages_cut_off\"]") && [ "$cut" -gt 50 ] &&
	{ "$WALDO" rollback db set --dry-run > dry; [ $? = 1 ]; } && grep -q "cut it off" dry && ! cmp -s db pre.db &&
	"$WALDO" rollback db set && cmp db pre.db &&
	sqlite3 db "PRAGMA integrity_check" > ic && echo ok | test_cmp - ic
'
test_expect_success 'the set is proportional to what the WAL touches, not to the database' '
	mkwal db 4096 "$ROWS" "UPDATE t SET v=randomblob(10) WHERE id=7;" &&
	"$WALDO" checkpoint --save-undo set --json db > ck.json &&
	pages=$(jget ck.json "d[\"undo_set\"][\"pages\"]") && [ "$pages" -le 6 ] &&
	[ $(stat -c %s set) -lt 20000 ] && [ $(stat -c %s db) -gt 100000 ]
'
test_expect_success '--keep-wal: rollback --keep-wal restores the database and WAL pair' '
	mkwal db 4096 "$ROWS" "$GROW" && cp db pre.db && cp db-wal pre.db-wal &&
	"$WALDO" checkpoint --mode truncate --save-undo set --keep-wal db > ck &&
	grep -q "kept WAL" ck && (cd . && sha256sum -c set.wal.sha256 > /dev/null) &&
	"$WALDO" rollback --keep-wal --json db set > rb.json &&
	[ "$(jget rb.json "d[\"verified\"]")" = True ] && [ "$(jget rb.json "d[\"result\"][\"wal_restored\"]")" = True ] &&
	cmp db pre.db && cmp db-wal pre.db-wal && [ ! -e db-shm ] &&
	[ "$(sqlite3 db "SELECT count(*) FROM t")" = 200 ]
'
test_expect_success 'rollback is idempotent: a second run has nothing to do' '
	mkwal db 4096 "$ROWS" "$GROW" && cp db pre.db &&
	"$WALDO" checkpoint --mode truncate --save-undo set db > /dev/null &&
	"$WALDO" rollback db set > /dev/null && "$WALDO" rollback --json db set > rb.json &&
	[ "$(jget rb.json "d[\"result\"][\"synthetic_wal\"]")" = False ] &&
	[ "$(jget rb.json "d[\"verified\"]")" = True ] && cmp db pre.db
'
test_expect_code 75 'rollback refuses while another process has the database open' '
	mkwal db 4096 "$ROWS" "$GROW" &&
	"$WALDO" checkpoint --mode truncate --save-undo set db > /dev/null && cp db post.db &&
	python3 -c "
import sqlite3, subprocess, sys
c = sqlite3.connect(\"db\"); c.execute(\"BEGIN\"); c.execute(\"SELECT count(*) FROM t\").fetchall()
r = subprocess.run([sys.argv[1], \"rollback\", \"db\", \"set\"], capture_output=True)
sys.exit(r.returncode)" "$WALDO"; st=$?
	cmp db post.db && exit $st
'
test_expect_code 65 'a damaged page set is refused before anything is written' '
	mkwal db 4096 "$ROWS" "$GROW" &&
	"$WALDO" checkpoint --mode truncate --save-undo set db > /dev/null && cp db post.db &&
	size=$(stat -c %s set) && printf "\377" | dd of=set bs=1 seek=$((size - 10)) conv=notrunc 2> /dev/null &&
	"$WALDO" rollback db set > /dev/null 2> err; st=$?
	grep -q "set" err && cmp db post.db && exit $st
'
test_expect_success 'checkpoint JSON reports the WAL before and after' '
	mkwal db 4096 "$ROWS" "$GROW" && w=$(stat -c %s db-wal) &&
	"$WALDO" checkpoint --mode restart --json db > ck.json &&
	[ "$(jget ck.json "d[\"before\"][\"wal_bytes\"]")" = "$w" ] &&
	[ "$(jget ck.json "d[\"checkpoint\"][\"steps\"][0][\"under_waldo_write_lock\"]")" = True ] &&
	[ "$(jget ck.json "d[\"checkpoint\"][\"steps\"][1][\"mode\"]")" = restart ] &&
	[ "$(jget ck.json "d[\"undo_set\"]")" = None ] && [ "$(jget ck.json "d[\"exit\"]")" = 0 ]
'
test_expect_code 2 'checkpoint refuses a database that is not in WAL mode' '
	sqlite3 plain.db "CREATE TABLE t(x); INSERT INTO t VALUES(1);" &&
	"$WALDO" checkpoint --save-undo set plain.db; st=$?; [ ! -e set ] && exit $st
'

# ---- the failed manual rollbacks of the corpus ----
CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" --only rollback-partial,rollback-size-field,rollback-stale-wal \
	> /dev/null || { echo "not ok - corpus generation failed"; exit 1; }
# mkset CASE SET: the page set of CASE's saved pages, with the pre-checkpoint file's hash (FILE_HASH).
mkset() {
	python3 - "$CORPUS/$1" "$2" <<'EOF'
import hashlib, struct, sys, zlib
case, out = sys.argv[1:3]
meta, pgnos = {}, []
for line in open(case + "/saved-pages.txt"):
    if line.startswith("#"):
        w = line[1:].split()
        if len(w) == 2 and w[1].isdigit():
            meta[w[0]] = int(w[1])
    elif line.strip():
        pgnos.append(int(line))
ps = meta["page_size"]
blob = open(case + "/saved-pages.bin", "rb").read()
pages = {p: blob[i * ps:(i + 1) * ps] for i, p in enumerate(pgnos)}
order = sorted(pages)
pre = open(case + "/pre-checkpoint.db", "rb").read()
index = b"".join(struct.pack(">I", p) + hashlib.sha256(pages[p]).digest() for p in order)
data = zlib.compress(b"".join(pages[p] for p in order))
head = (b"waldo pageset 1\n" + struct.pack(">IIIII", 1, 1, ps, meta["db_pages_before"], len(order))
        + struct.pack(">III", 0, 0, 0) + struct.pack(">QQ", len(pre), len(data)) + hashlib.sha256(pre).digest())
head += hashlib.sha256(head + index).digest()
open(out, "wb").write(head + index + data)
EOF
}
for c in rollback-partial rollback-size-field rollback-stale-wal; do
	test_expect_success "$c: waldo rollback reaches the verified pre-checkpoint state" '
		cp -r "$CORPUS/'$c'" case && mkset '$c' set &&
		{ "$WALDO" rollback --dry-run case/db set > dry; [ $? = 1 ]; } &&
		"$WALDO" rollback case/db set > out && grep -q "^  verified " out &&
		cmp case/db case/pre-checkpoint.db && [ ! -e case/db-wal ] &&
		sqlite3 case/db .dump > got.sql && sqlite3 case/pre-checkpoint.db .dump > want.sql &&
		[ $(wc -l < want.sql) -gt 20 ] && test_cmp want.sql got.sql &&
		"$WALDO" rollback case/db set > again && grep -q "nothing to do" again
	'
done
test_expect_success 'rollback-stale-wal: the dry run names the WAL the checkpoint copied' '
	cp -r "$CORPUS/rollback-stale-wal" case && mkset rollback-stale-wal set &&
	{ "$WALDO" rollback --dry-run --json case/db set > dry.json; [ $? = 1 ]; } &&
	[ "$(jget dry.json "d[\"before\"][\"wal\"][\"kind\"]")" = checkpointed ] &&
	[ "$(jget dry.json "d[\"before\"][\"db_is_pre_checkpoint\"]")" = True ] &&
	cmp case/db-wal "$CORPUS/rollback-stale-wal/db-wal"
'

# ---- a checkpoint taken while another process commits ----
test_expect_success 'checkpoint --save-undo under a live writer, rolled back after it stops' '
	python3 - <<-EOF &&
	import sqlite3
	c = sqlite3.connect("db", isolation_level=None); c.execute("PRAGMA journal_mode=wal")
	c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
	EOF
	python3 - <<-EOF &
	import os, sqlite3, time
	c = sqlite3.connect("db", isolation_level=None, timeout=10); c.execute("PRAGMA wal_autocheckpoint=0")
	end = time.time() + 2.5
	while time.time() < end:
	    c.execute("INSERT INTO t(v) VALUES(randomblob(1500))"); time.sleep(0.001)
	os._exit(0)
	EOF
	sleep 0.8 && "$WALDO" checkpoint --mode truncate --save-undo set --json db > ck.json && wait &&
	[ "$(jget ck.json "d[\"undo_verified\"]")" = True ] &&
	want=$(jget ck.json "d[\"undo_set\"][\"file_sha256\"]") &&
	{ "$WALDO" rollback db set > out 2> err; [ $? = 2 ]; } && grep -q "does not account for" err &&
	"$WALDO" rollback --force db set > out && [ "$(sha256sum db | cut -c1-64)" = "$want" ]
'
test_done
