#!/bin/sh
# A repair killed with SIGKILL after each of its write steps (write, fsync,
# rename, unlink; WALDO_CRASH_AFTER=N) leaves the original or the repaired
# files, never a mix: the files are changed one at a time, each by one
# rename or unlink, in the order -shm, database, -wal, so a crash leaves the
# original with the first k of those changes made — and what SQLite reads
# there is the original content or the repaired content.  waldo undo then
# always gives back the original bytes; an undo killed the same way and run
# again does too.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" \
	--only demo,size-trailing-garbage,mismatch-shm-salts,wrong-foreign-wal,rot-wal-header,mismatch-wal-version,rot-db-page1 \
	> /dev/null || { echo "not ok - corpus generation failed"; exit 1; }

python3 - "$WALDO" "$CORPUS" "$TRASH_ROOT/work" <<'EOF'
import glob, hashlib, json, os, shutil, sqlite3, subprocess, sys, tempfile

waldo, corpus, work = sys.argv[1:4]
os.makedirs(work)
CASES = [
    ("demo", []),                                   # wal-tail: the WAL
    ("size-trailing-garbage", []),                  # header-size: the database
    ("rot-db-page1", []),                           # header-fields: the database
    ("mismatch-shm-salts", []),                     # shm-reset: the -shm
    ("wrong-foreign-wal", []),                      # wal-detach: -shm and WAL
    ("rot-wal-header", ["--salvage"]),              # wal-rechain: -shm and WAL
    ("mismatch-wal-version", ["--only", "checkpoint-offline"]),   # -shm, database and WAL
]
NAMES = ("db-shm", "db", "db-wal")                  # the order repair changes them in

def files(d):
    return {f: (hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
                if os.path.exists(os.path.join(d, f)) else None) for f in NAMES}

EMPTY = hashlib.sha256(b"").hexdigest()

def after_verification(now, rep):
    """The repair is complete and verified; what is left is SQLite's own: the
    -shm and the empty -wal its read-only open creates, which the repair
    removes again (a crash in between leaves them)."""
    s = dict(now)
    if s["db-wal"] == EMPTY and rep["db-wal"] is None:
        s["db-wal"] = None
    if s["db-shm"] is not None and rep["db-shm"] is None:
        s["db-shm"] = None
    return s == rep

def seen(d):
    """What SQLite reads: (row counts of every table) on a copy without the -shm, or the error."""
    t = tempfile.mkdtemp(dir=work)
    for s in ("", "-wal"):
        if os.path.exists(os.path.join(d, "db" + s)):
            shutil.copy(os.path.join(d, "db" + s), os.path.join(t, "db" + s))
    try:
        c = sqlite3.connect(os.path.join(t, "db"))
        names = [r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")]
        res = tuple((n, c.execute('SELECT count(*), total(length(quote(rowid))) FROM "%s"' % n).fetchone())
                    for n in names)
        c.close()
        return res
    except sqlite3.Error as e:
        return "error: %s" % e
    finally:
        shutil.rmtree(t)

def run(args, crash=None):
    env = dict(os.environ)
    if crash:
        env["WALDO_CRASH_AFTER"] = str(crash)
    return subprocess.run([waldo] + args, capture_output=True, text=True, env=env, timeout=60)

n = failed = 0
def report(ok, what, why=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s: " + why) % (n, what))
    failed += not ok

for case, opts in CASES:
    src = os.path.join(corpus, case)
    orig, orig_seen = files(src), seen(src)
    # The repaired state, from a run that is not interrupted.
    ref = os.path.join(work, case + ".ref")
    shutil.copytree(src, ref)
    p = run(["repair", "--json", "--in-place", "--yes", os.path.join(ref, "db")] + opts)
    j = json.loads(p.stdout)
    res = j["result"]
    rep = dict(orig)
    for f in res["files"]:
        name = {"db": "db", "wal": "db-wal", "shm": "db-shm"}[f["file"]]
        rep[name] = f["sha256"] if f["present"] else None
    rep_seen = seen(ref)
    changes = [f for f in NAMES if rep[f] != orig[f]]
    why = []
    if p.returncode != 0 or not res["verification"]["ok"]:
        why.append("the uninterrupted repair failed: %s %s" % (p.returncode, res))
    if rep_seen == orig_seen and case not in ("demo", "mismatch-shm-salts", "size-trailing-garbage"):
        why.append("the repair changes nothing SQLite sees")
    # Every prefix of the changes, in order, is a state a crash may leave.
    allowed = []
    for k in range(len(changes) + 1):
        s = dict(orig)
        for f in changes[:k]:
            s[f] = rep[f]
        allowed.append(s)
    steps = 0
    for crash in range(1, 200):
        d = os.path.join(work, "%s.%d" % (case, crash))
        shutil.copytree(src, d)
        p = run(["repair", "--in-place", "--yes", os.path.join(d, "db")] + opts, crash)
        if p.returncode != -9:
            steps = crash - 1
            if p.returncode != 0:
                why.append("with WALDO_CRASH_AFTER=%d past the last step: exit %d" % (crash, p.returncode))
            shutil.rmtree(d)
            break
        now = files(d)
        if now not in allowed and not after_verification(now, rep):
            why.append("crash %d: %s is neither the original, the repair nor a prefix of it" % (crash, now))
        s = seen(d)
        if s != orig_seen and s != rep_seen:
            why.append("crash %d: SQLite reads neither the original nor the repaired content" % crash)
        undo = glob.glob(os.path.join(d, "db.waldo-undo-*"))
        if undo:
            u = run(["undo", undo[0]])
            if u.returncode != 0 or files(d) != orig:
                why.append("crash %d: undo exit %d, original back: %s" % (crash, u.returncode, files(d) == orig))
        elif now != orig:
            why.append("crash %d: files changed before the undo file was written" % crash)
        shutil.rmtree(d)
    if steps < 3:
        why.append("only %d write steps" % steps)
    report(not why, "repair %s killed at each of its %d write steps" % (case, steps), "; ".join(why))

    # waldo undo killed at each of its steps, then run again.
    why = []
    undo = res["undo_file"]
    for crash in range(1, 200):
        d = os.path.join(work, "%s.u%d" % (case, crash))
        shutil.copytree(ref, d)
        u = os.path.join(d, os.path.basename(undo))
        p = run(["undo", u], crash)
        if p.returncode != -9:
            if p.returncode != 0 or files(d) != orig:
                why.append("uninterrupted undo: exit %d" % p.returncode)
            shutil.rmtree(d)
            break
        p = run(["undo", u])
        if p.returncode != 0 or files(d) != orig:
            why.append("undo after a crash at step %d: exit %d, original back: %s" % (crash, p.returncode,
                                                                                  files(d) == orig))
        shutil.rmtree(d)
    report(not why, "undo of %s killed at each step, then run again" % case, "; ".join(why))

sys.exit(1 if failed or n == 0 else 0)
EOF
status=$?
test_count=1000
[ $status -eq 0 ] && test_done
test_done; exit 1
