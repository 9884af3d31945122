#!/usr/bin/env python3
"""
tests/hostile/run.py -- run every read-only waldo command over every case
gen.py built, and judge each run by the universal oracle of HOSTILE.md.

    run.py --waldo BIN --cases DIR [--jobs N] [--only SUBSTR,...] [--sample]
           [--timeout S] [--mem-mb N] [--no-mem-cap] [--asan] [--long] [-v]

For every case, each command of ORDER below runs in its own process (inspect,
header, wal, shm, page 1 and a middle page, log, history 1, extract to a
temporary folder, bisect, readers, hash, hash -o + verify against that
manifest, diff PATH PATH, diff of the file against its effective state,
dbhash, scan -r of the case folder; JSON and text forms), and is judged:

    no crash        the exit status is one the command documents (no signal,
                    no 70 "internal error"); see STATUS below
    no sanitizer    stderr holds no AddressSanitizer / LeakSanitizer /
                    UndefinedBehaviorSanitizer report (an ASan build is
                    detected by its symbols; ASan's exit status is set to 99)
    no hang         each run is killed after --timeout seconds (default 20;
                    3 for the cases of known bugs, which run only the commands
                    that judge their findings: inspect, inspect-text, and scan
                    when the case expects or forbids findings)
    bounded memory  each run gets RLIMIT_DATA = --mem-mb MiB (default 512,
                    prlimit(1)): heap, anonymous maps and thread stacks, not
                    the read-only maps of the inputs.  Under ASan, whose
                    shadow memory cannot live under RLIMIT_DATA,
                    max_allocation_size_mb and malloc_limit_mb take its
                    place; --no-mem-cap (valgrind) drops it
    defined output  --json output parses as JSON (NDJSON for scan/dbhash)
                    and is UTF-8, file names included (E11); no raw ESC/BEL
                    byte on stdout or stderr; exit 66 comes with a message
    findings        `inspect --json` (and, for archives, `scan --json`)
                    names every expected code with its file and byte offset,
                    none of the forbidden codes, and no offset past the end
                    of the file it names
    consistency     `verify` against the manifest `hash -o` just wrote finds
                    the state identical; `diff PATH PATH` finds no
                    difference; inspect's JSON status matches its exit status
    inputs intact   every file of the case folder has the same bytes (sha256
                    over its data extents, so sparse files cost nothing),
                    type and name afterwards; nothing was added

Special cases (the `special` field of cases.json): eacces (mode 000, run as
user nobody through setpriv when root), changing (a thread truncates,
replaces or rewrites a file while the commands run; inputs are then not
compared), live (a real SQLite process holds the database idle, reading,
writing or in exclusive locking mode).

A case marked xfail shows a bug in a file this suite may not change; it is
reported as `ok ... # TODO known bug` while it fails and as `# XPASS` once
it passes (then drop the mark); xfail_cmds does the same per command.
Output: one TAP line per case ("ok N - hostile NAME"), detail lines under
failures, and a summary with the number of runs and the peak RSS of any run
(GNU time; page cache of the mapped inputs included).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

# exit statuses each command documents (its --help); 64 only where a page
# number can be "no such page"
STATUS = {
    'inspect': {0, 1, 2, 66}, 'inspect-text': {0, 1, 2, 66}, 'header': {0, 1, 2, 66},
    'wal': {0, 1, 2, 66}, 'wal-text': {0, 1, 2, 66}, 'shm': {0, 1, 2, 66}, 'shm-text': {0, 1, 2, 66},
    'page': {0, 1, 2, 64, 66}, 'page-mid': {0, 1, 2, 64, 66}, 'page-text': {0, 1, 2, 64, 66},
    'log': {0, 1, 2, 66}, 'log-text': {0, 1, 2, 66}, 'history': {0, 1, 2, 66},
    'extract': {0, 1, 2, 66}, 'bisect': {0, 2, 66}, 'readers': {0, 1, 66},
    'hash': {0, 1, 66}, 'hash-manifest': {0, 1, 66}, 'verify': {0, 1, 66}, 'diff': {0, 1, 66},
    'diff-text': {0, 1, 66},
    'dbhash': {0, 2, 66}, 'scan': {0, 1, 2, 66}, 'scan-text': {0, 1, 2, 66},
}
ORDER = list(STATUS)
JSON_ONE = {'inspect', 'header', 'wal', 'shm', 'page', 'page-mid', 'log', 'history', 'extract',
            'bisect', 'readers', 'hash', 'verify', 'diff'}
JSON_LINES = {'dbhash', 'scan'}
JUDGES = ['inspect', 'inspect-text']   # what an xfail case runs (plus scan when it expects findings)
SAN_RE = re.compile(rb'(ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|'
                    rb'UndefinedBehaviorSanitizer|AddressSanitizer:DEADLYSIGNAL|SUMMARY: \w+Sanitizer)')
TIME = '/usr/bin/time' if os.access('/usr/bin/time', os.X_OK) else None
PRLIMIT = shutil.which('prlimit')
SEV_EXIT = {'ok': 0, 'info': 0, 'warning': 1, 'error': 2}


def argv_for(cmd, path, mid, casedir, tmp):
    m = os.path.join(tmp, 'manifest')
    return {
        'inspect': ['inspect', '--json', path],
        'inspect-text': ['inspect', path],
        'header': ['header', '--json', path],
        'wal': ['wal', '--json', path],
        'wal-text': ['wal', path],
        'shm': ['shm', '--json', path],
        'shm-text': ['shm', '--index', path],
        'page': ['page', '--json', path, '1'],
        'page-mid': ['page', '--json', path, str(mid or 2)],
        'page-text': ['page', path, str(mid or 2)],
        'log': ['log', '--json', path],
        'log-text': ['log', path],
        'history': ['history', '--json', path, '1'],
        'extract': ['extract', '--json', path, '-o', os.path.join(tmp, 'extract.db')],
        'bisect': ['bisect', '--json', path],
        'readers': ['readers', '--json', path],
        'hash': ['hash', '--json', path],
        'hash-manifest': ['hash', '-o', m, path],
        'verify': ['verify', '--json', path, m],
        'diff': ['diff', '--json', path, path],
        'diff-text': ['diff', '--max', '0', path],
        'dbhash': ['dbhash', '--json', path],
        'scan': ['scan', '--json', '-q', '-r', '-j', '1', casedir],
        'scan-text': ['scan', '-v', '-q', '-r', '-j', '1', casedir],
    }[cmd]


# ------------------------------------------------------------ snapshots

def file_digest(path):
    """sha256 over (offset, bytes) of every data extent: a 1 TiB sparse file
    costs what its data costs."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        size = os.fstat(fd).st_size
        off = 0
        while off < size:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            h.update(b'@%d:' % start)
            pos = start
            while pos < end:
                chunk = os.pread(fd, min(1 << 20, end - pos), pos)
                if not chunk:
                    break
                h.update(chunk)
                pos += len(chunk)
            off = end
        h.update(b'size=%d' % size)
    finally:
        os.close(fd)
    return h.hexdigest()


def snapshot(casedir):
    """{relative path: (type, size or link target, digest)}; never opens FIFOs or devices."""
    snap = {}
    for root, dirs, files in os.walk(casedir):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, casedir)
            st = os.lstat(p)
            mode = st.st_mode
            if os.path.islink(p):
                snap[rel] = ('link', os.readlink(p), '')
            elif os.path.isdir(p):
                snap[rel] = ('dir', '', '')
            elif os.path.isfile(p):
                snap[rel] = ('file', st.st_size, file_digest(p))
            else:
                snap[rel] = ('special', mode & 0o170000, '')
    return snap


# ----------------------------------------------------------- execution

class Runner:
    def __init__(self, a):
        self.a = a
        self.waldo = os.path.abspath(a.waldo)
        self.runs = 0
        self.peak_rss = 0
        self.peak_what = ''
        self.lock = threading.Lock()
        self.nobody = self.find_nobody()

    @staticmethod
    def find_nobody():
        if os.geteuid() != 0 or not shutil.which('setpriv'):
            return None
        try:
            import pwd
            pw = pwd.getpwnam('nobody')
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            return None

    def env(self):
        e = dict(os.environ)
        e['LC_ALL'] = 'C'
        e.pop('WALDO_TEST_CRASH', None)
        if self.a.asan:
            mb = self.a.mem_mb
            # no hard_rss_limit_mb: RSS counts the page cache of mapped inputs
            e['ASAN_OPTIONS'] = ('detect_leaks=1:exitcode=99:abort_on_error=0:allocator_may_return_null=0:'
                                 'max_allocation_size_mb=%d:malloc_limit_mb=%d' % (mb, mb))
            e['UBSAN_OPTIONS'] = 'print_stacktrace=1:halt_on_error=1:exitcode=98'
        return e

    def run(self, argv, cwd, timeout, as_nobody=False, mem_mb=None, what=''):
        """Run waldo ARGV; returns (status, stdout, stderr, seconds, maxrss KiB, timed out)."""
        cmd = []
        rssf = None
        if TIME:
            # the peak RSS of waldo itself: a process forked from Python starts with Python's
            rssf = tempfile.NamedTemporaryFile(prefix='waldo-rss-', delete=False)
            rssf.close()
            cmd += [TIME, '-f', '%M', '-o', rssf.name]
        if as_nobody and self.nobody:
            cmd += ['setpriv', '--reuid=%d' % self.nobody[0], '--regid=%d' % self.nobody[1],
                    '--clear-groups', '--']
        if not self.a.asan and not self.a.no_mem_cap and PRLIMIT:
            cmd += ['prlimit', '--data=%d' % ((mem_mb or self.a.mem_mb) << 20), '--']
        cmd += [self.waldo] + argv
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
                                 env=self.env(), start_new_session=True)
            timed_out = []

            def kill():
                timed_out.append(1)
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            timer = threading.Timer(timeout, kill)
            timer.start()
            _, st, ru = os.wait4(p.pid, 0)
            timer.cancel()
            p.returncode = 0          # reaped here; keep Popen from waiting again
            secs = time.monotonic() - t0
            out.seek(0)
            err.seek(0)
            o, e = out.read(), err.read()
        if os.WIFSIGNALED(st):
            status = -os.WTERMSIG(st)
        else:
            status = os.WEXITSTATUS(st)
        rss = ru.ru_maxrss
        if rssf:
            with open(rssf.name) as f:
                lines = f.read().split('\n')
            os.unlink(rssf.name)
            m = re.search(r'terminated by signal (\d+)', '\n'.join(lines))
            if m:
                status = -int(m.group(1))
            nums = [ln for ln in lines if ln.strip().isdigit()]
            rss = int(nums[-1]) if nums else 0
        with self.lock:
            self.runs += 1
            if rss > self.peak_rss:
                self.peak_rss = rss
                self.peak_what = '%s: %s' % (what, ' '.join(argv[:1] + [os.path.basename(x) for x in argv[1:]]))
        return status, o, e, secs, rss, bool(timed_out)


def findings_of(cmd, stdout):
    out = []
    try:
        if cmd in JSON_LINES:
            for line in stdout.splitlines():
                if line.strip():
                    out += json.loads(line).get('findings') or []
        else:
            out = json.loads(stdout).get('findings') or []
    except (ValueError, AttributeError):
        pass
    return out


def check_json(cmd, stdout):
    """None when stdout is valid JSON for cmd (or empty), else the reason."""
    if not stdout.strip():
        return None
    try:
        text = stdout.decode('utf-8')          # strict: JSON must be UTF-8
    except UnicodeDecodeError as e:
        return 'output is not UTF-8: %s' % e
    try:
        if cmd in JSON_LINES:
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
        else:
            json.loads(text)
    except ValueError as e:
        return 'invalid JSON: %s' % e
    return None


class Changer(threading.Thread):
    """Changes a file in a loop while the commands read it.  mode 'truncate'
    (E3): truncates it, rewrites it, grows it; 'replace' (E4): renames
    another file over the path, so that the name points to a new inode;
    'salts' (E5): rewrites the WAL header's salts in place, as a WAL reset
    by a checkpoint does."""

    def __init__(self, path, mode='truncate'):
        super().__init__(daemon=True)
        self.path = path
        self.mode = mode
        self.stop = threading.Event()
        with open(path, 'rb') as f:
            self.orig = f.read()

    def restore(self):
        with open(self.path, 'wb') as f:
            f.write(self.orig)

    def run(self):
        n = len(self.orig)
        i = 0
        alt = bytearray(self.orig)
        if len(alt) > 32:
            alt[16:24] = bytes(b ^ 0x5A for b in alt[16:24])
        while not self.stop.is_set():
            i += 1
            if self.mode == 'replace':
                tmp = self.path + '.new'
                try:
                    with open(tmp, 'wb') as f:
                        f.write(self.orig if i % 2 else bytes(alt[:len(alt) // 2]))
                    os.rename(tmp, self.path)
                except OSError:
                    pass
                time.sleep(0.0005)
                continue
            if self.mode == 'salts':
                try:
                    with open(self.path, 'r+b') as f:
                        f.write(self.orig[:32] if i % 2 else bytes(alt[:32]))
                except OSError:
                    pass
                time.sleep(0.0005)
                continue
            try:
                with open(self.path, 'r+b') as f:
                    k = i % 4
                    if k == 0:
                        f.truncate(32 + (i * 997) % max(1, n - 32))
                    elif k == 1:
                        f.truncate(0)
                        f.write(self.orig)
                    elif k == 2:
                        f.seek(0, 2)
                        f.write(self.orig[32:32 + 4096])
                    else:
                        f.truncate(16)
            except OSError:
                pass
            time.sleep(0.0005)


LIVE = r'''
import sqlite3, sys
db, state = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db, isolation_level=None, timeout=10)
if state == 'exclusive':
    c.execute('PRAGMA locking_mode=EXCLUSIVE')
c.execute('SELECT count(*) FROM sqlite_schema').fetchall()
if state == 'reader':
    c.execute('BEGIN')
    c.execute('SELECT count(*) FROM sqlite_schema').fetchall()
elif state in ('writer', 'exclusive'):
    c.execute('BEGIN IMMEDIATE')
    c.execute('CREATE TABLE IF NOT EXISTS live_probe(x)')
    if state == 'exclusive':
        c.execute('COMMIT')
print('ready', flush=True)
sys.stdin.read()
'''


def start_live(path, state):
    """A real SQLite process holding the database in `state` until stopped."""
    p = subprocess.Popen([sys.executable, '-c', LIVE, path, state], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline()
    if line.strip() != b'ready':
        p.kill()
        p.wait()
        raise RuntimeError('live %s process did not start: %s' % (state, p.stderr.read().decode()))
    return p


def judge_case(r, case, casedir, a):
    """Run every command over one case; returns (problems, notes)."""
    problems = []
    sp = case.get('special') or {}
    cmds = case.get('commands') or ORDER
    if case.get('commands'):
        # the manifest pair and text variants travel with their parents
        extra = []
        for c in cmds:
            extra += {'hash': ['hash-manifest', 'verify'], 'inspect': ['inspect-text']}.get(c, [])
        cmds = [c for c in ORDER if c in set(cmds) | set(extra)]
    tmp = tempfile.mkdtemp(prefix='waldo-hostile-')
    os.chmod(tmp, 0o777)
    path = os.path.join(casedir, case['path'])
    as_nobody = False
    if 'eacces' in sp:
        victim = os.path.join(casedir, sp['eacces'])
        os.chmod(victim, 0)
        if os.geteuid() == 0:
            if not r.nobody:
                shutil.rmtree(tmp)
                return ['SKIP: root without setpriv/nobody cannot test EACCES'], []
            as_nobody = True
            # the folders up to the case must be searchable by nobody: ours are
            # made so, and a parent outside the case tree that is not skips the case
            top = os.path.dirname(os.path.abspath(a.cases))
            p = os.path.abspath(casedir)
            while p != '/':
                st = os.stat(p)
                if p.startswith(os.path.abspath(a.cases)):
                    os.chmod(p, st.st_mode | 0o011)
                elif not st.st_mode & 0o001 and p != top:
                    shutil.rmtree(tmp)
                    os.chmod(victim, 0o644)
                    return ['SKIP: %s is not searchable by others' % p], []
                p = os.path.dirname(p)
            st = os.stat(top)
            if not st.st_mode & 0o001:
                os.chmod(top, st.st_mode | 0o001)
    live = start_live(path, sp['live']) if 'live' in sp else None
    before = snapshot(casedir)
    changer = None
    if 'changing' in sp:
        changer = Changer(os.path.join(casedir, sp['changing']), sp.get('mode', 'truncate'))
        changer.start()
    allowed_over = case.get('status') or {}
    timeout = a.timeout
    if case.get('xfail') and not a.long:
        # a known bug: only the commands that judge the case's expectations (inspect, and scan,
        # whose findings count too and are the only ones an archive case can expect), each with
        # a short timeout, so that the case shows XPASS once the bug is gone
        timeout = min(timeout, 3)
        judges = JUDGES + (['scan'] if case.get('expect') or case.get('forbid') else [])
        cmds = [c for c in cmds if c in judges] or cmds[:2]
    results = {}
    stats = []
    for cmd in cmds * int(sp.get('repeat', 1)):
        argv = argv_for(cmd, path, case.get('mid'), casedir, tmp)
        if cmd == 'verify' and not os.path.exists(os.path.join(tmp, 'manifest')):
            continue
        st, out, err, secs, rss, to = r.run(argv, tmp, timeout, as_nobody, case.get('mem_mb'), case['name'])
        results[cmd] = (st, out, err)
        stats.append((secs, rss, cmd))
        label = '%s: waldo %s' % (cmd, ' '.join(repr(x) if (' ' in x or '\n' in x) else x for x in argv))
        if cmd in (case.get('xfail_cmds') or {}):
            label = 'KNOWN ' + label
        base = cmd.split('-')[0] if cmd in ('scan-text',) else cmd
        allowed = set(allowed_over.get(cmd, allowed_over.get(base, allowed_over.get('*', STATUS[cmd]))))
        if to:
            problems.append('%s: timed out after %ds' % (label, timeout))
            continue
        if st < 0:
            problems.append('%s: killed by signal %d' % (label, -st))
        elif st not in allowed:
            problems.append('%s: exit %d, allowed %s' % (label, st, sorted(allowed)))
        m = SAN_RE.search(err)
        if m:
            i = m.start()
            problems.append('%s: sanitizer report: %s' % (label, err[i:i + 600].decode('utf-8', 'replace')))
        if b'\x1b' in out or b'\x07' in out or b'\x1b' in err or b'\x07' in err:
            problems.append('%s: raw ESC/BEL byte in the output' % label)
        if cmd in JSON_ONE or cmd in JSON_LINES:
            why = check_json(cmd, out)
            if why:
                problems.append('%s: %s' % (label, why))
        if st == 66 and not err.strip():
            problems.append('%s: exit 66 without a message on stderr' % label)
        if cmd == 'inspect' and st in (0, 1, 2) and not changer:
            try:
                j = json.loads(out)
                want = SEV_EXIT.get(j.get('status'))
                if want is not None and want != st:
                    problems.append('%s: JSON status %r but exit %d' % (label, j.get('status'), st))
            except ValueError:
                pass
        if cmd == 'verify' and st != 0 and not changer and st != 66:
            problems.append('%s: the state differs from the manifest hash -o wrote a moment before (exit %d)'
                            % (label, st))
        if cmd == 'diff' and st != 0 and st != 66 and not changer:
            problems.append('%s: PATH differs from itself (exit %d)' % (label, st))
    if changer:
        changer.stop.set()
        changer.join()
        changer.restore()
    after_live = snapshot(casedir) if live else None
    if live:
        live.stdin.close()
        live.wait()
    # expected and forbidden findings
    tmp_cwd = tmp
    if not changer and 'inspect' in results:
        got = findings_of('inspect', results['inspect'][1])
        if 'scan' in results:
            got = got + findings_of('scan', results['scan'][1])
        for code, fil, off in case.get('expect') or []:
            ok = any(f.get('code') == code and (fil is None or f.get('file') == fil) and
                     (off is None or f.get('offset') == off) for f in got)
            if not ok:
                seen = ['%s@%s:%s' % (f.get('code'), f.get('file'), f.get('offset')) for f in got]
                problems.append('findings: expected %s file=%s offset=%s; got %s' %
                                (code, fil, off, ', '.join(seen) or 'none'))
        for f in got:
            # an offset names a byte of the file (or its end): never past it
            fp, off = f.get('path'), f.get('offset')
            if fp and off is not None and f.get('file') in ('db', 'wal', 'shm', 'journal'):
                try:
                    size = os.stat(fp if os.path.isabs(fp) else os.path.join(tmp_cwd, fp)).st_size
                except OSError:
                    continue
                if off < 0 or off > size:
                    problems.append('findings: %s offset %d is outside %s (%d bytes)' % (f.get('code'), off, fp, size))
        for code in case.get('forbid') or []:
            bad = [f for f in got if f.get('code') == code]
            if bad:
                problems.append('findings: %s must not be reported: %s' % (code, bad[0].get('message')))
    if 'E11' in case['row'] and 'inspect' in results:
        try:
            j = json.loads(results['inspect'][1])
            if j.get('path') != path and os.fsencode(j.get('path', '')) != os.fsencode(path):
                # invalid UTF-8 cannot round-trip through JSON; it must be escaped, not dropped
                if b'\\u' not in results['inspect'][1] and b'\\x' not in results['inspect'][1]:
                    problems.append('inspect: JSON path %r does not name %r' % (j.get('path'), path))
        except ValueError:
            pass
    # inputs intact
    if 'eacces' in sp:
        os.chmod(os.path.join(casedir, sp['eacces']), 0o644)
    after = after_live or snapshot(casedir)
    if not changer:
        if 'eacces' in sp:
            before = {k: v for k, v in before.items()}
        for k in sorted(set(before) | set(after)):
            if before.get(k) != after.get(k):
                if k not in after:
                    problems.append('inputs: %r vanished' % k)
                elif k not in before:
                    problems.append('inputs: %r appeared in the case folder' % k)
                else:
                    problems.append('inputs: %r changed (%s -> %s)' % (k, before[k][:2], after[k][:2]))
    shutil.rmtree(tmp, ignore_errors=True)
    known = [p for p in problems if p.startswith('KNOWN ')]
    problems = [p for p in problems if not p.startswith('KNOWN ')]
    if known and not problems:
        problems = ['KNOWN']
    elif not known and not problems and case.get('xfail_cmds'):
        problems = ['XPASS']
    return problems, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--waldo', required=True)
    ap.add_argument('--cases', required=True)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--only')
    ap.add_argument('--timeout', type=float, default=20)
    ap.add_argument('--mem-mb', type=int, default=512)
    ap.add_argument('--asan', action='store_true')
    ap.add_argument('--long', action='store_true')
    ap.add_argument('--sample', action='store_true', help='the first case of each HOSTILE.md row only')
    ap.add_argument('--no-mem-cap', action='store_true', help='no RLIMIT_DATA (for valgrind)')
    ap.add_argument('-v', '--verbose', action='store_true')
    a = ap.parse_args()
    with open(os.path.join(a.cases, 'cases.json')) as f:
        cases = json.load(f)
    if a.only:
        pats = a.only.split(',')
        cases = [c for c in cases if any(p in c['name'] for p in pats)]
    if a.sample:
        seen = set()
        cases = [c for c in cases if not (c['row'] in seen or seen.add(c['row']))]
    if not a.asan:
        with open(a.waldo, 'rb') as f:
            a.asan = b'__asan_init' in f.read()    # an ASan build cannot run under RLIMIT_DATA
    r = Runner(a)
    t0 = time.monotonic()

    def one(c):
        t = time.monotonic()
        probs, stats = judge_case(r, c, os.path.join(a.cases, c['name']), a)
        slow = max(stats) if stats else (0, 0, '-')
        big = max(stats, key=lambda x: x[1]) if stats else (0, 0, '-')
        return probs, (time.monotonic() - t, slow, big)

    # the slow cases first, so that two workers finish together
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        futs = [ex.submit(one, c) for c in cases]
        res = [f.result() for f in futs]
    npass = nfail = nx = nskip = 0
    for i, (c, (probs, secs)) in enumerate(zip(cases, res), 1):
        name = 'hostile %s' % c['name']
        skip = [p for p in probs if p.startswith('SKIP')]
        if probs == ['KNOWN']:
            print('ok %d - %s # TODO known bug: %s' % (i, name, '; '.join(sorted(set(c['xfail_cmds'].values())))))
            nx += 1
        elif probs == ['XPASS']:
            print('ok %d - %s # XPASS: the known bug is gone, drop its xfail_cmds' % (i, name))
            npass += 1
        elif skip:
            print('ok %d - %s # SKIP %s' % (i, name, skip[0][6:]))
            nskip += 1
        elif c.get('xfail'):
            if probs:
                print('ok %d - %s # TODO known bug: %s' % (i, name, c['xfail']))
                nx += 1
                if a.verbose:
                    for p in probs:
                        print('#   %s' % p.replace('\n', '\n#   '))
            else:
                print('ok %d - %s # XPASS: the known bug is gone, drop its xfail' % (i, name))
                npass += 1
        elif probs:
            print('not ok %d - %s: %s' % (i, name, c['what']))
            for p in probs[:12]:
                print('#   %s' % p.replace('\n', '\n#   '))
            nfail += 1
        else:
            print('ok %d - %s%s' % (i, name, ' (%.1fs; slowest %s %.2fs; largest %s %d MiB)' %
                                    (secs[0], secs[1][2], secs[1][0], secs[2][2], secs[2][1] >> 10)
                                    if a.verbose else ''))
            npass += 1
    if not PRLIMIT and not a.asan and not a.no_mem_cap:
        print('# hostile: no prlimit(1): runs were not memory-capped')
    print('# hostile: %d cases, %d passed, %d failed, %d known bugs, %d skipped; %d runs in %.0fs; '
          'peak RSS %d MiB, mapped inputs included (%s)' % (len(cases), npass, nfail, nx, nskip, r.runs, time.monotonic() - t0,
                                    r.peak_rss >> 10, r.peak_what))
    return 1 if nfail else 0


if __name__ == '__main__':
    sys.exit(main())
