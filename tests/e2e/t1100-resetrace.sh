#!/bin/sh
# The WAL-reset race: every snapshot of the corpus' real reproduction
# (corpus/scen_race.c) is reported as WAL_RESET_RACE by the right rule,
# naming exactly the frames and pages whose updates the generator saw a
# live connection lose; the control runs and every other corpus case are
# not; `waldo extract --race` gives the lost updates back.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" > /dev/null || { echo "not ok - corpus generation failed"; exit 1; }
export CORPUS

# check_case CASE RULE: inspect's WAL_RESET_RACE findings against lost-updates.txt
check_case() {
	"$WALDO" inspect --json --no-locks "$CORPUS/$1/db" > out.json
	st=$?
	[ $st = 2 ] || { echo "exit $st"; return 1; }
	python3 - "$CORPUS/$1/lost-updates.txt" "$2" <<-'EOF'
	import json, sys
	out = json.load(open("out.json"))
	lost = sorted((int(l.split()[2]), int(l.split()[3])) for l in open(sys.argv[1])
	              if l.strip() and not l.startswith("#"))
	rule = sys.argv[2]
	race = [f for f in out["findings"] if f["code"] == "WAL_RESET_RACE"]
	named = sorted((f["frame"], f["page"]) for f in race if f["page"] is not None)
	rules = [f["message"].split(":")[0] for f in race if f["page"] is None]
	bad = []
	if named != lost:
	    bad.append("waldo names %s, the driver lost %s" % (named, lost))
	if rules != ["rule " + rule]:
	    bad.append("summaries %s, expected rule %s" % (rules, rule))
	for f in race:
	    if f["page"] is not None and "(rule %s)" % rule not in f["message"]:
	        bad.append("page finding without its rule: " + f["message"])
	    if f["severity"] != "error":
	        bad.append("severity " + f["severity"])
	if not lost and rule != "counters":
	    bad.append("a race case with nothing lost")
	print("\n".join(bad) if bad else "%d lost updates named" % len(lost))
	sys.exit(1 if bad else 0)
	EOF
}

test_expect_success 'right after the race: rule counters (nothing lost yet)' '
	check_case race-after-ckpt counters &&
	[ $(grep -vc "^#" "$CORPUS/race-after-ckpt/lost-updates.txt") = 0 ] &&
	grep -q "frames 3-40 of later commits hidden" out.json
'
test_expect_success 'commits inside the hidden frames: rule counters names them' '
	check_case race-hidden counters
'
test_expect_success 'mxFrame caught up with nBackfill: rule hidden-frames' '
	check_case race-caught-up hidden-frames
'
test_expect_success 'past nBackfill, half a transaction hidden: rule hidden-frames' '
	check_case race-window hidden-frames &&
	grep -q "frame 40 ends no transaction" out.json
'
test_expect_success 'after the WAL wrapped: rule wrapped' '
	check_case race-wrapped wrapped
'
test_expect_success 'a WAL of more than 4062 frames: the stale hash block, rule counters' '
	check_case race-big counters &&
	[ $(grep -vc "^#" "$CORPUS/race-big/lost-updates.txt") = 2 ]
'
test_expect_success 'M = N, the database grew: pages past the file, rule hidden-frames' '
	check_case race-same-size hidden-frames &&
	grep -q "which ends before it" out.json
'
test_expect_success 'the control runs report nothing and lose nothing' '
	for c in race-control-window race-control-wrapped; do
		[ $(grep -vc "^#" "$CORPUS/$c/lost-updates.txt") = 0 ] || exit 1
		"$WALDO" inspect --json --no-locks "$CORPUS/$c/db" > out.json; st=$?
		[ $st = 0 ] || { echo "$c: exit $st"; exit 1; }
		! grep -q WAL_RESET_RACE out.json || { echo "$c"; exit 1; }
	done
'
test_expect_success 'no other corpus case is called the race' '
	for d in "$CORPUS"/*/; do
		c=$(basename "$d")
		case $c in race-control-*) ;; race-*) continue ;; esac
		"$WALDO" inspect --json --no-locks --no-sqlite "$d/db" > out.json
		! grep -q "\"WAL_RESET_RACE\"" out.json || { echo "false positive: $c"; exit 1; }
	done
'
test_expect_success 'the text report states the rule and the qualifying checks' '
	"$WALDO" inspect --no-locks "$CORPUS/race-hidden/db" > out; [ $? = 2 ] &&
	grep -q "^error   WAL_RESET_RACE  .*db-shm offset 96$" out &&
	grep -q "rule counters: nBackfill 40 = nBackfillAttempted > mxFrame 22 (intact -shm, salts match the WAL)" out &&
	grep -q "^error   WAL_RESET_RACE  .*db-wal offset 2152 frame 3 page 5$" out &&
	grep -q "SHM_BACKFILL_INVALID" out
'
test_expect_success 'extract --race gives every lost update back' '
	for c in race-hidden race-caught-up race-window race-wrapped race-big race-same-size; do
		rm -f "$c.db"
		"$WALDO" extract "$CORPUS/$c/db" -o "$c.db" --race > out; st=$?
		[ $st -le 1 ] || { echo "$c: exit $st"; cat out; exit 1; }
		grep -v "^#" "$CORPUS/$c/lost-updates.txt" | while read -r row value frame page; do
			got=$(sqlite3 "$c.db" "SELECT v FROM t WHERE id = $row")
			[ "$got" = "$value" ] || { echo "$c row $row: $got, lost $value"; exit 1; }
		done || exit 1
		[ "$(sqlite3 "$c.db" "PRAGMA integrity_check")" = ok ] || exit 1
	done
'
test_expect_success 'after the wrap only --race has them; it equals the control run' '
	"$WALDO" extract "$CORPUS/race-wrapped/db" -o plain.db > /dev/null &&
	[ "$(sqlite3 plain.db "SELECT v FROM t WHERE id = 3")" = r0003-v000000 ] &&
	"$WALDO" extract "$CORPUS/race-wrapped/db" -o race.db --race --json > out.json; [ $? = 1 ] &&
	grep -q "\"race_pages\":38" out.json &&
	grep -q "\"code\":\"WAL_RESET_RACE\",\"severity\":\"warning\"" out.json &&
	"$WALDO" extract "$CORPUS/race-control-wrapped/db" -o control.db > /dev/null &&
	sqlite3 race.db "SELECT id, v FROM t ORDER BY id" > race.txt &&
	sqlite3 control.db "SELECT id, v FROM t ORDER BY id" > control.txt &&
	test_cmp control.txt race.txt
'
test_expect_success 'before the wrap a plain extract already has them (SQLite without the -shm too)' '
	"$WALDO" extract "$CORPUS/race-window/db" -o w.db > /dev/null &&
	"$WALDO" extract "$CORPUS/race-control-window/db" -o c.db > /dev/null &&
	sqlite3 w.db "SELECT id, v FROM t ORDER BY id" > w.txt &&
	sqlite3 c.db "SELECT id, v FROM t ORDER BY id" > c.txt &&
	test_cmp c.txt w.txt
'
test_expect_code 64 'extract --race takes no --commit' '
	"$WALDO" extract "$CORPUS/race-window/db" -o x.db --race --commit 3
'
test_expect_success 'waldo findings documents WAL_RESET_RACE' '
	"$WALDO" findings > out && grep -q WAL_RESET_RACE out
'
test_done
