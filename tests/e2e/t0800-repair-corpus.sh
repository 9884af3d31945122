#!/bin/sh
# waldo repair over every corpus case: the plan (which actions apply, which
# are held back, which findings nothing repairs), -o giving the content a
# correct repair gives (docs/corpus.md's content hash, expected.json's
# "repair") with integrity_check ok, a second run finding nothing to do,
# --in-place then waldo undo giving back the original bytes exactly, and
# undo run twice changing nothing.
. "$(dirname "$0")/lib.sh"

CORPUS=$TRASH_ROOT/corpus
"$BUILD/corpus-gen" --seed 1 --out "$CORPUS" > /dev/null || { echo "not ok - corpus generation failed"; exit 1; }

python3 - "$WALDO" "$CORPUS" "$TRASH_ROOT/work" <<'EOF'
import hashlib, json, os, shutil, sqlite3, struct, subprocess, sys, tempfile

waldo, corpus, work = sys.argv[1:4]
os.makedirs(work)

# case: (options, actions that must apply, actions that must be listed but
# held back, whether findings that no action repairs make the exit 2)
PLAN = {
    "crash-rewritten-frame": ([], ["wal-tail"], [], False),
    "crash-torn-frame": ([], ["wal-tail"], [], False),
    "crash-uncommitted-tail": ([], ["wal-tail"], [], False),
    "demo": ([], ["wal-tail"], [], False),
    "mismatch-backfill": ([], ["shm-reset"], [], False),
    "mismatch-shm-copies": ([], ["shm-reset"], [], False),
    "mismatch-shm-index": ([], ["shm-reset"], [], False),
    "mismatch-shm-more-frames": ([], ["shm-reset"], [], False),
    "mismatch-shm-salts": ([], ["shm-reset"], [], False),
    "mismatch-wal-page-size": ([], ["wal-detach"], [], False),
    "mismatch-wal-version": ([], ["wal-rechain"], [], False),
    "rollback-size-field": ([], ["header-size"], [], False),
    # the default keeps what SQLite sees; the corpus's repair is the rollback's intent
    "rollback-stale-wal": (["--only", "wal-detach"], ["wal-detach"], [], False),
    "rot-db-page1": ([], ["header-fields"], [], False),
    "rot-frame-data": ([], ["wal-tail", "shm-reset"], [], False),
    "rot-frame-header": ([], ["wal-tail", "shm-reset"], [], False),
    "rot-wal-header": (["--salvage"], ["wal-rechain"], [], False),
    "size-field-larger": ([], ["header-size"], [], False),
    "size-field-smaller": ([], ["header-size"], [], False),
    "size-trailing-garbage": ([], ["header-size"], [], False),
    "size-version-valid-for": ([], ["header-size"], [], False),
    "wrong-foreign-wal": ([], ["wal-detach"], [], False),
    # the WAL-reset race: the -shm hides committed frames; removing it shows them
    "race-after-ckpt": ([], ["shm-reset"], [], False),
    "race-big": ([], ["shm-reset"], [], False),
    "race-caught-up": ([], ["shm-reset"], [], False),
    "race-hidden": ([], ["shm-reset"], [], False),
    "race-same-size": ([], ["shm-reset"], [], False),
    "race-window": ([], ["shm-reset"], [], False),
    # nothing waldo repairs: said so, nothing written
    "rollback-partial": ([], [], [], True),
    "rot-btree-page": ([], [], [], True),
    "rot-freelist-trunk": ([], [], [], True),
    "size-db-truncated": ([], [], [], True),
    "wrong-text-file": ([], [], [], True),
    "race-wrapped": ([], [], [], True),     # the lost versions are stale frames: waldo extract --race
}
# Without their options these cases show the alternative held back.
DEFAULT = {
    "rot-wal-header": ([], ["shm-reset"], ["wal-rechain:needs-salvage"]),
    "rollback-stale-wal": ([], ["shm-reset"], ["wal-detach:on-request"]),
}

def enc(v, t):
    if t == b"null": return b"N"
    if t == b"integer": return b"I" + struct.pack(">q", v)
    if t == b"real": return b"F" + struct.pack(">d", v)
    if t == b"text": return b"T" + struct.pack(">I", len(v)) + v
    if t == b"blob": return b"B" + struct.pack(">I", len(v)) + v
    raise ValueError(t)

def content(db):
    """(integrity, content hash) of db as SQLite sees it, on a private copy
    (docs/corpus.md, "The content hash")."""
    d = tempfile.mkdtemp(dir=work)
    for s in ("", "-wal", "-journal"):
        if os.path.exists(db + s):
            shutil.copy(db + s, os.path.join(d, "db" + s))
    c = sqlite3.connect(os.path.join(d, "db"))
    c.text_factory = bytes
    try:
        integ = c.execute("PRAGMA integrity_check").fetchone()[0].decode()
        h = hashlib.sha256(b"waldo-content-v1\n")
        for r in c.execute("SELECT type, name, tbl_name, sql, typeof(type), typeof(name), typeof(tbl_name), "
                           "typeof(sql) FROM sqlite_schema ORDER BY name"):
            h.update(b"S" + b"".join(enc(v, t) for v, t in zip(r[:4], r[4:])))
        for (name,) in c.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name").fetchall():
            h.update(b"T" + enc(name, b"text"))
            q = name.decode().replace('"', '""')
            cols = [x[0] for x in c.execute('SELECT * FROM "%s" LIMIT 0' % q).description]
            sel = ",".join('"%s"' % x.replace('"', '""') for x in cols)
            typ = ",".join('typeof("%s")' % x.replace('"', '""') for x in cols)
            try:
                cur = c.execute('SELECT %s,%s FROM "%s" ORDER BY rowid' % (sel, typ, q))
            except sqlite3.Error:
                cur = c.execute('SELECT %s,%s FROM "%s"' % (sel, typ, q))
            n = len(cols)
            for r in cur:
                h.update(b"R" + struct.pack(">I", n) + b"".join(enc(v, t) for v, t in zip(r[:n], r[n:])))
        return integ, h.hexdigest()
    except sqlite3.Error as e:
        return "error: %s" % e, None
    finally:
        c.close()
        shutil.rmtree(d)

def files(d):
    return {f: hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
            for f in sorted(os.listdir(d)) if f in ("db", "db-wal", "db-shm", "db-journal")}

def repair(*args):
    p = subprocess.run([waldo, "repair", "--json"] + list(args), capture_output=True, text=True, timeout=120)
    try:
        return p.returncode, json.loads(p.stdout), p.stderr
    except ValueError:
        return p.returncode, None, p.stderr + p.stdout[:300]

def status(j, name):
    return [a["status"] for a in j["actions"] if a["action"] == name]

n = failed = 0
def report(ok, what, why=""):
    global n, failed
    n += 1
    if ok:
        print("ok %d - repair corpus %s" % (n, what))
    else:
        failed += 1
        print("not ok %d - repair corpus %s: %s" % (n, what, why))

for case in sorted(os.listdir(corpus)):
    exp_path = os.path.join(corpus, case, "expected.json")
    if not os.path.exists(exp_path):
        continue
    exp = json.load(open(exp_path))
    src = os.path.join(corpus, case)
    opts, must, held, unrepairable = PLAN.get(case, ([], [], [], False))

    # 1. The plan, as a dry run (with the case's options, and without them).
    for o, m, h in [(opts, must, held)] + ([DEFAULT[case]] if case in DEFAULT else []):
        rc, j, err = repair(os.path.join(src, "db"), *o)
        why = []
        if j is None:
            why.append("no JSON: " + err)
        else:
            applied = sorted(a["action"] for a in j["actions"] if a["status"] == "apply")
            if applied != sorted(m):
                why.append("applies %s, expected %s" % (applied, sorted(m)))
            for x in h:
                name, st = x.split(":")
                if status(j, name) != [st]:
                    why.append("%s is %s, expected %s" % (name, status(j, name), st))
            errors = [u["code"] for u in j["unrepaired"] if u["severity"] == "error"]
            if bool(errors) != unrepairable:
                why.append("findings no action repairs: %s" % errors)
            want = 2 if unrepairable else 1 if m or h else 0
            if rc != want:
                why.append("exit %d, expected %d" % (rc, want))
        report(not why, "%s: plan %s" % (case, " ".join(o)), "; ".join(why))

    before = files(src)
    # 2. -o: the expected content, integrity ok, nothing written for what cannot be repaired.
    out = os.path.join(work, case + ".out.db")
    rc, j, err = repair(os.path.join(src, "db"), "-o", out, *opts)
    why = []
    if files(src) != before:
        why.append("the inputs changed")
    if unrepairable or not must:
        if os.path.exists(out):
            why.append("wrote an output although nothing is to be done")
        if rc != (2 if unrepairable else 0):
            why.append("exit %d" % rc)
    else:
        rep = exp.get("repair") or {}
        integ, h = content(out) if os.path.exists(out) else ("no output", None)
        if rc != 0:
            why.append("exit %d: %s" % (rc, (j or {}).get("result", {}) or err))
        if integ != "ok":
            why.append("integrity_check: %s" % integ)
        if h != rep.get("content_sha256"):
            why.append("content %s, expected %s" % (h, rep.get("content_sha256")))
        if os.path.exists(out + "-shm"):
            why.append("a -shm was written")
        rc2, j2, _ = repair(out, *opts)
        if rc2 != 0 or [a for a in j2["actions"] if a["status"] == "apply"]:
            why.append("a second run still finds something to do (exit %d)" % rc2)
    report(not why, "%s: -o" % case, "; ".join(why))

    if not must:
        continue
    # 3. --in-place, a second run, undo (twice): the original bytes exactly.
    d = os.path.join(work, case)
    shutil.copytree(src, d)
    orig = files(d)
    rc, j, err = repair(os.path.join(d, "db"), "--in-place", "--yes", *opts)
    why = []
    res = (j or {}).get("result") or {}
    undo = res.get("undo_file")
    if rc != 0 or not (res.get("verification") or {}).get("ok"):
        why.append("exit %d, result %s %s" % (rc, res, err))
    if files(d) == orig:
        why.append("nothing changed")
    rc2, j2, _ = repair(os.path.join(d, "db"), *opts)
    if rc2 != 0 or [a for a in j2["actions"] if a["status"] == "apply"]:
        why.append("a second run still finds something to do (exit %d)" % rc2)
    if not undo or not os.path.exists(undo):
        why.append("no undo file")
    else:
        for i in (1, 2):
            p = subprocess.run([waldo, "undo", undo], capture_output=True, text=True)
            if p.returncode != 0:
                why.append("undo %d: exit %d %s" % (i, p.returncode, p.stderr.strip()))
            if files(d) != orig:
                why.append("undo %d: not the original bytes" % i)
    report(not why, "%s: --in-place and undo" % case, "; ".join(why))

sys.exit(1 if failed or n == 0 else 0)
EOF
status=$?
test_count=1000
test_expect_success 'the repairs leave nothing behind in the corpus copies but their undo files' '
	! find "$TRASH_ROOT/work" -name ".*.tmp" | grep .
'
[ $status -eq 0 ] && test_done
test_done; exit 1
