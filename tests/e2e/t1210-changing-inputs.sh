#!/bin/sh
# Files cut short while a command has them mapped (docs/limits.md, "files
# that change while read"): tests/tools/cutmap.c, preloaded, truncates the
# named file right after waldo maps it, so every read past the new end
# happens under the mapping, as when another process runs a TRUNCATE
# checkpoint.  Every read-only command must survive it and say so: an
# INPUT_CHANGED finding naming the file (SCAN_INPUT_CHANGED for scan), an
# error when bytes were read as zeros, and its exit status; the same
# command on the untouched files reports nothing of the kind (so the check
# can fail).
. "$(dirname "$0")/lib.sh"

if ! python3 -c 'import sqlite3' 2>/dev/null; then
	echo "ok 1 - $TEST_NAME: # SKIP python3 with sqlite3 is not available"
	exit 0
fi
SHIM=$TRASH_ROOT/cutmap.so
${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -o "$SHIM" \
	"$TOP/tests/tools/cutmap.c" -ldl ||
	{ echo "not ok 1 - $TEST_NAME: cannot build tests/tools/cutmap.c"; exit 1; }

python3 - "$WALDO" "$SHIM" "$TRASH_ROOT" <<'EOF'
import json, os, shutil, sqlite3, subprocess, sys

waldo, shim, root = sys.argv[1:4]
orig = os.path.join(root, "orig")
os.makedirs(orig)
# A database with 60 frames of 4096 bytes left in its WAL by a process that never closed it.
subprocess.run([sys.executable, "-c", """
import os, sqlite3
c = sqlite3.connect("app.db", isolation_level=None)
c.execute("PRAGMA page_size=4096"); c.execute("PRAGMA journal_mode=wal")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<30) INSERT INTO t(v) SELECT randomblob(3000) FROM s")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA wal_autocheckpoint=0")
for k in range(6):
    c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<8) INSERT INTO t(v) SELECT randomblob(3000) FROM s")
os._exit(0)
"""], cwd=orig, check=True)
assert os.path.getsize(os.path.join(orig, "app.db-wal")) > 40 * 4120
# The manifest verify compares against, from the untouched files.
subprocess.run([waldo, "hash", "-o", os.path.join(root, "manifest"), os.path.join(orig, "app.db")], check=True,
               capture_output=True)

def env(cut):
    e = dict(os.environ)
    e.pop("WALDO_CUTMAP", None)
    if cut:
        e.update(LD_PRELOAD=shim, WALDO_CUTMAP=cut,
                 ASAN_OPTIONS=(e.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":"))
    return e

n = failed = 0

def check(what, args, cut, code, fil, sev, status, stream="json"):
    """Run waldo ARGS on a fresh copy with the file cut (NAME:BYTES) after mapping, then untouched."""
    global n, failed
    why = []
    for c in (cut, None):
        d = os.path.join(root, "run")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(orig, d)
        argv = [waldo] + [a.replace("@", d) for a in args]
        p = subprocess.run(argv, cwd=d, capture_output=True, env=env(c), timeout=120)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        if p.returncode < 0 or p.returncode in (70, 99, 98):
            why.append("%s: exit %d: %s" % ("cut" if c else "intact", p.returncode, err[-300:]))
            continue
        if c and os.path.getsize(os.path.join(d, cut.split(":")[0])) != int(cut.split(":")[1]):
            why.append("the shim did not cut %s" % cut)
        found = []
        if stream == "json":
            for line in out.splitlines():
                if line.strip():
                    found += [(f.get("code"), f.get("file"), f.get("severity"), f.get("path"))
                              for f in json.loads(line).get("findings") or []]
        hit = [f for f in found if f[0] == code and f[1] == fil and f[2] == sev]
        if stream == "stderr":
            hit = [1] if code in err and ("%s  " % sev) in err else []
        elif stream == "stdout":
            hit = [1] if code in out else []
        if c:
            if not hit:
                why.append("cut %s: no %s %s (%s) in %s: %s" % (cut, sev, code, fil, stream, found or (out + err)[-400:]))
            if p.returncode != status:
                why.append("cut %s: exit %d, expected %d" % (cut, p.returncode, status))
            if stream == "json" and hit and hit[0][3] and not hit[0][3].endswith(cut.split(":")[0]):
                why.append("the finding names %s" % hit[0][3])
        else:
            if "INPUT_CHANGED" in out + err:
                why.append("intact files: INPUT_CHANGED reported: %s" % (out + err)[-300:])
    n += 1
    failed += bool(why)
    print("ok %d - t1210: %s" % (n, what) if not why else "not ok %d - t1210: %s: %s" % (n, what, "; ".join(why)))

WAL = "app.db-wal:8192"          # the header, the first frame and part of the second
DB = "app.db:4096"               # page 1 alone
SHM = "app.db-shm:0"
IC = "INPUT_CHANGED"
check("wal --json: the WAL cut under the walk", ["wal", "--json", "@/app.db"], WAL, IC, "wal", "error", 2)
check("wal (text)", ["wal", "@/app.db"], WAL, IC, None, "error", 2, "stdout")
check("header --json: the database cut (its header is not past the cut: a warning)",
      ["header", "--json", "@/app.db"], DB, IC, "db", "warning", 1)
check("page --json: page 5 of a database cut to page 1", ["page", "--json", "@/app.db", "5"], DB, IC, "db", "error", 2)
check("page (text)", ["page", "@/app.db", "5"], WAL, IC, None, "error", 2, "stdout")
check("log --json", ["log", "--json", "@/app.db"], WAL, IC, "wal", "error", 2)
check("history --json", ["history", "--json", "@/app.db", "2"], DB, IC, "db", "error", 2)
check("extract --json", ["extract", "--json", "@/app.db", "-o", "@/out.db"], DB, IC, "db", "error", 2)
check("bisect --json", ["bisect", "--json", "@/app.db"], WAL, IC, "wal", "error", 2)
check("readers --json: the -shm cut (exit status from the locks)", ["readers", "--json", "@/app.db"], SHM, IC,
      "shm", "error", 0)
check("hash --json", ["hash", "--json", "@/app.db"], WAL, IC, "wal", "error", 2)
check("hash (manifest on stdout, findings on stderr)", ["hash", "@/app.db"], DB, IC, None, "error", 2, "stderr")
check("verify --json", ["verify", "--json", "@/app.db", os.path.join(root, "manifest")], WAL, IC, "wal", "error", 2)
check("verify (text)", ["verify", "@/app.db", os.path.join(root, "manifest")], DB, IC, None, "error", 2, "stderr")
check("diff --json A A", ["diff", "--json", "@/app.db", "@/app.db"], WAL, IC, "wal", "error", 2)
check("diff (text)", ["diff", "@/app.db"], DB, IC, None, "error", 2, "stderr")
check("dbhash --json", ["dbhash", "--json", "@/app.db"], DB, IC, "db", "error", 2)
check("dbhash (text)", ["dbhash", "@/app.db"], WAL, IC, None, "error", 2, "stderr")
check("inspect --json", ["inspect", "--json", "@/app.db"], WAL, IC, "wal", "error", 2)
check("scan --json", ["scan", "--json", "-q", "@"], WAL, "SCAN_INPUT_CHANGED", "wal", "error", 2)
sys.exit(1 if failed or n == 0 else 0)
EOF
exit $?
