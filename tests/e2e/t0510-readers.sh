#!/bin/sh
# Live readers: real sqlite3 processes hold read transactions open while
# other processes write; `waldo readers` and `waldo inspect` must name them.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || { echo "ok 1 - $TEST_NAME: # skip (no sqlite3 CLI)"; exit 0; }
command -v mkfifo >/dev/null || { echo "ok 1 - $TEST_NAME: # skip (no mkfifo)"; exit 0; }
[ -r /proc/locks ] || { echo "ok 1 - $TEST_NAME: # skip (no /proc/locks)"; exit 0; }

# start_reader NAME FD: a background sqlite3 reading its commands from a
# FIFO that the test keeps open on FD; sets $pid_NAME.  It commits one row
# (autocheckpoint off, so frames stay in the WAL), opens a read transaction
# and touches NAME.ready once the SELECT has run, i.e. once it holds its
# read lock.  The caller kills it (trap).
start_reader() {
	mkfifo "$1.fifo"
	sqlite3 r.db < "$1.fifo" > "$1.out" 2>&1 &
	eval "pid_$1=\$!"
	eval "exec $2>$1.fifo"
	printf '%s\n' "PRAGMA wal_autocheckpoint=0;" "INSERT INTO t VALUES('$1');" \
		"BEGIN;" "SELECT count(*) FROM t;" ".shell touch $1.ready" >&"$2"
	i=0
	while [ ! -f "$1.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -f "$1.ready" ]
}
# write_rows N: another process commits N rows and leaves (not the last
# connection, so it neither checkpoints nor deletes the WAL).
write_rows() {
	sqlite3 r.db "PRAGMA wal_autocheckpoint=0; WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<$1) INSERT INTO t SELECT 'w' || i FROM s;" > /dev/null
}
setup_db() {
	sqlite3 r.db "PRAGMA journal_mode=WAL; CREATE TABLE t(x);" > /dev/null
}
# slot_of PID: the READ slot line of `waldo readers` that names PID
slot_of() {
	"$WALDO" readers r.db | grep "^  READ[0-4] .* $1 (sqlite3) shared"
}

test_expect_success 'readers names two live readers, their slots, marks and what they pin' '
	trap "kill \$pid_a \$pid_b 2>/dev/null; exec 3>&- 4>&-" EXIT
	setup_db &&
	start_reader a 3 &&
	write_rows 300 &&
	start_reader b 4 &&
	write_rows 300 &&
	{ "$WALDO" readers r.db > out; test $? = 1; } &&
	cat out &&
	grep -q "$pid_a (sqlite3)" out &&
	grep -q "$pid_b (sqlite3)" out &&
	line_a=$(slot_of $pid_a) && line_b=$(slot_of $pid_b) &&
	slot_a=$(echo "$line_a" | awk "{print \$1}") && slot_b=$(echo "$line_b" | awk "{print \$1}") &&
	test "$slot_a" != "$slot_b" &&
	mark_a=$(echo "$line_a" | awk "{print \$2}") && mark_b=$(echo "$line_b" | awk "{print \$2}") &&
	test "$mark_a" -lt "$mark_b" &&
	mx=$(sed -n "s/^shm .*: mxFrame \([0-9]*\),.*/\1/p" out) &&
	test "$mark_b" -lt "$mx" &&
	echo "$line_a" | grep -q " $((mx - mark_a)) frames$" &&
	echo "$line_b" | grep -q " $((mx - mark_b)) frames$" &&
	grep -q "checkpoint: mxSafeFrame $mark_a; a checkpoint now could copy $mark_a frames*; readers hold back $((mx - mark_a)) frames" out &&
	grep -q "^  DMS .*$pid_a (sqlite3) shared" out &&
	grep -q "^  database .*$pid_a (sqlite3) shared SHARED" out &&
	grep -q "DB_IN_USE" out &&
	{ "$WALDO" readers --json r.db > json; test $? = 1; } &&
	grep -q "\"pid\":$pid_a," json &&
	grep -q "\"slot\":\"$slot_a\",\"byte\":[0-9]*,\"mark\":$mark_a,\"holders\":\[{\"pid\":$pid_a,\"comm\":\"sqlite3\",\"mode\":\"shared\"}\]" json &&
	grep -q "\"status\":\"in-use\"" json
'

test_expect_success 'a passive checkpoint stops at the oldest reader, as readers predicted' '
	trap "kill \$pid_a 2>/dev/null; exec 3>&-" EXIT
	setup_db &&
	start_reader a 3 &&
	write_rows 200 &&
	mark_a=$(slot_of $pid_a | awk "{print \$2}") &&
	sqlite3 r.db "PRAGMA wal_checkpoint(PASSIVE);" > /dev/null &&
	{ "$WALDO" readers r.db > out; test $? = 1; } &&
	cat out &&
	grep -q "nBackfill $mark_a," out &&
	grep -q "a checkpoint now could copy 0 frames" out
'

test_expect_success 'inspect reports DB_IN_USE naming the reader' '
	trap "kill \$pid_a 2>/dev/null; exec 3>&-" EXIT
	setup_db && start_reader a 3 && write_rows 50 || exit 1
	"$WALDO" inspect --no-sqlite r.db > out; st=$?
	cat out &&
	test $st -ge 1 &&
	grep -q "DB_IN_USE" out &&
	grep -q "$pid_a (sqlite3)" out
'

test_expect_success 'when the readers are gone, nobody holds a lock: exit 0' '
	setup_db && start_reader a 3 || exit 1
	exec 3>&-
	kill $pid_a 2>/dev/null
	wait $pid_a 2>/dev/null
	"$WALDO" readers r.db > out &&
	grep -q "^processes: none" out &&
	grep -q "^status: idle" out
'
test_done
