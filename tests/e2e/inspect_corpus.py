#!/usr/bin/env python3
"""Run `waldo inspect --json` on every corpus case and compare with its
expected.json: every `must` code reported, no `must_not` code, the expected
exit status, valid JSON, and the WAL/-shm numbers the corpus recorded.
Prints one "ok N - ..." / "not ok N - ..." line per case."""
import json, os, subprocess, sys

waldo, corpus = sys.argv[1], sys.argv[2]
only = set(sys.argv[3:])
n = failed = 0
for case in sorted(os.listdir(corpus)):
    exp_path = os.path.join(corpus, case, "expected.json")
    if not os.path.exists(exp_path) or (only and case not in only):
        continue
    n += 1
    exp = json.load(open(exp_path))
    db = os.path.join(corpus, case, "db")
    p = subprocess.run([waldo, "inspect", "--json", "--no-locks", db],
                       capture_output=True, text=True, timeout=120)
    why = []
    try:
        out = json.loads(p.stdout)
    except ValueError as e:
        out = None
        why.append("invalid JSON (%s): %s" % (e, p.stdout[:200]))
    if out is not None:
        codes = {f["code"] for f in out["findings"]}
        want = exp["inspect"]
        missing = [c for c in want["must"] if c not in codes]
        extra = [c for c in want["must_not"] if c in codes]
        if missing:
            why.append("missing %s" % ",".join(missing))
        if extra:
            why.append("unexpected %s" % ",".join(extra))
        if p.returncode != want["exit"]:
            why.append("exit %d, expected %d" % (p.returncode, want["exit"]))
        w = exp.get("wal")
        if w and out.get("wal"):
            for k in ("frames_total", "frames_valid", "commits", "last_commit_frame"):
                if k in w and w[k] != out["wal"].get(k):
                    why.append("wal.%s %s, expected %s" % (k, out["wal"].get(k), w[k]))
        sh = exp.get("shm")
        if sh and out.get("shm") and "mx_frame" in sh and out["shm"]["header_ok"]:
            if sh["mx_frame"] != out["shm"]["mxFrame"]:
                why.append("shm.mxFrame %s, expected %s" % (out["shm"]["mxFrame"], sh["mx_frame"]))
        if why:
            why.append("codes reported: %s" % ",".join(sorted(codes)))
    if why:
        failed += 1
        print("not ok %d - inspect corpus %s: %s" % (n, case, "; ".join(why)))
        if p.stderr:
            print("#   stderr: " + p.stderr.strip().replace("\n", "\n#   "))
    else:
        print("ok %d - inspect corpus %s" % (n, case))
sys.exit(1 if failed or n == 0 else 0)
