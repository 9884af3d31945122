/*
 * testlib.h — fixtures for unit tests: temporary files, and databases made
 * by real libsqlite3 (a WAL is kept by ending a child process with _exit
 * before it closes its connection).
 */
#ifndef WALDO_TESTLIB_H
#define WALDO_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/dbheader.h"

/* This test's private temporary folder (removed after the run). */
const char *tl_tmp(void);
/* A path inside tl_tmp(), printf style; valid until 16 more calls. */
const char *tl_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same from a ring of its own, 64 long: for paths a test keeps while it runs. */
const char *tl_keep(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Folder of the shared data (../shared by default, $WALDO_SHARED). */
const char *tl_shared(void);

/* Whole file into a malloc'd buffer (caller frees); fails the test on error. */
uint8_t *tl_read(const char *path, size_t *n);
/* The file's text into buf (n bytes, NUL-terminated, cut to fit). */
void tl_read_text(const char *path, char *buf, size_t n);
/*
 * Run fn(argc, argv), a cmd_NAME (argv NULL-terminated), in a child process
 * that ends with exit(), so that LeakSanitizer checks the command; its
 * stdout into the file `out`, its stderr into `err` (NULL: with stdout).
 * CHECKs that it exited; returns its exit status.
 */
int tl_run_cmd(int (*fn)(int, char **), char **argv, const char *out, const char *err);
void tl_write(const char *path, const void *p, size_t n);
void tl_copy(const char *src, const char *dst);
bool tl_exists(const char *path);
uint64_t tl_size(const char *path);
void tl_truncate(const char *path, uint64_t size);
/* XOR one byte of a file with mask. */
void tl_flip(const char *path, uint64_t off, uint8_t mask);
/* Overwrite bytes of a file at off. */
void tl_patch(const char *path, uint64_t off, const void *p, size_t n);

/* Create an empty database with this page size, in WAL mode when wal is true. */
void tl_make_db(const char *db, unsigned page_size, bool wal);
/* Run SQL on db through libsqlite3 and close cleanly (checkpoints the WAL). */
void tl_sql(const char *db, const char *sql);
/*
 * Run SQL in a child process that ends with _exit(0) without closing: the
 * -wal and -shm stay as a crash leaves them.  Auto-checkpoint is off.
 */
void tl_sql_keep_wal(const char *db, const char *sql);
/*
 * What SQLite sees: copy db and db-wal (no -shm, so SQLite recovers the WAL
 * itself) to a fresh folder, open the copy read-write and run `sql`.
 * Returns the first column of the first row as an integer.
 */
long long tl_query_int(const char *db, const char *sql);
/* Same, first column as text into buf (empty when NULL). */
void tl_query_text(const char *db, const char *sql, char *buf, size_t n);

/* A database file read into memory as a page source (inspect/schema.h). */
struct tl_img {
	uint8_t *p;
	size_t n;
	struct db_header h;
	uint32_t page_size, usable, npages;
};
void tl_img_load(struct tl_img *m, const char *db);
/* Page pgno, or NULL past the end: a page source callback, ctx the tl_img. */
const uint8_t *tl_img_get(void *ctx, uint32_t pgno);
/* Page pgno, writable; CHECKs that it exists. */
uint8_t *tl_img_page(const struct tl_img *m, uint32_t pgno);

#endif
