#!/bin/sh
# wal-synth on the failed-manual-rollback corpus cases: a page set written
# here from saved-pages.bin by an independent implementation of
# docs/pageset.md, turned by waldo repair --pageset into a synthetic WAL
# that SQLite applies: the database file becomes pre-checkpoint.db byte for
# byte, and its content the corpus's repair hash.  Damaged page sets are
# refused before anything is written.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" --only rollback-partial,rollback-size-field,rollback-stale-wal \
	> /dev/null || { echo "not ok - corpus generation failed"; exit 1; }

# mkset CASE SET [damage]: the page set of CASE's saved pages (docs/pageset.md).
mkset() {
	python3 - "$CORPUS/$1" "$2" "${3:-}" <<'EOF'
import hashlib, struct, sys, zlib
case, out, damage = sys.argv[1:4]
meta, pgnos = {}, []
for line in open(case + "/saved-pages.txt"):
    if line.startswith("#"):
        w = line[1:].split()
        if len(w) == 2 and w[1].isdigit():
            meta[w[0]] = int(w[1])
    elif line.strip():
        pgnos.append(int(line))
ps = meta["page_size"]
blob = open(case + "/saved-pages.bin", "rb").read()
pages = {p: blob[i * ps:(i + 1) * ps] for i, p in enumerate(pgnos)}
order = sorted(pages)
pre = open(case + "/pre-checkpoint.db", "rb").read()
index = b"".join(struct.pack(">I", p) + hashlib.sha256(pages[p]).digest() for p in order)
if damage == "page-hash":
    index = index[:4] + bytes(32) + index[36:]
data = zlib.compress(b"".join(pages[p] for p in order))
head = (b"waldo pageset 1\n" + struct.pack(">IIIII", 1, 1, ps, meta["db_pages_before"], len(order))
        + struct.pack(">III", 0, 0, 0) + struct.pack(">QQ", len(pre), len(data)) + hashlib.sha256(pre).digest())
assert len(head) == 96
head += hashlib.sha256(head + index).digest()
if damage == "header":
    head = head[:28] + struct.pack(">I", meta["db_pages_before"] + 1) + head[32:]
open(out, "wb").write(head + index + data)
EOF
}

for c in rollback-partial rollback-size-field; do
	test_expect_success "$c: the synthetic WAL makes the file pre-checkpoint.db again" '
		cp -r "$CORPUS/'$c'" case && mkset '$c' set &&
		"$WALDO" repair case/db --pageset set > plan; test $? = 1 &&
		grep -q "\[apply\] wal-synth" plan &&
		"$WALDO" repair case/db --pageset set --apply --in-place --yes > out &&
		grep -q "SQLite checkpointed the synthetic WAL" out &&
		cmp case/db case/pre-checkpoint.db &&
		[ ! -e case/db-wal ] && [ ! -e case/db-shm ] &&
		"$WALDO" undo case/db.waldo-undo-* && cmp case/db "$CORPUS/'$c'/db"
	'
	test_expect_success "$c: without --apply SQLite sees the repaired content" '
		mkset '$c' set &&
		"$WALDO" repair "$CORPUS/'$c'/db" --pageset set -o out.db > out &&
		[ -s out.db-wal ] &&
		want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"repair\"][\"integrity\"])" \
			"$CORPUS/'$c'/expected.json") &&
		got=$(sqlite3 out.db "PRAGMA integrity_check") &&
		[ "$got" = "$want" ] && [ "$got" = ok ] &&
		cp "$CORPUS/'$c'/pre-checkpoint.db" pre.db &&
		sqlite3 out.db .dump > got.sql && sqlite3 pre.db .dump > want.sql &&
		[ $(wc -l < want.sql) -gt 20 ] && test_cmp want.sql got.sql
	'
done

test_expect_code 66 'a page set whose header does not match its hash is not read' '
	mkset rollback-partial set header &&
	"$WALDO" repair "$CORPUS/rollback-partial/db" --pageset set
'
test_expect_success 'a page whose SHA-256 does not match the index is refused, nothing written' '
	cp -r "$CORPUS/rollback-partial" case && mkset rollback-partial set page-hash &&
	sum=$(sha256sum case/db) &&
	"$WALDO" repair case/db --pageset set --apply --in-place --yes > out; test $? = 2 &&
	grep -q "\[refused\] wal-synth" out && grep -q "does not match its SHA-256" out &&
	[ "$(sha256sum case/db)" = "$sum" ] && ! ls case/db.waldo-undo-* 2> /dev/null
'
test_expect_success 'a WAL whose commits are not in the database file is not replaced' '
	cp -r "$CORPUS/rollback-stale-wal" case && mkset rollback-stale-wal set &&
	"$WALDO" repair case/db --pageset set > out; test $? = 2 &&
	grep -q "not in the database file" out
'
test_done
