#!/bin/sh
# waldo tui without a terminal: --dump draws the first screen of any view as
# text.  Every view of every corpus case, at 80x24 and 120x40, must draw
# within its size, and the command's usage errors have their exit codes.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" > /dev/null || {
	echo "not ok 1 - $TEST_NAME: corpus-gen failed"
	exit 1
}
export CORPUS

test_expect_success 'every view of every corpus case draws within 80x24 and 120x40' '
	n=0 &&
	for dir in "$CORPUS"/*/; do
		c=$(basename "$dir")
		for v in 1 2 3 4 5 6; do
			for size in 80x24 120x40; do
				cols=${size%x*} rows=${size#*x}
				(cd "$CORPUS" && "$WALDO" tui --no-locks --view $v --dump $size "$c/db") > out 2> err ||
					{ echo "# $c view $v $size: exit $?"; cat err; exit 1; }
				test ! -s err || { echo "# $c view $v $size wrote to stderr:"; cat err; exit 1; }
				test "$(wc -l < out)" = "$rows" || { echo "# $c view $v $size: $(wc -l < out) lines"; exit 1; }
				test "$(awk "length > $cols" out | wc -l)" = 0 || { echo "# $c view $v $size: line too long"; exit 1; }
				head -1 out | grep -q "^ waldo  1:overview  2:wal  3:page  4:history  5:shm  6:readers " ||
					{ echo "# $c view $v $size: no top bar"; exit 1; }
				tail -1 out | grep -q "^ $c/db" || { echo "# $c view $v $size: no status line"; cat out; exit 1; }
				n=$((n + 1))
			done
		done
	done &&
	test $n -ge 480
'

test_expect_success 'with --integrity the overview shows every finding inspect must report' '
	for dir in "$CORPUS"/*/; do
		c=$(basename "$dir")
		(cd "$CORPUS" && "$WALDO" tui --no-locks --integrity --dump 160x400 "$c/db") > out &&
		python3 - "$dir/expected.json" out <<PY || exit 1
import json, sys
exp = json.load(open(sys.argv[1]))
screen = open(sys.argv[2]).read()
missing = [c for c in exp["inspect"]["must"] if c not in screen]
if missing:
    print("# %s: the overview lacks %s" % (sys.argv[1], missing))
    sys.exit(1)
PY
	done
'

test_expect_success 'views show the statuses the WAL walk found' '
	(cd "$CORPUS" && "$WALDO" tui --no-locks --view 2 --frame 25 --dump 80x60 demo/db) > wal &&
	grep -Eq "^      25        18            [0-9a-f]{8} [0-9a-f]{8}  uncommitted     -$" wal &&
	grep -q "^  -- 1389-byte partial frame after frame 41 (torn write) --$" wal &&
	(cd "$CORPUS" && "$WALDO" tui --no-locks --view 2 --dump 80x60 rot-frame-header/db) > rot &&
	grep -q "^  -- valid end: " rot &&
	(cd "$CORPUS" && "$WALDO" tui --no-locks --view 2 --dump 80x60 healthy-restarted/db) > rs &&
	grep -Eq " stale +-$" rs &&
	grep -q "^  -- valid end: frame [0-9]* has other salts (an earlier generation) --$" rs
'

test_expect_success 'a damaged b-tree page shows its finding in the page view' '
	(cd "$CORPUS" && "$WALDO" tui --no-locks --dump 120x40 rot-btree-page/db) > ov &&
	page=$(sed -n "s/^error    BTREE_PAGE_INVALID .* page \([0-9]*\)$/\1/p" ov | head -1) &&
	test -n "$page" &&
	(cd "$CORPUS" && "$WALDO" tui --no-locks --page "$page" --dump 120x60 rot-btree-page/db) > pg &&
	grep -q "type 45 (" pg &&
	grep -q "^findings on this page" pg
'

test_expect_code 64 'no PATH is a usage error' '"$WALDO" tui'
test_expect_code 64 '--view out of range is a usage error' '"$WALDO" tui --view 7 x.db'
test_expect_code 64 '--dump needs COLSxROWS' '"$WALDO" tui --dump 80 x.db'
test_expect_code 66 'a missing database cannot be read' '"$WALDO" tui --dump 80x24 no-such.db'
test_expect_success 'without a terminal and without --dump: exit 64 and say why' '
	sqlite3 t.db "CREATE TABLE t(x);" &&
	{ "$WALDO" tui t.db < /dev/null > out 2> err; test $? = 64; } &&
	grep -q "must be a terminal" err
'
test_expect_success '--help describes the command and exits 0' '
	"$WALDO" tui --help > out &&
	grep -q "^usage: waldo tui " out &&
	"$WALDO" help tui > out2 && cmp out out2
'

test_done
