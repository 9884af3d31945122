#!/bin/sh
# Bad sectors (HOSTILE.md E2): a database whose files sit on a disk that
# cannot read some of their bytes.  tests/tools/eiofs serves a folder through
# FUSE and answers reads of chosen byte ranges with EIO, as a failing disk
# does: read(2) fails, a mapped page faults with SIGBUS.
#
# For a bad range in the WAL and one in the database file: every read-only
# command ends by itself (no signal, no hang) with an error status and an
# INPUT_UNREADABLE finding (SCAN_INPUT_UNREADABLE for scan; for commands
# without findings, the message) that names the file and the offset of the
# first unreadable page, which holds the bad range; the rest is still read
# (every WAL frame listed, the same frame count as from an intact copy).
# The writing commands refuse: on a FUSE file system (HOSTILE E9: it may be
# shared with other machines, whose locks are not seen) repair -o and
# checkpoint with exit 75 unless WALDO_ALLOW_REMOTE=1, inspect and readers
# report FS_REMOTE (readers exits 1: it cannot say nobody uses it); then repair -o with exit 66 and a message naming
# the file and the offset, writing nothing; backup with an error naming the
# database and no whole copy left.  Skipped where FUSE cannot be mounted
# (no /dev/fuse or no CAP_SYS_ADMIN).
. "$(dirname "$0")/lib.sh"

EIOFS=$BUILD/tests/eiofs
[ -x "$EIOFS" ] || { echo "not ok 1 - t1450: $EIOFS is not built (make $EIOFS)"; exit 1; }

python3 - "$WALDO" "$EIOFS" "$TRASH_ROOT" <<'PYEOF'
import atexit, hashlib, json, os, subprocess, sys

waldo, eiofs, root = sys.argv[1:4]
PS = 4096

src = os.path.join(root, "src")
os.makedirs(src)
subprocess.run([sys.executable, "-c", """
import os, sqlite3
c = sqlite3.connect("db", isolation_level=None)
c.execute("PRAGMA page_size=4096"); c.execute("PRAGMA journal_mode=wal")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40) INSERT INTO t(v) SELECT randomblob(3000) FROM s")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA wal_autocheckpoint=0")
for k in range(12):
    c.execute("UPDATE t SET v=randomblob(3000) WHERE id=?", (k * 3 + 1,))
os._exit(0)
"""], cwd=src, check=True)
os.remove(os.path.join(src, "db-shm"))     # what a copied-off disk usually holds: no -shm
FRAME = 24 + PS
nframes = (os.path.getsize(os.path.join(src, "db-wal")) - 32) // FRAME

def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()
orig = {f: sha(os.path.join(src, f)) for f in os.listdir(src)}

ENV = {k: v for k, v in os.environ.items() if k != "WALDO_ALLOW_REMOTE"}
REMOTE_OK = dict(ENV, WALDO_ALLOW_REMOTE="1")

def run(args, timeout=30, env=ENV):
    try:
        p = subprocess.run([waldo] + args, capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return "hang", "", ""

MOUNTS = []
atexit.register(lambda: [m.close() for m in MOUNTS])   # never leave a mount behind, even on an exception

class Mount:
    def __init__(self, name, bad):
        MOUNTS.append(self)
        self.mnt = os.path.join(root, "mnt-" + name)
        os.makedirs(self.mnt)
        self.p = subprocess.Popen([eiofs, src, self.mnt, bad], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ready = self.p.stdout.readline().strip() == "ready"
        if not self.ready:
            self.p.wait(timeout=10)
            self.why = self.p.stderr.read().strip()
    def close(self):
        if self.ready and self.p.poll() is None:
            self.p.terminate()
            self.p.wait(timeout=10)

n = failed = 0
def result(ok, title, why=""):
    global n, failed
    n += 1
    print(("ok %d - t1450: %s" % (n, title)) if ok else ("not ok %d - t1450: %s: %s" % (n, title, why)))
    failed += not ok

# A bad range inside the page data of WAL frame 5, and inside the last
# database page no frame holds (so that the state as of the last commit reads it).
wal = open(os.path.join(src, "db-wal"), "rb").read()
in_wal = {int.from_bytes(wal[32 + i * FRAME:36 + i * FRAME], "big") for i in range(nframes)}
dbpages = os.path.getsize(os.path.join(src, "db")) // PS
wal_bad = 32 + 4 * FRAME + 24 + 1000
db_bad = (max(p for p in range(2, dbpages + 1) if p not in in_wal) - 1) * PS + 100
CASES = [("wal", "db-wal", wal_bad, "WAL"), ("db", "db", db_bad, "database file")]
probe = Mount("probe", "none:0:0")
probe.close()
if not probe.ready:
    print("ok 1 - t1450: bad sectors # SKIP FUSE cannot be mounted here (%s)" % probe.why)
    sys.exit(0)

for key, fname, bad, label in CASES:
    m = Mount(key, "%s:%d:16" % (fname, bad))
    db = os.path.join(m.mnt, "db")
    page = bad - bad % PS
    why = []
    def offset_ok(off):
        # the first page that failed holds the bad range, or comes before it
        # within one read-ahead unit of the kernel (at most 64 pages)
        return off is not None and off <= page and page - off <= 64 * PS and off % PS == 0
    # --- read-only commands: findings in JSON ---
    for argv in (["inspect", "--json", "--no-sqlite", db], ["inspect", "--json", db]):
        st, out, err = run(argv)
        if st != 2:
            why.append("%s: exit %s (%s)" % (" ".join(argv[:2]), st, err.strip()[-200:]))
            continue
        f = [x for x in json.loads(out)["findings"] if x["code"] == "INPUT_UNREADABLE"]
        if len(f) != 1 or f[0].get("file") != key or not offset_ok(f[0].get("offset")):
            why.append("%s: INPUT_UNREADABLE %s (bad page at %d)" % (" ".join(argv[:2]), f, page))
        # HOSTILE E9: a FUSE file system may be shared with other machines
        r = [x for x in json.loads(out)["findings"] if x["code"] == "FS_REMOTE"]
        if len(r) != 1 or r[0].get("file") != "db" or "FUSE" not in r[0]["message"]:
            why.append("%s: FS_REMOTE %s" % (" ".join(argv[:2]), r))
    # --- text output, the frames still listed ---
    st, out, err = run(["wal", db])
    frames = [l for l in out.splitlines() if l.lstrip()[:1].isdigit()]
    if key == "wal" and (st != 2 or "INPUT_UNREADABLE" not in out + err):
        why.append("wal: exit %s, no INPUT_UNREADABLE (%s)" % (st, (out + err)[-300:]))
    if len(frames) < nframes:
        why.append("wal: %d frame lines, the WAL has %d frames" % (len(frames), nframes))
    for argv in (["dbhash", db], ["verify", db, os.path.join(root, "none.manifest")],
                 ["log", db], ["history", db, "3"], ["header", db], ["page", db, "3"], ["diff", db, db],
                 ["bisect", db], ["shm", db], ["readers", db],
                 ["extract", db, "-o", os.path.join(root, "x-%s.db" % key)]):
        st, out, err = run(argv)
        if st == "hang" or st < 0 or st == 70:
            why.append("%s: exit %s" % (argv[0], st))
    st, out, err = run(["extract", db, "-o", os.path.join(root, "x2-%s.db" % key)])
    if st in (0, 1) or "INPUT_UNREADABLE" not in out + err:
        why.append("extract: exit %s, no INPUT_UNREADABLE (%s)" % (st, (out + err)[-200:]))
    st, out, err = run(["hash", db])
    if st == 0 or "could not be read" not in err + out:
        why.append("hash: exit %s, no message (%s)" % (st, (out + err)[-200:]))
    # --- scan ---
    st, out, err = run(["scan", "--json", "-q", "--no-sqlite", m.mnt])
    sf = [x for l in out.splitlines() if l.startswith("{") for x in json.loads(l).get("findings", [])
          if x["code"] == "SCAN_INPUT_UNREADABLE"]
    if st == "hang" or not sf or not any(offset_ok(x.get("offset")) for x in sf):
        why.append("scan: exit %s, %s" % (st, sf or out[-300:]))
    # --- writing commands refuse, naming the file and the offset ---
    st, out, err = run(["readers", "--json", db])
    if st != 1 or '"FS_REMOTE"' not in out:
        why.append("readers on FUSE: exit %s, no FS_REMOTE (%s)" % (st, out[-200:]))
    o = os.path.join(root, "out-" + key)
    for argv in (["repair", "-o", o, db], ["checkpoint", db]):
        st, out, err = run(argv)
        if st != 75 or "FUSE file system" not in err or "WALDO_ALLOW_REMOTE=1" not in err or os.path.exists(o):
            why.append("%s on FUSE: exit %s (%s)" % (" ".join(argv[:2]), st, err.strip()[-200:]))
    st, out, err = run(["repair", "-o", o, db], env=REMOTE_OK)
    if st != 66 or "cannot be read (I/O error" not in err or os.path.basename(fname) not in err or os.path.exists(o):
        why.append("repair -o: exit %s, output written: %s (%s)" % (st, os.path.exists(o), err.strip()[-200:]))
    bo = os.path.join(root, "bk-" + key)
    os.makedirs(bo)
    st, out, err = run(["backup", db, bo])
    left = sorted(os.listdir(bo))
    if st in (0, 1, "hang") or st < 0 or "'%s" % db not in err or (left and "db.incomplete" not in left):
        why.append("backup: exit %s, left %s (%s)" % (st, left, err.strip()[-200:]))
    m.close()
    result(not why, "a bad sector in the %s: every read-only command ends, INPUT_UNREADABLE names the file "
           "and the page; repair -o and backup refuse" % label, "; ".join(why[:4]))

now = {f: sha(os.path.join(src, f)) for f in os.listdir(src)}
result(now == orig, "the files behind the failing disk are unchanged", str(set(now) ^ set(orig)))
sys.exit(1 if failed else 0)
PYEOF
exit $?
