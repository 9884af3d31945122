/*
 * lockx.h — hold a database the way SQLite holds it for exclusive access,
 * so that no SQLite process can read or write it while waldo changes its
 * files.
 *
 * SQLite's unix VFS locks bytes of the database file (PENDING at
 * 0x40000000, RESERVED at +1, the 510-byte SHARED range at +2) and of the
 * -shm (WRITE, CKPT, RECOVER, READ0..READ4 at 120..127, the dead-man switch
 * at 128).  lockx write-locks all of them: a connection that wants to open
 * the database needs a read lock on the SHARED range and on the -shm's DMS
 * byte, and is refused (SQLITE_BUSY) while waldo holds them.
 *
 * The locks are open-file-description locks (F_OFD_SETLK, Linux 3.15+) where
 * the system has them.  They conflict with SQLite's POSIX F_SETLK locks
 * exactly like POSIX locks do, but unlike POSIX locks they are not dropped
 * when this process closes some other descriptor of the same file — which
 * mapping the files, an atomic rename's fsync-and-close, and libsqlite3
 * itself all do.  Elsewhere they are POSIX locks (F_SETLK), held by a
 * descriptor kept open until lockx_release.  A write lock needs a descriptor
 * opened for writing, so the files are opened O_RDWR (never created).
 *
 * Because waldo replaces a file by renaming a new one over it, the new
 * file's inode must be locked before the rename: lockx_add_db locks a
 * temporary database file, so that the moment the name points to it, it is
 * already held.
 */
#ifndef WALDO_LOCKX_H
#define WALDO_LOCKX_H

#include <stdbool.h>
#include <stddef.h>

#define LOCKX_MAX 8

struct lockx {
	int fd[LOCKX_MAX];
	int n;
	bool ofd;                  /* open-file-description locks in use */
};

void lockx_init(struct lockx *l);
/*
 * Write-lock the database file at db_path (PENDING, RESERVED, SHARED) and,
 * when it exists, the -shm at shm_path (bytes 120..128).  Non-blocking:
 * returns 0; 1 when another process holds a conflicting lock (err names
 * the file); -1 on an error (err set).  On failure nothing stays locked.
 */
int lockx_take(struct lockx *l, const char *db_path, const char *shm_path, char *err, size_t errlen);
/* Lock the database ranges of another file (a temporary database before its rename). */
int lockx_add_db(struct lockx *l, const char *path, char *err, size_t errlen);
/*
 * Does another process hold a lock on the database at db_path or its -shm
 * (inspect/locks.h)?  Returns 0 nobody, 1 somebody (their PIDs and names
 * into pids; also when the database is on a file system other machines may
 * share, locks_fs_shared, unless WALDO_ALLOW_REMOTE=1: pids then says so),
 * -1 when the files cannot be read (err set).  Takes no lock.
 */
int lockx_probe(const char *db_path, char *pids, size_t n, char *err, size_t errlen);
/* Drop every lock and close the descriptors. */
void lockx_release(struct lockx *l);

#endif
