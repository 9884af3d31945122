#!/bin/sh
# The binary's global interface: help, version, unknown commands, usage errors.
. "$(dirname "$0")/lib.sh"

test_expect_success 'waldo --version names the version' '
	"$WALDO" --version | grep -q "^waldo [0-9]"
'
test_expect_success 'waldo help lists every command' '
	"$WALDO" help > out &&
	for c in header wal shm page findings; do grep -q "^  $c " out || exit 1; done
'
test_expect_code 64 'an unknown command is a usage error' '
	"$WALDO" frobnicate
'
test_expect_code 64 'no command at all is a usage error' '
	"$WALDO"
'
test_expect_success 'every command answers --help with its usage on stdout' '
	for c in header wal shm page findings; do
		"$WALDO" $c --help | grep -q "^usage: waldo $c" || { echo "$c"; exit 1; }
		"$WALDO" help $c | grep -q "^usage: waldo $c" || { echo "help $c"; exit 1; }
	done
'
test_expect_success 'findings lists the stable codes' '
	"$WALDO" findings > out &&
	for c in DB_NOT_SQLITE WAL_CHECKSUM_MISMATCH SHM_STALE BTREE_PAGE_INVALID; do
		grep -q "^$c " out || exit 1
	done
'
test_expect_success 'docs/findings.md is the generated catalogue' '
	"$WALDO" findings --markdown > out &&
	sed -n "/^| code /,\$p" "$TOP/docs/findings.md" > doc &&
	test_cmp out doc
'
test_expect_success 'formats/ is pure: no I/O, printing, exit or libsqlite3 symbols' '
	for o in "$BUILD"/obj/formats/*.o; do
		nm -u "$o" | awk "{print \$2}"
	done | sort -u > undef &&
	! grep -E "^(open|open64|fopen|fopen64|read|write|pread|pwrite|printf|fprintf|puts|fputs|putchar|exit|_exit|abort|mmap|mmap64|sqlite3_.*|initscr|getenv)$" undef
'
test_done
