#!/bin/sh
# waldo scan over an archive set made from the corpus: plain folders, one
# .tar, one .tar.gz, every file gzipped on its own, and a mixed tree of all
# three.  In each, scan must find the database of every case (and no case
# whose `db` is not a database by content), report each case's expected
# codes and status, and report exactly the codes `waldo inspect --no-locks`
# reports for the same files.  Order, threads and shards must not change
# the records.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
SET=$TRASH_ROOT/set
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" > /dev/null || { echo "not ok - corpus generation failed"; exit 1; }

mkdir -p "$SET/dirs" "$SET/gz" "$SET/mixed/plain" "$SET/mixed/gz" "$SET/mixed/part"
cp -R "$CORPUS/." "$SET/dirs/"
tar cf "$SET/all.tar" -C "$CORPUS" .
tar czf "$SET/all.tar.gz" -C "$CORPUS" .
i=0
for d in "$CORPUS"/*/; do
	c=$(basename "$d")
	mkdir "$SET/gz/$c"
	for f in "$d"*; do gzip -c "$f" > "$SET/gz/$c/$(basename "$f").gz"; done
	case $((i % 3)) in
	0) cp -R "$d" "$SET/mixed/plain/$c" ;;
	1) cp -R "$d" "$SET/mixed/part/$c" ;;
	2) mkdir "$SET/mixed/gz/$c"; for f in "$d"*; do gzip -c "$f" > "$SET/mixed/gz/$c/$(basename "$f").gz"; done ;;
	esac
	i=$((i + 1))
done
tar czf "$SET/mixed/part.tgz" -C "$SET/mixed/part" . && rm -rf "$SET/mixed/part"

# inspect's codes for every case, the reference for "same analysis"
for d in "$CORPUS"/*/; do
	"$WALDO" inspect --json --no-locks "$d/db" > "$CORPUS/$(basename "$d").inspect.json" 2> /dev/null
done

scan_set() {  # scan_set NAME ARGS...: NDJSON of the scan into $TRASH_ROOT/NAME.ndjson
	name=$1; shift
	"$WALDO" scan --json --no-progress -r "$@" > "$TRASH_ROOT/$name.ndjson" 2> "$TRASH_ROOT/$name.err"
	echo $? > "$TRASH_ROOT/$name.status"
}
scan_set dirs "$SET/dirs"
scan_set tar "$SET/all.tar"
scan_set tgz "$SET/all.tar.gz"
scan_set gz "$SET/gz"
scan_set mixed "$SET/mixed"

# check KIND PREFIX-OF-A-CASE-PATH: every case found with its expectations
check() {
	python3 - "$CORPUS" "$TRASH_ROOT/$1.ndjson" "$1" <<'EOF'
import json, os, sys
corpus, out, kind = sys.argv[1], sys.argv[2], sys.argv[3]
recs = [json.loads(l) for l in open(out) if l.strip()]
bypath = {r["path"]: r for r in recs}
set_ = os.path.join(os.path.dirname(corpus), "set")
cases = sorted(c for c in os.listdir(corpus) if os.path.isdir(os.path.join(corpus, c)))
def where(i, c):
    if kind == "dirs": return "%s/dirs/%s/db" % (set_, c)
    if kind == "tar": return "%s/all.tar:./%s/db" % (set_, c)
    if kind == "tgz": return "%s/all.tar.gz:./%s/db" % (set_, c)
    if kind == "gz": return "%s/gz/%s/db.gz" % (set_, c)
    return ["%s/mixed/plain/%s/db" % (set_, c), "%s/mixed/part.tgz:./%s/db" % (set_, c),
            "%s/mixed/gz/%s/db.gz" % (set_, c)][i % 3]
bad = []
for i, c in enumerate(cases):
    exp = json.load(open(os.path.join(corpus, c, "expected.json")))
    p = where(i, c)
    r = bypath.get(p)
    if exp["page_size"] is None:     # `db` is no database: not found by content
        if r: bad.append("%s: %s is not a database but was reported" % (c, p))
        continue
    if not r:
        bad.append("%s: %s not found" % (c, p)); continue
    codes = [f["code"] for f in r["findings"]]
    want = exp["inspect"]
    miss = [x for x in want["must"] if x not in codes]
    extra = [x for x in want["must_not"] if x in codes]
    st = {"ok": 0, "warning": 1, "error": 2}[r["status"]]
    if miss: bad.append("%s: missing %s" % (c, miss))
    if extra: bad.append("%s: unexpected %s" % (c, extra))
    if st != want["exit"]: bad.append("%s: status %s, expected exit %d" % (c, r["status"], want["exit"]))
    w = exp.get("wal")
    if w and r.get("wal"):
        for k in ("frames_total", "frames_valid", "commits", "last_commit_frame"):
            if k in w and w[k] != r["wal"][k]:
                bad.append("%s: wal.%s %s, expected %s" % (c, k, r["wal"][k], w[k]))
    ins = json.load(open(os.path.join(corpus, c + ".inspect.json")))
    if sorted(codes) != sorted(f["code"] for f in ins["findings"]):
        bad.append("%s: codes %s, inspect says %s" % (c, sorted(codes), sorted(f["code"] for f in ins["findings"])))
    if r["kind"] != "database" or r["state"]["pages"] != ins["state"]["pages"]:
        bad.append("%s: state differs from inspect's" % c)
    if kind in ("tar", "tgz") and (r["archive"] is None or not r["member"].endswith(c + "/db")):
        bad.append("%s: archive/member fields %s %s" % (c, r["archive"], r["member"]))
# nothing but databases and the corpus' own extra database copies
names = {"db", "db.gz", "pre-checkpoint.db", "pre-checkpoint.db.gz", "saved-pages.bin", "saved-pages.bin.gz"}
for r in recs:
    if r["kind"] != "database" or os.path.basename(r["path"].split(":")[-1]) not in names:
        bad.append("unexpected record %s (%s)" % (r["path"], r["kind"]))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}
for k in dirs tar tgz gz mixed; do
	test_expect_success "scan finds every case in the $k set with its expected codes" "
		check $k && [ \$(cat \"$TRASH_ROOT/$k.status\") = 2 ]
	"
done

test_expect_success 'the summary counts the databases' '
	n=$(grep -c . "$TRASH_ROOT/dirs.ndjson") &&
	grep -q "^scan: $n databases: " "$TRASH_ROOT/dirs.err"
'
test_expect_success 'a file named on the command line is analysed whatever its content' '
	"$WALDO" scan --json --no-progress "$SET/dirs/wrong-empty-file/db" "$SET/dirs/wrong-text-file/db" > out 2>/dev/null
	[ $? = 2 ] &&
	grep -q "\"path\":\"$SET/dirs/wrong-empty-file/db\".*\"code\":\"DB_EMPTY\"" out &&
	grep -q "\"path\":\"$SET/dirs/wrong-text-file/db\".*\"code\":\"DB_NOT_SQLITE\"" out
'
test_expect_success 'records are the same with one thread, many threads and --unordered' '
	"$WALDO" scan --json -q -j 1 -r "$SET/mixed" > one
	"$WALDO" scan --json -q -j 4 -r "$SET/mixed" > four
	[ -s one ] && test_cmp one four &&
	"$WALDO" scan --json -q -j 3 --unordered -r "$SET/mixed" | LC_ALL=C sort > un &&
	LC_ALL=C sort one > sorted && test_cmp sorted un
'
test_expect_success 'a memory budget of a few members gives the same records' '
	big=$(find "$CORPUS" -type f -printf "%s\n" | sort -n | tail -1) &&
	"$WALDO" scan -q -j 2 --max-member $big --max-memory $((big * 3)) "$SET/all.tar.gz" > small
	"$WALDO" scan -q -j 2 "$SET/all.tar.gz" > big
	[ -s big ] && test_cmp big small
'
test_expect_success 'three shards hold every record exactly once' '
	for s in 1 2 3; do "$WALDO" scan --json -q --shard $s/3 -r "$SET/mixed" > s$s; done
	cat s1 s2 s3 | LC_ALL=C sort > merged &&
	"$WALDO" scan --json -q -r "$SET/mixed" | LC_ALL=C sort > all &&
	test_cmp all merged && [ -s s1 ] && [ -s s2 ] && [ -s s3 ]
'
test_expect_success 'text lines: status, path, pages, frames, codes' '
	"$WALDO" scan -q -r "$SET/all.tar.gz" > text
	grep -q "^error   $SET/all.tar.gz:./rot-frame-data/db pages=[0-9]* frames=9/41 WAL_CHECKSUM_MISMATCH" text &&
	grep -q "^ok      $SET/all.tar.gz:./healthy-no-wal/db pages=[0-9]* frames=- -\$" text &&
	awk "NF != 5 { exit 1 }" text
'
test_expect_success 'scan never changes its inputs' '
	(cd "$SET" && find . -type f | LC_ALL=C sort | xargs sha256sum) > before &&
	"$WALDO" scan -q -r "$SET" > /dev/null
	(cd "$SET" && find . -type f | LC_ALL=C sort | xargs sha256sum) > after &&
	test_cmp before after
'
test_expect_success 'scan leaves nothing in its temporary folder' '
	mkdir tmp && TMPDIR=$PWD/tmp "$WALDO" scan -q -r "$SET/mixed" > /dev/null
	[ -z "$(ls -A tmp)" ]
'
test_done
