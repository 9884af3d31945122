#!/bin/sh
# tests/run.sh — the whole suite: unit tests, then every tests/e2e/t*.sh.
# Every runner prints "ok N - name" / "not ok N - name"; this script counts
# them and ends with the line "N passed, N failed".
BUILD=${BUILD:-build}
export BUILD
WALDO=${WALDO:-$BUILD/waldo}
export WALDO
log=$(mktemp "${TMPDIR:-/tmp}/waldo-run.XXXXXX")
trap 'rm -f "$log"' EXIT

run() {  # run NAME CMD...: a runner that exits non-zero without a "not ok" line still fails
	name=$1; shift
	before=$(grep -c '^not ok ' "$log")
	"$@" 2>&1 | tee -a "$log"
	# POSIX sh has no PIPESTATUS: ask the runner's status file instead
	status=$(cat "$log.status" 2>/dev/null || echo 0)
	rm -f "$log.status"
	after=$(grep -c '^not ok ' "$log")
	if [ "$status" != 0 ] && [ "$before" = "$after" ]; then
		echo "not ok - $name exited with status $status" | tee -a "$log"
	fi
}
status_of() { "$@"; echo $? > "$log.status"; }

echo "# unit tests"
run unit status_of "$BUILD/tests/unit"
for t in tests/e2e/t*.sh; do
	[ -f "$t" ] || continue
	echo "# $t"
	run "$t" status_of sh "$t"
done
pass=$(grep -c '^ok ' "$log")
fail=$(grep -c '^not ok ' "$log")
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
