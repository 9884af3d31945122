/*
 * locks.h — who holds SQLite's POSIX locks on a database and its -shm.
 *
 * SQLite (unix VFS) takes advisory fcntl locks: on the database file at
 * PENDING (0x40000000), RESERVED (+1) and the SHARED range (+2, 510 bytes);
 * on the -shm at bytes 120..127 (WRITE, CKPT, RECOVER, READ0..READ4) and 128
 * (the dead-man switch every connection holds shared).  On Linux every holder
 * is read from /proc/locks (matched by device and inode); elsewhere F_GETLK
 * finds one holder per byte.  Probing never takes a lock.
 */
#ifndef WALDO_LOCKS_H
#define WALDO_LOCKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "files.h"

#define LOCKS_MAX 256

struct lock_holder {
	pid_t pid;                /* -1 for open-file-description locks (ofd) */
	bool ofd;                 /* an open-file-description lock: held by an open file, not a process */
	char file;                /* 'd' database, 's' -shm */
	bool exclusive;           /* write lock */
	uint64_t start, end;      /* byte range, inclusive */
	char what[64];            /* "WRITE", "READ1", "SHARED", "DMS", … */
	char comm[64];            /* process name from /proc/PID/comm, "" if unknown */
};

struct lock_report {
	struct lock_holder h[LOCKS_MAX];
	int n;
	bool truncated;           /* more holders than LOCKS_MAX */
	bool reliable;            /* false when the probe could not be made */
	const char *remote;       /* the database's file system when it may be shared unseen (locks_fs_shared) */
};

/* Fill r with the locks other processes hold on s->db and s->shm. */
void locks_probe(const struct wf_set *s, struct lock_report *r);

/*
 * The name of the file system fd is on ("NFS", "SMB", "FUSE", …) when
 * processes elsewhere may use its files unseen (HOSTILE E9): a network file
 * system, whose other clients' locks this machine may not see and whose
 * clients cannot share SQLite's -shm, or a user-space one (FUSE: sshfs, a
 * container's host folder) that may be either.  NULL for a local file
 * system, or when fstatfs fails.
 */
const char *locks_fs_shared(int fd);
/* WALDO_ALLOW_REMOTE=1: the user says nothing else uses a database on such a file system. */
bool locks_remote_allowed(void);
/* An FS_REMOTE finding into d when r->remote is set. */
struct wd_diags;
void locks_add_remote(const struct lock_report *r, struct wd_diags *d);
/*
 * Distinct holders in r, a comma-separated list into buf: "pid (comm)" per
 * process, and LOCKS_OFD_NAME once for open-file-description locks, which
 * belong to an open file rather than a process (/proc/locks and F_GETLK
 * give them pid -1).  SQLite takes POSIX locks; waldo takes OFD locks
 * (repair/lockx.c, checkpoint --save-undo), so that is the likely holder.
 */
#define LOCKS_OFD_NAME "an open-file-description lock (another waldo?)"
void locks_pid_list(const struct lock_report *r, char *buf, size_t n);
/* One holder as locks_pid_list names it: "1234 (sqlite3)", "1234", or LOCKS_OFD_NAME; returns buf. */
const char *locks_holder_name(const struct lock_holder *h, char *buf, size_t n);

#endif
