/*
 * undo.h — the undo file an in-place repair writes before it changes
 * anything, and `waldo undo`, which puts the original bytes back.
 *
 *   off size  header (integers big-endian)
 *     0   16  magic "waldo undo v1\n\0\0"
 *    16    4  format version (1)
 *    20    4  number of file records
 *    24    8  creation time, seconds since 1970 (UTC)
 *    32    8  c, bytes of the compressed body
 *    40    8  bytes of the body once inflated
 *    48   16  zero
 *    64   32  SHA-256 of the c compressed bytes
 *    96    c  the body, one zlib stream:
 *
 *   u32 length, note (UTF-8: what made the file)
 *   per file, in restore order: its metadata
 *       u16 length, name (the file's name, in the undo file's own folder)
 *       u8  role (0 database, 1 -wal, 2 -shm)
 *       u8  flags: 1 existed before the repair, 2 exists after it,
 *                  4 volatile (SQLite may rewrite it after the repair:
 *                  restored without checking what it holds now)
 *       u32 permission bits before the repair
 *       u64 size before, 32-byte SHA-256 before
 *       u64 size after,  32-byte SHA-256 after
 *       u64 number of regions
 *   per file, same order: its regions, ascending and disjoint
 *       u64 offset, u64 length, then that many original bytes
 *
 * The regions hold every byte of the original that the repair changed or
 * cut off: restoring means taking the file as the repair left it, laying
 * the regions over it and cutting it to its old size.  A file the repair
 * created has no regions (undo removes it); a file it removed, and every
 * volatile file, has one region holding all of it.  Docs: docs/repair.md.
 */
#ifndef WALDO_UNDO_H
#define WALDO_UNDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "rio.h"

#define UNDO_MAGIC "waldo undo v1\n\0\0"
#define UNDO_VERSION 1u
#define UNDO_HDR_SIZE 96u
#define UNDO_MAX_FILES 8u
#define UNDO_NAME_MAX 255u

enum {
	UNDO_ORIG_PRESENT = 1,
	UNDO_NEW_PRESENT = 2,
	UNDO_VOLATILE = 4,
};

struct undo_region {
	uint64_t off, len;
};

struct undo_rec {
	char name[UNDO_NAME_MAX + 1];
	uint8_t role;                /* 0 db, 1 wal, 2 shm */
	uint8_t flags;
	uint32_t mode;               /* st_mode & 07777 before the repair */
	uint64_t orig_size, new_size;
	uint8_t orig_sha[RIO_SHA], new_sha[RIO_SHA];
	uint64_t nreg;
	/* writer side */
	const struct undo_region *reg;
	const uint8_t *orig_data;    /* the original bytes (read-only mapping) */
};

/*
 * Write the undo file `path` (must not exist): a temporary file, fsync,
 * rename, folder fsync — all counted write steps.  Returns 0, or -1 with
 * err set (nothing is left behind).
 */
int undo_write(const char *path, const char *note, const struct undo_rec *r, size_t n,
	       char *err, size_t errlen);

struct undo_doc {
	char *path;                  /* owned */
	char dir[4096];              /* the folder the names are relative to */
	uint64_t created;
	char *note;                  /* owned */
	struct undo_rec r[UNDO_MAX_FILES];
	size_t n;
	/* streaming state */
	int fd;
	uint64_t body_len;
	bool streaming;
	struct rio_zin z;
};

/*
 * Open an undo file: header, body hash, and every file's metadata.
 * Returns 0, -1 when it cannot be read, -2 when it is not a valid undo
 * file (err says why).  Always call undo_close.
 */
int undo_open(struct undo_doc *u, const char *path, char *err, size_t errlen);
void undo_close(struct undo_doc *u);
/* Full path of record i into buf. */
const char *undo_rec_path(const struct undo_doc *u, size_t i, char *buf, size_t n);

enum undo_state {
	UNDO_ST_ORIGINAL = 0,        /* the file is as it was before the repair */
	UNDO_ST_REPAIRED,            /* as the repair left it */
	UNDO_ST_OTHER,               /* changed since */
};
/* Where file i stands now.  0, or -1 with err (cannot read it). */
int undo_state_of(const struct undo_doc *u, size_t i, enum undo_state *st, char *err, size_t errlen);
const char *undo_state_name(enum undo_state s);

struct undo_result {
	size_t restored, already, changed;
	char msg[1024];              /* one line per file, for the caller to print */
};

/*
 * Restore every file of u to its original bytes and size, in record order,
 * each through a temporary file + fsync + rename + folder fsync (a file
 * the repair created is removed).  Files already original are left alone,
 * so running it again is harmless.  Refuses (-2, nothing written) when a
 * non-volatile file is neither original nor as the repair left it, unless
 * `force`.  The caller holds the database's locks; `lock_db`, when not
 * NULL, is called with each new database file's temporary path before it
 * is renamed into place (to lock its inode).  Returns 0, -2 refused, -1 on
 * an error (err set; files restored so far stay restored).
 */
int undo_restore(struct undo_doc *u, bool force, int (*lock_db)(void *ctx, const char *tmp),
		 void *ctx, struct undo_result *res, char *err, size_t errlen);

#endif
