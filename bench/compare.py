#!/usr/bin/env python3
"""
bench/compare.py -- lines 1-4 and 6a of `make bench` for two waldo binaries
at once, so that a change can be judged on a shared machine: every command
of both binaries and every baseline runs once per round, in the same
rounds, so that both sides see the same load.

    python3 bench/compare.py --build BUILD [--runs N] OLD_WALDO NEW_WALDO

BUILD is a folder where `make bench` has generated its data (BUILD/bench).
Prints the medians of every command and, for each binary, the ratios of
the lines as `make bench` computes them.  Writes nothing.
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (bench/run.py: the same measurements)


def main():
    ap = argparse.ArgumentParser(description="compare two waldo binaries on the bench lines")
    ap.add_argument("--build", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("old")
    ap.add_argument("new")
    a = ap.parse_args()
    root = os.path.join(a.build, "bench")
    big = os.path.join(root, "big")
    db = os.path.join(big, "db")
    copy = os.path.join(root, "sqlite-copy")
    if not os.path.exists(os.path.join(copy, "db-wal")):
        sys.exit(f"compare: run `make bench BUILD={a.build} BENCH_ONLY=1` once first (it makes {copy})")
    binp = lambda n: os.path.join(root, "bin", n)
    ok = (0, 1, 2)
    threads = os.cpu_count() or 1
    info = R.read_stamp(os.path.join(big, "stamp.json"))["info"]
    state_bytes = info["db_pages"] * info["page_size"]

    def sqlite():
        shm = os.path.join(copy, "db-shm")
        if os.path.exists(shm):
            os.unlink(shm)
        _, p = R.run_timed([binp("sqlite_open"), os.path.join(copy, "db")], stdout=subprocess.PIPE)
        return float(p.stdout.split()[0])

    tm = R.Tmux()
    fns = {}
    for tag, b in (("old", a.old), ("new", a.new)):
        fns[tag + " inspect"] = lambda b=b: R.run_timed([b, "inspect", "--no-sqlite", "--no-locks", db], ok=ok)[0]
        fns[tag + " walk"] = lambda b=b: R.run_timed([b, "wal", "--summary", db], ok=ok)[0]
        fns[tag + " wal"] = lambda b=b: R.run_timed([b, "wal", db], ok=ok)[0]
        fns[tag + " hash"] = lambda b=b: R.run_timed([b, "hash", "--state", "effective", "-j", str(threads), db],
                                                      ok=(0, 1))[0]
        fns[tag + " tui"] = lambda b=b: R.tui_first_screen(tm, b, db)
    fns["sqlite"] = sqlite
    fns["showwal"] = lambda: R.run_timed(["showwal", os.path.join(big, "db-wal")])[0]
    fns["mmapsum"] = lambda: R.run_timed([binp("mmapsum"), os.path.join(big, "db-wal")])[0]
    ossl = [R.openssl_sha256_1core()]
    load0 = os.getloadavg()[0]
    t = {k: [] for k in fns}
    try:
        for r in range(a.runs + 1):          # round 0 is the warm-up
            for k, f in fns.items():
                v = f()
                if r:
                    t[k].append(v)
    finally:
        tm.close()
    ossl.append(R.openssl_sha256_1core())
    m = {k: statistics.median(v) for k, v in t.items()}
    ob = statistics.median(ossl)
    print(f"{a.runs} rounds, load average {load0:.2f} at start, {os.getloadavg()[0]:.2f} at end; "
          f"openssl sha256 {ob / 1e6:.0f} MB/s on one core")
    for k in sorted(m):
        print(f"  {k:14} {m[k]:.3f} s (min {min(t[k]):.3f})")
    for tag in ("old", "new"):
        hash_phase = m[tag + " hash"] - m[tag + " walk"]
        phase = f"{state_bytes / hash_phase / (threads * ob):.2f}x" if hash_phase > 0 else "-"
        print(f"{tag}: 1 {m[tag + ' inspect'] / m['sqlite']:.2f}x (walk {m[tag + ' walk'] / m['sqlite']:.2f}x)"
              f"  2 {m['showwal'] / m[tag + ' wal']:.2f}x"
              f"  3 {m[tag + ' inspect'] / m['mmapsum']:.2f}x (walk {m[tag + ' walk'] / m['mmapsum']:.2f}x)"
              f"  4 {state_bytes / m[tag + ' hash'] / (threads * ob):.2f}x (hashing alone {phase})"
              f"  6a {m[tag + ' tui']:.3f} s")


if __name__ == "__main__":
    main()
