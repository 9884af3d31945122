#!/bin/sh
# No command replays a WAL of another database: `waldo checkpoint` checks
# the pairing and lineage first (WAL_FOREIGN: exit 2, nothing opened for
# writing) and `repair --only checkpoint-offline` refuses it, on the corpus
# case wrong-foreign-wal (another page size) and on the hostile W16 pair (a
# WAL of another database of the same page size, which SQLite would apply);
# the files stay byte for byte.  A healthy database is checkpointed as before.
. "$(dirname "$0")/lib.sh"

"$BUILD/corpus-gen" --seed 1 --out "$TRASH_ROOT/corpus" --only wrong-foreign-wal,healthy-many-commits > /dev/null ||
	{ echo "not ok 1 - $TEST_NAME: corpus generation failed"; exit 1; }
python3 "$TOP/tests/hostile/gen.py" "$TRASH_ROOT/hostile" --only W16 > /dev/null ||
	{ echo "not ok 1 - $TEST_NAME: hostile case generation failed"; exit 1; }
[ -f "$TRASH_ROOT/hostile/W16-wal-foreign/db-wal" ] ||
	{ echo "not ok 1 - $TEST_NAME: gen.py made no W16-wal-foreign"; exit 1; }

# take CASE_DIR: the case's db, db-wal and db-shm into the test folder, with a copy to compare
take() {
	for f in db db-wal db-shm; do
		cp "$1/$f" "$f" && cp "$1/$f" "orig.$f" || return 1
	done
}
untouched() {
	for f in db db-wal db-shm; do
		cmp -s "$f" "orig.$f" || { echo "$f changed"; return 1; }
	done
	[ ! -e db-journal ] && [ ! -e set ]
}

for c in corpus/wrong-foreign-wal hostile/W16-wal-foreign; do
	test_expect_code 2 "$c: checkpoint refuses, names the evidence, touches nothing" '
		take "$TRASH_ROOT/'$c'" &&
		"$WALDO" checkpoint --mode truncate db 2> err; st=$?
		cat err
		grep -q "refusing to checkpoint: .db-wal. is probably not the WAL of .*db. (WAL_FOREIGN: " err &&
		untouched && exit $st
	'
	test_expect_code 2 "$c: checkpoint --save-undo --json refuses before saving anything" '
		take "$TRASH_ROOT/'$c'" &&
		"$WALDO" checkpoint --save-undo set --json db > out.json; st=$?
		python3 -c "import json,sys; d=json.load(open(\"out.json\")); sys.exit(not (d[\"status\"] == \"error\" and \"WAL_FOREIGN\" in d[\"error\"] and d[\"checkpoint\"][\"steps\"] == [] and d[\"before\"] is None and d[\"exit\"] == 2))" &&
		untouched && exit $st
	'
	test_expect_code 2 "$c: repair --only checkpoint-offline --in-place refuses" '
		take "$TRASH_ROOT/'$c'" &&
		"$WALDO" repair --only checkpoint-offline --in-place --yes db > out; st=$?
		cat out
		grep -q "\[refused\] checkpoint-offline" out &&
		untouched && exit $st
	'
done

test_expect_success 'W16: the refusal is about the lineage, not the page size (SQLite would apply this WAL)' '
	take "$TRASH_ROOT/hostile/W16-wal-foreign" &&
	"$WALDO" inspect --json --no-sqlite db > i.json; st=$?
	python3 -c "import json,sys; c=[f[\"code\"] for f in json.load(open(\"i.json\"))[\"findings\"]]; sys.exit(not (\"WAL_FOREIGN\" in c and \"WAL_PAGE_SIZE_MISMATCH\" not in c))"
'

test_expect_success 'a healthy database with its own WAL: checkpoint and checkpoint-offline still run' '
	take "$TRASH_ROOT/corpus/healthy-many-commits" &&
	"$WALDO" checkpoint --mode truncate db > out &&
	[ ! -s db-wal ] &&
	rm -f db-wal db-shm && cp orig.db db && cp orig.db-wal db-wal && cp orig.db-shm db-shm &&
	"$WALDO" repair --only checkpoint-offline --in-place --yes db > out &&
	grep -q "checkpoint-offline" out && [ ! -e db-wal ]
'

test_done
