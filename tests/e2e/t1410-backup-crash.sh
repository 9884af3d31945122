#!/bin/sh
# waldo backup killed with SIGKILL after each of its write steps
# (WALDO_CRASH_AFTER=N: every write(), fsync, rename, unlink and folder fsync
# it makes, repair/rio.h), for a first backup (raw, --gzip, --method api) and
# for --force over an earlier backup of an older state:
#
#   * the backup's names in OUTDIR hold the earlier backup (or nothing) or the
#     finished backup, byte for byte, unless OUTDIR/NAME.incomplete says that
#     a backup is being published; even then every file there is complete
#     (the earlier one's or the new one's, never a partial file), and no
#     earlier file sits beside a new one (an old database never pairs with a
#     new WAL);
#   * running the same command again reaches the finished backup (the marker
#     gone, the dead run's stage folder removed; once the backup was complete,
#     a run without --force may instead refuse to replace it, exit 73);
#   * the source database and its -wal are never changed.
. "$(dirname "$0")/lib.sh"

python3 - "$WALDO" "$TRASH_ROOT" <<'EOF'
import hashlib, os, shutil, subprocess, sys

waldo, root = sys.argv[1:3]

def make_source(d, more):
    os.makedirs(d)
    subprocess.run([sys.executable, "-c", """
import os, sqlite3, sys
c = sqlite3.connect("db", isolation_level=None)
c.execute("PRAGMA page_size=1024"); c.execute("PRAGMA journal_mode=wal")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<150) INSERT INTO t(v) SELECT randomblob(600) FROM s")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA wal_autocheckpoint=0")
for k in range(int(sys.argv[1])):
    c.execute("INSERT INTO t(v) VALUES(randomblob(2500))")
os._exit(0)
""", str(more)], cwd=d, check=True)

def visible(d):
    """The names in OUTDIR a user sees, with their SHA-256; hidden entries (the stage folder) apart."""
    if not os.path.isdir(d):
        return {}
    return {f: hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
            for f in sorted(os.listdir(d)) if not f.startswith(".")}

def src_state(d):
    return {f: hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
            for f in ("db", "db-wal") if os.path.exists(os.path.join(d, f))}

def run(args, cwd, crash=None):
    env = dict(os.environ)
    env.pop("WALDO_CRASH_AFTER", None)
    if crash:
        env["WALDO_CRASH_AFTER"] = str(crash)
    return subprocess.run([waldo] + args, cwd=cwd, capture_output=True, text=True, env=env, timeout=60)

# variant: (name, options, earlier backup's options or None)
VARIANTS = [
    ("raw", [], None),
    ("gzip", ["--gzip"], None),
    ("api", ["--method", "api"], None),
    ("raw --force over a raw backup", ["--force"], []),
    ("raw --force over a gzip backup", ["--force"], ["--gzip"]),
]
n = failed = total = 0
for name, opts, earlier in VARIANTS:
    base = os.path.join(root, "v%d" % n)
    src = os.path.join(base, "src")
    make_source(src, 5)
    if earlier is not None:
        # The earlier backup holds an older state: 5 commits fewer.
        old = os.path.join(base, "old")
        make_source(old, 0)
        p = run(["backup"] + earlier + [os.path.join(old, "db"), os.path.join(src, "out")], base)
        assert p.returncode == 0, p.stderr
    args = ["backup"] + opts + ["db", "out"]
    prev = visible(os.path.join(src, "out"))
    ref = os.path.join(base, "ref")
    shutil.copytree(src, ref)
    src0 = src_state(ref)
    p = run(args, ref)
    fin = visible(os.path.join(ref, "out"))
    why = []
    if p.returncode != 0 or "db.manifest" not in fin or "db.incomplete" in fin:
        why.append("the uninterrupted backup: exit %d, %s, %s" % (p.returncode, sorted(fin), p.stderr.strip()))
    v = run(["verify", "out/" + ("db" if "--gzip" not in opts else "db.gz"), "out/db.manifest"], ref)
    if "--gzip" not in opts and (v.returncode != 0 or "identical" not in v.stdout):
        why.append("waldo verify of the finished backup: %s" % v.stdout.strip()[-200:])
    steps = 0
    for crash in range(1, 300):
        d = os.path.join(base, "c%d" % crash)
        shutil.copytree(src, d)
        p = run(args, d, crash)
        if p.returncode != -9:
            steps = crash - 1
            if p.returncode != 0 or visible(os.path.join(d, "out")) != fin:
                why.append("with WALDO_CRASH_AFTER=%d past the last step: exit %d" % (crash, p.returncode))
            shutil.rmtree(d)
            break
        now = visible(os.path.join(d, "out"))
        if src_state(d) != src0:
            why.append("crash %d: the source database changed" % crash)
        if "db.incomplete" not in now:
            if now != prev and now != fin:
                why.append("crash %d: %s is neither the earlier nor the finished backup" % (crash, sorted(now)))
        else:
            files = {f: h for f, h in now.items() if f != "db.incomplete"}
            partial = [f for f, h in files.items() if h != fin.get(f) and h != prev.get(f)]
            olds = [f for f, h in files.items() if h == prev.get(f) and h != fin.get(f)]
            news = [f for f, h in files.items() if h == fin.get(f) and h != prev.get(f)]
            if partial:
                why.append("crash %d: partial files under final names: %s" % (crash, partial))
            if olds and news:
                why.append("crash %d: earlier files %s beside new ones %s" % (crash, olds, news))
        # Run again: it finishes the backup (or, when the crash came after the backup was complete,
        # may refuse to replace it without --force: 73, nothing changed); it removes the dead run's stage.
        p = run(args, d)
        again = visible(os.path.join(d, "out"))
        hidden = [f for f in os.listdir(os.path.join(d, "out")) if f.startswith(".")] if os.path.isdir(os.path.join(d, "out")) else []
        if p.returncode not in ((0, 73) if now == fin else (0,)) or again != fin or hidden:
            why.append("crash %d: the second run: exit %d, %s, left %s (%s)" % (crash, p.returncode,
                       "finished" if again == fin else sorted(again), hidden, p.stderr.strip()[:200]))
        if src_state(d) != src0:
            why.append("crash %d: the source database changed (second run)" % crash)
        shutil.rmtree(d)
    total += steps
    n += 1
    if steps < 8:
        why.append("only %d write steps" % steps)
    print(("ok %d - t1410: backup %s killed at each of its %d write steps, then run again" % (n, name, steps))
          if not why else "not ok %d - t1410: backup %s: %s" % (n, name, "; ".join(why[:5])))
    failed += bool(why)
print("# backup crash points: %d in %d variants" % (total, len(VARIANTS)))
sys.exit(1 if failed else 0)
EOF
