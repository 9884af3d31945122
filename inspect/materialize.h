/*
 * materialize.h — write one state of a database (the file alone, or as of
 * commit K of its WAL) as a standalone rollback-mode database, and ask real
 * libsqlite3 about it.  Inputs are only ever read; SQLite only ever sees
 * files waldo wrote into a private folder.
 */
#ifndef WALDO_MATERIALIZE_H
#define WALDO_MATERIALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* A page source: page_size bytes of pgno, or NULL when no file holds it. */
typedef const uint8_t *(*materialize_get_fn)(void *ctx, uint32_t pgno);

/*
 * Write pages 1..npages from `get` to `path` (created, must not exist) as a
 * standalone rollback-mode database: page 1 gets read/write versions 1 and
 * an in-header size SQLite trusts; pages `get` cannot return are written as
 * zeros and counted in *missing (the lock-byte page excepted).  Refuses a
 * page count the model's files cannot back.  The file is fsync'ed.
 * Returns 0, or -1 with err set (and no file left behind).
 */
int materialize_pages(const struct model *m, uint32_t npages, materialize_get_fn get, void *ctx,
		      const char *path, uint32_t *missing, char *err, size_t errlen);

/*
 * Write the state as of commit k to `path` (created, must not exist).  Page 1
 * gets read/write versions 1 (rollback mode) and a valid in-header size;
 * pages no file holds are written as zeros and counted in *missing.
 * Returns 0, or -1 with err set.  The file is fsync'ed.
 */
int materialize_state(const struct model *m, uint32_t k, const char *path, uint32_t *missing,
		      char *err, size_t errlen);

/*
 * Run PRAGMA integrity_check on the database at `path` (read-only, defensive
 * mode).  Returns 1 when SQLite says "ok", 0 when it reports problems (the
 * first lines into msg), -1 when SQLite cannot open or read it (reason in msg).
 */
int sqlite_integrity(const char *path, char *msg, size_t n);

/* A private temporary folder under $TMPDIR (or /tmp); 0 or -1 with err. */
int tmpdir_make(char *dir, size_t n, char *err, size_t errlen);
/* Remove a folder made by tmpdir_make and everything in it. */
void tmpdir_remove(const char *dir);

#endif
