#!/usr/bin/env python3
"""livedb.py DB STATE: a real SQLite process (python3's sqlite3, the system
libsqlite3) that holds the WAL database DB in one state until told to go on.

States:
  idle       an open connection, idle between transactions (it has read and
             written, so it holds the -shm's dead-man-switch lock)
  read       an open read transaction (BEGIN; SELECT)
  write      an active write transaction: BEGIN IMMEDIATE and inserts not yet
             committed, more than the page cache holds (cache_size 10), so
             SQLite spills them into the WAL: frames past the last commit,
             which a repair would take for an uncommitted tail
  checkpoint a checkpoint in progress: a second connection runs
             PRAGMA wal_checkpoint(RESTART) while the first holds the write
             lock of an uncommitted insert; SQLite's checkpointer takes the
             checkpointer lock (-shm byte 121) and then waits in its busy
             handler for WRITE.  A real SQLite checkpoint, paused
             deterministically, holding CKPT as it does while it copies frames.
  exclusive  PRAGMA locking_mode=EXCLUSIVE, then a commit: the connection
             keeps SQLite's EXCLUSIVE lock on the database file

Protocol (line-based, stdout): "ready PID ROWS CONTENT" once the state is
held (ROWS, CONTENT: row count and SHA-256 of the committed rows); then on a
line "finish" on stdin it ends the state (commits what is pending, lets the
checkpoint finish), commits one more row, runs PRAGMA integrity_check and
prints "done ROWS CONTENT INTEGRITY" and exits 0.
"""
import hashlib, os, sqlite3, sys, threading, time


def content(c):
    h = hashlib.sha256()
    n = 0
    for r in c.execute("SELECT id, v FROM t ORDER BY id"):
        h.update(str(r[0]).encode() + b":" + bytes(r[1]))
        n += 1
    return n, h.hexdigest()


def holds_ckpt(shm):
    """Does this process hold a write lock on -shm byte 121 (CKPT)?"""
    ino = str(os.stat(shm).st_ino)
    for line in open("/proc/locks"):
        # "N: POSIX  ADVISORY  WRITE PID MAJ:MIN:INODE START END"; waiters have "->"
        w = line.split()
        if len(w) == 8 and w[1] == "POSIX" and w[3] == "WRITE" and w[4] == str(os.getpid()) \
                and w[5].split(":")[-1] == ino and int(w[6]) <= 121 and (w[7] == "EOF" or int(w[7]) >= 121):
            return True
    return False


def main():
    db, state = sys.argv[1], sys.argv[2]
    c = sqlite3.connect(db, isolation_level=None, timeout=30)
    if c.execute("PRAGMA journal_mode=wal").fetchone()[0] != "wal":
        sys.exit("not in WAL mode")
    c.execute("PRAGMA wal_autocheckpoint=0")
    ins = "INSERT INTO t(v) VALUES(randomblob(300))"
    ckpt = None
    result = {}
    if state == "idle":
        c.execute(ins)
    elif state == "read":
        c.execute(ins)
        c.execute("BEGIN")
        c.execute("SELECT count(*) FROM t").fetchall()
    elif state == "write":
        c.execute(ins)
        rows, cont = content(c)
        c.execute("PRAGMA cache_size=10")
        wal = os.path.getsize(db + "-wal")
        c.execute("BEGIN IMMEDIATE")
        c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<100) "
                  "INSERT INTO t(v) SELECT randomblob(1000) FROM s")
        if os.path.getsize(db + "-wal") <= wal:
            sys.exit("the uncommitted transaction did not spill into the WAL")
    elif state == "checkpoint":
        c.execute(ins)
        rows, cont = content(c)
        c.execute("BEGIN IMMEDIATE")
        c.execute(ins)

        def run():
            y = sqlite3.connect(db, isolation_level=None, timeout=60)
            result["ckpt"] = y.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            y.close()
        ckpt = threading.Thread(target=run)
        ckpt.start()
        end = time.time() + 20
        while not holds_ckpt(db + "-shm"):
            if time.time() > end:
                sys.exit("the checkpoint never took the checkpointer lock")
            time.sleep(0.01)
    elif state == "exclusive":
        c.execute("PRAGMA locking_mode=EXCLUSIVE")
        c.execute(ins)
    else:
        sys.exit("unknown state " + state)
    if state not in ("write", "checkpoint"):
        rows, cont = content(c)
    print("ready %d %d %s" % (os.getpid(), rows, cont), flush=True)
    if sys.stdin.readline().strip() != "finish":
        sys.exit("expected 'finish'")
    if state in ("read", "write", "checkpoint"):
        c.execute("COMMIT")
    if ckpt:
        ckpt.join(60)
        if ckpt.is_alive() or result.get("ckpt", (1,))[0] != 0:
            sys.exit("the paused checkpoint did not finish: %r" % (result,))
    c.execute(ins)
    ic = c.execute("PRAGMA integrity_check").fetchone()[0]
    rows, cont = content(c)
    c.close()
    print("done %d %s %s" % (rows, cont, ic), flush=True)


main()
