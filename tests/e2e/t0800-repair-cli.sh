#!/bin/sh
# waldo repair and waldo undo as commands: usage, exit statuses of a dry run,
# the JSON object, outputs that must not be clobbered, refusal while another
# process has the database open, permissions kept, undo's own errors.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" --only demo,healthy-many-commits,rot-btree-page,size-trailing-garbage,wrong-hot-journal \
	> /dev/null || { echo "not ok - corpus generation failed"; exit 1; }
snapshot() { (cd "$CORPUS" && find . -type f | sort | xargs sha256sum; find . -type f | sort | xargs stat -c '%n %s %Y'); }
snapshot > "$TRASH_ROOT/before"

test_expect_success 'repair --help lists every action with its safety class' '
	"$WALDO" repair --help > out &&
	for a in header-fields header-size wal-tail wal-rechain wal-detach shm-reset wal-synth checkpoint-offline; do
		grep -q "^  $a " out || { echo "no $a"; exit 1; }
	done &&
	grep -q "^  wal-rechain *salvage" out && grep -q "^  wal-tail *safe" out
'
test_expect_code 64 'repair without a database is a usage error' '"$WALDO" repair'
test_expect_code 64 '-o and --in-place exclude each other' '"$WALDO" repair "$CORPUS/demo/db" -o x --in-place'
test_expect_code 64 '--apply needs --pageset' '"$WALDO" repair "$CORPUS/demo/db" --apply'
test_expect_code 64 'an unknown action is a usage error' '"$WALDO" repair "$CORPUS/demo/db" --only wal-tail,frob'
test_expect_code 66 'a missing database cannot be read' '"$WALDO" repair nosuch.db'

test_expect_success 'a dry run: 0 nothing to do, 1 a plan, 2 what no action repairs' '
	"$WALDO" repair "$CORPUS/healthy-many-commits/db" > out; test $? = 0 && grep -q "nothing to do" out &&
	"$WALDO" repair "$CORPUS/demo/db" > out; test $? = 1 && grep -q "^  \[apply\] wal-tail (safe)" out &&
	grep -q "cut     .*demo/db-wal offset 98912 length 71429" out &&
	"$WALDO" repair "$CORPUS/rot-btree-page/db" > out; test $? = 2 &&
	grep -q "findings no action repairs" out && grep -q "BTREE_PAGE_INVALID" out
'
test_expect_success '--json is one object whose "exit" is the exit status' '
	for c in healthy-many-commits demo rot-btree-page; do
		"$WALDO" repair --json "$CORPUS/$c/db" > out.json
		st=$?
		python3 -c "import json,sys; d=json.load(open(\"out.json\")); sys.exit(0 if d[\"exit\"] == $st and d[\"mode\"] == \"plan\" and d[\"result\"] is None else 1)" || exit 1
	done
'
test_expect_success 'dry runs and -o never change the inputs' '
	"$WALDO" repair "$CORPUS/demo/db" -o demo.db > /dev/null &&
	"$WALDO" repair "$CORPUS/size-trailing-garbage/db" -o stg.db > /dev/null &&
	snapshot > after && test_cmp "$TRASH_ROOT/before" after
'
test_expect_success '-o refuses a stale OUT-wal beside it unless --force' '
	echo junk > out.db-wal &&
	"$WALDO" repair "$CORPUS/demo/db" -o out.db > msg 2>&1; test $? = 73 &&
	grep -q "SQLite would pair it" msg && [ ! -e out.db ] &&
	"$WALDO" repair "$CORPUS/demo/db" -o out.db --force > /dev/null &&
	[ "$(sqlite3 out.db "PRAGMA integrity_check")" = ok ] && [ ! -e out.db-shm ]
'
test_expect_success '--in-place asks for --yes when nobody can be asked' '
	cp -r "$CORPUS/demo" d &&
	"$WALDO" repair d/db --in-place < /dev/null > out 2> err; test $? = 64 &&
	grep -q "without --yes" err && cmp d/db-wal "$CORPUS/demo/db-wal"
'
test_expect_success '--in-place keeps the files permissions' '
	cp -r "$CORPUS/demo" d && chmod 600 d/db d/db-wal &&
	"$WALDO" repair d/db --in-place --yes > /dev/null &&
	[ "$(stat -c %a d/db-wal)" = 600 ] && [ "$(stat -c %a d/db.waldo-undo-*)" = 600 ]
'
test_expect_success '--in-place refuses a file with other hard links, and a symbolic link' '
	cp -r "$CORPUS/demo" d && ln d/db-wal other-name &&
	"$WALDO" repair d/db --in-place --yes > out 2> err; test $? = 73 &&
	grep -q "hard links" err && cmp d/db-wal "$CORPUS/demo/db-wal" &&
	rm other-name && mkdir l && cp -r "$CORPUS/demo" l/real && ln -s real/db l/db &&
	ln -s real/db-wal l/db-wal && ln -s real/db-shm l/db-shm &&
	"$WALDO" repair l/db --in-place --yes > out 2> err; test $? = 73 &&
	grep -q "is a symbolic link" err && cmp l/real/db-wal "$CORPUS/demo/db-wal"
'
test_expect_success '--in-place is refused while another process reads the database' '
	cp -r "$CORPUS/demo" d &&
	python3 -c "
import sqlite3, sys, time
c = sqlite3.connect(\"d/db\", isolation_level=None)
c.execute(\"BEGIN\"); c.execute(\"SELECT count(*) FROM sqlite_schema\").fetchall()
open(\"ready\", \"w\").close()
while not __import__(\"os\").path.exists(\"stop\"): time.sleep(0.02)
" &
	reader=$!
	while [ ! -e ready ]; do sleep 0.02; done
	"$WALDO" repair d/db --in-place --yes > out 2> err
	st=$?
	touch stop; wait $reader
	test $st = 75 && grep -q "in use by $reader" err && ! ls d/db.waldo-undo-* 2> /dev/null
'
test_expect_success 'nothing changes under a hot journal, not even a stale -shm' '
	cp -r "$CORPUS/wrong-hot-journal" d && cp "$CORPUS/demo/db-shm" d/db-shm &&
	"$WALDO" repair d/db > out; test $? = 1 &&
	grep -q "\[refused\] shm-reset" out && grep -q "a hot journal exists" out &&
	"$WALDO" repair d/db --in-place --yes > out; test $? = 1 &&
	cmp d/db-shm "$CORPUS/demo/db-shm" && ! ls d/db.waldo-undo-* 2> /dev/null &&
	"$WALDO" repair d/db -o o.db > out; test $? = 1 && [ ! -e o.db ]
'
test_expect_success 'undo: usage, a damaged undo file, the database in use' '
	"$WALDO" undo > /dev/null 2>&1; test $? = 64 &&
	echo "not an undo file" > bad && "$WALDO" undo bad 2> err; test $? = 66 && grep -q "not a valid undo file" err &&
	cp -r "$CORPUS/demo" d && "$WALDO" repair d/db --in-place --yes > /dev/null &&
	u=$(ls d/db.waldo-undo-*) &&
	head -c 200 "$u" > cut && "$WALDO" undo cut 2> /dev/null; test $? = 66 &&
	python3 -c "
import sqlite3, time, os
c = sqlite3.connect(\"d/db\", isolation_level=None)
c.execute(\"BEGIN\"); c.execute(\"SELECT count(*) FROM sqlite_schema\").fetchall()
open(\"ready\", \"w\").close()
while not os.path.exists(\"stop\"): time.sleep(0.02)
" &
	reader=$!
	while [ ! -e ready ]; do sleep 0.02; done
	"$WALDO" undo "$u" 2> err
	st=$?
	touch stop; wait $reader
	test $st = 75 && grep -q "in use" err
'
test_expect_success 'undo --json says what it found and did' '
	cp -r "$CORPUS/demo" d && "$WALDO" repair d/db --in-place --yes > /dev/null &&
	u=$(ls d/db.waldo-undo-*) &&
	"$WALDO" undo --json "$u" > a.json && "$WALDO" undo --json "$u" > b.json &&
	python3 -c "
import json
a, b = json.load(open(\"a.json\")), json.load(open(\"b.json\"))
assert a[\"action\"] == \"restored\" and a[\"exit\"] == 0, a
assert b[\"action\"] == \"nothing to do\" and b[\"exit\"] == 0, b
assert {f[\"name\"]: f[\"state\"] for f in a[\"files\"]}[\"db-wal\"] == \"repaired\"
assert all(f[\"state\"] == \"original\" for f in b[\"files\"])
" && cmp d/db-wal "$CORPUS/demo/db-wal"
'
test_done
