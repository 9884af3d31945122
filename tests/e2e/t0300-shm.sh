#!/bin/sh
# waldo shm: the wal-index of databases the sqlite3 CLI left open, and
# hand-damaged copies of it.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || { echo "ok 1 # skip sqlite3 CLI not installed"; exit 0; }

# The fixture: the CLI copies its own database, -wal and -shm while its
# connection is open (a clean close would checkpoint and delete them).
FIX=$TRASH_ROOT/fix
mkdir -p "$FIX"
(cd "$FIX" && sqlite3 live.db >/dev/null <<'EOF'
PRAGMA journal_mode=WAL;
CREATE TABLE t(a INTEGER PRIMARY KEY, b);
INSERT INTO t VALUES (1, randomblob(3000));
INSERT INTO t VALUES (2, 'two');
UPDATE t SET b = 'one' WHERE a = 1;
.shell cp live.db c.db; cp live.db-wal c.db-wal; cp live.db-shm c.db-shm
EOF
)
FRAMES=$(( ($(wc -c < "$FIX/c.db-wal") - 32) / (4096 + 24) ))

fixture() { cp "$FIX/c.db" "$FIX/c.db-wal" "$FIX/c.db-shm" .; }
# poke OFFSET BYTE-IN-OCTAL: overwrite one byte of c.db-shm
poke() { printf "\\$2" | dd of=c.db-shm bs=1 seek="$1" conv=notrunc 2>/dev/null; }

test_expect_success 'the fixture holds committed frames' '
	test "$FRAMES" -ge 4
'
test_expect_success 'a healthy -shm: identical copies, accepted, exit 0' '
	fixture &&
	"$WALDO" shm c.db > out &&
	grep -q "^wal-index of c.db-shm (32768 bytes)" out &&
	grep -q "^header copies (identical)" out &&
	grep -q "SQLite accepts this header" out &&
	grep -Eq "^ +16  \( 64\) .* $FRAMES +$FRAMES +mxFrame$" out &&
	grep -Eq "^ +14  \( 62\) .* 4096 +4096 +szPage$" out &&
	grep -q "aCksum$" out && grep -q " ok .* ok  *aCksum" out &&
	grep -q "^wal c.db-wal: $FRAMES valid frames, last commit at frame $FRAMES" out &&
	! grep -q "^findings:" out
'
test_expect_success 'the -shm path and --shm FILE work as PATH' '
	fixture &&
	"$WALDO" shm c.db-shm > a && "$WALDO" shm c.db > b && test_cmp b a &&
	cp c.db-shm other && "$WALDO" shm --shm other > c &&
	grep -q "^wal-index of other" c &&
	grep -q "^no -wal: the index was not compared with a WAL" c
'
test_expect_success '--wal FILE names the WAL to compare with' '
	fixture && mv c.db-wal elsewhere &&
	"$WALDO" shm --wal elsewhere c.db > out &&
	grep -q "^wal elsewhere: $FRAMES valid frames" out
'
test_expect_success '--index lists each frame with the WAL page beside it' '
	fixture &&
	"$WALDO" shm --index c.db > out &&
	grep -q "^page-number array (frames 1..$FRAMES; mxFrame $FRAMES)" out &&
	test "$(grep -Ec "^ +[0-9]+ +[0-9]+ +[0-9]+$" out)" = "$FRAMES" &&
	grep -Eq "^ +1 +1 +1$" out &&
	! grep -q "differs" out
'
test_expect_success '--json: one object with the documented keys' '
	fixture &&
	"$WALDO" shm --json c.db > out &&
	test "$(wc -l < out)" = 1 &&
	for k in path file_size byte_order foreign_endian header copies_agree header_ok mxFrame \
		 nPage nBackfill nBackfillAttempted read_marks locks blocks findings status; do
		grep -q "\"$k\":" out || { echo "missing $k"; exit 1; }
	done &&
	grep -q "\"mxFrame\":$FRAMES," out &&
	grep -q "\"copies_agree\":true" out &&
	grep -q "\"header_ok\":true" out &&
	grep -q "\"locks\":\[0,0,0,0,0,0,0,0\]" out &&
	grep -q "\"blocks\":1," out &&
	grep -q "\"status\":\"ok\"" out &&
	if command -v python3 >/dev/null; then python3 -m json.tool out >/dev/null; fi
'
test_expect_success 'locks held by a live sqlite3 reader are named' '
	cp "$FIX/live.db" x.db &&
	sqlite3 x.db > out <<-EOF
	PRAGMA journal_mode=WAL;
	INSERT INTO t VALUES (3, 3);
	BEGIN;
	SELECT count(*) FROM t;
	.shell "$WALDO" shm x.db
	EOF
	grep -Eq "^ +12[4-7]  00  READ[1-4] +held by pid [0-9]+ \(sqlite3\) shared$" out &&
	grep -Eq "^ +128 +DMS +held by pid [0-9]+ \(sqlite3\) shared$" out
'
test_expect_code 1 'copies that differ: marked, SHM_HEADER_MISMATCH, exit 1' '
	fixture && poke 64 377 &&
	"$WALDO" shm c.db > out; st=$?
	grep -q "^header copies (DIFFER" out &&
	grep -Eq "^ +16  \( 64\) .* \* mxFrame$" out &&
	grep -q "^warning SHM_HEADER_MISMATCH  c.db-shm offset 16" out &&
	grep -q "SQLite rejects this header" out || exit 99
	exit $st
'
test_expect_code 1 'a bad checksum in both copies: SHM_HEADER_INVALID' '
	fixture && poke 40 0 && poke 88 0 &&
	"$WALDO" shm c.db > out; st=$?
	grep -q "^warning SHM_HEADER_INVALID  c.db-shm offset 40" out &&
	grep -q "both header copies: aCksum" out &&
	grep -q "copy 0 checksum: stored" out || exit 99
	exit $st
'
test_expect_code 2 'nBackfill past mxFrame: SHM_BACKFILL_INVALID is an error' '
	fixture && poke 99 1 &&
	"$WALDO" shm --json c.db > out; st=$?
	grep -q "\"code\":\"SHM_BACKFILL_INVALID\"" out &&
	grep -q "\"offset\":96" out &&
	grep -q "WAL-reset race" out &&
	grep -q "\"status\":\"error\"" out || exit 99
	exit $st
'
test_expect_code 1 'a WAL shorter than mxFrame: SHM_STALE' '
	fixture && head -c $((32 + 4120)) "$FIX/c.db-wal" > c.db-wal &&
	"$WALDO" shm c.db > out; st=$?
	grep -q "^warning SHM_STALE  c.db-shm offset 16" out &&
	grep -q "mxFrame $FRAMES but the WAL holds only 1 valid frame (" out || exit 99
	exit $st
'
test_expect_code 1 'a damaged page-number entry: SHM_INDEX_MISMATCH' '
	fixture && poke 140 77 &&
	"$WALDO" shm --index c.db > out; st=$?
	grep -q "^warning SHM_INDEX_MISMATCH  c.db-shm offset 140 frame 2" out &&
	grep -Eq "^ +2 +[0-9]+ +[0-9]+  differs from the WAL$" out || exit 99
	exit $st
'
test_expect_success 'a 3-byte -shm (what SQLite leaves) is info only' '
	fixture && head -c 3 "$FIX/c.db-shm" > c.db-shm &&
	"$WALDO" shm c.db > out &&
	grep -q "no header: the file is shorter than 136 bytes" out &&
	grep -q "^info    SHM_TRUNCATED  c.db-shm offset 3" out &&
	"$WALDO" shm --json c.db > j &&
	grep -q "\"header\":null" j && grep -q "\"status\":\"ok\"" j
'
test_expect_code 66 'a missing database names the file' '
	"$WALDO" shm nothere.db 2> err; st=$?
	grep -q "nothere.db" err || exit 99
	exit $st
'
test_expect_code 66 'a database without -shm names the -shm it looked for' '
	cp "$FIX/c.db" c.db &&
	"$WALDO" shm c.db 2> err; st=$?
	grep -q "c.db-shm" err || exit 99
	exit $st
'
test_expect_code 64 'no PATH is a usage error' '
	"$WALDO" shm
'
test_expect_code 64 '--wal without FILE is a usage error' '
	"$WALDO" shm --wal
'
test_expect_success 'the inputs are not modified' '
	fixture && sum1=$(cat c.db c.db-wal c.db-shm | cksum) &&
	"$WALDO" shm --index c.db > /dev/null && "$WALDO" shm --json c.db > /dev/null &&
	test "$(cat c.db c.db-wal c.db-shm | cksum)" = "$sum1"
'
test_done
