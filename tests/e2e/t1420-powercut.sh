#!/bin/sh
# Power cuts during `waldo repair --in-place` and `waldo rollback`
# (docs/repair.md, "Power cuts"): tests/tools/powercut.c, preloaded, records
# every write-type call the process makes on the database's folder (waldo's
# and libsqlite3's own), a copy of each file at each fsync and the folder's
# entries at each folder fsync.  What the disk holds after a power cut right
# after call N is the last fsync'ed content of each file under the last
# fsync'ed entries (tests/tools/powercut.py); everything after is lost.
#
# For every N (each distinct durable state once; the process is run again
# with WALDO_POWERCUT=N and killed right after call N, and its journal must
# give the same state as the uninterrupted run's): the database file is its
# original or its finished bytes; SQLite reads the original or the finished
# content, with integrity_check ok; running the command again reaches the
# finished files; and `waldo undo` with the undo file, when one is on disk,
# gives back the original bytes (when none is, the files are the original).
# And once the command has exited, a power cut loses nothing of its result.
. "$(dirname "$0")/lib.sh"

SHIM=$BUILD/tests/powercut.so
[ -f "$SHIM" ] || { echo "not ok 1 - t1420: $SHIM is not built (make $SHIM)"; exit 1; }
CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" --only demo,mismatch-wal-version > /dev/null ||
	{ echo "not ok 1 - t1420: corpus generation failed"; exit 1; }

python3 - "$WALDO" "$SHIM" "$CORPUS" "$TRASH_ROOT" "$TOP/tests/tools" <<'EOF'
import glob, hashlib, os, shutil, sqlite3, subprocess, sys

waldo, shim, corpus, root, tools = sys.argv[1:6]
sys.path.insert(0, tools)
import powercut

def sha(b):
    return hashlib.sha256(b).hexdigest() if b is not None else None

def files(d, names=("db", "db-wal")):
    out = {}
    for f in names:
        p = os.path.join(d, f)
        out[f] = sha(open(p, "rb").read()) if os.path.exists(p) else None
    return out

def seen(d):
    """What SQLite reads (row counts and sizes of every table) and integrity_check, on a copy without the -shm."""
    t = d + ".seen"
    shutil.rmtree(t, ignore_errors=True)
    os.makedirs(t)
    for s in ("", "-wal"):
        if os.path.exists(os.path.join(d, "db" + s)):
            shutil.copy(os.path.join(d, "db" + s), os.path.join(t, "db" + s))
    try:
        c = sqlite3.connect(os.path.join(t, "db"))
        names = [r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")]
        res = tuple((n, c.execute('SELECT count(*), total(length(quote(rowid))) FROM "%s"' % n).fetchone())
                    for n in names)
        ic = c.execute("PRAGMA integrity_check").fetchone()[0]
        c.close()
        return res, ic
    except sqlite3.Error as e:
        return "error: %s" % e, None
    finally:
        shutil.rmtree(t)

def run(args, cwd, cut=None, log=None):
    env = dict(os.environ)
    if cut is not None:
        env.update(LD_PRELOAD=shim, WALDO_POWERCUT=str(cut), WALDO_POWERCUT_DIR=cwd, WALDO_POWERCUT_LOG=log,
                   ASAN_OPTIONS=(env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":"))
    return subprocess.run([waldo] + args, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)

def undo_file(d):
    u = glob.glob(os.path.join(d, "db.waldo-undo-*"))
    return os.path.basename(u[0]) if u else None

# ---- the cases ----
def mk_rollback(d):
    """A database whose last checkpoint waldo saved: the page set `set` undoes it."""
    os.makedirs(d)
    subprocess.run([sys.executable, "-c", """
import os, sqlite3
c = sqlite3.connect("db", isolation_level=None)
c.execute("PRAGMA page_size=1024"); c.execute("PRAGMA journal_mode=wal")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
c.execute("CREATE INDEX tv ON t(length(v))")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<60) INSERT INTO t(v) SELECT randomblob(700) FROM s")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40) INSERT INTO t(v) SELECT randomblob(900) FROM s")
os._exit(0)
"""], cwd=d, check=True)
    p = run(["checkpoint", "--mode", "truncate", "--save-undo", "set", "--keep-wal", "db"], d)
    assert p.returncode == 0, p.stdout + p.stderr

# title, corpus case (None: mk_rollback), command, the WAL must be the finished one after a second run
# (rollback alone: a WAL whose every page is already in the database file may stay; its success
# is the database file), SQLite may read the database file alone between two phases (--keep-wal)
CASES = [
    ("repair demo (wal-tail)", "demo", ["repair", "--in-place", "--yes", "db"], True, False),
    ("repair mismatch-wal-version (checkpoint-offline: -shm, database and WAL)", "mismatch-wal-version",
     ["repair", "--in-place", "--yes", "--only", "checkpoint-offline", "db"], True, False),
    ("rollback", None, ["rollback", "db", "set"], False, False),
    ("rollback --keep-wal", None, ["rollback", "--keep-wal", "db", "set"], True, True),
]

n = failed = points = states = 0
for title, case, argv, wal_strict, two_phase in CASES:
    base = os.path.join(root, "c%d" % n)
    src = os.path.join(base, "src")
    if case:
        shutil.copytree(os.path.join(corpus, case), src)
    else:
        mk_rollback(src)
    why = []
    orig, orig_seen = files(src), seen(src)
    # The uninterrupted run, recorded.
    rec = os.path.join(base, "rec")
    shutil.copytree(src, rec)
    p = run(argv, rec, 0, os.path.join(base, "rec.log"))
    fin, fin_seen = files(rec), seen(rec)
    allowed_seen = [orig_seen[0], fin_seen[0]]
    if two_phase:
        # Between the synthetic WAL and the kept WAL: the pre-checkpoint file alone.
        mid = os.path.join(base, "mid")
        os.makedirs(mid)
        shutil.copy(os.path.join(rec, "db"), mid)
        allowed_seen.append(seen(mid)[0])
    j = powercut.Journal(os.path.join(base, "rec.log"))
    nsteps = len(j.steps)
    if p.returncode != 0 or fin_seen[1] != "ok" or nsteps < 5:
        why.append("the uninterrupted run: exit %d, %d calls, %s (%s)" % (p.returncode, nsteps, fin_seen,
                                                                        p.stderr.strip()[:300]))
    # Once the command has finished, a power cut loses nothing of its result.
    powercut.materialize(j.durable(), os.path.join(base, "end"))
    end = files(os.path.join(base, "end"))
    if end != fin or seen(os.path.join(base, "end")) != fin_seen:
        why.append("a power cut after the finished run loses its result: %s" % ", ".join(
            "%s is %s" % (f, "the original" if end[f] == orig[f] else "missing" if end[f] is None else "other bytes")
            for f in end if end[f] != fin[f]))
    # One check per distinct durable state: the first call after which it holds.
    groups = {}
    for k in range(0, nsteps + 1):
        st = j.durable(k)
        key = tuple(sorted((name, sha(data)) for name, data in st.items()))
        groups.setdefault(key, k)
    for key, k in sorted(groups.items(), key=lambda kv: kv[1]):
        if why:
            break
        tag = "cut after call %d (%s %s)" % (k, j.steps[k - 1][1], j.steps[k - 1][2]) if k else "cut before any call"
        r = os.path.join(base, "r%d" % k)
        if k:
            # Killed right after call k: its journal must give the same durable state.
            kd, klog = os.path.join(base, "k%d" % k), os.path.join(base, "k%d.log" % k)
            shutil.copytree(src, kd)
            p = run(argv, kd, k, klog)
            kj = powercut.Journal(klog)
            state = kj.durable()
            if p.returncode != -9 or len(kj.steps) != k:
                why.append("%s: the run was not killed there (exit %d, %d calls)" % (tag, p.returncode, len(kj.steps)))
                continue
            a = {f: sha(state.get(f)) for f in ("db", "db-wal")}
            b = {f: sha(j.durable(k).get(f)) for f in ("db", "db-wal")}
            if a != b:
                why.append("%s: the killed run left another state than the recorded one" % tag)
            shutil.rmtree(kd)
        else:
            state = j.durable(0)
        powercut.materialize(state, r)
        now, s = files(r), seen(r)
        if now["db"] not in (orig["db"], fin["db"]):
            why.append("%s: the database file is neither the original nor the finished one" % tag)
        if s[0] not in allowed_seen:
            why.append("%s: SQLite reads neither the original nor the finished content: %s" % (tag, s[0]))
        elif s[1] != "ok" and s != orig_seen:
            why.append("%s: integrity_check: %s" % (tag, s[1]))
        # waldo undo with the undo file on disk gives back the original; without one, nothing changed.
        u = undo_file(r)
        if u:
            ud = r + ".undo"
            shutil.copytree(r, ud)
            p = run(["undo", u], ud)
            if p.returncode != 0 or files(ud) != orig:
                why.append("%s: waldo undo: exit %d, original back: %s (%s)" % (tag, p.returncode, files(ud) == orig,
                                                                              p.stderr.strip()[:200]))
            shutil.rmtree(ud)
        elif now != orig:
            why.append("%s: the files changed before an undo file was on disk: %s" % (tag, now))
        # Running the command again reaches the finished files.
        p = run(argv, r)
        again = files(r)
        if p.returncode != 0 or again["db"] != fin["db"] or (wal_strict and again != fin) or seen(r) != fin_seen:
            why.append("%s: run again: exit %d, finished files: %s (%s)" % (tag, p.returncode, files(r) == fin,
                                                                          p.stderr.strip()[:200]))
        shutil.rmtree(r)
    n += 1
    points += nsteps
    states += len(groups)
    print("ok %d - t1420: %s: a power cut after each of its %d write-type calls (%d durable states)" %
          (n, title, nsteps, len(groups)) if not why else
          "not ok %d - t1420: %s: %s" % (n, title, "; ".join(why[:4])))
    failed += bool(why)
print("# power-cut points: %d write-type calls (%d distinct durable states) in %d runs" % (points, states, n))
sys.exit(1 if failed else 0)
EOF
exit $?
