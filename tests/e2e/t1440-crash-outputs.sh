#!/bin/sh
# The two writing commands whose output is a new file, killed with SIGKILL
# after each of their write steps (WALDO_CRASH_AFTER=N; repair/rio.c):
#  - repair -o OUT: OUT is absent or holds the finished bytes; OUT-wal is
#    written first, so it may be there alone (finished bytes too), and a
#    re-run then needs --force to replace it; once OUT is in place what is
#    left is what SQLite's own verification makes (an OUT-shm, an empty
#    OUT-wal); temporary files are hidden (.OUT.waldo-*.tmp), never under
#    the output's name; the inputs never change; a re-run reaches the
#    finished result;
#  - checkpoint --save-undo SET: SET is absent or complete; the database
#    reads as before (a checkpoint changes no content); with SET on disk,
#    rollback gives back the pre-checkpoint database file byte for byte;
#    without it the database file is untouched; a re-run (with --force when
#    --keep-wal's SET.wal is already there) reaches the finished state.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" --only demo,rot-db-page1,wrong-foreign-wal \
	> /dev/null || { echo "not ok - corpus generation failed"; exit 1; }

python3 - "$WALDO" "$CORPUS" "$TRASH_ROOT/work" <<'EOF'
import hashlib, os, shutil, sqlite3, subprocess, sys, tempfile

waldo, corpus, work = sys.argv[1:4]
os.makedirs(work)

def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

def tree(d):
    """Every file of folder d (recursively) with its SHA-256."""
    out = {}
    for root, _, names in os.walk(d):
        for name in names:
            p = os.path.join(root, name)
            out[os.path.relpath(p, d)] = digest(p)
    return out

def content(d, name="db"):
    """What SQLite reads from d/name (a copy, no -shm): every table's rows, or the error."""
    t = tempfile.mkdtemp(dir=work)
    for s in ("", "-wal"):
        if os.path.exists(os.path.join(d, name + s)):
            shutil.copy(os.path.join(d, name + s), os.path.join(t, "db" + s))
    try:
        c = sqlite3.connect(os.path.join(t, "db"))
        names = [r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")]
        rows = tuple((n, tuple(c.execute('SELECT * FROM "%s" ORDER BY rowid' % n))) for n in names)
        ok = c.execute("PRAGMA integrity_check").fetchone()[0]
        c.close()
        return (ok, rows)
    except sqlite3.Error as e:
        return "error: %s" % e
    finally:
        shutil.rmtree(t)

EMPTY = hashlib.sha256(b"").hexdigest()

def run(args, crash=None):
    env = dict(os.environ)
    if crash:
        env["WALDO_CRASH_AFTER"] = str(crash)
    return subprocess.run([waldo] + args, capture_output=True, text=True, env=env, timeout=120)

n = failed = 0
def report(ok, what, why=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s: " + why) % (n, what))
    failed += not ok

# ---- repair -o ---------------------------------------------------------
for case in ("demo", "rot-db-page1", "wrong-foreign-wal"):
    src = os.path.join(corpus, case)
    orig = tree(src)
    ref = os.path.join(work, case + ".ref")
    os.makedirs(ref)
    p = run(["repair", "-o", os.path.join(ref, "out"), os.path.join(src, "db")])
    why = []
    final = tree(ref)
    if p.returncode != 0 or "out" not in final:
        why.append("the uninterrupted repair -o failed: exit %d %s" % (p.returncode, p.stderr.strip()))
    final_seen = content(ref, "out")
    if not isinstance(final_seen, tuple) or final_seen[0] != "ok":
        why.append("SQLite does not read the finished output: %s" % (final_seen,))
    steps = 0
    for crash in range(1, 200):
        d = os.path.join(work, "%s.o%d" % (case, crash))
        os.makedirs(d)
        p = run(["repair", "-o", os.path.join(d, "out"), os.path.join(src, "db")], crash)
        if p.returncode != -9:
            steps = crash - 1
            if p.returncode != 0 or tree(d) != final:
                why.append("WALDO_CRASH_AFTER=%d past the last step: exit %d" % (crash, p.returncode))
            shutil.rmtree(d)
            break
        now = tree(d)
        visible = {k: v for k, v in now.items() if not k.startswith(".")}
        hidden = [k for k in now if k.startswith(".") and not (k.startswith(".out") and k.endswith(".tmp"))]
        if "out" in visible:
            # published: the finished bytes, plus what SQLite's verification leaves
            rest = {k: v for k, v in visible.items() if k != "out-shm"}
            if rest.get("out-wal") == EMPTY and "out-wal" not in final:
                del rest["out-wal"]
            if rest != final:
                why.append("crash %d: the output folder holds %s, not the finished result" % (crash, sorted(visible)))
        elif visible and visible != {k: v for k, v in final.items() if k == "out-wal"}:
            why.append("crash %d: without OUT the folder holds %s" % (crash, sorted(visible)))
        if hidden:
            why.append("crash %d: unexpected files %s" % (crash, hidden))
        if tree(src) != orig:
            why.append("crash %d: the input changed" % crash)
        # a re-run over what the crash left reaches the finished result
        if "out" not in visible:
            p = run(["repair", "-o", os.path.join(d, "out"), os.path.join(src, "db")] + (["--force"] if visible else []))
            again = {k: v for k, v in tree(d).items() if not k.startswith(".")}
            if p.returncode != 0 or again != final:
                why.append("crash %d: the re-run exits %d and leaves %s" % (crash, p.returncode, sorted(again)))
        shutil.rmtree(d)
    if steps < 2:
        why.append("only %d write steps" % steps)
    report(not why, "repair -o %s killed at each of its %d write steps" % (case, steps), "; ".join(why))

# ---- checkpoint --save-undo ---------------------------------------------
for keep in (False, True):
    src = os.path.join(corpus, "demo")
    orig = tree(src)
    orig_seen = content(src)
    label = "checkpoint --save-undo%s" % (" --keep-wal" if keep else "")
    opts = ["--mode", "truncate"] + (["--keep-wal"] if keep else [])
    why = []
    steps = 0
    for crash in range(1, 200):
        d = os.path.join(work, "ck%d.%d" % (keep, crash))
        shutil.copytree(src, d)
        db, s = os.path.join(d, "db"), os.path.join(d, "set")
        p = run(["checkpoint", "--save-undo", s] + opts + [db], crash)
        if p.returncode != -9:
            steps = crash - 1
            if p.returncode != 0:
                why.append("WALDO_CRASH_AFTER=%d past the last step: exit %d %s" % (crash, p.returncode,
                                                                                    p.stderr.strip()))
            shutil.rmtree(d)
            break
        if content(d) != orig_seen:
            why.append("crash %d: SQLite reads other content than before" % crash)
        left = sorted(k for k in os.listdir(d) if k not in ("db", "db-wal", "db-shm", "set", "set.wal",
                      "set.wal.sha256", "expected.json") and not (k.startswith(".set") and k.endswith(".tmp")))
        if left:
            why.append("crash %d: left behind %s" % (crash, left))
        if os.path.exists(s) and digest(db) != orig["db"]:
            # checkpointed: the page set is complete and takes the database back to the original file
            r = run(["rollback", db, s])
            if r.returncode != 0 or digest(db) != orig["db"]:
                why.append("crash %d: rollback with the page set exits %d, original database back: %s"
                           % (crash, r.returncode, digest(db) == orig["db"]))
        elif not os.path.exists(s):
            # no page set: the database file must not have been checkpointed into, and
            # a re-run does the whole job
            if digest(db) != orig["db"]:
                why.append("crash %d: the database file changed before the page set was on disk" % crash)
            force = ["--force"] if os.path.exists(s + ".wal") else []
            r = run(["checkpoint", "--save-undo", s] + opts + force + [db])
            if r.returncode != 0 or not os.path.exists(s):
                why.append("crash %d: the re-run exits %d" % (crash, r.returncode))
        shutil.rmtree(d)
    if steps < 2:
        why.append("only %d write steps" % steps)
    report(not why, "%s killed at each of its %d write steps" % (label, steps), "; ".join(why))

sys.exit(1 if failed else 0)
EOF
