#!/bin/sh
# The binary's global interface: help, version, unknown commands, usage errors.
. "$(dirname "$0")/lib.sh"

test_expect_success 'waldo --version names the version' '
	"$WALDO" --version | grep -q "^waldo [0-9]"
'
commands() { "$WALDO" help | sed -n 's/^  \([a-z]*\) .*/\1/p'; }
test_expect_success 'waldo help lists the commands' '
	commands > cmds && grep -qx inspect cmds && grep -qx wal cmds && [ $(wc -l < cmds) -ge 10 ]
'
test_expect_code 64 'an unknown command is a usage error' '
	"$WALDO" frobnicate
'
test_expect_code 64 'no command at all is a usage error' '
	"$WALDO"
'
test_expect_success 'every command answers --help with its usage on stdout' '
	for c in $(commands); do
		"$WALDO" $c --help | grep -q "^usage: waldo $c" || { echo "$c"; exit 1; }
		"$WALDO" help $c | grep -q "^usage: waldo $c" || { echo "help $c"; exit 1; }
	done
'
test_expect_success 'every command has a man page, and waldo(1) names it' '
	for c in $(commands); do
		[ -f "$TOP/docs/man/waldo-$c.1" ] || { echo "no docs/man/waldo-$c.1"; exit 1; }
		grep -q "^\.BR* *$c\b\|^\.B $c\$" "$TOP/docs/man/waldo.1" || { echo "waldo.1 lacks $c"; exit 1; }
	done
'
test_expect_code 64 'an unknown option is a usage error for every command' '
	for c in $(commands); do
		"$WALDO" $c --no-such-option x > /dev/null 2>&1
		st=$?
		[ $st -eq 64 ] || { echo "$c: status $st"; exit 1; }
	done
	exit 64
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
