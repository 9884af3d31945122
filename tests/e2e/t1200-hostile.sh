#!/bin/sh
# The hostile inputs of ../shared/HOSTILE.md (W1..W19, S1..S12, D1..D20,
# A1..A12, E1..E12): tests/hostile/gen.py builds each case from files real
# libsqlite3 wrote plus one targeted piece of damage; tests/hostile/run.py
# runs every read-only command over each case under a time bound and a
# memory cap and checks the universal oracle (defined exit status, no
# signal, no sanitizer report, valid JSON, escaped names, the expected
# findings with file and offset, inputs byte-identical afterwards).  With
# an ASan build (BUILD=build/asan) the same runs are checked for reports.
# HOSTILE_LONG=1 adds the slow cases (a 1 GiB database, 10^6 frames);
# HOSTILE_ARGS passes options to run.py (`make valgrind` uses --sample).
. "$(dirname "$0")/lib.sh"

CASES=$TRASH_ROOT/cases
if ! python3 "$TOP/tests/hostile/gen.py" "$CASES" ${HOSTILE_LONG:+--long} > "$TRASH_ROOT/gen.log" 2>&1; then
	echo "not ok 1 - hostile: generating the cases failed"
	sed 's/^/#   /' "$TRASH_ROOT/gen.log"
	exit 1
fi
# shellcheck disable=SC2086
python3 "$TOP/tests/hostile/run.py" --waldo "$WALDO" --cases "$CASES" --jobs 2 ${HOSTILE_LONG:+--long} \
	${HOSTILE_ARGS:-}
