# tests/e2e/lib.sh — sourced by every tests/e2e/tNNNN-area-what.sh.
#
#   test_expect_success 'what it checks' 'shell commands'
#   test_expect_code N 'what' 'commands'     (the commands' last status must be N)
#   test_done
#
# Each test runs in a subshell inside a fresh folder $TRASH; $WALDO is the
# binary under test, $TOP the source tree.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
WALDO=${WALDO:-$BUILD/waldo}
case $WALDO in /*) ;; *) WALDO=$TOP/$WALDO ;; esac
export WALDO TOP BUILD
TEST_NAME=$(basename "$0" .sh)
TRASH_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/waldo-$TEST_NAME.XXXXXX")
trap 'rm -rf "$TRASH_ROOT"' EXIT
test_count=0
test_failed=0

run_case() {  # run_case EXPECTED_STATUS DESC BODY
	test_count=$((test_count + 1))
	TRASH=$TRASH_ROOT/$test_count
	mkdir -p "$TRASH"
	out=$TRASH_ROOT/out.$test_count
	(cd "$TRASH" && eval "$3") > "$out" 2>&1
	st=$?
	if [ "$st" = "$1" ]; then
		echo "ok $test_count - $TEST_NAME: $2"
	else
		echo "not ok $test_count - $TEST_NAME: $2 (status $st, expected $1)"
		sed 's/^/#   /' "$out" | tail -40
		test_failed=$((test_failed + 1))
	fi
}

test_expect_success() { run_case 0 "$1" "$2"; }
test_expect_code() { run_case "$1" "$2" "$3"; }

test_cmp() {  # test_cmp EXPECTED ACTUAL: show a diff when they differ
	diff -u "$1" "$2"
}

test_done() {
	[ "$test_failed" = 0 ]
	exit $?
}
