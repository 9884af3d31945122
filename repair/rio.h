/*
 * rio.h — every byte a writing command (repair, undo, checkpoint,
 * rollback, backup) puts on disk goes through here (but those libsqlite3
 * writes itself), so that each write step can be counted and a crash can be
 * injected after any one of them; plus the SHA-256 and zlib streams the
 * undo file and the page-set file are made of.
 *
 * Crash injection (tests only): with WALDO_CRASH_AFTER=N in the
 * environment, the process sends itself SIGKILL right after its Nth write
 * step — a write(), fsync(), rename() (an atomic commit: fsync + rename +
 * folder fsync), unlink() or folder fsync.  A SIGKILL cannot be caught, so
 * what is left on disk is exactly what a crash at that point leaves.
 * WALDO_CRASH_TRACE=1 prints every step to stderr ("waldo: step N: what").
 * WALDO_CRASH_SIGNAL=TERM (or INT) sends that signal instead of SIGKILL.
 *
 * SIGINT and SIGTERM (unless ignored) are caught from the first step on:
 * the handler prints which step the files are at and dies by the same
 * signal, so an interrupted command leaves what a crash there leaves (an
 * exit status of 128+N to a shell: 130, 143).
 */
#ifndef WALDO_RIO_H
#define WALDO_RIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../inspect/atomic.h"

#define RIO_SHA 32                 /* SHA-256 digest bytes */
#define RIO_CHUNK (1u << 20)       /* bytes per write() of a copy */

/* Count one write step named `what`; SIGKILL when it is the Nth (see above). */
void rio_step(const char *what);
/* Steps counted so far in this process. */
uint64_t rio_steps(void);

/* atomic_write_all() at the file position or at off, then one step.  0 or -1 (errno). */
int rio_write_all(int fd, const void *p, size_t n);
int rio_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
/* fsync(fd); one step.  0 or -1. */
int rio_fsync(int fd);
/* fsync a folder (EINVAL from file systems that cannot is not an error); one step. */
int rio_fsync_dir(const char *dir);
/* unlink(path) then fsync its folder: two steps.  A missing file is not an error. */
int rio_unlink(const char *path, char *err, size_t errlen);
/* atomic_commit (fsync, rename, folder fsync) counted as one step after it. */
int rio_commit(struct atomic_out *a, char *err, size_t errlen);

/* The folder part of a path ("." when none) into dir. */
void rio_dirname(const char *path, char *dir, size_t n);
/* The last component of a path. */
const char *rio_basename(const char *path);

/* ---- SHA-256 (OpenSSL EVP) ---- */
struct rio_sha {
	void *ctx;                 /* EVP_MD_CTX */
	bool bad;
};
int rio_sha_begin(struct rio_sha *s);
void rio_sha_update(struct rio_sha *s, const void *p, size_t n);
/* Finish into out (and free); -1 when OpenSSL failed at any point. */
int rio_sha_end(struct rio_sha *s, uint8_t out[RIO_SHA]);
int rio_sha256(const void *p, size_t n, uint8_t out[RIO_SHA]);
/*
 * SHA-256 and size of the file at path.  Returns 1 when it exists (digest
 * and size filled), 0 when it does not, -1 on an error (err set).
 */
int rio_sha256_file(const char *path, uint8_t out[RIO_SHA], uint64_t *size, char *err, size_t errlen);
/* 64 lowercase hex digits into out (65 bytes). */
void rio_hex(const uint8_t d[RIO_SHA], char out[2 * RIO_SHA + 1]);

/* ---- zlib streams ---- */

/* Deflate to a file descriptor; output written in RIO_CHUNK pieces (counted steps). */
struct rio_zout {
	void *z;                   /* z_stream */
	int fd;
	uint8_t *buf;
	uint64_t out_bytes;        /* compressed bytes written */
	uint64_t in_bytes;         /* uncompressed bytes given */
	struct rio_sha sha;        /* of the compressed bytes */
	bool bad;
};
int rio_zout_begin(struct rio_zout *z, int fd);
void rio_zout_write(struct rio_zout *z, const void *p, size_t n);
/* Flush the stream; *sha gets the SHA-256 of the compressed bytes.  0 or -1. */
int rio_zout_end(struct rio_zout *z, uint8_t sha[RIO_SHA]);
/* Release after a failure (no flush). */
void rio_zout_abort(struct rio_zout *z);

/* Inflate from a file descriptor, starting at its current offset, reading at most `limit` compressed bytes. */
struct rio_zin {
	void *z;
	int fd;
	uint8_t *buf;
	uint64_t left;             /* compressed bytes not yet read from fd */
	bool ended;                /* the zlib stream ended */
	bool bad;
};
int rio_zin_begin(struct rio_zin *z, int fd, uint64_t limit);
/* Read exactly n bytes; -1 when the stream is damaged or ends early. */
int rio_zin_read(struct rio_zin *z, void *p, size_t n);
/* 1 when the stream ends here with no byte left over, else 0. */
int rio_zin_at_end(struct rio_zin *z);
void rio_zin_end(struct rio_zin *z);

/* Big-endian field helpers for the writers. */
void rio_put_u16(uint8_t *p, uint16_t v);
void rio_put_u64(uint8_t *p, uint64_t v);
uint64_t rio_get_u64(const uint8_t *p);

#endif
