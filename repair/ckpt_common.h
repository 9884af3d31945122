/*
 * ckpt_common.h — what `waldo checkpoint --save-undo`, `waldo rollback` and
 * `waldo backup` share: streaming whole-file hashes through a descriptor
 * that stays open, predicting the file a page set leaves behind, one-byte
 * open-file-description locks on the -shm, and the kept copy of a WAL.
 *
 * Why descriptors and not paths: these commands run libsqlite3 connections
 * in the same process as their own reads.  SQLite's locks are POSIX fcntl
 * locks, and POSIX drops every lock a process holds on a file as soon as
 * the process closes ANY descriptor of that file.  Opening the database or
 * its -shm by path and closing it again while a connection is open would
 * silently release that connection's SHARED, WRITE or read-mark locks.  So
 * each command opens the database and -shm once, reads only through those
 * descriptors (and through models it closes after the last connection),
 * and closes them after sqlite3_close.
 *
 * The kept WAL (`checkpoint --keep-wal`): the WAL file exactly as it was
 * before the checkpoint, in SET.wal beside the page set, and its SHA-256
 * in SET.wal.sha256 in sha256sum's format ("HEX  SET.wal\n"), so that both
 * waldo and `sha256sum -c` can check it.  Docs: docs/man/waldo-checkpoint.1.
 */
#ifndef WALDO_CKPT_COMMON_H
#define WALDO_CKPT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pageset.h"
#include "rio.h"

#define CKPT_DEFAULT_TIMEOUT_MS 5000
#define CKPT_SHM_WRITE_BYTE 120       /* WAL_WRITE_LOCK: -shm byte 120 */
#define CKPT_SHM_CKPT_BYTE 121        /* WAL_CKPT_LOCK: -shm byte 121 */

/*
 * SHA-256 and size of everything readable through fd, from offset 0 to its
 * end, in RIO_CHUNK pieces with pread (the descriptor's offset is left
 * alone; nothing is mapped, so a file that shrinks meanwhile cannot fault).
 * Returns 0, or -1 with err set.
 */
/* pread exactly n bytes at off; returns the bytes read (short only at the end of the file), -1 on error. */
ssize_t ckpt_pread_full(int fd, void *buf, size_t n, uint64_t off);
int ckpt_sha_fd(int fd, const char *name, uint8_t sha[RIO_SHA], uint64_t *size, char *err, size_t errlen);

/* What a page set would leave of the file open as fd (ckpt_predict). */
struct ckpt_pred {
	uint8_t sha[RIO_SHA];        /* SHA-256 of the predicted file */
	uint64_t size;               /* its size: the set's pages × page size */
	bool matches;                /* sha and size are the set's FILE_HASH */
	uint32_t nsame;              /* set pages whose bytes are already the saved ones */
	uint32_t ndiff;              /* set pages inside the file whose bytes differ */
	uint32_t npast;              /* set pages past the file's end */
	uint32_t nhole;              /* pages past the file's end the set lacks (read as zeros) */
	uint64_t ncut;               /* whole pages of the file past the set's database size */
	uint64_t file_pages;         /* whole pages in the file now */
	uint32_t *changed;           /* owned: the set pages that differ or are past the end, ascending */
	uint32_t nchanged;
};

/*
 * Predict the file the set leaves when SQLite checkpoints its synthetic WAL
 * over the file open as fd (fsize bytes): pages 1..db_pages, each the set's
 * when it has one, else the file's (page 1 with its size field set, as
 * wal-synth does, when the set lacks it), else zeros; nothing past them.
 * Streams the file and the set once.  Returns 0, -1 on an I/O error, -2
 * when the set's data is damaged (err set).  Free with ckpt_pred_free.
 */
int ckpt_predict(int fd, uint64_t fsize, struct pageset *set, struct ckpt_pred *pr, char *err, size_t errlen);
void ckpt_pred_free(struct ckpt_pred *pr);

/*
 * Take (lock true) or drop an open-file-description write lock on one byte
 * of fd, retrying for up to timeout_ms while another process holds it.  An
 * OFD lock conflicts with every other lock on that byte, this process's
 * own POSIX locks (libsqlite3's) included, and dropping it never touches
 * them.  Returns 0; 1 still held elsewhere after the timeout; -1 on an
 * error; -2 when the system has no OFD locks (nothing taken).
 */
int ckpt_ofd_lock(int fd, off_t byte, bool lock, int timeout_ms);

/*
 * Write `size` bytes of data to path through a temporary file beside it,
 * fsync, rename and folder fsync (counted write steps); an existing path
 * only when `replace`.  Returns 0, 1 when it exists and !replace, -1 with
 * err set (no temporary file is left).
 */
int ckpt_write_file(const char *path, const uint8_t *data, uint64_t size, bool replace, char *err, size_t errlen);

/* SET.wal and SET.wal.sha256 into the buffers. */
void ckpt_walcopy_paths(const char *set, char *wal, size_t n, char *sum, size_t m);
/*
 * Write the kept WAL: `size` bytes of data into SET.wal, then its SHA-256
 * into SET.wal.sha256, each through a temporary file, fsync, rename and
 * folder fsync (counted write steps).  Existing files only when `replace`.
 * Returns 0, 1 when one exists and !replace, -1 with err.
 */
int ckpt_walcopy_write(const char *set, const uint8_t *data, uint64_t size, bool replace,
		       uint8_t sha[RIO_SHA], char *err, size_t errlen);
/*
 * Check the kept WAL of SET: SET.wal.sha256 names SET.wal and its digest,
 * and SET.wal has it.  Returns 0 (size and sha filled), -1 when a file is
 * missing or unreadable, -2 when the copy does not match its digest (err
 * says which).
 */
int ckpt_walcopy_check(const char *set, uint64_t *size, uint8_t sha[RIO_SHA], char *err, size_t errlen);

/*
 * The processes other than this one that hold locks on the files open as
 * dbfd and shmfd (-1: not open), as "PID (name), ..." into buf ("" when
 * none is seen; inspect/locks.h).  Opens nothing: closing another
 * descriptor of these files would drop this process's own SQLite locks.
 * Open-file-description locks (another waldo's) show as PID -1.
 */
void ckpt_lock_holders(int dbfd, int shmfd, char *buf, size_t n);

/*
 * snprintf into a message or path buffer, for the commands' messages that
 * quote paths: a message cut short is better than none.
 */
void ckpt_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sleep a little before retrying a lock: 1, 2, 4 … 50 ms by attempt. */
void ckpt_backoff(unsigned attempt);
/* Milliseconds on a monotonic clock. */
uint64_t ckpt_now_ms(void);

#endif
