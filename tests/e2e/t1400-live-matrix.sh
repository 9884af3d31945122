#!/bin/sh
# The live-database safety matrix (docs/repair.md, "A database in use"): a
# real SQLite process (tests/tools/livedb.py: python3's sqlite3, the system
# libsqlite3) holds the database in each of five states — an idle
# connection, an open read transaction, a write transaction whose
# uncommitted pages spilled into the WAL, a checkpoint in progress (SQLite's
# own, paused holding the checkpointer lock), exclusive locking mode — and
# every writing command is run against it:
#
#   repair --in-place, repair -o, undo, rollback   refused: exit 75, the PID named
#   checkpoint --save-undo   works with SQLite's locks: done in the idle and
#                            read states, refused (75, PID) where it cannot
#                            have the write or checkpointer lock or read at all
#   backup                   works with SQLite's locks: a verified copy of the
#                            last committed state, except in exclusive mode,
#                            where SQLite itself cannot read (75, PID)
#
# A refused command changes no byte of the database or its -wal (nor the
# -shm, when it opens no SQLite connection) and writes no output; the source
# of a backup is never changed.  Every read-only command still works, and
# inspect reports DB_IN_USE with the PID.  Afterwards the SQLite process is
# fine: it commits, and integrity_check is ok.
. "$(dirname "$0")/lib.sh"

python3 - "$WALDO" "$TOP/tests/tools/livedb.py" "$TRASH_ROOT" <<'EOF'
import glob, hashlib, json, os, shutil, sqlite3, subprocess, sys, tempfile

waldo, livedb, root = sys.argv[1:4]
T = 400                                  # --timeout (ms) for the commands that wait for SQLite's locks

def sh(args, cwd, timeout=60):
    return subprocess.run([waldo] + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)

def digest(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.exists(p) else None

def content(path, wal=None):
    """(rows, SHA-256 of the rows, integrity_check) of a database, read from a private copy."""
    t = tempfile.mkdtemp(dir=root)
    shutil.copy(path, os.path.join(t, "db"))
    if wal and os.path.exists(wal):
        shutil.copy(wal, os.path.join(t, "db-wal"))
    c = sqlite3.connect(os.path.join(t, "db"))
    h, n = hashlib.sha256(), 0
    for r in c.execute("SELECT id, v FROM t ORDER BY id"):
        h.update(str(r[0]).encode() + b":" + bytes(r[1]))
        n += 1
    ic = c.execute("PRAGMA integrity_check").fetchone()[0]
    c.close()
    shutil.rmtree(t)
    return n, h.hexdigest(), ic

# ---- the template: a WAL database with committed frames, a page set for
# rollback and an undo file for undo, both made while nobody had it open ----
tpl = os.path.join(root, "tpl")
os.makedirs(tpl)
subprocess.run([sys.executable, "-c", """
import os, sqlite3
c = sqlite3.connect("db", isolation_level=None)
c.execute("PRAGMA page_size=4096"); c.execute("PRAGMA journal_mode=wal")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<200) INSERT INTO t(v) SELECT randomblob(300) FROM s")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<50) INSERT INTO t(v) SELECT randomblob(300) FROM s")
os._exit(0)
"""], cwd=tpl, check=True)
setup = [sh(["checkpoint", "--save-undo", "set", "db"], tpl)]
with open(os.path.join(tpl, "db-shm"), "r+b") as f:       # a damaged -shm header: shm-reset
    f.seek(60); b = f.read(1); f.seek(60); f.write(bytes([b[0] ^ 0xff]))
setup.append(sh(["repair", "--in-place", "--yes", "db"], tpl))
undo_files = glob.glob(os.path.join(tpl, "db.waldo-undo-*"))
if any(p.returncode for p in setup) or len(undo_files) != 1 or os.path.exists(os.path.join(tpl, "db-shm")):
    print("not ok 1 - t1400: template (checkpoint --save-undo, repair --in-place): %s"
          % [(p.returncode, p.stderr) for p in setup])
    sys.exit(1)
UNDO = os.path.basename(undo_files[0])

STATES = ["idle", "read", "write", "checkpoint", "exclusive"]
ROWS_ADDED = {"idle": 1, "read": 1, "write": 101, "checkpoint": 2, "exclusive": 1}
# name, argv, opens SQLite connections (the -shm's read marks may change), states where it runs live
WRITING = [
    ("repair --in-place", ["repair", "--in-place", "--yes", "db"], False, ()),
    ("repair -o", ["repair", "-o", "out.db", "db"], False, ()),
    ("undo", ["undo", UNDO], False, ()),
    ("rollback", ["rollback", "db", "set"], False, ()),
    ("backup", ["backup", "--timeout", str(T), "db", "bk"], True, ("idle", "read", "write", "checkpoint")),
    ("checkpoint --save-undo", ["checkpoint", "--timeout", str(T), "--json", "--save-undo", "set2", "db"], True,
     ("idle", "read")),
]
OUTPUTS = ["out.db", "out.db-wal", "set2", "bk/db", "bk/db-wal", "bk/db.manifest"]
READONLY = [["inspect", "--json", "db"], ["header", "db"], ["wal", "db"], ["shm", "db"], ["log", "db"],
            ["history", "db", "1"], ["page", "db", "2"], ["hash", "db"], ["readers", "db"], ["dbhash", "db"],
            ["repair", "db"], ["extract", "db", "-o", "x.db"]]

n = failed = 0
def report(ok, what, why=""):
    global n, failed
    n += 1
    print("ok %d - t1400: %s" % (n, what) if ok else "not ok %d - t1400: %s: %s" % (n, what, why))
    failed += not ok

refused = done = ro_runs = 0
for state in STATES:
    d = os.path.join(root, state)
    shutil.copytree(tpl, d)
    live = subprocess.Popen([sys.executable, livedb, os.path.join(d, "db"), state], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    ready = live.stdout.readline().split()
    if len(ready) != 4 or ready[0] != "ready":
        report(False, state + ": the SQLite process holds the state", "it said %r" % ready)
        live.kill()
        continue
    pid, rows, cont = ready[1], int(ready[2]), ready[3]
    for name, argv, sqlite_conn, runs_live in WRITING:
        before = {f: digest(os.path.join(d, f)) for f in ("db", "db-wal", "db-shm", UNDO, "set")}
        p = sh(argv, d)
        after = {f: digest(os.path.join(d, f)) for f in before}
        why = []
        same = ["db", "db-wal", UNDO, "set"] + ([] if sqlite_conn else ["db-shm"])
        if name == "checkpoint --save-undo" and state in runs_live:
            same = [UNDO, "set"]                            # the checkpoint writes the database: its job
        changed = [f for f in same if before[f] != after[f]]
        if changed:
            why.append("changed %s" % changed)
        if state in runs_live:
            if p.returncode != 0:
                why.append("exit %d: %s" % (p.returncode, p.stderr.strip()))
            elif name == "backup":
                got = content(os.path.join(d, "bk/db"), os.path.join(d, "bk/db-wal"))
                if got != (rows, cont, "ok"):
                    why.append("the copy holds %d rows, integrity %s, %s the last committed state (%d rows)"
                               % (got[0], got[2], "but not" if got[1] != cont else "and", rows))
            else:
                j = json.loads(p.stdout)
                if j["undo_verified"] is not True or not j["checkpoint"]["complete"]:
                    why.append("undo_verified %s, complete %s" % (j["undo_verified"], j["checkpoint"]["complete"]))
            shutil.rmtree(os.path.join(d, "bk"), ignore_errors=True)
            done += not why
            report(not why, "%s: %s works live (exit 0, %s)" % (state, name, "a copy of the last committed state"
                   if name == "backup" else "undo set verified"), "; ".join(why))
        else:
            if p.returncode != 75:
                why.append("exit %d (expected 75): %s" % (p.returncode, p.stderr.strip()))
            msg = json.loads(p.stdout)["error"] if "--json" in argv else p.stderr
            if pid not in msg:
                why.append("the message does not name PID %s: %r" % (pid, msg.strip()))
            made = [f for f in OUTPUTS if os.path.exists(os.path.join(d, f))]
            if made:
                why.append("wrote %s" % made)
            refused += not why
            report(not why, "%s: %s refused (75, PID named, nothing changed)" % (state, name), "; ".join(why))
    why = []
    for argv in READONLY:
        p = sh(argv, d)
        ro_runs += 1
        if p.returncode not in (0, 1) or not p.stdout:
            why.append("%s: exit %d, %s" % (" ".join(argv), p.returncode, p.stderr.strip()[:200]))
        elif argv[0] == "inspect":
            f = [f for f in json.loads(p.stdout)["findings"] if f["code"] == "DB_IN_USE"]
            if not f or pid not in f[0]["message"]:
                why.append("inspect reports no DB_IN_USE naming %s: %s" % (pid, f))
        elif argv[0] == "readers" and pid not in p.stdout:
            why.append("readers does not list %s" % pid)
    report(not why, "%s: %d read-only commands work, inspect reports DB_IN_USE with the PID" % (state, len(READONLY)),
           "; ".join(why))
    live.stdin.write("finish\n")
    live.stdin.flush()
    fin = live.stdout.readline().split()
    live.wait(60)
    ok = len(fin) == 4 and fin[0] == "done" and fin[3] == "ok" and int(fin[1]) == rows + ROWS_ADDED[state]
    report(ok and live.returncode == 0, "%s: the SQLite process commits afterwards, integrity_check ok" % state,
           "it said %r, exit %s" % (fin, live.returncode))

cases = len(STATES) * len(WRITING)
print("# live matrix: %d states x %d commands = %d cases, %d as documented (%d refused with exit 75 naming the "
      "PID, %d done live); %d read-only runs" % (len(STATES), len(WRITING), cases, refused + done, refused, done,
                                                 ro_runs))
sys.exit(1 if failed or n == 0 else 0)
EOF
exit $?
