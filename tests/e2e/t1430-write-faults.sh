#!/bin/sh
# Write-side environment faults (HOSTILE.md rows E6, E7, E8, E12;
# docs/repair.md, "Environment faults") for the writing commands: repair
# --in-place, rollback, repair -o, undo, checkpoint --save-undo and backup.
#
# E6/E8: tests/tools/faults.c, preloaded, fails the Nth write (ENOSPC) or the
# Nth fsync (EIO), or cuts the Nth write short, on the files of the
# database's folder (the output folder for backup), waldo's calls and libsqlite3's alike; for every N until a run
# no longer meets one: the exit status is an error (never 0 or 1, never a
# signal), a message gives the error and the file (or SQLite's message), no
# temporary file is left, and the files are the original ones, or the undo
# file (the page set, for a checkpoint; running undo again, for undo) gives
# them back; a fsync failure that leaves files changed says their durability
# is unknown.  Two calls may pass with exit 0: libsqlite3's own fsync of the
# folder (SQLite ignores its failure, unixSync; waldo syncs the folder itself
# afterwards) and the tidying after a verified result (a warning).  A short
# write: waldo writes the rest and finishes (exit 0, the finished files, the
# whole backup); libsqlite3 reports a full disk, checked like ENOSPC.
# E7: each command in a folder it cannot write (chmod 555, run as nobody when
# root): refused with 73 before anything is written, every file unchanged.
# E12: SIGTERM after each write step (WALDO_CRASH_SIGNAL=TERM): a message
# naming the step, death by the signal, the original or the finished
# database, `waldo undo` restores, running again finishes.
. "$(dirname "$0")/lib.sh"

SHIM=$BUILD/tests/faults.so
[ -f "$SHIM" ] || { echo "not ok 1 - t1430: $SHIM is not built (make $SHIM)"; exit 1; }
CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" --only demo > /dev/null ||
	{ echo "not ok 1 - t1430: corpus generation failed"; exit 1; }

python3 - "$WALDO" "$SHIM" "$CORPUS" "$TRASH_ROOT" <<'PYEOF'
import glob, hashlib, os, shutil, sqlite3, subprocess, sys

waldo, shim, corpus, root = sys.argv[1:5]
VERBOSE = os.environ.get("T1430_VERBOSE")

def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.exists(p) else None

def files(d, names=("db", "db-wal")):
    return {f: sha(os.path.join(d, f)) for f in names}

def run(args, cwd, fault=None, extra=None):
    env = dict(os.environ)
    if fault:
        env.update(LD_PRELOAD=shim, WALDO_FAULT=fault, WALDO_FAULT_DIR=cwd,
                   ASAN_OPTIONS=(env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":"))
    env.update(extra or {})
    return subprocess.run([waldo] + args, cwd=cwd, capture_output=True, text=True, env=env, timeout=60)

def undo_file(d):
    u = sorted(glob.glob(os.path.join(d, "db.waldo-undo-*")))
    return os.path.basename(u[-1]) if u else None

def temps(d):
    return [os.path.basename(t) for t in glob.glob(os.path.join(d, ".*waldo*tmp*")) + glob.glob(os.path.join(d, "*.tmp"))]

def mk_rollback(d):
    os.makedirs(d)
    subprocess.run([sys.executable, "-c", """
import os, sqlite3
c = sqlite3.connect("db", isolation_level=None)
c.execute("PRAGMA page_size=1024"); c.execute("PRAGMA journal_mode=wal")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<60) INSERT INTO t(v) SELECT randomblob(700) FROM s")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40) INSERT INTO t(v) SELECT randomblob(900) FROM s")
os._exit(0)
"""], cwd=d, check=True)

def mk_rollback_set(d):
    mk_rollback(d)
    p = run(["checkpoint", "--mode", "truncate", "--save-undo", "set", "--keep-wal", "db"], d)
    assert p.returncode == 0, p.stdout + p.stderr

def mk_undo(d):
    shutil.copytree(os.path.join(corpus, "demo"), d)
    p = run(["repair", "--in-place", "--yes", "db"], d)
    assert p.returncode == 0, p.stdout + p.stderr
    os.rename(os.path.join(d, undo_file(d)), os.path.join(d, "db.waldo-undo-0"))

def corpus_case(name):
    return lambda d: shutil.copytree(os.path.join(corpus, name), d)

def by_undo(d, before, now, orig, fin):
    """How the original comes back: the undo file the command left, if any."""
    u = undo_file(d)
    return (["undo", u], ("db", "db-wal"), orig) if u and u not in before else None

def seen(d):
    """What SQLite reads (row count and sum of lengths per table) and integrity_check, on a copy without the -shm."""
    t = d + ".seen"
    shutil.rmtree(t, ignore_errors=True)
    os.makedirs(t)
    for f in ("db", "db-wal"):
        if os.path.exists(os.path.join(d, f)):
            shutil.copy(os.path.join(d, f), os.path.join(t, f))
    try:
        c = sqlite3.connect(os.path.join(t, "db"))
        names = [r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")]
        res = [(n, c.execute('SELECT count(*), total(length(v)) FROM "%s"' % n).fetchone()) for n in names]
        res.append(c.execute("PRAGMA integrity_check").fetchone()[0])
        c.close()
        return res
    finally:
        shutil.rmtree(t)

def by_set(d, before, now, orig, fin):
    # A checkpoint stopped half way (the WAL intact): SQLite still reads the original through the WAL.
    if now["db-wal"] == orig["db-wal"]:
        return "seen"
    # The page set undoes the checkpoint (a set alone, the database untouched, needs nothing).
    return (["rollback", "db", "set"], ("db",), orig) if now["db"] != orig["db"] and \
        os.path.exists(os.path.join(d, "set")) else None

def by_again(argv):
    # waldo undo leaves a file already restored alone: running it again finishes the restore.
    return lambda d, before, now, orig, fin: (argv, ("db", "db-wal"), fin)

# title, make the source folder, command, the files compared, how to get the original back
CASES = [
    ("repair --in-place", corpus_case("demo"), ["repair", "--in-place", "--yes", "db"], ("db", "db-wal"), by_undo),
    ("rollback", mk_rollback_set, ["rollback", "db", "set"], ("db", "db-wal"), by_undo),
    ("repair -o", corpus_case("demo"), ["repair", "-o", "out", "db"], ("db", "db-wal", "out", "out-wal"), None),
    ("undo", mk_undo, ["undo", "db.waldo-undo-0"], ("db", "db-wal"), by_again(["undo", "db.waldo-undo-0"])),
    ("checkpoint --save-undo", mk_rollback, ["checkpoint", "--mode", "truncate", "--save-undo", "set", "db"],
     ("db", "db-wal"), by_set),   # a page set beside an unchanged database: harmless, it restores that
]
ERRTEXT = {"enospc": ("No space left on device", ("disk is full", "disk I/O error")),
           "eio-fsync": ("Input/output error", ("disk I/O error",)),
           "short": ("No space left on device", ("disk is full", "disk I/O error"))}
KINDS = ("enospc", "eio-fsync", "short")
only = os.environ.get("T1430_ONLY")
n = failed = points = 0
counts = {}
for ci, (title, mk, argv, names, restore) in enumerate(CASES):
    if only and only != title:
        continue
    base = os.path.join(root, "w%d" % ci)
    src = os.path.join(base, "src")
    mk(src)
    orig = files(src, names)
    fin_dir = os.path.join(base, "fin")
    shutil.copytree(src, fin_dir)
    p = run(argv, fin_dir)
    fin = files(fin_dir, names)
    why = []
    if p.returncode != 0 or fin == orig:
        why.append("the clean run: exit %d, changed: %s (%s)" % (p.returncode, fin != orig, p.stderr.strip()[:300]))
    for kind in KINDS:
        k = 0
        while not why:
            k += 1
            d = os.path.join(base, "%s%d" % (kind, k))
            shutil.copytree(src, d)
            before = set(os.listdir(d))
            p = run(argv, d, "%s:%d" % (kind, k))
            now = files(d, names)
            tag = "%s at call %d" % (kind, k)
            fault = [l for l in p.stderr.splitlines() if l.startswith("waldo-fault:")]
            if VERBOSE:
                print("# %s: exit %d, state %s, temps %s: %s" % (
                    tag, p.returncode, "orig" if now == orig else "fin" if now == fin else "OTHER",
                    temps(d), " | ".join(p.stderr.strip().splitlines()[-3:])))
            if not fault:
                # Past the last call of that kind: the command ran through untouched.
                if p.returncode != 0 or now != fin:
                    why.append("%s (none left): exit %d, finished: %s" % (tag, p.returncode, now == fin))
                shutil.rmtree(d)
                break
            points += 1
            counts[kind] = counts.get(kind, 0) + 1
            err = [l for l in p.stderr.splitlines() if l.startswith("waldo: ")]
            # A short write: waldo writes the rest (exit 0, the finished files); libsqlite3 calls it a full disk.
            if kind == "short" and p.returncode == 0:
                if now != fin or temps(d):
                    why.append("%s: exit 0, finished: %s, temporary files: %s" % (tag, now == fin, temps(d)))
                shutil.rmtree(d)
                continue
            # libsqlite3 ignores a failed fsync of a folder (unixSync): waldo syncs the folder itself afterwards.
            sqlite_dir = fault[0].endswith("(.) by libsqlite3.so.0")
            if p.returncode == 0 and sqlite_dir and now == fin:
                shutil.rmtree(d)
                continue
            # Tidying up after a verified result (removing SQLite's -shm): a warning, the result stands.
            if p.returncode == 0 and now == fin and any(l.startswith("waldo: warning: ") and ERRTEXT[kind][0] in l
                                                        for l in err):
                shutil.rmtree(d)
                continue
            if p.returncode in (0, 1) or p.returncode < 0:
                why.append("%s: exit %d (the fault was ignored)" % (tag, p.returncode))
            elif not any((ERRTEXT[kind][0] in l and "'" in l) or any(t in l for t in ERRTEXT[kind][1]) for l in err):
                # waldo's own writes: the error and the file; libsqlite3's (its -shm, a checkpoint): its message
                why.append("%s: no clear message naming the file: %s" % (tag, err[-2:]))
            if temps(d):
                why.append("%s: temporary files left: %s" % (tag, temps(d)))
            back = restore(d, before, now, orig, fin) if restore else None
            if now != orig and not back:
                why.append("%s: the files changed (%s) and nothing restores them" % (
                    tag, ", ".join(f for f in names if now[f] != orig[f])))
            if now != orig and kind == "eio-fsync" and not any("unknown" in l for l in err) and \
                    not any(t in l for l in err for t in ERRTEXT[kind][1]):
                why.append("%s: files changed but nothing says their durability is unknown: %s" % (tag, err[-2:]))
            if back == "seen":
                if seen(d) != seen(src):
                    why.append("%s: SQLite no longer reads the original content" % tag)
            elif back:
                ud = d + ".back"
                shutil.copytree(d, ud)
                q = run(back[0], ud)
                want = {f: back[2][f] for f in back[1]}
                if q.returncode != 0 or files(ud, back[1]) != want:
                    why.append("%s: waldo %s: exit %d, restored: %s (%s)" % (
                        tag, " ".join(back[0]), q.returncode, files(ud, back[1]) == want, q.stderr.strip()[:200]))
                shutil.rmtree(ud)
            if k > 400:
                why.append("%s: the fault keeps firing" % tag)
            shutil.rmtree(d)
    n += 1
    print("ok %d - t1430: %s: ENOSPC, fsync EIO and a short write at each of its write and sync calls" % (n, title) if not why
          else "not ok %d - t1430: %s: %s" % (n, title, "; ".join(why[:4])))
    failed += bool(why)

# ---- backup: the faults hit its output folder; its marker (NAME.incomplete) says a copy is not whole ----
if not only or only == "backup":
    base = os.path.join(root, "backup")
    src = os.path.join(base, "src")
    corpus_case("demo")(src)
    orig = files(src)
    clean = os.path.join(base, "clean")
    os.makedirs(clean)
    p = run(["backup", "db", clean], src)
    whole = files(clean)
    why = [] if p.returncode == 0 and sorted(os.listdir(clean)) == ["db", "db-wal", "db.manifest"] else \
        ["the clean backup: exit %d (%s)" % (p.returncode, p.stderr.strip()[:200])]
    for kind in KINDS:
        k = 0
        while not why:
            k += 1
            d = os.path.join(base, "%s%d" % (kind, k))
            shutil.copytree(src, d)
            out = os.path.join(d, "out")
            os.makedirs(out)
            p = run(["backup", "db", "out"], d, "%s:%d" % (kind, k), {"WALDO_FAULT_DIR": out})
            tag = "backup: %s at call %d" % (kind, k)
            got = sorted(os.listdir(out))
            if VERBOSE:
                print("# %s: exit %d, out %s: %s" % (tag, p.returncode, got, " | ".join(p.stderr.strip().splitlines()[-2:])))
            if files(d) != orig:
                why.append("%s: the database changed" % tag)
            if "waldo-fault:" not in p.stderr:
                if p.returncode != 0 or got != ["db", "db-wal", "db.manifest"]:
                    why.append("%s (none left): exit %d, %s" % (tag, p.returncode, got))
                shutil.rmtree(d)
                break
            points += 1
            counts[kind] = counts.get(kind, 0) + 1
            err = [l for l in p.stderr.splitlines() if l.startswith("waldo: ")]
            if kind == "short":
                # waldo writes the rest of a short write: the whole copy, byte for byte
                if p.returncode != 0 or got != ["db", "db-wal", "db.manifest"] or files(out) != whole:
                    why.append("%s: exit %d, %s, a copy: %s" % (tag, p.returncode, got, files(out) == whole))
            elif p.returncode in (0, 1) or p.returncode < 0:
                why.append("%s: exit %d (the fault was ignored)" % (tag, p.returncode))
            elif not any(ERRTEXT[kind][0] in l and "'" in l for l in err):
                why.append("%s: no clear message naming the file: %s" % (tag, err[-2:]))
            if [f for f in got if f.startswith(".")]:
                why.append("%s: temporary files left: %s" % (tag, got))
            # What is left: nothing, an incomplete copy marked so, or the whole copy (only its last sync failed).
            if got and "db.incomplete" not in got and got != ["db", "db-wal", "db.manifest"]:
                why.append("%s: an unmarked partial backup: %s" % (tag, got))
            shutil.rmtree(d)
    n += 1
    print("ok %d - t1430: backup: ENOSPC, fsync EIO and a short write at each of its write and sync calls in OUTDIR" % n if not why
          else "not ok %d - t1430: backup: %s" % (n, "; ".join(why[:4])))
    failed += bool(why)
print("# write-fault points: %d (%s)" % (points, ", ".join("%s %d" % kv for kv in sorted(counts.items()))))

# ---- E7: a read-only folder, refused up front, nothing written ----
def nobody():
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        return None
    import pwd
    pw = pwd.getpwnam("nobody")
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--clear-groups", "--"]

RO = [("repair --in-place", corpus_case("demo"), ["repair", "--in-place", "--yes", "db"]),
      ("repair -o", corpus_case("demo"), ["repair", "-o", "out", "db"]),
      ("rollback", mk_rollback_set, ["rollback", "db", "set"]),
      ("undo", mk_undo, ["undo", "db.waldo-undo-0"]),
      ("checkpoint --save-undo", mk_rollback, ["checkpoint", "--mode", "truncate", "--save-undo", "set2", "db"])]
pre = nobody()
if not only or only == "ro":
    n += 1
    if pre is None:
        print("ok %d - t1430: read-only folder # SKIP running as root without setpriv" % n)
    else:
        why = []
        os.chmod(root, 0o755)
        for title, mk, argv in RO:
            d = os.path.join(root, "ro-" + title.split()[0] + argv[1])
            mk(d)
            for f in os.listdir(d):
                os.chmod(os.path.join(d, f), 0o666)     # only the folder is read-only
            before = {f: sha(os.path.join(d, f)) for f in os.listdir(d)}
            os.chmod(d, 0o555)
            p = subprocess.run(pre + [waldo] + argv, cwd=d, capture_output=True, text=True, timeout=60)
            os.chmod(d, 0o755)
            after = {f: sha(os.path.join(d, f)) for f in os.listdir(d)}
            msg = "cannot write into the folder '.': Permission denied"
            if p.returncode != 73 or msg not in p.stderr or after != before:
                why.append("%s: exit %d, unchanged: %s (%s)" % (title, p.returncode, after == before,
                                                               p.stderr.strip()[-200:]))
        print("ok %d - t1430: read-only folder: %d writing commands refused up front, nothing written" % (n, len(RO))
              if not why else "not ok %d - t1430: read-only folder: %s" % (n, "; ".join(why)))
        failed += bool(why)

# ---- E12: SIGTERM at each write step: what a crash there leaves, plus a message ----
SIG = [("repair --in-place", corpus_case("demo"), ["repair", "--in-place", "--yes", "db"]),
       ("rollback", mk_rollback_set, ["rollback", "db", "set"])]
sigpoints = 0
for title, mk, argv in SIG:
    if only and only != "sigterm":
        continue
    base = os.path.join(root, "sig-" + argv[0])
    src = os.path.join(base, "src")
    mk(src)
    orig = files(src)
    fin_dir = os.path.join(base, "fin")
    shutil.copytree(src, fin_dir)
    run(argv, fin_dir)
    fin = files(fin_dir)
    why = []
    k = 0
    while not why:
        k += 1
        d = os.path.join(base, "k%d" % k)
        shutil.copytree(src, d)
        before = set(os.listdir(d))
        p = run(argv, d, None, {"WALDO_CRASH_AFTER": str(k), "WALDO_CRASH_SIGNAL": "TERM"})
        now = files(d)
        tag = "SIGTERM after step %d" % k
        if p.returncode == 0:
            if now != fin:
                why.append("%s (none left): not the finished files" % tag)
            shutil.rmtree(d)
            break
        sigpoints += 1
        if p.returncode != -15 or "waldo: terminated (SIGTERM) after write step %d:" % k not in p.stderr:
            why.append("%s: exit %d, %s" % (tag, p.returncode, p.stderr.strip()[-200:]))
        if now["db"] not in (orig["db"], fin["db"]):
            why.append("%s: the database file is neither the original nor the finished one" % tag)
        u = undo_file(d)
        if u and u not in before:
            ud = d + ".undo"
            shutil.copytree(d, ud)
            q = run(["undo", u], ud)
            if q.returncode != 0 or files(ud) != orig:
                why.append("%s: waldo undo: exit %d (%s)" % (tag, q.returncode, q.stderr.strip()[:200]))
            shutil.rmtree(ud)
        elif now != orig:
            why.append("%s: the files changed and no undo file is on disk" % tag)
        q = run(argv, d)
        if q.returncode != 0 or files(d)["db"] != fin["db"]:
            why.append("%s: run again: exit %d (%s)" % (tag, q.returncode, q.stderr.strip()[:200]))
        if k > 200:
            why.append("%s: never finishes" % tag)
        shutil.rmtree(d)
    n += 1
    print("ok %d - t1430: %s: SIGTERM after each of its %d write steps: a message, exit by the signal, "
          "the original or the finished database, undo restores" % (n, title, k - 1) if not why
          else "not ok %d - t1430: %s: %s" % (n, title, "; ".join(why[:4])))
    failed += bool(why)
print("# SIGTERM points: %d" % sigpoints)
sys.exit(1 if failed else 0)
PYEOF
exit $?
