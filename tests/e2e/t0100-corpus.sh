#!/bin/sh
# The corpus generator: every case reproducible from its seed, and every
# case's files agree with its expected.json under libsqlite3 and wal_walk.
# The --check lines ("ok N - corpus: CASE") are forwarded, so tests/run.sh
# counts one result per case.
. "$(dirname "$0")/lib.sh"
GEN=$BUILD/corpus-gen
export GEN

test_expect_success 'the same seed makes byte-identical corpora' '
	"$GEN" --seed 7 --out a > /dev/null &&
	"$GEN" --seed 7 --out b > /dev/null &&
	diff -r a b
'
test_expect_success 'another seed makes other bytes and other content' '
	"$GEN" --seed 7 --out a --only demo,healthy-restarted,healthy-no-wal > /dev/null &&
	"$GEN" --seed 8 --out b --only demo,healthy-restarted,healthy-no-wal > /dev/null &&
	for c in demo healthy-restarted healthy-no-wal; do
		! cmp -s a/$c/db b/$c/db || exit 1
		grep -A4 "\"sqlite\"" a/$c/expected.json | grep content_sha256 > ha &&
		grep -A4 "\"sqlite\"" b/$c/expected.json | grep content_sha256 > hb &&
		! cmp -s ha hb || exit 1
	done &&
	! cmp -s a/demo/db-wal b/demo/db-wal
'
test_expect_success '--only makes the same bytes as a full run' '
	"$GEN" --seed 3 --out all > /dev/null &&
	"$GEN" --seed 3 --out one --only crash-torn-frame,wrong-foreign-wal > /dev/null &&
	diff -r all/crash-torn-frame one/crash-torn-frame &&
	diff -r all/wrong-foreign-wal one/wrong-foreign-wal
'
test_expect_success 'at least 30 cases, each with an expected.json, the demo among them' '
	"$GEN" --seed 1 --out c > /dev/null &&
	n=$(ls c/*/expected.json | wc -l) && echo "$n cases" && [ "$n" -ge 30 ] &&
	[ -f c/demo/db ] && [ -f c/demo/db-wal ] && [ -f c/demo/db-shm ] &&
	"$GEN" --list > list && [ "$(wc -l < list)" -eq "$n" ]
'
test_expect_success 'every group of issue 3 is covered' '
	"$GEN" --list > list &&
	for grp in healthy crash rot mismatch size rollback starvation wrong demo; do
		grep -q "^[^ ]*  *$grp " list || { echo "no $grp case"; exit 1; }
	done &&
	[ "$(grep -c "^[^ ]*  *healthy " list)" -ge 6 ] &&
	[ "$(grep -c "^[^ ]*  *mismatch " list)" -ge 7 ] &&
	[ "$(grep -c "^[^ ]*  *rot " list)" -ge 6 ] &&
	[ "$(grep -c "^[^ ]*  *size " list)" -ge 5 ]
'
test_expect_success 'the rollback cases keep the saved pages' '
	"$GEN" --seed 1 --out c --only rollback-partial > /dev/null &&
	for f in pre-checkpoint.db saved-pages.bin saved-pages.txt; do [ -s c/rollback-partial/$f ] || exit 1; done &&
	ps=$(sed -n "s/^# page_size //p" c/rollback-partial/saved-pages.txt) &&
	n=$(grep -c "^[0-9]" c/rollback-partial/saved-pages.txt) &&
	[ "$(wc -c < c/rollback-partial/saved-pages.bin)" -eq $((n * ps)) ]
'

# The negative tests: a damaged case must fail --check, naming why.
test_expect_code 1 '--check fails when a case file changed' '
	"$GEN" --seed 1 --out c --only demo > /dev/null &&
	printf "\377" | dd of=c/demo/db-shm bs=1 seek=200 conv=notrunc 2> /dev/null &&
	"$GEN" --check c > out; st=$?; cat out
	grep -q "^not ok 1 - corpus: demo: db-shm has changed" out || exit 9
	exit $st
'
test_expect_code 1 '--check fails when SQLite sees other content' '
	"$GEN" --seed 1 --out c --only healthy-no-wal > /dev/null &&
	sed "s/\"content_sha256\": \"[0-9a-f]*\"/\"content_sha256\": \"00\"/" c/healthy-no-wal/expected.json > x &&
	mv x c/healthy-no-wal/expected.json &&
	"$GEN" --check c > out; st=$?; cat out
	grep -q "not ok 1 - corpus: healthy-no-wal: content hash is" out || exit 9
	exit $st
'
test_expect_code 1 '--check fails when wal_walk disagrees with the expected frames' '
	"$GEN" --seed 1 --out c --only crash-torn-frame > /dev/null &&
	sed "s/\"frames_valid\": [0-9]*/\"frames_valid\": 1/" c/crash-torn-frame/expected.json > x &&
	mv x c/crash-torn-frame/expected.json &&
	"$GEN" --check c > out; st=$?; cat out
	grep -q "wal_walk: frames_valid = 37, expected 1" out || exit 9
	exit $st
'
test_expect_code 1 '--check fails on a missing file and on a stray one' '
	"$GEN" --seed 1 --out c --only demo,healthy-header-only > /dev/null &&
	rm c/demo/db-wal && echo junk > c/healthy-header-only/extra &&
	"$GEN" --check c > out; st=$?; cat out
	grep -q "demo: db-wal is missing" out &&
	grep -q "healthy-header-only: extra is not listed" out || exit 9
	exit $st
'
test_expect_code 64 'bad usage exits 64' '
	"$GEN" --seed 1
'
test_expect_code 1 'an unknown case name is refused' '
	"$GEN" --seed 1 --out c --only no-such-case
'

# Generate the corpus of `make corpus` and check every case with libsqlite3
# and libwaldo; forward the per-case lines.
corpus=$TRASH_ROOT/corpus
if "$GEN" --seed 1 --out "$corpus" > "$TRASH_ROOT/gen.log" 2>&1; then
	"$GEN" --check "$corpus" || test_failed=$((test_failed + 1))
else
	echo "not ok - $TEST_NAME: corpus generation failed"
	sed 's/^/#   /' "$TRASH_ROOT/gen.log" | tail -20
	test_failed=$((test_failed + 1))
fi
test_done
