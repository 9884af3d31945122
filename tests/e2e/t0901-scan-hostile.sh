#!/bin/sh
# waldo scan on hostile inputs: unsafe member names, links, truncated,
# concatenated and oversized gzip, a corrupt tar header, trailing garbage,
# control characters in names, symbolic links out of the tree and in
# loops, and inputs that cannot be read.  Each gives its own clear record
# and the scan goes on to the good database after it.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" --only demo,healthy-no-wal,healthy-many-commits > /dev/null ||
	{ echo "not ok - corpus generation failed"; exit 1; }
H=$TRASH_ROOT/hostile
mkdir -p "$H"
python3 - "$CORPUS" "$H" <<'EOF'
import io, os, sys, tarfile
corpus, h = sys.argv[1], sys.argv[2]
def data(case, f): return open(os.path.join(corpus, case, f), "rb").read()
def add(t, name, b):
    ti = tarfile.TarInfo(name); ti.size = len(b); t.addfile(ti, io.BytesIO(b))
def link(t, name, target, kind):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = target; t.addfile(ti)
db, wal, shm = data("demo", "db"), data("demo", "db-wal"), data("demo", "db-shm")
with tarfile.open(os.path.join(h, "names.tar"), "w", format=tarfile.GNU_FORMAT) as t:
    add(t, "../../../escape.db", db)
    add(t, "/etc/absolute.db", db)
    link(t, "sym.db", "/etc/passwd", tarfile.SYMTYPE)
    link(t, "hard.db", "good/app.db", tarfile.LNKTYPE)
    add(t, "ctl\x1b]0;pwned\x07\n.db", db)
    add(t, "long/" + "n" * 250 + "/app.db", db)
    add(t, "good/app.db", db); add(t, "good/app.db-wal", wal); add(t, "good/app.db-shm", shm)
with tarfile.open(os.path.join(h, "pax.tar"), "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "p/" + "y" * 180 + "/app.db", db); add(t, "p/" + "y" * 180 + "/app.db-wal", wal)
# a tar whose second header is damaged: the members after it are still found
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
    add(t, "a/note.txt", b"not a database\n")
    add(t, "b/app.db", db)
    add(t, "c/app.db", data("healthy-no-wal", "db"))
raw = bytearray(b.getvalue())
raw[512 + 512 + 3] ^= 0x20      # a byte of b/app.db's header name
open(os.path.join(h, "corrupt.tar"), "wb").write(raw)
EOF
# gzip: concatenated members, trailing garbage, truncated, oversized
tar cf "$TRASH_ROOT/a.tar" -C "$CORPUS" demo
tar cf "$TRASH_ROOT/b.tar" -C "$CORPUS" healthy-no-wal
{ gzip -c "$TRASH_ROOT/a.tar"; gzip -c "$TRASH_ROOT/b.tar"; } > "$H/concat.tar.gz"
{ cat "$H/concat.tar.gz"; printf 'GARBAGE'; } > "$H/garbage.tar.gz"
tar czf "$TRASH_ROOT/many.tgz" -C "$CORPUS" .
size=$(wc -c < "$TRASH_ROOT/many.tgz")
head -c $((size / 2)) "$TRASH_ROOT/many.tgz" > "$H/truncated.tgz"
gzip -c "$CORPUS/healthy-many-commits/db-wal" > "$H/big-wal.gz"
mkdir "$H/zz-good" && cp "$CORPUS/healthy-many-commits/db" "$CORPUS/healthy-many-commits/db-wal" "$H/zz-good/"

A=$TRASH_ROOT/all
"$WALDO" scan -v -q -r "$H" > "$A.txt" 2>&1; echo $? > "$A.status"
"$WALDO" scan --json -q -r "$H" > "$A.json" 2>&1

test_expect_success 'the whole hostile folder is scanned to the end, worst status error' '
	[ "$(cat "$A.status")" = 2 ] &&
	grep -q "^ok      $H/zz-good/db pages=" "$A.txt"
'
test_expect_success 'absolute and .. member names are reported, analysed in memory, never extracted' '
	grep -q "^warning $H/names.tar:../../../escape.db pages=14 .*ARCHIVE_UNSAFE_NAME" "$A.txt" &&
	grep -q "^warning $H/names.tar:/etc/absolute.db pages=14 .*ARCHIVE_UNSAFE_NAME" "$A.txt" &&
	[ ! -e "$TRASH_ROOT/escape.db" ] && [ ! -e /etc/absolute.db ] &&
	[ -z "$(find "$TRASH_ROOT" -name "escape.db")" ]
'
test_expect_success 'symbolic and hard links are reported, not followed' '
	grep -q "^warning $H/names.tar:sym.db pages=- frames=- ARCHIVE_UNSAFE_NAME" "$A.txt" &&
	grep -q "symbolic link .sym.db. -> ./etc/passwd.: points out of the archive" "$A.txt" &&
	grep -q "^ok      $H/names.tar:hard.db pages=- frames=- ARCHIVE_LINK" "$A.txt"
'
test_expect_success 'control characters in member names never reach the output raw' '
	grep -q "names.tar:ctl\\\\x1b]0;pwned\\\\x07\\\\x0a.db pages=14" "$A.txt" &&
	! grep -q "$(printf "\033")" "$A.txt" && ! grep -q "$(printf "\007")" "$A.txt" &&
	python3 -c "import json,sys; [json.loads(l) for l in open(\"$A.json\")]"
'
test_expect_success 'GNU and PAX long names' '
	grep -q "names.tar:long/nnnnnnnnnn*/app.db pages=14" "$A.txt" &&
	grep -q "pax.tar:p/yyyyyyyyyy*/app.db pages=17 frames=41/41" "$A.txt"
'
test_expect_success 'a corrupt tar header: skipped with its offset, the next members found' '
	grep -q "^error   $H/corrupt.tar pages=- frames=- ARCHIVE_CORRUPT" "$A.txt" &&
	grep -q "corrupt tar header at offset 1024 (checksum mismatch); skipped" "$A.txt" &&
	grep -q "^ok      $H/corrupt.tar:c/app.db pages=17" "$A.txt"
'
test_expect_success 'a tar whose first header is damaged is still read as a tar' '
	cp "$TRASH_ROOT/a.tar" first.tar && printf X | dd of=first.tar bs=1 seek=5 conv=notrunc 2>/dev/null &&
	mkdir d && mv first.tar d/ &&
	"$WALDO" scan -q d > out
	grep -q "^error   d/first.tar pages=- frames=- ARCHIVE_CORRUPT" out &&
	grep -q "^warning d/first.tar:demo/db pages=17 frames=41/41" out
'
test_expect_success 'concatenated gzip members are one stream' '
	grep -q "^warning $H/concat.tar.gz:demo/db pages=17 frames=41/41" "$A.txt" &&
	grep -q "^ok      $H/concat.tar.gz:healthy-no-wal/db pages=" "$A.txt" &&
	! grep -q "^[a-z]* *$H/concat.tar.gz pages" "$A.txt"
'
test_expect_success 'trailing garbage after the last gzip member is a warning' '
	grep -q "^warning $H/garbage.tar.gz pages=- frames=- ARCHIVE_TRAILING_GARBAGE" "$A.txt" &&
	grep -q "^ok      $H/garbage.tar.gz:healthy-no-wal/db " "$A.txt"
'
test_expect_success 'a truncated gzip: an error with the compressed offset, the members before it analysed' '
	size=$(wc -c < "$H/truncated.tgz") &&
	grep -q "^error   $H/truncated.tgz pages=- frames=- ARCHIVE_CORRUPT" "$A.txt" &&
	grep -q "is truncated at compressed offset $size " "$A.txt" &&
	[ $(grep -c "^[a-z]* *$H/truncated.tgz:" "$A.txt") -ge 3 ]
'
test_expect_success 'a member past --max-member is reported, never held; the scan goes on' '
	"$WALDO" scan -v -q --max-member 150K "$H/big-wal.gz" "$H/concat.tar.gz" > out
	[ $? = 1 ] &&
	grep -q "^warning $H/big-wal.gz pages=- frames=- ARCHIVE_LIMIT" out &&
	grep -q "inflates to more than 153600 bytes (--max-member)" out &&
	grep -q "^warning $H/concat.tar.gz:demo/db pages=14 frames=- .*ARCHIVE_LIMIT" out &&
	grep -q "^ok      $H/concat.tar.gz:healthy-no-wal/db " out
'
test_expect_success 'a gzip past --max-ratio stops inflating' '
	head -c 80000000 /dev/zero | gzip -c > zeros.gz &&
	{ cat zeros.gz; gzip -c "$TRASH_ROOT/a.tar"; } > bomb.tar.gz
	"$WALDO" scan -v -q bomb.tar.gz > out
	grep -q "decompression-ratio cap of 200:1" out
'
test_expect_success 'symbolic links out of the tree are noted, loops do not hang' '
	mkdir -p tree/sub && cp "$CORPUS/healthy-no-wal/db" tree/sub/db &&
	ln -s "$CORPUS/demo" tree/out && ln -s .. tree/sub/loop && ln -s ../sub tree/sub/self &&
	"$WALDO" scan -q -r tree > out
	[ $? = 0 ] &&
	grep -q "^ok      tree/out pages=- frames=- SCAN_SKIPPED" out &&
	grep -q "^ok      tree/sub/db pages=" out && [ $(wc -l < out) = 2 ] &&
	"$WALDO" scan -q tree/out > named; grep -q "^warning tree/out/db pages=17" named
'
test_expect_code 66 'an input that cannot be read at all: exit 66, the rest still scanned' '
	"$WALDO" scan -q --json no/such/file "$CORPUS/demo/db" > out
	st=$?
	grep -q "\"path\":\"no/such/file\",\"kind\":\"entry\".*SCAN_INPUT_UNREADABLE" out &&
	grep -q "\"path\":\"$CORPUS/demo/db\"" out && exit $st
'
test_expect_success 'a progress bar only when asked or on a terminal; summary on stderr' '
	"$WALDO" scan --progress -r "$CORPUS" > out 2> err
	grep -q "inputs" err && grep -q "$(printf "\r")" err && grep -q "scan: 3 databases" err &&
	[ $(wc -l < out) = 3 ] && ! grep -q "$(printf "\r")" out || exit 1
	"$WALDO" scan -r "$CORPUS" > out 2> err
	! grep -q "$(printf "\r")" err && [ $(wc -l < err) = 1 ] && grep -q "^scan: 3 databases" err || exit 1
	"$WALDO" scan -q -r "$CORPUS" > out 2> err
	[ ! -s err ]
'
test_expect_code 64 'bad usage' '
	"$WALDO" scan --shard 4/3 x
'
test_done
