#!/bin/sh
# waldo inspect over the whole corpus: the expected codes (and none of the
# forbidden ones), exit statuses and WAL/-shm numbers of every case; the
# inputs' bytes and mtimes unchanged afterwards.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" > /dev/null || { echo "not ok - corpus generation failed"; exit 1; }

snapshot() {  # hashes, sizes and mtimes of every input file
	find "$CORPUS" -type f ! -name expected.json | sort | while read -r f; do
		printf '%s %s\n' "$(sha256sum < "$f" | cut -c1-64)" "$(stat -c '%s %Y' "$f")"
	done
}
snapshot > "$TRASH_ROOT/before"

python3 "$TOP/tests/e2e/inspect_corpus.py" "$WALDO" "$CORPUS"
status=$?

test_count=1000
test_expect_success 'inspect never changes its inputs (bytes, sizes, mtimes)' '
	snapshot > after && test_cmp "$TRASH_ROOT/before" after
'
test_expect_success 'inspect text output runs on every case' '
	for d in "$CORPUS"/*/; do
		"$WALDO" inspect --no-locks "$d/db" > out 2>&1
		st=$?
		[ $st -le 2 ] || { echo "$d: status $st"; cat out; exit 1; }
		grep -q "^status: " out || { echo "$d: no status line"; exit 1; }
	done
'
test_expect_success 'inspect never leaves anything in its temporary folder' '
	mkdir tmp && TMPDIR=$PWD/tmp "$WALDO" inspect "$CORPUS/healthy-many-commits/db" > /dev/null &&
	[ -z "$(ls -A tmp)" ]
'
[ $status -eq 0 ] && test_done
test_done; exit 1
