#!/usr/bin/env python3
"""
tests/hostile/gen.py -- build the hostile inputs of ../shared/HOSTILE.md.

    gen.py OUT [--long] [--only SUBSTRING,...]

Every case starts from files the real libsqlite3 wrote (through Python's
sqlite3 module, which links the system libsqlite3) and then receives one
targeted piece of damage: a field set to a hostile value, a checksum chain
re-sealed so that the damage reaches the check behind it, a file cut, made
sparse, swapped for a FIFO or a device.  Nothing binary is committed: the
cases are rebuilt on every run (a few seconds).

OUT/<case>/ holds the files of one case (db, db-wal, db-shm, archives, ...)
and OUT/cases.json describes each case for run.py:

    name     "<ROW>-<what>", ROW being the HOSTILE.md row (W1..W19, S1..S12,
             D1..D20, A1..A12, E1..E12), LIVE for the live-database states
             of issue 11, R for an input a fuzzer found
             (tests/fuzz/regressions/<target>/, replayed here), so that a
             failure names its row
    row      the HOSTILE.md row
    what     one line: the input
    path     PATH given to the commands, relative to the case folder
    mid      the "middle page" `waldo page` decodes besides page 1
    expect   findings `waldo inspect --json` must report:
             [code, file, offset] (file/offset None: not checked)
    forbid   codes it must not report
    status   exit statuses allowed per command ("*" for every command),
             when they differ from the documented defaults
    commands the commands to run when not all (e.g. a 1 GiB database)
    special  how the case is set up: eacces, changing, live, repeat (run.py);
             mkfifo, socket, hardlink, truncate, extend, copy_w (gen.py)
    xfail    the bug this case shows, in a file this suite does not own:
             run.py reports it as a known failure until it passes
    xfail_cmds  the same for some commands only: {command: bug}
    mem_mb   a memory cap other than run.py's default for this case
    --long   adds the slow cases (a sparse 1 GiB database, 10^6 frames)

Page and frame positions are found from the files (dbstat, the WAL's frame
headers), never assumed, so a change in SQLite's layout moves the damage
with it.
"""
import gzip
import io
import json
import os
import shutil
import socket
import sqlite3
import struct
import sys
import tarfile
import zlib

MASK = 0xFFFFFFFF
WAL_HDR = 32
FRAME_HDR = 24


# --------------------------------------------------------------- checksums

def wal_cksum(data, s1, s2, big):
    """SQLite's walChecksumBytes: word pairs in the byte order of the WAL magic."""
    n = len(data) // 4
    words = struct.unpack(('>' if big else '<') + '%dI' % n, data[:n * 4])
    for i in range(0, n, 2):
        s1 = (s1 + words[i] + s2) & MASK
        s2 = (s2 + words[i + 1] + s1) & MASK
    return s1, s2


class Wal:
    """A WAL image with the helpers the damage needs."""

    def __init__(self, data):
        self.b = bytearray(data)

    @property
    def big(self):
        return struct.unpack_from('>I', self.b, 0)[0] & 1

    @property
    def ps(self):
        return struct.unpack_from('>I', self.b, 8)[0]

    def frame_off(self, i, ps=None):
        """Byte offset of frame i (1-based)."""
        return WAL_HDR + (i - 1) * ((ps or self.ps) + FRAME_HDR)

    def nframes(self):
        return (len(self.b) - WAL_HDR) // (self.ps + FRAME_HDR)

    def get(self, off):
        return struct.unpack_from('>I', self.b, off)[0]

    def put(self, off, v):
        struct.pack_into('>I', self.b, off, v & MASK)

    def fget(self, i, field):
        return self.get(self.frame_off(i) + field)

    def fput(self, i, field, v):
        self.put(self.frame_off(i) + field, v)

    def commits(self):
        return [i for i in range(1, self.nframes() + 1) if self.fget(i, 4)]

    def frames_of(self, pgno):
        return [i for i in range(1, self.nframes() + 1) if self.fget(i, 0) == pgno]

    def seal(self, big=None):
        """Recompute the header checksum (bytes 24..31) over bytes 0..23."""
        s = wal_cksum(bytes(self.b[:24]), 0, 0, self.big if big is None else big)
        self.put(24, s[0])
        self.put(28, s[1])

    def rechain(self, ps=None, upto=None, salts=False):
        """Recompute every frame checksum from the header's; `salts` also
        copies the header salts into each frame."""
        ps = ps or self.ps
        s = (self.get(24), self.get(28))
        n = (len(self.b) - WAL_HDR) // (ps + FRAME_HDR)
        for i in range(1, (upto or n) + 1):
            o = self.frame_off(i, ps)
            if salts:
                self.b[o + 8:o + 16] = self.b[16:24]
            s = wal_cksum(bytes(self.b[o:o + 8]) + bytes(self.b[o + FRAME_HDR:o + FRAME_HDR + ps]),
                          s[0], s[1], self.big)
            self.put(o + 16, s[0])
            self.put(o + 20, s[1])


class Shm:
    """A -shm image (little-endian host) with its two header copies."""

    def __init__(self, data):
        self.b = bytearray(data)

    def u32(self, off):
        return struct.unpack_from('<I', self.b, off)[0]

    def put(self, off, v, both=False):
        struct.pack_into('<I', self.b, off, v & MASK)
        if both:
            struct.pack_into('<I', self.b, off + 48, v & MASK)

    def seal(self, copy):
        """Recompute copy 0 or 1's aCksum over its first 40 bytes (native order)."""
        base = 48 * copy
        s = wal_cksum(bytes(self.b[base:base + 40]), 0, 0, False)
        struct.pack_into('<II', self.b, base + 40, *s)

    def seal_both(self):
        self.seal(0)
        self.seal(1)


# ------------------------------------------------------------ file helpers

def rd(path):
    with open(path, 'rb') as f:
        return f.read()


def wr(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def be16(b, off):
    return struct.unpack_from('>H', b, off)[0]


def be32(b, off):
    return struct.unpack_from('>I', b, off)[0]


def put16(b, off, v):
    struct.pack_into('>H', b, off, v)


def put32(b, off, v):
    struct.pack_into('>I', b, off, v & MASK)


def varint(b, off):
    """SQLite varint at off: (value, length)."""
    v = 0
    for i in range(8):
        c = b[off + i]
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            return v, i + 1
    return (v << 8) | b[off + 8], 9


def layout(dbpath):
    """dbstat over a database: {(name, pagetype): [pageno...]} plus the raw rows."""
    c = sqlite3.connect('file:%s?mode=ro' % dbpath, uri=True)
    rows = c.execute('SELECT name, pageno, pagetype, path FROM dbstat ORDER BY pageno').fetchall()
    c.close()
    m = {}
    for name, pg, kind, _ in rows:
        m.setdefault((name, kind), []).append(pg)
    return m, rows


class Db:
    """A database image and its page geometry."""

    def __init__(self, data):
        self.b = bytearray(data)
        raw = be16(self.b, 16)
        self.ps = 65536 if raw == 1 else raw
        self.usable = self.ps - self.b[20]

    def off(self, pg):
        return (pg - 1) * self.ps

    def hdr(self, pg):
        """Offset of page pg's b-tree header (after the 100-byte file header on page 1)."""
        return self.off(pg) + (100 if pg == 1 else 0)

    def cells(self, pg):
        """Offsets (absolute) of the cell pointers of b-tree page pg, and its header size."""
        h = self.hdr(pg)
        hsz = 12 if self.b[h] in (2, 5) else 8
        n = be16(self.b, h + 3)
        return [h + hsz + 2 * i for i in range(n)], hsz

    def cell(self, pg, i):
        ptrs, _ = self.cells(pg)
        return self.off(pg) + be16(self.b, ptrs[i])

    def npages(self):
        return len(self.b) // self.ps


# ------------------------------------------------------------------ bases

def sql_all(c, stmts):
    for s in stmts:
        c.execute(s)


def fill_rows(n, first=1, width=40):
    return ("WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i+1 FROM s WHERE i<%d) "
            "INSERT INTO t(a, b) SELECT i, printf('row-%%05d-%%s', i, substr(hex(i*7919), 1, 8)) || "
            "substr('abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz', 1, %d) FROM s"
            % (first, first + n - 1, width))


BIG = "substr(replace(hex(zeroblob(%d)), '00', 'xy'), 1, %d)"


def build_wal_base(out, ps=1024, schema='t', commits=5, extra=None):
    """A WAL-mode database: a checkpointed file plus `commits` transactions
    in the WAL, copied with its -shm while the connection is still open."""
    os.makedirs(out, exist_ok=True)
    work = out + '.work'
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    path = os.path.join(work, 'db')
    c = sqlite3.connect(path, isolation_level=None)
    sql_all(c, ['PRAGMA page_size=%d' % ps, 'PRAGMA journal_mode=WAL', 'PRAGMA wal_autocheckpoint=0'])
    if schema == 't':
        sql_all(c, ['CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB)',
                    'CREATE INDEX tb ON t(b)', fill_rows(60),
                    'UPDATE t SET c = %s WHERE a = 7' % (BIG % (2000, 3000))])
    else:
        sql_all(c, ['CREATE TABLE other(x TEXT, y INTEGER)', 'CREATE TABLE other2(z)',
                    "INSERT INTO other VALUES('foreign', 1), ('wal', 2)"])
    c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    steps = [
        [fill_rows(12, first=100)],
        ["UPDATE t SET b = b || '-changed' WHERE a % 5 = 0"],
        ['DELETE FROM t WHERE a BETWEEN 20 AND 25'],
        ['INSERT INTO t(a, b, c) VALUES(500, \'big\', %s)' % (BIG % (1500, 2500))],
        ['CREATE TABLE u(x)', "INSERT INTO u VALUES('in the wal')"],
    ] if schema == 't' else [
        ["INSERT INTO other VALUES('more', 3)"],
        ['CREATE TABLE other3(w)'],
        ["UPDATE other SET y = y + 10"],
        ["INSERT INTO other2 VALUES(zeroblob(3000))"],
        ["DELETE FROM other WHERE y > 11"],
    ]
    for st in steps[:commits]:
        c.execute('BEGIN')
        sql_all(c, st)
        c.execute('COMMIT')
    for st in extra or []:
        c.execute(st)
    for f in ('db', 'db-wal', 'db-shm'):
        shutil.copyfile(os.path.join(work, f), os.path.join(out, f))
    c.close()
    shutil.rmtree(work)


def build_rollback_base(out, ps=1024, kind='d'):
    """A rollback-mode database: `d` has a two-level table b-tree, an index,
    an overflow chain, a freelist and pages with freeblocks; `s` is small
    (three schema objects on a few pages); `av` is auto-vacuum full."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, 'db')
    if os.path.exists(path):
        os.unlink(path)
    c = sqlite3.connect(path, isolation_level=None)
    c.execute('PRAGMA page_size=%d' % ps)
    c.execute('PRAGMA secure_delete=OFF')
    if kind == 'av':
        c.execute('PRAGMA auto_vacuum=FULL')
    c.execute('BEGIN')
    if kind == 's':
        sql_all(c, ['CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB)', 'CREATE TABLE t2(x, y)',
                    'CREATE INDEX tb ON t(b)', fill_rows(5), "INSERT INTO t2 VALUES(1, 'two')"])
    elif kind == 'av':
        sql_all(c, ['CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB)', fill_rows(30),
                    'UPDATE t SET c = %s WHERE a = 3' % (BIG % (1000, 1500))])
    else:
        sql_all(c, ['CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB)', 'CREATE INDEX tb ON t(b)',
                    fill_rows(1000), 'UPDATE t SET c = %s WHERE a = 7' % (BIG % (3000, 5000))])
    c.execute('COMMIT')
    if kind == 'd':
        c.execute('DELETE FROM t WHERE a BETWEEN 300 AND 800')
        c.execute('DELETE FROM t WHERE a IN (40, 42, 44)')      # freeblocks on a leaf
    if kind == 'av':
        c.execute('DELETE FROM t WHERE a BETWEEN 10 AND 12')
    c.close()


def build_reserved_base(out):
    """4096-byte pages with 8 reserved bytes (cksumvfs-style), via the sqlite3 CLI."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, 'db')
    if os.path.exists(path):
        os.unlink(path)
    import subprocess
    subprocess.run(['sqlite3', path, 'PRAGMA page_size=4096;', '.filectrl reserve_bytes 8', 'VACUUM;',
                    'CREATE TABLE t(a, b); INSERT INTO t VALUES(1, 2);'],
                   check=True, stdout=subprocess.DEVNULL)


# ------------------------------------------------------------------- cases

class Gen:
    def __init__(self, out, long_, only):
        self.out = out
        self.long = long_
        self.only = only
        self.cases = []
        self.base = os.path.join(out, '_base')

    def want(self, name):
        return not self.only or any(s in name for s in self.only)

    def case(self, name, what, files, expect=(), forbid=(), path='db', mid=None, status=None,
             commands=None, special=None, xfail=None, long_=False, symlinks=None, dirs=None, xfail_cmds=None,
             mem_mb=None):
        """Write one case: files maps a name in the case folder to bytes."""
        if long_ and not self.long:
            return
        if not self.want(name):
            return
        d = os.path.join(self.out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for fn, data in files.items():
            wr(os.path.join(d, fn), data)
        for fn, target in (symlinks or {}).items():
            os.symlink(target, os.path.join(d, fn))
        for fn in dirs or ():
            os.makedirs(os.path.join(d, fn), exist_ok=True)
        self.cases.append({
            'name': name, 'row': name.split('-')[0], 'what': what, 'path': path,
            'mid': mid, 'expect': [list(e) for e in expect], 'forbid': list(forbid),
            'status': status or {}, 'commands': commands, 'special': special, 'xfail': xfail,
            'xfail_cmds': xfail_cmds, 'mem_mb': mem_mb,
        })
        return d

    def bases(self):
        b = self.base
        build_wal_base(os.path.join(b, 'w'))
        build_wal_base(os.path.join(b, 'w2k'), ps=2048)
        build_wal_base(os.path.join(b, 'wx'), schema='other')
        build_wal_base(os.path.join(b, 'w64k'), ps=65536, commits=2)
        build_rollback_base(os.path.join(b, 'd'))
        build_rollback_base(os.path.join(b, 's'), kind='s')
        build_rollback_base(os.path.join(b, 'av'), ps=512, kind='av')
        build_reserved_base(os.path.join(b, 'r'))
        self.w = {f: rd(os.path.join(b, 'w', f)) for f in ('db', 'db-wal', 'db-shm')}

    def wfiles(self, db=None, wal=None, shm=None):
        """Base `w`'s triple with some files replaced (None keeps, False drops)."""
        out = {}
        for key, val in (('db', db), ('db-wal', wal), ('db-shm', shm)):
            if val is False:
                continue
            out[key] = bytes(val) if val is not None else self.w[key]
        return out

    # ------------------------------------------------------------- WAL
    def wal_cases(self):
        w0 = Wal(self.w['db-wal'])
        n = w0.nframes()
        commits = w0.commits()
        assert len(commits) >= 4 and n >= 8, (n, commits)
        mid = 3

        for ps in (0, 3, 511, 1, 131072, 0xFFFFFFFF):
            w = Wal(w0.b)
            w.put(8, ps)
            w.seal()
            self.case('W1-wal-page-size-%d' % ps, 'WAL header page size %u, header re-sealed' % ps,
                      self.wfiles(wal=w.b), [('WAL_HEADER_INVALID', 'wal', 8)], mid=mid)

        w = Wal(w0.b)
        w.put(0, 0x377f0684)
        w.seal()
        self.case('W2-wal-bad-magic', 'WAL magic 0x377f0684', self.wfiles(wal=w.b),
                  [('WAL_HEADER_INVALID', 'wal', 0)], mid=mid)
        w = Wal(w0.b)
        w.put(0, w.get(0) ^ 1)          # other checksum order; checksums left in the old one
        self.case('W2-wal-endian-bit', 'WAL magic with the byte-order bit flipped', self.wfiles(wal=w.b),
                  [('WAL_HEADER_INVALID', 'wal', None)], mid=mid)

        w = Wal(w0.b)
        w.b[15] ^= 0x01                 # checkpoint sequence: the header checksum fails
        self.case('W3-wal-header-cksum', 'WAL header checksum mismatch, frames plausible',
                  self.wfiles(wal=w.b), [('WAL_HEADER_INVALID', 'wal', 24)], mid=mid)

        w = Wal(w0.b)
        w.put(4, 3007001)
        w.seal()
        w.rechain()
        self.case('W4-wal-version', 'WAL format version 3007001, re-sealed', self.wfiles(wal=w.b),
                  [('WAL_VERSION_INVALID', 'wal', 4)], mid=mid)

        self.case('W5-wal-empty', 'WAL of 0 bytes', self.wfiles(wal=b''), [('WAL_EMPTY', 'wal', 0)],
                  forbid=['WAL_TORN_HEADER'], mid=mid)
        for k in (1, 31):
            self.case('W5-wal-torn-header-%d' % k, 'WAL of %d bytes' % k, self.wfiles(wal=w0.b[:k]),
                      [('WAL_TORN_HEADER', 'wal', 0)], mid=mid)

        self.case('W6-wal-partial-frame', 'WAL cut 100 bytes into its last frame',
                  self.wfiles(wal=w0.b[:-100]), [('WAL_PARTIAL_FRAME', 'wal', w0.frame_off(n))], mid=mid)
        self.case('W6-wal-header-plus-10', 'WAL header followed by 10 bytes',
                  self.wfiles(wal=w0.b[:WAL_HDR + 10]), [('WAL_PARTIAL_FRAME', 'wal', WAL_HDR)], mid=mid)

        k = commits[1] + 1              # first frame of the third transaction
        w = Wal(w0.b)
        for i in range(k, n + 1):
            w.fput(i, 8, w.fget(i, 8) ^ 0x5A5A5A5A)
        self.case('W7-wal-salt-change', 'frames %d..%d carry other salts (an earlier generation)' % (k, n),
                  self.wfiles(wal=w.b), [('WAL_STALE_FRAMES', 'wal', w0.frame_off(k))], mid=mid)

        k = commits[1] + 1
        w = Wal(w0.b)
        w.b[w.frame_off(k) + FRAME_HDR + 200] ^= 0xFF
        self.case('W8-wal-cksum-break', 'one byte of frame %d page data flipped: chain breaks, '
                  'committed frames after it' % k, self.wfiles(wal=w.b),
                  [('WAL_CHECKSUM_MISMATCH', 'wal', w0.frame_off(k))], mid=mid)
        k = commits[-1]                 # the last commit frame itself
        w = Wal(w0.b)
        w.b[w.frame_off(k) + FRAME_HDR + 10] ^= 0xFF
        self.case('W8-wal-cksum-break-commit', 'the last commit frame %d damaged: its transaction '
                  'has no valid commit frame' % k, self.wfiles(wal=w.b),
                  [('WAL_CHECKSUM_MISMATCH', 'wal', w0.frame_off(k))], mid=mid)

        w = Wal(w0.b)
        last = commits[-1]
        w.fput(last, 4, 0)
        w.rechain()
        first = commits[-2] + 1
        self.case('W9-wal-uncommitted-tail', 'the last commit frame made a plain frame: frames %d..%d '
                  'have no commit' % (first, n), self.wfiles(wal=w.b),
                  [('WAL_UNCOMMITTED_TAIL', 'wal', w0.frame_off(first))], mid=mid)

        k = commits[1] + 1
        w = Wal(w0.b)
        w.fput(k, 0, 0)
        w.rechain()
        self.case('W10-wal-pgno-0', 'frame %d has page number 0 (chain re-sealed)' % k, self.wfiles(wal=w.b),
                  [('WAL_FRAME_INVALID', 'wal', w0.frame_off(k))], mid=mid)

        # W11: page numbers SQLite accepts in the chain but no database can hold
        db_size = w0.fget(commits[1], 4)
        for tag, pg in (('beyond-size', db_size + 50), ('max', 0xFFFFFFFF),
                        ('lock-byte', (1 << 30) // 1024 + 1)):
            w = Wal(w0.b)
            k = commits[1]              # a commit frame: its db size is the transaction's
            w.fput(k, 0, pg)
            w.rechain()
            self.case('W11-wal-pgno-%s' % tag, 'commit frame %d writes page %u' % (k, pg),
                      self.wfiles(wal=w.b), [('WAL_FRAME_INVALID', 'wal', w0.frame_off(k))], mid=mid)

        for tag, size in (('ffffffff', 0xFFFFFFFF), ('huge', 1000000)):
            w = Wal(w0.b)
            k = commits[-1]
            w.fput(k, 4, size)
            w.rechain()
            # 0xffffffff is past any page number: the frame itself is invalid; 10^6 pages is a size
            # SQLite believes, with nearly all of it in no file (and within model_size_plausible)
            exp = [('WAL_FRAME_INVALID', 'wal', w0.frame_off(k) + 4)] if size == 0xFFFFFFFF else \
                [('DB_FILE_TRUNCATED', 'db', len(self.w['db']))]
            self.case('W12-wal-commit-size-%s' % tag, 'last commit frame %d says the database has %u '
                      'pages' % (k, size), self.wfiles(wal=w.b), exp, mid=mid)

        # W13: a commit that shrinks the database below pages it wrote (legal after VACUUM)
        w = Wal(w0.b)
        k = commits[0]
        pages = [w.fget(i, 0) for i in range(1, k + 1)]
        w.fput(k, 4, 2)
        w.rechain()
        self.case('W13-wal-commit-shrinks', 'commit frame %d sets the size to 2 pages while the transaction '
                  'wrote pages %s' % (k, sorted(set(pages))), self.wfiles(wal=w.b),
                  [('WAL_FRAME_INVALID', 'wal', None)], mid=mid)

        # W14: frame offsets past 4 GiB (65536-byte pages, sparse file)
        b64 = os.path.join(self.base, 'w64k')
        w = Wal(rd(os.path.join(b64, 'db-wal')))
        self.case('W14-wal-past-4gib', '65536-byte-page WAL made sparse to 4.3 GB: frame offsets past '
                  '2^32', {'db': rd(os.path.join(b64, 'db')), 'db-wal': w.b}, mid=2,
                  special={'truncate': {'db-wal': WAL_HDR + 65600 * (65536 + FRAME_HDR) + 77}},
                  expect=[('WAL_PARTIAL_FRAME', 'wal', WAL_HDR + 65600 * (65536 + FRAME_HDR))])

        # W15 / W16: mispaired files
        b2 = os.path.join(self.base, 'w2k')
        self.case('W15-wal-page-size-mismatch', 'a 1024-byte-page database next to a 2048-byte-page WAL',
                  self.wfiles(wal=rd(os.path.join(b2, 'db-wal')), shm=rd(os.path.join(b2, 'db-shm'))),
                  [('WAL_PAGE_SIZE_MISMATCH', 'wal', 8)], mid=mid)
        bx = os.path.join(self.base, 'wx')
        self.case('W16-wal-foreign', 'the database next to the WAL and -shm of another 1024-byte-page '
                  'database', self.wfiles(wal=rd(os.path.join(bx, 'db-wal')), shm=rd(os.path.join(bx, 'db-shm'))),
                  # commit 1 changes the size without a frame of page 1 while the -shm says nothing was
                  # checkpointed (inspect/checks.c, "lineage"): the frame's commit-size field, offset + 4
                  [('WAL_FOREIGN', 'wal', WAL_HDR + 4)], mid=mid)

        # W17: one page written many times; every frame a commit
        nrep = 1000000 if self.long else 20000
        w = Wal(w0.b)
        f1 = bytes(w.b[w.frame_off(1):w.frame_off(2)])
        pg = be32(f1, 0)
        size = max(w0.fget(c, 4) for c in commits)
        hdr = bytearray(f1[:FRAME_HDR])
        put32(hdr, 4, size)
        frame = bytes(hdr) + f1[FRAME_HDR:]
        big = Wal(bytes(w.b[:WAL_HDR]) + frame * nrep)
        big.rechain()
        self.case('W17-wal-same-page-%dk' % (nrep // 1000), '%d commits, each of page %d only' % (nrep, pg),
                  self.wfiles(wal=big.b, shm=False), mid=mid,
                  commands=['inspect', 'inspect-text', 'wal', 'log', 'history', 'hash', 'page'])

        # W18: duplicate commit frames, and every frame a commit (zero-work transactions)
        w = Wal(w0.b)
        last = commits[-1]
        dup = bytes(w.b[w.frame_off(last):w.frame_off(last) + FRAME_HDR + w.ps])
        w.b += dup * 3
        w.rechain()
        self.case('W18-wal-duplicate-commits', 'the last commit frame repeated three times',
                  self.wfiles(wal=w.b), mid=mid)
        w = Wal(w0.b)
        for i in range(1, n + 1):
            if not w.fget(i, 4):
                w.fput(i, 4, size)
        w.rechain()
        self.case('W18-wal-every-frame-commits', 'every frame carries a commit size', self.wfiles(wal=w.b),
                  mid=mid)

        # W19: a sparse WAL with a huge hole (1 TiB apparent size)
        self.case('W19-wal-sparse-1tib', 'the WAL extended with a hole to 1 TiB', self.wfiles(), mid=mid,
                  special={'truncate': {'db-wal': 1 << 40}}, mem_mb=4096,  # the cap must not hide a 2 GiB table
                  # the walk stops at the first run of zero frame headers (the hole), right after the
                  # last real frame, and says so: WAL_LIMIT_EXCEEDED at that frame
                  expect=[('WAL_LIMIT_EXCEEDED', 'wal', w0.frame_off(n + 1))])

    # ------------------------------------------------------------- -shm
    def shm_cases(self):
        s0 = Shm(self.w['db-shm'])
        w0 = Wal(self.w['db-wal'])
        mx = s0.u32(16)
        assert mx == w0.commits()[-1], (mx, w0.commits())
        mid = 3

        for k in (0, 3, 135):
            self.case('S1-shm-%d-bytes' % k, '-shm of %d bytes' % k, self.wfiles(shm=s0.b[:k]),
                      [('SHM_TRUNCATED', 'shm', None)], mid=mid)

        s = Shm(s0.b)
        s.put(48 + 16, mx - 1)
        s.seal(1)
        self.case('S2-shm-copies-differ', 'copy 1 says mxFrame %d, copy 0 %d' % (mx - 1, mx),
                  self.wfiles(shm=s.b), [('SHM_HEADER_MISMATCH', 'shm', None)], mid=mid)

        s = Shm(s0.b)
        s.b[12] = 0
        s.b[48 + 12] = 0
        s.seal_both()
        self.case('S3-shm-not-init', 'isInit 0 in both copies', self.wfiles(shm=s.b),
                  [('SHM_HEADER_INVALID', 'shm', 12)], mid=mid)
        s = Shm(s0.b)
        s.put(0, 3007001, both=True)
        s.seal_both()
        self.case('S3-shm-version', 'iVersion 3007001 in both copies', self.wfiles(shm=s.b),
                  [('SHM_HEADER_INVALID', 'shm', None)], mid=mid)
        s = Shm(s0.b)
        s.b[40] ^= 0xFF
        s.b[88] ^= 0xFF
        self.case('S3-shm-cksum', 'header checksums of both copies wrong', self.wfiles(shm=s.b),
                  [('SHM_HEADER_INVALID', 'shm', 40)], mid=mid)

        s = Shm(s0.b)
        s.put(16, mx + 40, both=True)
        s.seal_both()
        self.case('S4-shm-mxframe-beyond-wal', 'mxFrame %d, the WAL has %d frames' % (mx + 40, w0.nframes()),
                  self.wfiles(shm=s.b), [('SHM_STALE', 'shm', None)], mid=mid)

        s = Shm(s0.b)
        s.put(96, mx + 5)
        self.case('S5-shm-backfill-past-mx', 'nBackfill %d > mxFrame %d' % (mx + 5, mx), self.wfiles(shm=s.b),
                  [('SHM_BACKFILL_INVALID', 'shm', 96)], mid=mid)
        s = Shm(s0.b)
        s.put(96, mx)
        s.put(128, 1)
        self.case('S5-shm-attempted-below', 'nBackfillAttempted 1 < nBackfill %d' % mx, self.wfiles(shm=s.b),
                  [('SHM_BACKFILL_INVALID', 'shm', 128)], mid=mid)

        s = Shm(s0.b)
        s.put(100 + 4 * 2, mx + 7)
        self.case('S6-shm-readmark-past-mx', 'aReadMark[2] = mxFrame + 7', self.wfiles(shm=s.b),
                  [('SHM_READMARK_INVALID', 'shm', 108)], mid=mid)
        s = Shm(s0.b)
        for i in range(1, 5):
            s.put(100 + 4 * i, MASK)
        self.case('S6-shm-readmark-unused', 'aReadMark[1..4] = READMARK_NOT_USED (legitimate)',
                  self.wfiles(shm=s.b), forbid=['SHM_READMARK_INVALID'], mid=mid)
        s = Shm(s0.b)
        s.put(100, 5)
        self.case('S7-shm-readmark0', 'aReadMark[0] = 5', self.wfiles(shm=s.b),
                  [('SHM_READMARK_INVALID', 'shm', 100)], mid=mid)

        s = Shm(s0.b)
        struct.pack_into('<H', s.b, 14, 4096)
        struct.pack_into('<H', s.b, 48 + 14, 4096)
        s.seal_both()
        self.case('S8-shm-page-size', 'szPage 4096 for a 1024-byte-page WAL', self.wfiles(shm=s.b),
                  [('SHM_STALE', 'shm', None)], mid=mid)
        s = Shm(s0.b)
        s.b[32] ^= 0x11
        s.b[48 + 32] ^= 0x11
        s.seal_both()
        self.case('S8-shm-salts', 'aSalt differs from the WAL header salts', self.wfiles(shm=s.b),
                  [('SHM_STALE', 'shm', None)], mid=mid)

        s = Shm(s0.b)
        s.b[13] ^= 1
        s.b[48 + 13] ^= 1
        s.seal_both()
        self.case('S9-shm-bigend-flag', 'bigEndCksum flag contradicts the WAL magic', self.wfiles(shm=s.b),
                  [('SHM_STALE', 'shm', None)], mid=mid)

        self.case('S10-shm-odd-size', '-shm of 32768 + 100 bytes', self.wfiles(shm=bytes(s0.b) + b'\xAB' * 100),
                  mid=mid)
        self.case('S10-shm-1000-bytes', '-shm of 1000 bytes: header, a piece of the page array',
                  self.wfiles(shm=s0.b[:1000]), [('SHM_INDEX_MISMATCH', 'shm', 1000)], mid=mid)
        s = Shm(s0.b)
        for i in range(136, 32768, 4):            # page array and hash slots: garbage
            struct.pack_into('<I', s.b, i, (i * 2654435761) & MASK)
        self.case('S10-shm-garbage-index', 'hash blocks filled with garbage page numbers and slots',
                  self.wfiles(shm=s.b), [('SHM_INDEX_MISMATCH', 'shm', None)], mid=mid)
        self.case('S10-shm-huge', '-shm of 8 MiB (hash blocks far beyond mxFrame, zeros)',
                  self.wfiles(shm=bytes(s0.b) + bytes(8 << 20)), mid=mid)

        s = Shm(s0.b)
        for base in (0, 48):                       # byte-swap every native field of both copies
            for off in (0, 4, 8, 16, 20, 24, 28, 40, 44):
                v = struct.unpack_from('<I', s.b, base + off)[0]
                struct.pack_into('>I', s.b, base + off, v)
            v = struct.unpack_from('<H', s.b, base + 14)[0]
            struct.pack_into('>H', s.b, base + 14, v)
        for off in range(96, 136, 4):
            if off in range(120, 128):
                continue
            v = struct.unpack_from('<I', s.b, off)[0]
            struct.pack_into('>I', s.b, off, v)
        self.case('S11-shm-foreign-endian', '-shm byte-swapped as a big-endian host writes it',
                  self.wfiles(shm=s.b), [('SHM_FOREIGN_ENDIAN', 'shm', 0)], mid=mid)

        self.case('S12-shm-without-wal', '-shm present, no -wal', self.wfiles(wal=False),
                  [('SHM_WITHOUT_WAL', 'shm', None)], mid=mid)
        self.case('S12-wal-without-shm', '-wal present, no -shm', self.wfiles(shm=False), mid=mid)
        self.case('S12-shm-path-given', '-shm named as PATH, no -wal', self.wfiles(wal=False),
                  path='db-shm', mid=mid)

    # -------------------------------------------------------- database
    def db_cases(self):
        bd = os.path.join(self.base, 'd')
        d0 = Db(rd(os.path.join(bd, 'db')))
        lay, rows = layout(os.path.join(bd, 'db'))
        npg = d0.npages()
        mid = npg // 2
        t_int = lay[('t', 'internal')]
        t_leaf = lay[('t', 'leaf')]
        ovf = lay[('t', 'overflow')]
        root_t = t_int[0]
        assert len(ovf) >= 4 and be32(d0.b, 32) and be32(d0.b, 36) >= 30, (ovf, be32(d0.b, 36))

        def dcase(name, what, db, expect=(), **kw):
            kw.setdefault('mid', mid)
            return self.case(name, what, {'db': bytes(db)}, expect, **kw)

        def mod(fn):
            d = Db(d0.b)
            fn(d)
            return d.b

        ws = self.w
        dcase('D1-db-empty', '0-byte database, no WAL', b'', [('DB_EMPTY', 'db', None)], mid=2)
        self.case('D1-db-empty-with-wal', '0-byte database; the WAL holds page 1 and the content',
                  self.wfiles(db=b''), [('DB_EMPTY', 'db', None)], mid=3)

        dcase('D2-db-50-bytes', 'database of 50 bytes', d0.b[:50], [('DB_NOT_SQLITE', 'db', 50)], mid=2)
        dcase('D2-db-bad-magic', 'header magic destroyed', mod(lambda d: d.b.__setitem__(0, 0x73)),
              [('DB_NOT_SQLITE', 'db', 0)])
        self.case('D2-db-bad-magic-wal-page1', 'header magic destroyed; the WAL holds page 1',
                  self.wfiles(db=bytes([0x73]) + ws['db'][1:]), [('DB_NOT_SQLITE', 'db', 0)], mid=3)

        for v in (0, 3, 256, 65535):
            dcase('D3-db-page-size-%d' % v, 'database page size field %d' % v,
                  mod(lambda d: put16(d.b, 16, v)), [('DB_PAGE_SIZE_INVALID', 'db', 16)])
        dcase('D3-db-page-size-1', 'page size field 1 (= 65536) on a 1024-byte-page file',
              mod(lambda d: put16(d.b, 16, 1)))

        b64 = os.path.join(self.base, 'w64k')
        self.case('D4-db-page-size-65536', '65536-byte pages (field 1), an empty table whose cell content '
                  'start is 0 (= 65536)', {'db': rd(os.path.join(b64, 'db')), 'db-wal': rd(os.path.join(b64, 'db-wal')),
                                           'db-shm': rd(os.path.join(b64, 'db-shm'))},
                  forbid=['BTREE_PAGE_INVALID', 'DB_PAGE_SIZE_INVALID', 'DB_HEADER_INVALID',
                          'SQLITE_INTEGRITY_FAILED'], mid=2)

        bav = os.path.join(self.base, 'av')
        av = Db(rd(os.path.join(bav, 'db')))
        d = Db(av.b)
        d.b[20] = 255
        self.case('D5-db-reserved-255-at-512', '512-byte pages, 255 reserved bytes: usable 257 < 480',
                  {'db': d.b}, [('DB_HEADER_INVALID', 'db', 20)], mid=3)
        self.case('D5-db-reserved-8-at-4096', '4096-byte pages with 8 reserved bytes (valid: cksumvfs)',
                  {'db': rd(os.path.join(self.base, 'r', 'db'))}, [('DB_RESERVED_BYTES', 'db', 20)],
                  forbid=['DB_HEADER_INVALID', 'SQLITE_INTEGRITY_FAILED'], mid=2)

        dcase('D6-db-payload-fraction', 'max payload fraction 65 (must be 64)',
              mod(lambda d: d.b.__setitem__(21, 65)), [('DB_HEADER_INVALID', 'db', 21)])
        dcase('D6-db-write-version-3', 'file format write version 3 (read-only to SQLite)',
              mod(lambda d: d.b.__setitem__(18, 3)), [('DB_HEADER_INVALID', 'db', 18)])
        dcase('D6-db-read-version-3', 'file format read version 3 (unreadable to SQLite)',
              mod(lambda d: d.b.__setitem__(19, 3)), [('DB_HEADER_INVALID', 'db', 19)])

        dcase('D7-db-size-larger', 'in-header size %d, the file has %d pages' % (npg + 40, npg),
              mod(lambda d: put32(d.b, 28, npg + 40)), [('DB_SIZE_FIELD_STALE', 'db', 28)],
              forbid=['DB_FILE_TRUNCATED'])        # the b-trees need only the file's pages
        wdb = Db(ws['db'])
        b = bytearray(ws['db'])
        put32(b, 28, wdb.npages() + 3)
        self.case('D7-db-size-larger-wal-supplies', 'in-header size 3 pages past the file; the WAL\'s last '
                  'commit gives the size', self.wfiles(db=b), forbid=['DB_FILE_TRUNCATED'], mid=3)
        dcase('D8-db-size-smaller', 'in-header size %d, the file and b-trees have %d pages' % (npg - 5, npg),
              mod(lambda d: put32(d.b, 28, npg - 5)), [('DB_SIZE_FIELD_STALE', 'db', 28)])
        dcase('D9-db-partial-page', '100 bytes past the last whole page', bytes(d0.b) + b'\x5a' * 100,
              [('DB_TRAILING_BYTES', 'db', npg * d0.ps)])

        trunk = be32(d0.b, 32)
        tro = d0.off(trunk)
        nleaf = be32(d0.b, tro + 4)
        dcase('D10-freelist-leaf-count', 'freelist trunk %d claims 1000 leaves (max %d)' % (trunk, d0.usable // 4 - 2),
              mod(lambda d: put32(d.b, tro + 4, 1000)), [('FREELIST_INVALID', 'db', None)])
        dcase('D10-freelist-trunk-self', 'freelist trunk %d points to itself' % trunk,
              mod(lambda d: put32(d.b, tro, trunk)), [('FREELIST_INVALID', 'db', None)])
        leaf0 = be32(d0.b, tro + 8)

        def loop2(d):
            put32(d.b, tro, leaf0)                  # trunk -> its own first leaf, made a trunk -> trunk
            lo = d.off(leaf0)
            put32(d.b, lo, trunk)
            put32(d.b, lo + 4, 0)
        dcase('D10-freelist-trunk-loop', 'freelist trunks %d -> %d -> %d' % (trunk, leaf0, trunk), mod(loop2),
              [('FREELIST_INVALID', 'db', None)])
        dcase('D10-freelist-trunk-beyond', 'first freelist trunk 99999, past the database',
              mod(lambda d: put32(d.b, 32, 99999)), [('FREELIST_INVALID', 'db', None)])
        dcase('D10-freelist-leaf-beyond', 'a freelist leaf entry 0xfffffff0',
              mod(lambda d: put32(d.b, tro + 8 + 4 * (nleaf - 1), 0xFFFFFFF0)), [('FREELIST_INVALID', 'db', None)])
        dcase('D11-freelist-count', 'header freelist count 3 more than the freelist holds',
              mod(lambda d: put32(d.b, 36, be32(d.b, 36) + 3)), [('FREELIST_COUNT_MISMATCH', 'db', 36)])

        # overflow chains: the big row's chain, in dbstat order
        chain = [pg for name, pg, kind, path in rows if name == 't' and kind == 'overflow']
        p1, plast = chain[0], chain[-1]
        dcase('D12-overflow-cycle', 'overflow page %d points to itself' % p1,
              mod(lambda d: put32(d.b, d.off(p1), p1)), [('OVERFLOW_CHAIN_INVALID', 'db', None)])
        dcase('D12-overflow-zero-mid', 'overflow page %d ends the chain early (next = 0)' % p1,
              mod(lambda d: put32(d.b, d.off(p1), 0)), [('OVERFLOW_CHAIN_INVALID', 'db', None)])
        dcase('D12-overflow-beyond', 'overflow page %d points to page 999999' % p1,
              mod(lambda d: put32(d.b, d.off(p1), 999999)), [('OVERFLOW_CHAIN_INVALID', 'db', None)])
        dcase('D12-overflow-too-long', 'the last overflow page %d points on to page %d' % (plast, t_leaf[0]),
              mod(lambda d: put32(d.b, d.off(plast), t_leaf[0])), [('OVERFLOW_CHAIN_INVALID', 'db', None)])

        lf = t_leaf[len(t_leaf) // 3]
        dcase('D13-btree-type-7', 'page %d type byte 7' % lf, mod(lambda d: d.b.__setitem__(d.off(lf), 7)),
              [('BTREE_PAGE_INVALID', 'db', d0.off(lf))])
        dcase('D13-page1-type', 'page 1 b-tree type byte (offset 100) 0x99', mod(lambda d: d.b.__setitem__(100, 0x99)),
              [('BTREE_PAGE_INVALID', 'db', 100)])

        ptrs, hsz = d0.cells(lf)
        h = d0.hdr(lf)
        dcase('D14-cell-count-huge', 'page %d cell count 65535' % lf, mod(lambda d: put16(d.b, h + 3, 0xFFFF)),
              [('BTREE_PAGE_INVALID', 'db', None)])
        dcase('D14-cell-ptr-in-header', 'page %d first cell pointer 2 (inside the header)' % lf,
              mod(lambda d: put16(d.b, ptrs[0], 2)), [('BTREE_PAGE_INVALID', 'db', None)])
        dcase('D14-cell-ptr-past-usable', 'page %d first cell pointer 0xfff0' % lf,
              mod(lambda d: put16(d.b, ptrs[0], 0xFFF0)), [('BTREE_PAGE_INVALID', 'db', None)])
        dcase('D14-cell-past-end', 'page %d last cell pointer 1020: the cell runs off the page' % lf,
              mod(lambda d: put16(d.b, ptrs[-1], d.ps - 4)), [('BTREE_PAGE_INVALID', 'db', None)])
        dcase('D14-cells-overlap', 'page %d cells 1 and 2 at the same offset' % lf,
              mod(lambda d: put16(d.b, ptrs[1], be16(d.b, ptrs[0]))), [('BTREE_PAGE_INVALID', 'db', None)])
        fb_pages = [p for p in t_leaf if be16(d0.b, d0.hdr(p) + 1)]
        assert fb_pages, 'no leaf with a freeblock'
        fp = fb_pages[0]

        def fb_loop(d):
            first = be16(d.b, d.hdr(fp) + 1)
            put16(d.b, d.off(fp) + first, first)
        dcase('D14-freeblock-loop', 'page %d first freeblock points to itself' % fp, mod(fb_loop),
              [('BTREE_PAGE_INVALID', 'db', None)])
        dcase('D14-freeblock-past-page', 'page %d first freeblock pointer 25296, past the 1024-byte page (fuzz '
              'regression: the finding must point at the pointer, inside the file)' % lf,
              mod(lambda d: put16(d.b, h + 1, 25296)), [('BTREE_PAGE_INVALID', 'db', h + 1)])
        dcase('D14-fragmented-200', 'page %d fragmented bytes 200 (> 60)' % lf,
              mod(lambda d: d.b.__setitem__(h + 7, 200)), [('BTREE_PAGE_INVALID', 'db', None)])

        c0 = d0.cell(lf, 0)
        dcase('D15-varint-payload-huge', 'page %d cell 0 payload size a 9-byte varint of 0xff' % lf,
              mod(lambda d: d.b.__setitem__(slice(c0, c0 + 9), b'\xff' * 9)), [('BTREE_PAGE_INVALID', 'db', None)])
        _, n1 = varint(d0.b, c0)

        def rowid_huge(d):
            d.b[c0 + n1:c0 + n1 + 9] = b'\xff' * 9
        dcase('D15-varint-rowid-huge', 'page %d cell 0 rowid a 9-byte varint (-1)' % lf, mod(rowid_huge),
              [('SQLITE_INTEGRITY_FAILED', None, None)])

        rh = d0.hdr(root_t)
        rptrs, _ = d0.cells(root_t)
        dcase('D16-child-page1', 'root %d of t: first child pointer 1' % root_t,
              mod(lambda d: put32(d.b, d.off(root_t) + be16(d.b, rptrs[0]), 1)), [('BTREE_PAGE_INVALID', 'db', None)])
        dcase('D16-child-self', 'root %d of t: right child points to the root itself' % root_t,
              mod(lambda d: put32(d.b, rh + 8, root_t)), [('BTREE_PAGE_INVALID', 'db', None)])

        def twice(d):
            a = d.off(root_t) + be16(d.b, rptrs[0])
            b_ = d.off(root_t) + be16(d.b, rptrs[1])
            put32(d.b, b_, be32(d.b, a))
        dcase('D16-child-twice', 'root %d of t: two cells point to the same child' % root_t, mod(twice),
              [('BTREE_PAGE_INVALID', 'db', None)])
        dcase('D16-child-freelist', 'root %d of t: right child is freelist trunk %d' % (root_t, trunk),
              mod(lambda d: put32(d.b, rh + 8, trunk)), [('BTREE_PAGE_INVALID', 'db', None)])

        # a chain of 24 interior pages, each with no cells and a right child: deeper than 20
        free = []
        t = trunk
        while t and len(free) < 30:
            o = d0.off(t)
            free += [be32(d0.b, o + 8 + 4 * i) for i in range(be32(d0.b, o + 4))]
            t = be32(d0.b, o)

        def deep(d):
            chain_ = free[:24]
            put32(d.b, rh + 8, chain_[0])
            for a, b_ in zip(chain_, chain_[1:] + [t_leaf[0]]):
                o = d.off(a)
                d.b[o:o + d.ps] = bytes(d.ps)
                d.b[o] = 5
                put16(d.b, o + 5, d.usable)
                put32(d.b, o + 8, b_)
        dcase('D16-depth-24', 'root %d of t: right child starts a chain of 24 interior pages' % root_t, mod(deep),
              [('BTREE_PAGE_INVALID', 'db', None)])

        # sqlite_schema on the small database
        bs = os.path.join(self.base, 's')
        s0 = Db(rd(os.path.join(bs, 'db')))
        sptr, _ = s0.cells(1)

        def schema_field(d, i, col):
            """Offset of column col (0-based) of schema cell i, and its serial type."""
            c = d.cell(1, i)
            _, a = varint(d.b, c)
            _, r = varint(d.b, c + a)
            p = c + a + r
            hl, k = varint(d.b, p)
            types, q = [], p + k
            while q < p + hl:
                t_, k = varint(d.b, q)
                types.append(t_)
                q += k
            body = p + hl
            for t_ in types[:col]:
                body += (t_ - 12) // 2 if t_ >= 12 else [0, 1, 2, 3, 4, 6, 8, 8, 0, 0][t_]
            return body, types[col]

        def root_set(v, i=0):
            def f(d):
                off, st = schema_field(d, i, 3)
                assert st == 1, st
                d.b[off] = v
            return f

        def mods(fn):
            d = Db(s0.b)
            fn(d)
            return d.b
        sm = max(2, s0.npages() // 2)
        self.case('D17-schema-root-0', 'sqlite_schema row 1 rootpage 0', {'db': mods(root_set(0))},
                  [('BTREE_PAGE_INVALID', None, None)], mid=sm)
        self.case('D17-schema-root-beyond', 'sqlite_schema row 1 rootpage 100 (file has %d pages)' % s0.npages(),
                  {'db': mods(root_set(100))}, [('SQLITE_INTEGRITY_FAILED', None, None)], mid=sm)
        self.case('D7-db-cut-before-roots', 'the small database cut to its first page, the size field '
                  'still trusted: every root page lies past the end (fuzz regression: no finding offset '
                  'past the end of the file)', {'db': bytes(s0.b[:s0.ps])},
                  [('BTREE_PAGE_INVALID', None, None), ('DB_FILE_TRUNCATED', 'db', s0.ps)], mid=2)
        # a root page that the walk has marked before reaching it (the lock-byte page), past the end of
        # the file: a fuzz regression (the finding must not point past the file)
        ps = 512
        lock = (1 << 30) // ps + 1
        b = bytearray(s0.b[:100]) + bytes(ps - 100)
        put16(b, 16, ps)
        b[20] = 0
        put32(b, 28, lock + 5)
        put32(b, 32, 0)
        put32(b, 36, 0)
        b[:ps] = schema_page(bytes(b[:100]), ps, [('table', 't', 't', 2, 'CREATE TABLE t(a)'),
                                                 ('table', 'u', 'u', lock, 'CREATE TABLE u(b)')])
        leaf = bytearray(ps)
        leaf[0] = 13
        put16(leaf, 5, ps)
        self.case('D16-root-lock-byte-page', 'sqlite_schema roots table u at the lock-byte page %d, far past the '
                  'end of a 2-page file whose trusted size field says %d pages' % (lock, lock + 5),
                  {'db': bytes(b + leaf)}, [('BTREE_PAGE_INVALID', None, None)], mid=2)
        r2, _ = schema_field(s0, 1, 3)
        self.case('D17-schema-root-shared', 'sqlite_schema rows 1 and 2 share rootpage %d' % s0.b[r2],
                  {'db': mods(root_set(s0.b[r2], 0))}, [('SQLITE_INTEGRITY_FAILED', None, None)], mid=sm)

        def sql_garbage(d):
            off, st = schema_field(d, 0, 4)
            ln = (st - 13) // 2
            d.b[off:off + ln] = (b"'); DROP TABLE t; --" * 40)[:ln]
        self.case('D17-schema-sql-garbage', 'sqlite_schema row 1 sql is not SQL (an injection attempt)',
                  {'db': mods(sql_garbage)}, [('SQLITE_INTEGRITY_FAILED', None, None)], mid=sm)

        # valid objects without a b-tree: views, triggers, virtual tables; and automatic indexes
        dd = os.path.join(self.base, 'views')
        os.makedirs(dd, exist_ok=True)
        vp = os.path.join(dd, 'db')
        if os.path.exists(vp):
            os.unlink(vp)
        c = sqlite3.connect(vp, isolation_level=None)
        sql_all(c, ['PRAGMA page_size=1024', 'CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT UNIQUE)',
                    'CREATE VIEW v AS SELECT b FROM t', 'CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END',
                    'CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)', "CREATE VIRTUAL TABLE f USING fts5(body)",
                    "INSERT INTO t(b) VALUES('x'), ('y')", "INSERT INTO f VALUES('hello world')",
                    'INSERT INTO r VALUES(1, 0, 1)'])
        c.close()
        self.case('D17-schema-no-root-objects', 'a view, a trigger, rtree and fts5 virtual tables and an automatic '
                  'index: rootpage 0 where SQLite writes 0', {'db': rd(vp)}, mid=3,
                  forbid=['BTREE_PAGE_INVALID', 'PAGE_UNUSED', 'SQLITE_INTEGRITY_FAILED'])

        # D18: a database past 1 GiB: 65536-byte pages, a freelist over the hole, the lock-byte page garbage
        self.d18()

        # D19: pointer map of the auto-vacuum database
        avlay, avrows = layout(os.path.join(bav, 'db'))
        pm = 2
        ovf_av = [pg for name, pg, kind, _ in avrows if kind == 'overflow']

        def ptr_type(d):
            o = d.off(pm) + 5 * (3 - 3)                 # entry of page 3
            d.b[o] = 9
        self.case('D19-ptrmap-type', 'pointer-map entry of page 3 has type 9', {'db': mods_av(av, ptr_type)},
                  [('PTRMAP_INVALID', 'db', None)], mid=3)

        def ptr_parent(d):
            pg = ovf_av[-1]
            o = d.off(pm) + 5 * (pg - 3)
            put32(d.b, o + 1, 1)
        self.case('D19-ptrmap-parent', 'pointer-map entry of overflow page %d names parent 1' % ovf_av[-1],
                  {'db': mods_av(av, ptr_parent)}, [('PTRMAP_INVALID', 'db', None)], mid=3)

        # D20: WAL page 1 disagrees with the database's page 1
        w = Wal(ws['db-wal'])
        f1 = w.frames_of(1)
        assert f1
        o = w.frame_off(f1[-1]) + FRAME_HDR
        w.put(o + 56, 2)                                 # text encoding utf-16le
        w.rechain()
        self.case('D20-wal-page1-encoding', 'WAL frame %d (page 1) says UTF-16le, the database UTF-8' % f1[-1],
                  self.wfiles(wal=w.b), [('WAL_FOREIGN', 'wal', None)], mid=3)
        w = Wal(ws['db-wal'])
        struct.pack_into('>H', w.b, o + 16, 2048)
        w.rechain()
        self.case('D20-wal-page1-page-size', 'WAL frame %d (page 1) says 2048-byte pages' % f1[-1],
                  self.wfiles(wal=w.b), [('WAL_FOREIGN', 'wal', None)], mid=3)

    def d18(self):
        """A database past 1 GiB, sparse: 65536-byte pages; page 1 the schema,
        page 2 table t (empty), page 3 a freelist trunk listing every other
        page but the lock-byte page, which holds garbage."""
        ps = 65536
        lockpg = (1 << 30) // ps + 1                     # 16385: holds byte 2^30
        npg = lockpg + 1
        tmp = os.path.join(self.base, 'd18.db')
        if os.path.exists(tmp):
            os.unlink(tmp)
        c = sqlite3.connect(tmp, isolation_level=None)
        c.execute('PRAGMA page_size=%d' % ps)
        c.execute('CREATE TABLE t(a)')
        c.close()
        img = rd(tmp)
        assert len(img) == 2 * ps
        b = bytearray(img)
        leaves = [p for p in range(4, npg + 1) if p != lockpg]
        assert len(leaves) <= ps // 4 - 2
        put32(b, 28, npg)
        put32(b, 32, 3)
        put32(b, 36, 1 + len(leaves))
        trunk = bytearray(ps)
        put32(trunk, 4, len(leaves))
        for i, p in enumerate(leaves):
            put32(trunk, 8 + 4 * i, p)
        b += trunk
        self.case('D18-lock-byte-page', 'a %d-page database (65536-byte pages, sparse, 1 GiB + 2 pages): '
                  'the lock-byte page %d holds garbage, every other page is in use' % (npg, lockpg),
                  {'db': b}, forbid=['PAGE_UNUSED', 'SQLITE_INTEGRITY_FAILED', 'FREELIST_INVALID',
                                     'FREELIST_COUNT_MISMATCH', 'DB_FILE_TRUNCATED'], mid=lockpg,
                  special={'extend': {'db': [npg * ps, (lockpg - 1) * ps, '\xa5' * 16]}}, long_=True)

    # ------------------------------------------------------- archives
    def archive_cases(self):
        ws = self.w

        def tarball(members, fmt=tarfile.GNU_FORMAT):
            bio = io.BytesIO()
            with tarfile.open(fileobj=bio, mode='w', format=fmt) as t:
                for name, data, kind in members:
                    ti = tarfile.TarInfo(name)
                    if kind == 'file':
                        ti.size = len(data)
                        t.addfile(ti, io.BytesIO(data))
                    else:
                        ti.type = kind
                        ti.linkname = data if isinstance(data, str) else ''
                        t.addfile(ti)
            return bytearray(bio.getvalue())

        good = [('app/db', ws['db'], 'file'), ('app/db-wal', ws['db-wal'], 'file'),
                ('app/db-shm', ws['db-shm'], 'file')]
        tgood = tarball(good)
        gz = bytearray(gzip.compress(bytes(tgood), mtime=0))

        def acase(name, what, fname, data, expect=(), **kw):
            kw.setdefault('mid', 3)
            kw.setdefault('path', fname)
            return self.case(name, what, {fname: bytes(data)}, expect, **kw)

        acase('A1-gzip-truncated', 'tar.gz cut before its 8-byte trailer', 'a.tar.gz', gz[:-8],
              [('ARCHIVE_CORRUPT', None, None)])
        g = bytearray(gz)
        g[-8] ^= 0xFF
        acase('A2-gzip-crc', 'tar.gz with a wrong CRC32', 'a.tar.gz', g, [('ARCHIVE_CORRUPT', None, None)])
        g = bytearray(gz)
        g[-1] ^= 0x40
        acase('A2-gzip-isize', 'tar.gz with a wrong ISIZE', 'a.tar.gz', g, [('ARCHIVE_CORRUPT', None, None)])

        co = zlib.compressobj(9, zlib.DEFLATED, 31)
        zero = bytes(1 << 20)
        bomb = bytearray()
        for _ in range(300):
            bomb += co.compress(zero)
        bomb += co.flush()
        acase('A3-gzip-bomb', '300 MiB of zeros in %d KiB of gzip' % (len(bomb) >> 10), 'bomb.gz', bomb)
        co = zlib.compressobj(9, zlib.DEFLATED, 31)
        member = 300 << 20
        ti = tarfile.TarInfo('big/app.db')
        ti.size = member
        tb = bytearray(co.compress(ti.tobuf(tarfile.GNU_FORMAT)))
        tb += co.compress(ws['db'])
        for _ in range((member - len(ws['db'])) >> 20):
            tb += co.compress(zero)
        tb += co.compress(bytes((member - len(ws['db'])) & ((1 << 20) - 1)))
        tb += co.compress(bytes(1024))
        tb += co.flush()
        acase('A3-tar-gz-bomb', 'a tar.gz member of 300 MiB (a database header, then zeros) in %d KiB'
              % (len(tb) >> 10), 'bomb.tar.gz', tb, [('ARCHIVE_LIMIT', None, None)])
        inner = gzip.compress(bytes(bomb), mtime=0)
        nested = gzip.compress(bytes(tarball([('in/bomb.gz', inner, 'file')])), mtime=0)
        acase('A3-nested-gzip', 'a .tar.gz holding a gzipped gzip bomb', 'nested.tar.gz', nested)

        acase('A4-gzip-multi-member', 'two gzip members concatenated (valid)', 'm.tar.gz',
              gzip.compress(bytes(tgood[:len(tgood) // 2]), mtime=0) + gzip.compress(bytes(tgood[len(tgood) // 2:]), mtime=0))
        acase('A4-gzip-trailing-garbage', 'gzip followed by garbage', 'g.tar.gz', gz + b'GARBAGE!',
              [('ARCHIVE_TRAILING_GARBAGE', None, None)])
        acase('A4-gzip-trailing-zeros', 'gzip followed by 4096 zero bytes', 'z.tar.gz', gz + bytes(4096))

        hdr = bytearray(gz[:10])
        body = gz[10:]
        h = bytearray(hdr)
        h[3] |= 0xE0
        acase('A5-gzip-reserved-flags', 'gzip FLG reserved bits set', 'r.tar.gz', h + body,
              [('ARCHIVE_CORRUPT', None, None)])
        h = bytearray(hdr)
        h[3] |= 0x08
        acase('A5-gzip-fname-unterminated', 'gzip FNAME without its NUL, to the end of the file', 'n.gz',
              h + b'A' * 5000)
        h = bytearray(hdr)
        h[3] |= 0x04
        acase('A5-gzip-fextra-past-eof', 'gzip FEXTRA length 65535, file ends first', 'x.gz', h + b'\xff\xff' + b'Q' * 40,
              [('ARCHIVE_CORRUPT', None, None)])
        h = bytearray(hdr)
        h[3] |= 0x02
        acase('A5-gzip-bad-fhcrc', 'gzip FHCRC that does not match', 'c.tar.gz', h + b'\x00\x00' + body,
              [('ARCHIVE_CORRUPT', None, None)])

        t = tarball([('../../escape/db', ws['db'], 'file'), ('/abs/db', ws['db'], 'file'),
                     ('a/../../b/db', ws['db'], 'file'), ('ctl\x1b[31m\x07\n.db', ws['db'], 'file')])
        acase('A6-tar-unsafe-names', '../, absolute, a/../../b and control-character member names', 'n.tar', t,
              [('ARCHIVE_UNSAFE_NAME', None, None)])
        t = tarball([('link', '/etc', tarfile.SYMTYPE), ('link/evil.db', ws['db'], 'file'),
                     ('hard.db', '/etc/passwd', tarfile.LNKTYPE)])
        acase('A7-tar-through-symlink', 'a symlink member to /etc, a member written through it, a hard link '
              'outside', 'l.tar', t, [('ARCHIVE_UNSAFE_NAME', None, None)])
        t = tarball(good + [('app/db', ws['db'][:len(ws['db']) // 2] + bytes(len(ws['db']) // 2), 'file')])
        acase('A8-tar-duplicate-names', 'two members named app/db', 'dup.tar', t)

        t = tarball(good)
        put_size = bytearray(t)
        put_size[124:136] = b'77777777777\x00'
        self.fix_tar_cksum(put_size, 0)
        acase('A9-tar-size-past-end', 'first member size 8 GiB, archive far shorter', 's.tar', put_size,
              [('ARCHIVE_CORRUPT', None, 0)])
        acase('A9-tar-gz-size-past-end', 'the same tar gzipped (the reader cannot know what remains)',
              's.tar.gz', gzip.compress(bytes(put_size), mtime=0), [('ARCHIVE_CORRUPT', None, 0)])
        mid = bytearray(t)
        second = 512 + (len(ws['db']) + 511) // 512 * 512     # the second member's header
        mid[second + 124:second + 136] = b'77777777777\x00'
        self.fix_tar_cksum(mid, second)
        acase('A9-tar-size-past-end-resync', 'second member size 8 GiB: the members after it are still found',
              'm.tar', mid, [('ARCHIVE_CORRUPT', None, second)])
        small = bytearray(t)
        small[124:136] = b'%011o\x00' % (1 << 20)
        self.fix_tar_cksum(small, 0)
        acase('A9-tar-size-past-end-1mib', 'first member size 1 MiB, archive far shorter', 's1.tar', small,
              [('ARCHIVE_CORRUPT', None, None)])
        b256 = bytearray(t)
        b256[124:136] = b'\xff' * 12                      # base-256, negative
        self.fix_tar_cksum(b256, 0)
        acase('A9-tar-base256-negative', 'first member size a negative base-256 number', 'b.tar', b256,
              [('ARCHIVE_CORRUPT', None, 0)])
        bad = bytearray(t)
        bad[148:156] = b'0000000\x00'
        acase('A9-tar-header-cksum', 'first header checksum wrong', 'k.tar', bad, [('ARCHIVE_CORRUPT', None, 0)])
        ln = bytearray(512)
        ln[:13] = b'././@LongLink'
        ln[100:108] = b'0000644\x00'
        ln[124:136] = b'07777777777\x00'                   # a 1 GiB long name
        ln[156] = ord('L')
        ln[257:263] = b'ustar '
        ln[263:265] = b' \x00'
        self.fix_tar_cksum(ln, 0)
        acase('A9-tar-gnu-longname-1gib', 'GNU long-name record of 1 GiB, then the end of the file', 'L.tar',
              ln + b'n' * 4096, [('ARCHIVE_CORRUPT', None, 0)])
        acase('A9-tar-gz-gnu-longname-1gib', 'the same gzipped', 'L.tar.gz', gzip.compress(bytes(ln) + b'n' * 4096, mtime=0),
              [('ARCHIVE_CORRUPT', None, 0)])
        t = tarball([('dev/zero', '', tarfile.CHRTYPE), ('fifo', '', tarfile.FIFOTYPE)] + good)
        acase('A10-tar-devices', 'character device and FIFO members before a database', 'dev.tar', t)

    @staticmethod
    def fix_tar_cksum(b, off):
        h = b[off:off + 512]
        h[148:156] = b' ' * 8
        s = sum(h)
        b[off + 148:off + 156] = ('%06o\x00 ' % s).encode()

    # --------------------------------------------------- environment
    def env_cases(self):
        ws = self.w
        self.case('A11-path-fifo', 'PATH is a FIFO (a writer never comes)', {}, path='db', mid=3,
                  special={'mkfifo': 'db'}, status={'*': [66], 'scan': [0, 1, 2, 66]})
        self.case('A11-path-dev-zero', 'PATH is a symlink to /dev/zero', {}, symlinks={'db': '/dev/zero'}, mid=3,
                  status={'*': [66], 'scan': [0, 1, 2, 66]})
        self.case('A11-path-directory', 'PATH is a directory', {}, dirs=['db'], mid=3,
                  status={'*': [66], 'scan': [0, 1, 2, 66]})
        self.case('A11-path-socket', 'PATH is a Unix socket', {}, mid=3, special={'socket': 'db'},
                  status={'*': [66], 'scan': [0, 1, 2, 66]})
        self.case('A11-wal-is-fifo', 'the -wal sibling is a FIFO', {'db': ws['db']}, mid=3,
                  special={'mkfifo': 'db-wal'}, status={'*': [0, 1, 2, 66]})
        self.case('A12-path-symlink', 'PATH is a symbolic link to the database (siblings by the real name)',
                  self.wfiles(), symlinks={'link.db': 'db'}, path='link.db', mid=3)
        self.case('A12-path-hardlink', 'the database has a second hard link', self.wfiles(), mid=3,
                  special={'hardlink': ['db', 'db.other-name']})
        self.case('E1-unreadable', 'the database is mode 000, read as an unprivileged user', self.wfiles(),
                  mid=3, special={'eacces': 'db'}, status={'*': [66], 'scan': [2, 66]})
        self.case('E1-unreadable-wal', 'the -wal is mode 000, read as an unprivileged user', self.wfiles(),
                  mid=3, special={'eacces': 'db-wal'}, status={'*': [66], 'scan': [1, 2, 66]})
        # every mapping, scan's included, is guarded (inspect/files.c): a cut-short file reads as zeros
        # and is reported (INPUT_CHANGED, SCAN_INPUT_CHANGED for scan), never a crash or a leak
        self.case('E3-changing-wal', 'the WAL grows, shrinks and is rewritten while the commands read it',
                  self.wfiles(), mid=3, special={'changing': 'db-wal', 'repeat': 25},
                  status={'*': [0, 1, 2, 66], 'extract': [0, 1, 2, 66, 73], 'bisect': [0, 2, 66, 73]})
        self.case('E4-replaced-wal', 'another file is renamed over the -wal again and again while the commands '
                  'run (the name points to a new inode each time)', self.wfiles(), mid=3,
                  special={'changing': 'db-wal', 'mode': 'replace', 'repeat': 3},
                  status={'*': [0, 1, 2, 66], 'extract': [0, 1, 2, 66, 73], 'bisect': [0, 2, 66, 73]})
        self.case('E5-wal-reset-salts', 'the WAL header\'s salts are rewritten in place again and again (a WAL '
                  'reset by a checkpoint) while the commands run', self.wfiles(), mid=3,
                  special={'changing': 'db-wal', 'mode': 'salts', 'repeat': 3},
                  status={'*': [0, 1, 2, 66], 'extract': [0, 1, 2, 66, 73], 'bisect': [0, 2, 66, 73]})
        # the read-only half of the live-database rule: with a real SQLite process holding the
        # database, every read-only command works and inspect reports DB_IN_USE
        for state, what in (('idle', 'an idle connection (the -shm open, no transaction)'),
                            ('reader', 'a connection inside a read transaction'),
                            ('writer', 'a connection holding the write lock, transaction open'),
                            ('exclusive', 'a connection in locking_mode=EXCLUSIVE after a write')):
            self.case('LIVE-%s' % state, 'a live SQLite process: %s' % what, self.wfiles(), mid=3,
                      special={'live': state}, expect=[('DB_IN_USE', None, None)],
                      status={'readers': [1]})
        files = {'tree/' + '/'.join('d%d' % i for i in range(120)) + '/db': ws['db']}
        for i in range(2000):
            files['many/f%04d' % i] = b'not a database %d\n' % i
        self.case('E10-deep-and-many', 'a folder 120 levels deep holding a database, and 2000 small files '
                  'that are not databases (scan -r)', files, path='tree/' + '/'.join('d%d' % i for i in range(120)) + '/db',
                  mid=3, commands=['inspect', 'scan', 'scan-text'])
        self.case('E11-name-space', 'folder and file names with spaces', {}, mid=3,
                  path='dir with space/my db', special={'copy_w': 'dir with space/my db'})
        self.case('E11-name-newline', 'a file name with a newline and a tab', {}, mid=3,
                  path='new\nline\tdb', special={'copy_w': 'new\nline\tdb'})
        self.case('E11-name-invalid-utf8', 'a file name that is not UTF-8 (bytes ff fe 80)', {}, mid=3,
                  path=os.fsdecode(b'bad\xff\xfe\x80db'), special={'copy_w': os.fsdecode(b'bad\xff\xfe\x80db')})
        self.case('E11-name-escape', 'a file name with an ANSI escape sequence and a quote', {}, mid=3,
                  path='esc\x1b[2J"q\'db', special={'copy_w': 'esc\x1b[2J"q\'db'})

    def content_cases(self):
        """Names and values inside the database that a terminal would act on."""
        out = os.path.join(self.base, 'esc')
        os.makedirs(out, exist_ok=True)
        work = os.path.join(out, 'work')
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        path = os.path.join(work, 'db')
        c = sqlite3.connect(path, isolation_level=None)
        nasty = 't\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e'
        sql_all(c, ['PRAGMA page_size=1024', 'PRAGMA journal_mode=WAL', 'PRAGMA wal_autocheckpoint=0',
                    'CREATE TABLE "%s"(a INTEGER PRIMARY KEY, b TEXT)' % nasty,
                    'CREATE INDEX "i\x1b[5m" ON "%s"(b)' % nasty,
                    "INSERT INTO \"%s\" VALUES(1, 'v\x1b[31mred\x07'), (2, CAST(x'ff80fe1b5b33326d' AS TEXT))"
                    % nasty])
        c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        c.execute("INSERT INTO \"%s\" VALUES(3, 'w\x1b[1mbold\x1b[0m\r\nforged line')" % nasty)
        c.execute("UPDATE \"%s\" SET b = b || '\x1b[8m' WHERE a = 1" % nasty)
        files = {f: rd(os.path.join(work, f)) for f in ('db', 'db-wal', 'db-shm')}
        c.close()
        self.case('E11-db-names-escape', 'table, index and values holding ESC/BEL/C1/bidi characters and '
                  'bytes that are not UTF-8', files, mid=2)
        d = Db(files['db'])
        for i in range(len(d.cells(1)[0])):
            cpos = d.cell(1, i)
            _, a = varint(d.b, cpos)
            _, r = varint(d.b, cpos + a)
            p = cpos + a + r
            hl, k = varint(d.b, p)
            types, q = [], p + k
            while q < p + hl:
                t_, k = varint(d.b, q)
                types.append(t_)
                q += k
            body = p + hl + sum((t_ - 12) // 2 if t_ >= 12 else [0, 1, 2, 3, 4, 6, 8, 8, 0, 0][t_]
                                for t_ in types[:3])
            if types[3] == 1:
                d.b[body] = 120
        files = dict(files, db=bytes(d.b))
        self.case('E11-db-names-escape-damaged', 'the same with every schema root page 120 (out of range): '
                  'findings quote the names', files, [('BTREE_PAGE_INVALID', 'db', None)], mid=2)

    def regression_cases(self, regdir):
        """Replay every input the fuzzers found (tests/fuzz/regressions/<target>/<file>) through
        the real binary: each laid out as the files its target reads."""
        if not os.path.isdir(regdir):
            return
        ws = self.w
        for target in sorted(os.listdir(regdir)):
            tdir = os.path.join(regdir, target)
            if not os.path.isdir(tdir):
                continue
            for fn in sorted(os.listdir(tdir)):
                data = rd(os.path.join(tdir, fn))
                name = 'R-%s-%s' % (target, fn[:40])
                what = 'fuzz regression %s/%s' % (target, fn)
                if target == 'model':
                    files = unpack_model(data)
                    path = 'db' if 'db' in files or 'db-wal' not in files else 'db-wal'
                    self.case(name, what, files, path=path, mid=2)
                elif target == 'wal':
                    self.case(name, what, {'db-wal': data}, path='db-wal', mid=2)
                    if len(data) >= WAL_HDR:
                        w = Wal(data)
                        if 512 <= w.ps <= 65536 and not w.ps & (w.ps - 1):
                            w.seal()
                            w.rechain(salts=True)
                            self.case(name + '-rechained', what + ', re-chained', {'db-wal': w.b}, path='db-wal', mid=2)
                elif target == 'shm':
                    self.case(name, what + ' next to the base WAL', self.wfiles(shm=data), mid=3)
                elif target in ('dbheader', 'btree'):
                    self.case(name, what, {'db': data}, mid=2)
                elif target == 'journal':
                    self.case(name, what + ' as the -journal', {'db': rd(os.path.join(self.base, 's', 'db')),
                                                                 'db-journal': data}, mid=2)
                else:                       # archive readers and others: a file for scan
                    self.case(name, what, {'input': data}, path='input', mid=2)

    def finish(self):
        """Apply the specials the generator itself can apply."""
        for c in self.cases:
            d = os.path.join(self.out, c['name'])
            sp = c.get('special') or {}
            for fn, size in (sp.get('truncate') or {}).items():
                os.truncate(os.path.join(d, fn), size)
            for fn, (size, off, pattern) in (sp.get('extend') or {}).items():
                with open(os.path.join(d, fn), 'r+b') as f:   # a hole, then one page of a pattern
                    f.truncate(size)
                    f.seek(off)
                    f.write(pattern.encode('latin-1') * (65536 // len(pattern)))
            if 'mkfifo' in sp:
                os.mkfifo(os.path.join(d, sp['mkfifo']))
            if 'socket' in sp:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind(os.path.join(d, sp['socket']))
                s.close()
            if 'hardlink' in sp:
                a, b = sp['hardlink']
                os.link(os.path.join(d, a), os.path.join(d, b))
            if 'copy_w' in sp:
                p = os.path.join(d, sp['copy_w'])
                os.makedirs(os.path.dirname(p), exist_ok=True)
                for suffix, key in (('', 'db'), ('-wal', 'db-wal'), ('-shm', 'db-shm')):
                    wr(p + suffix, self.w[key])
        with open(os.path.join(self.out, 'cases.json'), 'w') as f:
            json.dump(self.cases, f, indent=1)


def record(values):
    """An SQLite record of ints and texts, each int in the smallest serial type that holds it."""
    types, body = [], b''
    for v in values:
        if isinstance(v, int):
            for st, n in ((1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (6, 8)):
                if -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
                    types.append(st)
                    body += v.to_bytes(n, 'big', signed=True)
                    break
        else:
            t = v.encode()
            types.append(13 + 2 * len(t))
            body += t
    hdr = b''.join(put_varint(t) for t in types)
    return put_varint(len(hdr) + 1) + hdr + body


def put_varint(v):
    """SQLite varint (values below 2^56, enough here)."""
    out = [v & 0x7F]
    v >>= 7
    while v:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(out))


def schema_page(header, ps, rows):
    """Page 1: the 100-byte header, then a sqlite_schema leaf holding rows
    (type, name, tbl_name, rootpage, sql), cells packed at the end."""
    page = bytearray(ps)
    page[:100] = header
    end = ps
    ptrs = []
    for i, r in enumerate(rows, 1):
        rec = record(list(r))
        cell = put_varint(len(rec)) + put_varint(i) + rec
        end -= len(cell)
        page[end:end + len(cell)] = cell
        ptrs.append(end)
    page[100] = 13
    put16(page, 103, len(rows))
    put16(page, 105, end)
    for i, p in enumerate(ptrs):
        put16(page, 108 + 2 * i, p)
    return page


def unpack_model(data):
    """The db, db-wal and db-shm a fuzz_model input stands for, with the same fix-ups the target
    applies (flags bit 3: re-seal and re-chain the WAL; bit 4: re-seal both -shm header copies)."""
    flags, p = data[0] if data else 0, 1

    def take():
        nonlocal p
        if len(data) - p < 4:
            p = len(data)
            return b''
        n = min(struct.unpack_from('<I', data, p)[0], len(data) - p - 4)
        p += 4
        r = data[p:p + n]
        p += n
        return r
    db, wal = take(), take()
    shm = data[p:]
    if flags & 8 and len(wal) >= WAL_HDR:
        w = Wal(wal)
        if 512 <= w.ps <= 65536 and not w.ps & (w.ps - 1):
            w.seal()
            w.rechain(salts=True)
            wal = bytes(w.b)
    if flags & 16 and len(shm) >= 136:
        sh = Shm(shm)
        if struct.unpack_from('>I', sh.b, 0)[0] == 3007000:     # a big-endian -shm: seal as such
            for c in (0, 1):
                s_ = wal_cksum(bytes(sh.b[48 * c:48 * c + 40]), 0, 0, True)
                struct.pack_into('>II', sh.b, 48 * c + 40, *s_)
        else:
            sh.seal_both()
        shm = bytes(sh.b)
    files = {}
    for bit, key, val in ((1, 'db', db), (2, 'db-wal', wal), (4, 'db-shm', shm)):
        if flags & bit:
            files[key] = val
    return files


def mods_av(av, fn):
    d = Db(av.b)
    fn(d)
    return d.b


def main():
    args = sys.argv[1:]
    if not args or args[0] in ('-h', '--help'):
        print(__doc__.strip().split('\n\n')[1])
        return 0 if args else 64
    out = args[0]
    long_ = '--long' in args
    only = None
    if '--only' in args:
        only = args[args.index('--only') + 1].split(',')
    os.makedirs(out, exist_ok=True)
    g = Gen(out, long_, only)
    g.bases()
    g.wal_cases()
    g.shm_cases()
    g.db_cases()
    g.archive_cases()
    g.env_cases()
    g.content_cases()
    g.regression_cases(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fuzz', 'regressions'))
    g.finish()
    print('%d cases in %s' % (len(g.cases), out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
