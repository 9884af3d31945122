#!/bin/sh
# waldo tui driven in tmux, as a person would drive it: a detached session of
# a fixed size (80x24 or 120x40) with TERM, LANG, NO_COLOR and TZ pinned,
# keys sent with send-keys, the screen read back with capture-pane.  Under
# NO_COLOR the selected row is drawn in reverse video, so `capture-pane -e`
# shows where the cursor is.  Every wait polls with a bound; the tmux server
# (a private socket) is killed when the script exits.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux > /dev/null 2>&1; then
	if [ -n "${CI:-}" ]; then
		echo "not ok 1 - $TEST_NAME: tmux is not installed (.ci/run installs it)"
		exit 1
	fi
	echo "ok 1 - $TEST_NAME: # skip (no tmux; .ci/run installs it)"
	exit 0
fi

unset TMUX                     # never talk to the tmux server of whoever runs the tests
SOCK=waldo-$TEST_NAME-$$
TM="tmux -L $SOCK -f /dev/null"
ESC=$(printf '\033')
export TM ESC
# On exit: end what runs in the panes (by PID), then the server.
cleanup() {
	for pid in $($TM list-panes -a -F "#{pane_pid}" 2> /dev/null); do
		for child in $(pgrep -P "$pid"); do kill "$child" 2> /dev/null; done
	done
	$TM kill-server > /dev/null 2>&1
	rm -rf "$TRASH_ROOT"
}
trap cleanup EXIT
# One idle session keeps the server up: a server that exits with its last
# session races the next new-session ("server exited unexpectedly").
$TM new-session -d -s keeper cat || { echo "not ok 1 - $TEST_NAME: tmux cannot start"; exit 1; }

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" --only demo,rot-frame-data,mismatch-shm-copies > /dev/null || {
	echo "not ok 1 - $TEST_NAME: corpus-gen failed"
	exit 1
}
export CORPUS

# tui NAME COLS ROWS ARGS...: `waldo tui ARGS` in session NAME, run in the
# corpus folder (so paths on screen are short); its exit status goes to NAME.rc.
# NO_COLOR is set unless COLOR is.
tui() {
	name=$1 cols=$2 rows=$3
	shift 3
	echo "$rows" > "$name.rows"
	cat > "$name.sh" <<EOF
#!/bin/sh
export TERM=xterm-256color LANG=C.UTF-8 NO_COLOR=1 TZ=UTC
${COLOR:+unset NO_COLOR}
cd "$CORPUS" || exit 1
"$WALDO" tui "\$@"
echo \$? > "$PWD/$name.rc"
EOF
	$TM new-session -d -s "$name" -x "$cols" -y "$rows" sh "$PWD/$name.sh" "$@"
}
screen() { $TM capture-pane -p -t "$1"; }
keys() { n=$1; shift; $TM send-keys -t "$n" "$@"; }
type_text() { $TM send-keys -t "$1" -l "$2"; }
# the body row drawn in reverse video: the cursor (escapes removed)
cursor() {
	rows=$(cat "$1.rows")
	$TM capture-pane -p -e -t "$1" | sed -n "2,$((rows - 1))p" | grep -E "$ESC\[([0-9]+;)*7(;[0-9]+)*m" | head -1 |
		sed "s/$ESC\[[0-9;]*m//g"
}
status_line() { screen "$1" | sed -n "$(cat "$1.rows")p"; }
show() { echo "# screen of $1:"; screen "$1" | sed 's/^/# | /'; }
# Polls every 0.1 s, 5 s at most (TUI_POLLS=50; `make valgrind` sets more).
POLLS=${TUI_POLLS:-50}
# wait_for NAME TEXT: poll until the screen shows TEXT
wait_for() {
	i=0
	while [ $i -lt "$POLLS" ]; do
		screen "$1" | grep -qF -- "$2" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# timed out waiting for '$2'"
	show "$1"
	return 1
}
# wait_re NAME ERE: poll until a screen line matches ERE
wait_re() {
	i=0
	while [ $i -lt "$POLLS" ]; do
		screen "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# timed out waiting for /$2/"
	show "$1"
	return 1
}
# wait_cursor NAME ERE: poll until the cursor row matches ERE
wait_cursor() {
	i=0
	while [ $i -lt "$POLLS" ]; do
		cursor "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# timed out waiting for the cursor on /$2/; it is on: $(cursor "$1")"
	show "$1"
	return 1
}
# wait_status NAME ERE: poll until the status line matches ERE
wait_status() {
	i=0
	while [ $i -lt "$POLLS" ]; do
		status_line "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# timed out waiting for the status line /$2/; it is: $(status_line "$1")"
	return 1
}
# wait_exit NAME STATUS: the program ended with STATUS
wait_exit() {
	i=0
	while [ ! -s "$1.rc" ] && [ $i -lt "$POLLS" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	test -s "$1.rc" || { echo "# $1 did not exit"; show "$1"; return 1; }
	test "$(cat "$1.rc")" = "$2" || { echo "# $1 exited with $(cat "$1.rc"), expected $2"; return 1; }
}

test_expect_success 'overview: findings and repair commands; Enter follows a finding; q walks back and exits 0' '
	tui ov 80 24 demo/db &&
	wait_for ov "findings (2)  Enter: go to the frame, page or file a finding names" &&
	wait_for ov "info     WAL_UNCOMMITTED_TAIL  wal offset 98912 frame 25" &&
	screen ov | grep -q "^status    warning: 2 findings (0 errors, 1 warning, 1 info)$" &&
	screen ov | grep -q "^ waldo  1:overview  2:wal  3:page  4:history  5:shm  6:readers  *warning$" &&
	wait_cursor ov "WAL_UNCOMMITTED_TAIL" &&
	keys ov Enter &&
	wait_for ov "demo/db-wal: 41 frames (41 valid), 6 commits, 4096-byte pages; end: eof" &&
	wait_cursor ov "^ +25 +18 +[0-9a-f]{8} [0-9a-f]{8}  uncommitted +-$" &&
	keys ov Enter &&
	wait_for ov "page 18  frame 25 (uncommitted)" &&
	keys ov q &&
	wait_cursor ov "^ +25 +18 " &&
	keys ov q &&
	wait_for ov "findings (2)" &&
	keys ov G &&
	wait_for ov "  waldo repair --only wal-tail demo/db" &&
	keys ov q &&
	wait_exit ov 0
'

test_expect_success 'WAL view: frame rows, statuses and markers; j/k, PgDn, g and G' '
	tui wal 80 24 --view 2 demo/db &&
	wait_for wal "   frame      page    commit  salt-1   salt-2    status        txn" &&
	screen wal | grep -Eq "^       3         6        14  [0-9a-f]{8} [0-9a-f]{8}  valid           1$" &&
	screen wal | grep -Eq "^      12        17        17  [0-9a-f]{8} [0-9a-f]{8}  valid           2$" &&
	wait_cursor wal "^  -- nBackfill 0: no frame checkpointed yet --$" &&
	wait_status wal " 1/46 " &&
	keys wal j j j && wait_cursor wal "^       3         6        14 " &&
	keys wal k && wait_cursor wal "^       2         3 " &&
	keys wal Down && wait_cursor wal "^       3 " &&
	keys wal PgDn && wait_status wal " 23/46 " && wait_cursor wal "^      22         2 " &&
	keys wal j j j && wait_cursor wal "^  -- mxFrame 24: last commit \(17 pages\); SQLite reads frames 1..24 --$" &&
	keys wal j && wait_cursor wal "^  -- aReadMark\[1\] = 24 --$" &&
	keys wal G && wait_status wal " 46/46 " &&
	wait_cursor wal "^  -- 1389-byte partial frame after frame 41 \(torn write\) --$" &&
	screen wal | grep -q "^  -- valid end: every frame is valid --$" &&
	screen wal | grep -Eq "^      41        34            [0-9a-f]{8} [0-9a-f]{8}  uncommitted     -$" &&
	keys wal g && wait_status wal " 1/46 " &&
	keys wal Q && wait_exit wal 0
'

test_expect_success 'WAL view of a damaged WAL: the checksum break and what follows it' '
	tui rot 80 24 --view 2 rot-frame-data/db &&
	wait_for rot "  -- valid end: checksum break at frame 10; SQLite reads nothing after --" &&
	screen rot | grep -Eq "^      10  +[0-9]+ .* break +-$" &&
	screen rot | grep -Eq "^      11  +[0-9]+ .* after-break +-$" &&
	keys rot 1 && wait_for rot "WAL_CHECKSUM_MISMATCH" &&
	keys rot Q && wait_exit rot 0
'

test_expect_success 'search with / n N, and : goes to a frame or a page' '
	tui s 80 24 --view 2 demo/db &&
	wait_for s "   frame      page" &&
	keys s / && wait_status s "^/_" &&
	type_text s uncommitted && keys s Enter &&
	wait_cursor s "^ +25 +18 .* uncommitted" && wait_status s "^/uncommitted" &&
	keys s n && wait_cursor s "^ +26 +19 .* uncommitted" &&
	keys s N && wait_cursor s "^ +25 +18 " &&
	keys s N && wait_cursor s "^ +41 +34 " && wait_status s "search wrapped: /uncommitted" &&
	keys s : && type_text s 30 && keys s Enter && wait_cursor s "^ +30 +23 " &&
	keys s : && type_text s f3 && keys s Enter && wait_cursor s "^       3         6 " &&
	keys s / && type_text s no-such-text && keys s Enter && wait_status s "not found: no-such-text" &&
	keys s : && type_text s f99 && keys s Enter && wait_status s "no frame 99: the WAL holds 41 whole frames" &&
	keys s : && type_text s p6 && keys s Enter && wait_for s "page 6  frame 24 (committed, txn 6)  SQLite reads this version" &&
	keys s q && wait_cursor s "^       3 " &&
	keys s Q && wait_exit s 0
'

test_expect_success 'help lists every action of tui/actions.def' '
	tui h 120 40 demo/db &&
	wait_for h "findings (2)" &&
	keys h ? && wait_for h "waldo tui: keys (q, Esc or ? closes this help; j/k scroll)" &&
	sed -n "s/^A([A-Z_0-9]*, *\"[^\"]*\", *\"\([^\"]*\)\", *\"\(.*\)\")$/\1|\2/p" "$TOP/tui/actions.def" > actions &&
	test $(wc -l < actions) -ge 25 &&
	screen h > help &&
	while IFS="|" read -r k text; do
		grep -qF -- "$text" help || { echo "# help lacks: $text"; exit 1; }
		first=${k%% *}
		grep -qF -- "  $first" help || { echo "# help lacks key $first"; exit 1; }
	done < actions &&
	keys h q && wait_for h "findings (2)" &&
	keys h q && wait_exit h 0
'

test_expect_success 'resizing the terminal redraws every view at the new size' '
	tui rs 80 24 demo/db &&
	wait_for rs "findings (2)" &&
	test "$(screen rs | sed -n 24p | grep -c "?:help  q:back")" = 1 &&
	screen rs | grep -q "^          commit frame 24 (17 pages), 17 uncommitted, 1389-byte partial frame$" &&
	$TM resize-window -t rs -x 120 -y 40 && echo 40 > rs.rows &&
	wait_status rs "\?:help  q:back$" &&
	screen rs | grep -q "^wal       demo/db-wal: 170341 bytes, 41 frames (41 valid), 6 commits, last commit frame 24 (17 pages), 17 uncommitted,$" &&
	keys rs 3 && wait_for rs "0000  53 51 4c 69 74 65 20 66  6f 72 6d 61 74 20 33 00  SQLite format 3" &&
	$TM resize-window -t rs -x 80 -y 24 && echo 24 > rs.rows &&
	wait_for rs "0000  53 51 4c 69 74 65 20 66  SQLite f" &&
	wait_status rs "\?:help  q:back$" &&
	keys rs Q && wait_exit rs 0
'

test_expect_success 'page view: versions with [ and ], links followed with Enter, the field highlighted in hex' '
	tui p 80 24 --page 2 demo/db &&
	wait_for p "page 2  frame 22 (committed, txn 6)  SQLite reads this version" &&
	wait_for p "version 7/7 [ ]" &&
	wait_re p "^role     b-tree leaf page of table  *\|" && wait_re p "^        .items. \(root 2\)  *\|" &&
	keys p [ && wait_for p "page 2  frame 19 (committed, txn 5)" && wait_for p "version 6/7" &&
	keys p [ [ [ [ [ && wait_for p "page 2  database file  (SQLite reads a WAL frame)" &&
	keys p [ && wait_status p "this is the oldest version \(1/7\)" &&
	keys p ] && wait_for p "page 2  frame 1 (committed, txn 1)" &&
	keys p : && type_text p 4 && keys p Enter &&
	wait_for p "role     b-tree interior page of table" && wait_re p "^        .docs. \(root 4\)  *\|" &&
	keys p / && type_text p "child 13" && keys p Enter && wait_cursor p "^cell 0 @[0-9]+ child 13 rowid" &&
	keys p Enter && wait_for p "page 13  " &&
	keys p / && type_text p "overflow ->" && keys p Enter && wait_cursor p "^  overflow -> page 7 " &&
	keys p Enter && wait_for p "page 7  " && wait_for p "    0  next overflow page 8" &&
	keys p / && type_text p "next overflow" && keys p Enter &&
	{ i=0; until $TM capture-pane -p -e -t p | grep "0000  " |
		grep -Eq "$ESC\[([0-9]+;)*7m($ESC\[[0-9;]*m)*00 00 00 08" || [ $i -ge "$POLLS" ]; do
		sleep 0.1; i=$((i + 1)); done; [ $i -lt "$POLLS" ]; } &&
	keys p q && wait_for p "page 13  " &&
	keys p q && wait_for p "page 4  " &&
	keys p Q && wait_exit p 0
'

test_expect_success 'history view: every version of a page and a byte diff of two' '
	tui hi 80 24 --view 4 --page 2 demo/db &&
	wait_for hi "page 2: 7 versions  (m: diff base, Enter: open, J/K: scroll the diff)" &&
	screen hi | grep -Eq "^  database file  -           txn -    [0-9a-f]{8}  leaf table$" &&
	screen hi | grep -Eq "^B frame 22       valid       txn 6    [0-9a-f]{8}  leaf table      <- SQLite reads$" &&
	screen hi | grep -Eq "^A frame 19       valid       txn 5 " &&
	wait_for hi "A frame 19 -> B frame 22: " &&
	screen hi | grep -Eq "^A 0000  0d [0-9a-f ]+  B 0000  0d " &&
	keys hi k && wait_for hi "A frame 16 -> B frame 19: " &&
	keys hi m && keys hi g && wait_for hi "A frame 19 -> B database file: " &&
	keys hi j && wait_for hi "A frame 19 -> B frame 1: " &&
	keys hi Enter && wait_for hi "page 2  frame 1 (committed, txn 1)" &&
	keys hi Q && wait_exit hi 0
'

test_expect_success 'the -shm view: header copies side by side, differences marked; Enter opens a frame' '
	tui sh 80 24 --view 5 mismatch-shm-copies/db &&
	wait_for sh "header copies DIFFER (* marks the fields); SQLite rejects this header" &&
	screen sh | grep -Eq "^\*   8  iChange      [0-9]+ +[0-9]+$" &&
	screen sh | grep -Eq "^\*  16  mxFrame      18 +21$" &&
	screen sh | grep -Eq "^    0  iVersion     3007000 +3007000$" &&
	keys sh : && type_text sh 5 && keys sh Enter && wait_cursor sh "^ +5 +[0-9]+ +[0-9]+ *$" &&
	keys sh Enter && wait_cursor sh "^       5 " &&
	keys sh Q && wait_exit sh 0
'

test_expect_success 'readers view names live readers and refreshes every second' '
	command -v sqlite3 > /dev/null && command -v mkfifo > /dev/null && [ -r /proc/locks ] || exit 0
	sqlite3 "$CORPUS/r.db" "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES(1);" > /dev/null &&
	mkfifo a.fifo &&
	{ sqlite3 "$CORPUS/r.db" < a.fifo > a.out 2>&1 & pid=$!; } &&
	trap "kill $pid 2>/dev/null; exec 3>&-" EXIT &&
	exec 3> a.fifo &&
	tui rd 80 24 --view 6 r.db &&
	wait_for rd "processes  none hold a lock" &&
	printf "%s\n" "PRAGMA wal_autocheckpoint=0;" "INSERT INTO t VALUES(2);" "BEGIN;" "SELECT count(*) FROM t;" >&3 &&
	wait_for rd "pid $pid (sqlite3) shared" &&
	screen rd | grep -Eq "^READ[1-4] +[0-9]+ +pid $pid \(sqlite3\) shared$" &&
	screen rd | grep -q "^processes  $pid (sqlite3)$" &&
	sqlite3 "$CORPUS/r.db" "PRAGMA wal_autocheckpoint=0; INSERT INTO t VALUES(3);" &&
	wait_for rd "WAL growth: " &&
	i=0; while ! screen rd | grep -Eq "WAL growth: [0-9]+ bytes now, \+[1-9][0-9]* bytes" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done &&
	screen rd | grep -Eq "WAL growth: [0-9]+ bytes now, \+[1-9][0-9]* bytes" &&
	printf "%s\n" "COMMIT;" ".quit" >&3 && exec 3>&- &&
	wait_for rd "processes  none hold a lock" &&
	keys rd q && wait_exit rd 0
'

test_expect_success 'colours only without NO_COLOR and --no-color; monochrome keeps bold and reverse' '
	COLOR=1 tui c1 80 24 --view 2 demo/db && wait_for c1 "   frame      page" &&
	$TM capture-pane -p -e -t c1 > colour &&
	grep -Eq "$ESC\[([0-9]+;)*3[0-7](;[0-9]+)*m" colour &&
	COLOR=1 tui c2 80 24 --no-color --view 2 demo/db && wait_for c2 "   frame      page" &&
	tui c3 80 24 --view 2 demo/db && wait_for c3 "   frame      page" &&
	for s in c2 c3; do
		$TM capture-pane -p -e -t $s > mono &&
		! grep -Eq "$ESC\[([0-9]+;)*3[0-7](;[0-9]+)*m" mono &&
		grep -Eq "$ESC\[([0-9]+;)*1(;[0-9]+)*m" mono &&
		grep -Eq "$ESC\[([0-9]+;)*7(;[0-9]+)*m" mono || exit 1
	done &&
	for s in c1 c2 c3; do keys $s Q && wait_exit $s 0 || exit 1; done
'

test_expect_success 'the TUI never writes its inputs, not even for reload or integrity_check' '
	ls -la --time-style=+%s.%N "$CORPUS/demo" > before &&
	sha256sum "$CORPUS"/demo/* > sums &&
	tui ro 80 24 demo/db &&
	wait_for ro "findings (2)" &&
	keys ro I && wait_for ro "integrity_check ok" && wait_status ro "reloaded; integrity_check: ok" &&
	keys ro r && wait_status ro "^reloaded$" &&
	keys ro 2 G Enter 3 [ ] 4 m j 5 G Enter 6 1 &&
	keys ro Q && wait_exit ro 0 &&
	sha256sum -c --quiet sums &&
	ls -la --time-style=+%s.%N "$CORPUS/demo" > after &&
	test_cmp before after
'

test_done
