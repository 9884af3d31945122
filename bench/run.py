#!/usr/bin/env python3
"""bench/run.py — the driver behind `make bench` (method: docs/performance.md).

Generates the data sets under BUILD/bench (once: each folder carries a stamp
of the generator's version and parameters, and is reused while it matches),
then measures each line side by side with what a user would use instead,
alternating the two commands run by run so that both see the same machine,
and prints the median of each, their ratio and the verdict against the
target.  Everything goes to BUILD/bench.json as well.

Every measured command is run once first, untimed: all figures are for
files in the page cache (dropping the cache needs root and disturbs every
other user of the machine).
"""
import argparse
import datetime
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

DEVNULL = subprocess.DEVNULL

# name -> generator parameters.  wal50/wal200 use the seed of `big`: the
# generator's transaction sequence depends on the seed only, so they are
# prefixes of big's history, for the scaling table.
DATASETS = {
    "big":    dict(page_size=4096,  db_mb=150, wal_mb=800, seed=1),
    "wal50":  dict(page_size=4096,  db_mb=150, wal_mb=50,  seed=1),
    "wal200": dict(page_size=4096,  db_mb=150, wal_mb=200, seed=1),
    "p64k":   dict(page_size=65536, db_mb=150, wal_mb=800, seed=1),
    "p512":   dict(page_size=512,   db_mb=150, wal_mb=800, seed=1),
}
# The backups for `waldo scan`: each a .tar.gz of one db + db-wal, as a
# nightly copy of a live database would be.
BACKUPS = [dict(page_size=4096, db_mb=40, wal_mb=40, seed=s) for s in (11, 12, 13, 14)]
GZIP_LEVEL = 6
DISK_NEEDED = 7 << 30          # all data sets, the SQLite copy, headroom


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- generation ------------------------------------------------------------

def gen_version(gen):
    return subprocess.run([gen, "--version"], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()


def parse_kv(text):
    out = {}
    for tok in text.split():
        k, _, v = tok.partition("=")
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def read_stamp(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json_atomic(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def ensure_dataset(gen, version, root, name, params):
    """Generate root/name unless its stamp says it holds these parameters."""
    d = os.path.join(root, name)
    stamp_path = os.path.join(d, "stamp.json")
    key = dict(params, generator=version)
    st = read_stamp(stamp_path)
    if st and st.get("key") == key and all(os.path.exists(os.path.join(d, f)) for f in ("db", "db-wal")):
        return st["info"]
    log(f"generating {name}: {params['page_size']}-byte pages, ~{params['db_mb']} MiB database, "
        f"~{params['wal_mb']} MiB WAL")
    if os.path.exists(stamp_path):
        os.unlink(stamp_path)
    out = subprocess.run([gen, "--out", d, "--page-size", str(params["page_size"]),
                          "--db-mb", str(params["db_mb"]), "--wal-mb", str(params["wal_mb"]),
                          "--seed", str(params["seed"])],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    info = parse_kv(out)
    log(f"  {info['frames']} frames, {info['commits']} commits, {info['seconds']} s")
    write_json_atomic(stamp_path, {"key": key, "info": info})
    return info


def ensure_backups(gen, version, root):
    """root/backups/backup-N.tar.gz, from data sets generated in root/backup-src-N."""
    d = os.path.join(root, "backups")
    stamp_path = os.path.join(root, "backups.stamp.json")
    key = {"sets": BACKUPS, "gzip_level": GZIP_LEVEL, "generator": version}
    st = read_stamp(stamp_path)
    if st and st.get("key") == key and all(os.path.exists(os.path.join(d, f)) for f in st["info"]["files"]):
        return st["info"]
    if os.path.exists(stamp_path):
        os.unlink(stamp_path)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    files, raw = [], 0
    for i, p in enumerate(BACKUPS, 1):
        src = f"backup-src-{i}"
        ensure_dataset(gen, version, root, src, p)
        name = f"backup-{i}.tar.gz"
        log(f"compressing {name}")
        # Fixed member metadata and gzip header time: the same bytes every time.
        with open(os.path.join(d, name), "wb") as raw_f:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw_f, compresslevel=GZIP_LEVEL, mtime=0) as gz:
                with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                    for member in ("db", "db-wal"):
                        path = os.path.join(root, src, member)
                        ti = tarfile.TarInfo(f"backup-{i}/{member}")
                        ti.size = os.path.getsize(path)
                        ti.mtime = 1704067200
                        ti.mode = 0o644
                        with open(path, "rb") as f:
                            tar.addfile(ti, f)
                        raw += ti.size
        files.append(name)
    tar_bytes = 0
    for name in files:   # what gzip -dc writes: the whole tar stream
        with gzip.open(os.path.join(d, name), "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                tar_bytes += len(b)
    info = {"files": files, "member_bytes": raw, "uncompressed_bytes": tar_bytes,
            "compressed_bytes": sum(os.path.getsize(os.path.join(d, n)) for n in files)}
    write_json_atomic(stamp_path, {"key": key, "info": info})
    return info


# ---- timing ----------------------------------------------------------------

def run_timed(cmd, stdout=DEVNULL, ok=(0,), env=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    t = time.perf_counter() - t0
    if p.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}: {p.stderr.decode(errors='replace')[-400:]}")
    return t, p


def stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def side_by_side(runs, *fns):
    """Call each of fns (each returns seconds) once untimed, then `runs`
    times in turn; returns the stats of each, in order."""
    for f in fns:
        f()
    ts = [[] for _ in fns]
    for _ in range(runs):
        for f, t in zip(fns, ts):
            t.append(f())
    return tuple(stats(t) for t in ts)


def repeat(runs, f):
    f()
    return stats([f() for _ in range(runs)])


WALDO_OK = (0, 1, 2)   # findings are not failures here


# ---- the lines -----------------------------------------------------------------

def verdict(ok):
    return "pass" if ok else "FAIL"


def line_inspect_vs_sqlite(ctx):
    big = ctx.path("big")
    copy = os.path.join(ctx.root, "sqlite-copy")
    os.makedirs(copy, exist_ok=True)
    for f in ("db", "db-wal"):
        shutil.copyfile(os.path.join(big, f), os.path.join(copy, f))
    shm = os.path.join(copy, "db-shm")

    def sqlite():
        if os.path.exists(shm):
            os.unlink(shm)
        _, p = run_timed([ctx.bin("sqlite_open"), os.path.join(copy, "db")], stdout=subprocess.PIPE)
        return float(p.stdout.split()[0])

    def waldo():
        return run_timed(ctx.inspect_cmd(big), ok=WALDO_OK)[0]

    w, s, wk = side_by_side(ctx.runs, waldo, sqlite, ctx.walk_fn(big))
    ratio = w["median"] / s["median"]
    return dict(waldo=w, baseline=s, ratio=ratio, ratio_kind="waldo / SQLite", target="<= 0.6",
                result=verdict(ratio <= 0.6), walk=wk, walk_ratio=wk["median"] / s["median"],
                note="SQLite: sqlite3_open_v2(READONLY) + one query on a copy without -shm "
                     "(walIndexRecover reads and checksums every frame); open + query timed inside the process")


def line_wal_vs_showwal(ctx):
    big = ctx.path("big")
    showwal = shutil.which("showwal")
    if not showwal:
        return dict(result="n/a", note="showwal not installed (Debian package sqlite3-tools) and it could "
                                       "not be installed: " + ctx.showwal_reason)

    def waldo():
        return run_timed([ctx.waldo, "wal", os.path.join(big, "db")], ok=WALDO_OK)[0]

    def sw():
        return run_timed([showwal, os.path.join(big, "db-wal")])[0]

    w, s = side_by_side(ctx.runs, waldo, sw)
    speedup = s["median"] / w["median"]
    return dict(waldo=w, baseline=s, ratio=speedup, ratio_kind="showwal / waldo (times faster)",
                target=">= 10", result=verdict(speedup >= 10),
                note="`waldo wal DB` (header, every frame, transactions) and `showwal WAL` (header and one line "
                     "per frame), both with stdout to /dev/null")


def line_inspect_vs_mmap(ctx):
    big = ctx.path("big")

    def waldo():
        return run_timed(ctx.inspect_cmd(big), ok=WALDO_OK)[0]

    def mm():
        return run_timed([ctx.bin("mmapsum"), os.path.join(big, "db-wal")])[0]

    w, m, wk = side_by_side(ctx.runs, waldo, mm, ctx.walk_fn(big))
    ratio = w["median"] / m["median"]
    return dict(waldo=w, baseline=m, ratio=ratio, ratio_kind="waldo inspect / mmap+sum of the WAL",
                target="<= 1.5", result=verdict(ratio <= 1.5), walk=wk, walk_ratio=wk["median"] / m["median"],
                note="bench/mmapsum.c maps the WAL as waldo does and adds up every 64-bit word")


def openssl_sha256_1core():
    """Bytes per second of one core, 16384-byte blocks (openssl speed -mr)."""
    out = subprocess.run(["openssl", "speed", "-mr", "-seconds", "1", "-bytes", "16384", "-evp", "sha256"],
                         stdout=subprocess.PIPE, stderr=DEVNULL, text=True, check=True).stdout
    sizes, vals = None, None
    for ln in out.splitlines():
        if ln.startswith("+H:"):
            sizes = ln[3:].split(":")
        elif ln.startswith("+F:"):
            vals = ln.split(":")[3:]
    if not sizes or not vals or "16384" not in sizes:
        raise RuntimeError("cannot parse `openssl speed -mr` output")
    return float(vals[sizes.index("16384")])


def line_hash(ctx):
    big = ctx.path("big")
    if not shutil.which("openssl"):
        return dict(result="n/a", note="openssl not installed")
    p = subprocess.run([ctx.waldo, "hash", "--json", "--state", "effective", os.path.join(big, "db")],
                       stdout=subprocess.PIPE, stderr=DEVNULL)
    j = json.loads(p.stdout)
    state_bytes = j["pages"] * j["page_size"]
    threads = ctx.nproc

    def waldo():
        return run_timed([ctx.waldo, "hash", "--state", "effective", "-j", str(threads),
                          os.path.join(big, "db")], ok=(0, 1))[0]

    def ossl():
        t0 = time.perf_counter()
        bps = openssl_sha256_1core()
        ctx.openssl_bps.append(bps)
        return time.perf_counter() - t0

    ctx.openssl_bps = []
    w, _, wk = side_by_side(ctx.runs, waldo, ossl, ctx.walk_fn(big))
    ctx.openssl_bps = ctx.openssl_bps[1:]          # the first was the warm-up
    ossl_bps = statistics.median(ctx.openssl_bps)
    waldo_bps = state_bytes / w["median"]
    ratio = waldo_bps / (ossl_bps * threads)
    # What the hashing itself reaches: the command's time less that of
    # opening the same model (`waldo wal --summary`), an estimate.
    hash_s = w["median"] - wk["median"]
    phase_ratio = state_bytes / hash_s / (ossl_bps * threads) if hash_s > 0 else None
    return dict(waldo=w, ratio=ratio, ratio_kind=f"waldo bytes/s / (openssl 1-core bytes/s x {threads})",
                target=">= 0.8", result=verdict(ratio >= 0.8),
                waldo_bytes_per_s=waldo_bps, openssl_1core_bytes_per_s=ossl_bps, threads=threads,
                state_bytes=state_bytes, openssl_runs=ctx.openssl_bps, model_open=wk,
                hashing_phase_ratio=phase_ratio,
                note=f"`waldo hash --state effective -j {threads}` over {j['pages']} pages of {j['page_size']} "
                     "bytes (wall clock, process start to exit, so it includes walking the 800 MB WAL to find "
                     "the state); `openssl speed -mr -bytes 16384 -evp sha256` (its default: user CPU time); "
                     "hashing_phase_ratio: the same with the time of `waldo wal --summary` taken off")


def line_scan(ctx):
    if "scan" not in ctx.commands:
        return dict(result="n/a", note="waldo scan not built yet")
    d = os.path.join(ctx.root, "backups")
    info = ctx.backups
    files = [os.path.join(d, f) for f in info["files"]]
    threads = ctx.nproc

    def waldo():
        return run_timed([ctx.waldo, "scan", "-q", "--no-progress", "--no-sqlite", "-j", str(threads)] + files,
                         ok=WALDO_OK)[0]

    def gz():
        return run_timed(["gzip", "-dc"] + files)[0]

    w, g = side_by_side(ctx.runs, waldo, gz)
    u = info["uncompressed_bytes"]
    ratio = (u / w["median"]) / ((u / g["median"]) * threads)
    return dict(waldo=w, baseline=g, ratio=ratio, ratio_kind=f"scan bytes/s / (gzip -dc bytes/s x {threads})",
                target=">= 0.9", result=verdict(ratio >= 0.9), threads=threads,
                waldo_bytes_per_s=u / w["median"], gzip_bytes_per_s=u / g["median"],
                note=f"{len(files)} .tar.gz backups, {info['compressed_bytes']} bytes compressed, {u} inflated; "
                     f"`waldo scan --no-sqlite -j {threads}` vs one `gzip -dc` of all of them")


class Tmux:
    """A private tmux server (its own socket) with one 80x24 pane."""

    def __init__(self):
        self.tm = ["tmux", "-L", f"waldo-bench-{os.getpid()}", "-f", "/dev/null"]
        self.env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TZ="UTC", TERM="xterm-256color")
        self.env.pop("TMUX", None)
        self.env.pop("NO_COLOR", None)
        self.cmd("new-session", "-d", "-s", "b", "-x", "80", "-y", "24", "sleep 3600")
        self.cmd("set-option", "-t", "b", "remain-on-exit", "on")

    def cmd(self, *args, out=False):
        p = subprocess.run(self.tm + list(args), stdout=subprocess.PIPE if out else DEVNULL,
                           text=True, env=self.env, check=True)
        return p.stdout

    def close(self):
        subprocess.run(self.tm + ["kill-server"], stdout=DEVNULL, stderr=DEVNULL)


def tui_first_screen(tmux, waldo, db):
    """Seconds from respawning the pane with `waldo tui DB` until the
    overview (top bar, key hint and the WAL summary) is on the screen."""
    t0 = time.perf_counter()
    tmux.cmd("respawn-pane", "-k", "-t", "b", f"exec {waldo} tui --no-locks {db}")
    while True:
        scr = tmux.cmd("capture-pane", "-p", "-t", "b", out=True)
        if "1:overview" in scr and "?:help" in scr and re.search(r"\d+ frames", scr):
            t = time.perf_counter() - t0
            break
        if time.perf_counter() - t0 > 30:
            raise RuntimeError("waldo tui showed no overview within 30 s:\n" + scr)
        time.sleep(0.002)
    tmux.cmd("send-keys", "-t", "b", "q")
    t1 = time.perf_counter()
    while tmux.cmd("display-message", "-p", "-t", "b", "#{pane_dead}", out=True).strip() != "1":
        if time.perf_counter() - t1 > 10:
            raise RuntimeError("waldo tui did not quit on q")
        time.sleep(0.01)
    return t


def line_tui(ctx):
    if "tui" not in ctx.commands:
        return dict(result="n/a", note="waldo tui not built yet")
    if not shutil.which("tmux"):
        return dict(result="n/a", note="tmux not installed")
    db = os.path.join(ctx.path("big"), "db")
    tmux = Tmux()
    try:
        w = repeat(ctx.runs, lambda: tui_first_screen(tmux, ctx.waldo, db))
    finally:
        tmux.close()
    return dict(waldo=w, target="< 0.5 s", result=verdict(w["median"] < 0.5),
                note="tmux 80x24: from respawn-pane to a captured screen with the overview on it "
                     "(capture-pane polled every ~2 ms)")


def peakmem(ctx, cmd):
    with tempfile.NamedTemporaryFile("r", dir=ctx.root, suffix=".mem") as res:
        subprocess.run([ctx.bin("peakmem"), res.name] + cmd, stdout=DEVNULL, stderr=DEVNULL)
        return parse_kv(res.read())


def line_memory(ctx):
    empty = os.path.join(ctx.root, "empty")
    open(empty, "w").close()
    rows, worst = [], 0.0
    for name in ("big", "p64k", "p512"):
        d = ctx.path(name)
        info = ctx.info[name]
        # Two runs each, the larger peak: polling can only under-count.
        full = max((peakmem(ctx, ctx.inspect_cmd(d)) for _ in range(2)), key=lambda r: r["peak_anon_kb"])
        base = max((peakmem(ctx, ctx.inspect_cmd(d, ["--wal", empty, "--shm", empty])) for _ in range(2)),
                   key=lambda r: r["peak_anon_kb"])
        per_frame = (full["peak_anon_kb"] - base["peak_anon_kb"]) * 1024 / info["frames"]
        worst = max(worst, per_frame)
        rows.append(dict(dataset=name, page_size=info["page_size"], frames=info["frames"],
                         wal_bytes=info["wal_bytes"], peak_anon_kb=full["peak_anon_kb"],
                         peak_anon_kb_without_wal=base["peak_anon_kb"], maxrss_kb=full["maxrss_kb"],
                         bytes_per_frame=per_frame))
    spread = max(r["bytes_per_frame"] for r in rows) / max(1e-9, min(r["bytes_per_frame"] for r in rows))
    ok = worst <= 64 and spread <= 1.25
    return dict(ratio=worst, ratio_kind="bytes of heap per WAL frame (worst page size)", target="<= 64",
                result=verdict(ok), per_page_size=rows, spread=spread,
                note="peak RssAnon of `waldo inspect` minus that of the same database with an empty WAL and "
                     "-shm, over the frame count; mapped file pages are not waldo's memory (GNU time's max RSS, "
                     "maxrss_kb, counts them)")


def linear_fit(xs, ys):
    """Least squares y = a + b x: (a, b, r^2)."""
    mx, my = statistics.mean(xs), statistics.mean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    a = my - b * mx
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys))
    ss_tot = sum((y - my) ** 2 for y in ys)
    return a, b, (1 - ss_res / ss_tot if ss_tot else 1.0)


def scaling(ctx):
    """`waldo inspect`, the WAL walk alone and the mmap read at three WAL
    sizes over the same database, round-robin so that all sizes see the
    same machine."""
    names = ("wal50", "wal200", "big")
    kinds = ("inspect", "walk", "mmapsum")
    fns = {}
    for name in names:
        d = ctx.path(name)
        fns[name] = (lambda d=d: run_timed(ctx.inspect_cmd(d), ok=WALDO_OK)[0],
                     ctx.walk_fn(d),
                     lambda d=d: run_timed([ctx.bin("mmapsum"), os.path.join(d, "db-wal")])[0])
    times = {n: [[] for _ in kinds] for n in names}
    for k in range(ctx.runs + 1):       # the first round is the warm-up
        for name in names:
            for f, t in zip(fns[name], times[name]):
                v = f()
                if k:
                    t.append(v)
    rows = []
    for name in names:
        info = ctx.info[name]
        row = dict(dataset=name, wal_bytes=info["wal_bytes"], frames=info["frames"])
        row.update({kind: stats(t) for kind, t in zip(kinds, times[name])})
        rows.append(row)
    xs = [r["wal_bytes"] / 2**20 for r in rows]
    out = dict(rows=rows)
    for kind in ("inspect", "walk"):
        a, b, r2 = linear_fit(xs, [r[kind]["median"] for r in rows])
        for r, x in zip(rows, xs):
            r[kind + "_fit"] = a + b * x
        out[kind] = dict(intercept_s=a, seconds_per_mib=b, r2=r2)
    return out


# ---- context, machine, output ----------------------------------------------

class Ctx:
    def __init__(self, args):
        self.build = args.build
        self.root = os.path.join(args.build, "bench")
        self.bindir = os.path.join(self.root, "bin")
        self.waldo = args.waldo
        self.runs = args.runs
        self.nproc = os.cpu_count() or 1
        self.info = {}
        self.showwal_reason = args.showwal_reason or "unknown"
        h = subprocess.run([self.waldo, "help"], stdout=subprocess.PIPE, text=True).stdout
        self.commands = set(re.findall(r"^  ([a-z]+) ", h, re.M))

    def path(self, name):
        return os.path.join(self.root, name)

    def bin(self, name):
        return os.path.join(self.bindir, name)

    def walk_fn(self, d):
        """Timer of `waldo wal --summary`: the model alone (map the files,
        walk and checksum the WAL, check the -shm), no b-tree checks."""
        return lambda: run_timed([self.waldo, "wal", "--summary", os.path.join(d, "db")], ok=WALDO_OK)[0]

    def inspect_cmd(self, d, extra=()):
        return [self.waldo, "inspect", "--no-sqlite", "--no-locks", *extra, os.path.join(d, "db")]


def cpu_pressure():
    """The share of the last 60 s in which some runnable task waited for a
    CPU (/proc/pressure/cpu, "some avg60"), in percent; None when the kernel
    does not report it.  The load average counts niced work too; this says
    how often a core was actually missing."""
    try:
        with open("/proc/pressure/cpu") as f:
            for ln in f:
                if ln.startswith("some "):
                    return float(dict(kv.split("=") for kv in ln.split()[1:])["avg60"])
    except (OSError, KeyError, ValueError):
        pass
    return None


def autogroup_on():
    """With sched_autogroup, nice only orders tasks within one session: a
    nice-19 job started from another session still takes a full share."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            return f.read().strip() == "1"
    except OSError:
        return None


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = 0
    try:
        with open("/proc/meminfo") as f:
            for ln in f:
                if ln.startswith("MemTotal:"):
                    ram = int(ln.split()[1]) * 1024
    except OSError:
        pass
    ver = lambda cmd: subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True).stdout.strip().splitlines()[0] if shutil.which(cmd[0]) else None
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_bytes": ram, "kernel": os.uname().release,
            "sqlite3": ver(["sqlite3", "--version"]), "openssl": ver(["openssl", "version"]),
            "gzip": ver(["gzip", "--version"]), "load_at_start": os.getloadavg(),
            "cpu_pressure_at_start": cpu_pressure(), "sched_autogroup": autogroup_on()}


def fmt_s(st):
    return f"{st['median']:.3f} s" if st else "-"


def print_table(lines):
    hdr = f"{'':2} {'measurement':44} {'waldo':>9} {'baseline':>9} {'ratio':>8}  {'target':8} result"
    print(hdr)
    print("-" * len(hdr))
    for ln in lines:
        r = ln.get("ratio")
        rs = "-" if r is None else (f"{r:.1f}" if ln["id"] == "6b" else f"{r:.2f}x")
        print(f"{ln['id']:2} {ln['name']:44} {fmt_s(ln.get('waldo')):>9} {fmt_s(ln.get('baseline')):>9} "
              f"{rs:>8}  {ln.get('target', '-'):8} {ln['result']}")
        if ln["result"] in ("n/a", "error"):
            print(f"{'':3}{ln['note']}")
        if ln["id"] in ("1", "3") and "walk" in ln:
            print(f"{'':3}the WAL walk alone (`waldo wal --summary`): {ln['walk']['median']:.3f} s, "
                  f"{ln['walk_ratio']:.2f}x")
        if ln["id"] == "4" and "waldo_bytes_per_s" in ln:
            pr = ln.get("hashing_phase_ratio")
            print(f"{'':3}waldo {ln['waldo_bytes_per_s'] / 1e6:.0f} MB/s over the state; openssl "
                  f"{ln['openssl_1core_bytes_per_s'] / 1e6:.0f} MB/s on one core x {ln['threads']}; "
                  f"hashing alone (less `wal --summary`): {pr:.2f}x" if pr else "")
        if ln["id"] == "5" and "waldo_bytes_per_s" in ln:
            print(f"{'':3}scan {ln['waldo_bytes_per_s'] / 1e6:.0f} MB/s inflated; gzip -dc "
                  f"{ln['gzip_bytes_per_s'] / 1e6:.0f} MB/s on one core x {ln['threads']}")
        if ln["id"] == "6b" and "per_page_size" in ln:
            print(f"{'':3}" + ", ".join(f"{r['page_size']}-byte pages: {r['bytes_per_frame']:.1f} B/frame "
                                        f"({r['frames']} frames)" for r in ln["per_page_size"]))


def main():
    ap = argparse.ArgumentParser(description="waldo's benchmark (make bench)")
    ap.add_argument("--build", required=True)
    ap.add_argument("--waldo", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated line ids (1,2,3,4,5,6a,6b,scaling)")
    ap.add_argument("--showwal-reason", default="")
    args = ap.parse_args()
    ctx = Ctx(args)
    os.makedirs(ctx.root, exist_ok=True)

    free = shutil.disk_usage(ctx.root).free
    have = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ctx.root) for f in fs)
    if free + have < DISK_NEEDED:
        sys.exit(f"bench: needs about {DISK_NEEDED >> 30} GiB under {ctx.root}, "
                 f"{(free + have) >> 20} MiB available")

    gen = ctx.bin("gen")
    version = gen_version(gen)
    for name, p in DATASETS.items():
        ctx.info[name] = ensure_dataset(gen, version, ctx.root, name, p)
    ctx.backups = ensure_backups(gen, version, ctx.root)

    only = set(filter(None, args.only.split(",")))
    want = lambda i: not only or i in only
    specs = [
        ("1", "inspect vs SQLite's WAL recovery", line_inspect_vs_sqlite),
        ("2", "wal listing vs showwal", line_wal_vs_showwal),
        ("3", "inspect vs mmap read of the WAL", line_inspect_vs_mmap),
        ("4", "hash --state effective vs openssl sha256", line_hash),
        ("5", "scan vs gzip -dc of the backups", line_scan),
        ("6a", "tui: time to the first screen", line_tui),
        ("6b", "inspect: heap bytes per WAL frame", line_memory),
    ]
    m = machine()
    log(f"machine: {m['nproc']} x {m['cpu']}, {m['ram_bytes'] / 2**30:.1f} GiB RAM, "
        f"load average {m['load_at_start'][0]:.2f}")
    lines = []
    for lid, name, fn in specs:
        if not want(lid):
            continue
        log(f"line {lid}: {name}")
        try:
            ln = fn(ctx)
        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
            ln = dict(result="error", note=str(e))
            log(f"line {lid} failed: {e}")
        ln.update(id=lid, name=name)
        lines.append(ln)
    sc = scaling(ctx) if want("scaling") else None

    m["load_at_end"] = os.getloadavg()
    m["cpu_pressure_at_end"] = cpu_pressure()
    print()
    print(f"waldo bench: {ctx.runs} runs each after one untimed warm-up run, medians, files in the page cache")
    print(f"machine: {m['nproc']} x {m['cpu']}, {m['ram_bytes'] / 2**30:.1f} GiB RAM, load average "
          f"{m['load_at_start'][0]:.2f} at start, {m['load_at_end'][0]:.2f} at end")
    if m["cpu_pressure_at_start"] is not None and m["cpu_pressure_at_end"] is not None:
        print(f"cpu pressure (share of the last minute a runnable task waited for a core): "
              f"{m['cpu_pressure_at_start']:.0f}% at start, {m['cpu_pressure_at_end']:.0f}% at end"
              f"{'; sched_autogroup on' if m['sched_autogroup'] else ''}")
    big = ctx.info["big"]
    print(f"big WAL: {big['wal_bytes']} bytes, {big['frames']} frames of {big['page_size']}-byte pages, "
          f"{big['commits']} commits; database {big['db_bytes']} bytes")
    print()
    print_table(lines)
    if sc:
        print()
        print("scaling with WAL size (same database; fit t = a + b * size over the three sizes):")
        for kind, what in (("inspect", "waldo inspect"), ("walk", "waldo wal --summary")):
            f = sc[kind]
            a = f"{f['intercept_s']:.3f}".replace("-0.000", "0.000")
            print(f"  {what:20} t = {a} s + {f['seconds_per_mib'] * 100:.4f} s per 100 MiB "
                  f"(r^2 = {f['r2']:.4f})")
        print(f"  {'WAL MiB':>8} {'frames':>8} {'inspect':>8} {'(fit)':>8} {'walk':>8} {'(fit)':>8} {'mmap read':>9}")
        for r in sc["rows"]:
            print(f"  {r['wal_bytes'] / 2**20:8.0f} {r['frames']:8} {r['inspect']['median']:7.3f}s "
                  f"{r['inspect_fit']:7.3f}s {r['walk']['median']:7.3f}s {r['walk_fit']:7.3f}s "
                  f"{r['mmapsum']['median']:8.3f}s")
    out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "runs": ctx.runs, "machine": m, "datasets": ctx.info, "backups": ctx.backups,
           "lines": lines, "scaling": sc}
    path = os.path.join(ctx.build, "bench.json")
    write_json_atomic(path, out)
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
