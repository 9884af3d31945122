#!/bin/sh
# waldo backup while a writer process commits continuously for the whole
# time: every backup (raw, raw --gzip, api, api --gzip) opens in SQLite,
# passes integrity_check, and its content is one of the committed states the
# writer logged (a SHA-256 of its rows, written after each commit).  The
# writer checkpoints often (wal_autocheckpoint 50), so backups meet WAL
# restarts, checkpoints in progress and a growing and shrinking file.
. "$(dirname "$0")/lib.sh"

cat > "$TRASH_ROOT/content.py" <<'EOF'
import hashlib
def content(c):
    h = hashlib.sha256()
    for r in c.execute("SELECT id, v FROM t ORDER BY id"):
        h.update(str(r[0]).encode() + b":" + r[1])
    return h.hexdigest()
EOF
cat > "$TRASH_ROOT/writer.py" <<'EOF'
import os, random, sqlite3, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from content import content
db, log, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None, timeout=20)
c.execute("PRAGMA journal_mode=wal")
c.execute("PRAGMA wal_autocheckpoint=50")
c.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)")
rnd = random.Random(7)
out = open(log, "a")
out.write(content(c) + "\n"); out.flush()
end = time.time() + secs
while time.time() < end:
    c.execute("BEGIN IMMEDIATE")
    for _ in range(rnd.randint(1, 3)):
        c.execute("INSERT INTO t(v) VALUES(randomblob(?))", (rnd.randint(10, 6000),))
    c.execute("DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY random() LIMIT ?)", (rnd.randint(0, 3),))
    c.execute("UPDATE t SET v=randomblob(?) WHERE id=(SELECT min(id) FROM t)", (rnd.randint(10, 3000),))
    c.execute("COMMIT")
    out.write(content(c) + "\n"); out.flush()
c.close()
EOF
cat > "$TRASH_ROOT/check.py" <<'EOF'
# check.py LOG DIR...: each DIR holds one backup's files (gunzipped); print what is wrong.
import os, sqlite3, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from content import content
states = set(open(sys.argv[1]).read().split())
bad = 0
for d in sys.argv[2:]:
    c = sqlite3.connect(os.path.join(d, "db"))
    ic = c.execute("PRAGMA integrity_check").fetchall()
    h = content(c)
    c.close()
    if ic != [("ok",)]:
        print(d, "integrity_check:", ic); bad += 1
    elif h not in states:
        print(d, "content is no state the writer committed"); bad += 1
sys.exit(1 if bad else 0)
EOF

test_expect_success 'backups taken during continuous commits are committed states' '
	# The table exists before any backup starts; then the writer runs in the background.
	python3 "$TRASH_ROOT/writer.py" db log 0.3 || exit 1
	python3 "$TRASH_ROOT/writer.py" db log 7 &
	sleep 0.3
	i=0 fail=0
	for m in "raw" "raw --gzip" "api" "api --gzip" "raw" "raw --gzip" "api" "raw" "raw --gzip" "raw"; do
		i=$((i + 1))
		"$WALDO" backup --method $m --json db b$i > b$i.json 2> b$i.err || { echo "backup $i ($m) failed:"; cat b$i.err; fail=1; }
	done
	wait
	[ $fail = 0 ] || exit 1
	[ $(wc -l < log) -gt 50 ] || { echo "the writer committed too little"; exit 1; }
	dirs=
	for j in $(seq 1 $i); do
		mkdir c$j && for f in b$j/db b$j/db-wal; do
			[ -e $f ] && cp $f c$j/
			[ -e $f.gz ] && gzip -dc $f.gz > c$j/$(basename $f)
		done
		[ -e c$j/db ] || { echo "b$j has no database"; exit 1; }
		dirs="$dirs c$j"
	done
	python3 "$TRASH_ROOT/check.py" log $dirs
'
test_expect_success 'the manifest of a raw backup verifies, and waldo scan pairs the gzip files' '
	python3 "$TRASH_ROOT/writer.py" db log 0.5 &&
	python3 - <<-EOF &&
	import os, sqlite3
	c = sqlite3.connect("db", isolation_level=None); c.execute("PRAGMA wal_autocheckpoint=0")
	c.execute("INSERT INTO t(v) VALUES(randomblob(5000))"); os._exit(0)
	EOF
	"$WALDO" backup db raw > out && grep -q "^  verified " out &&
	"$WALDO" verify raw/db raw/db.manifest | grep -q "^identical:" &&
	"$WALDO" backup --gzip db gz > /dev/null && [ -e gz/db.gz ] && [ -e gz/db-wal.gz ] &&
	"$WALDO" scan gz > scan && grep -q "^ok .*gz/db.gz pages=.* frames=[1-9]" scan
'
test_expect_code 73 'an existing backup is not overwritten without --force' '
	python3 "$TRASH_ROOT/writer.py" db log 0.2 &&
	"$WALDO" backup db out > /dev/null && "$WALDO" backup db out
'
test_done
