/*
 * dbhash.h — the logical content hash of SQLite's own `dbhash` tool
 * (tool/dbhash.c in SQLite's sources): SHA-1 over the rows of every
 * ordinary table and then over the schema, independent of page size,
 * encoding, freelist and layout.  Computed with libsqlite3 on a private
 * materialised copy, never on the input.  The algorithm, byte for byte,
 * and how equivalence with the real tool was established: docs/dbhash.md.
 */
#ifndef WALDO_DBHASH_H
#define WALDO_DBHASH_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define DBHASH_DIGEST 20               /* SHA-1 */

enum dbhash_mode {
	DBHASH_ALL = 0,                /* content, then schema (dbhash's default) */
	DBHASH_SCHEMA_ONLY,            /* --schema-only */
	DBHASH_WITHOUT_SCHEMA,         /* --without-schema */
};

struct dbhash_opts {
	enum dbhash_mode mode;
	const char *like;              /* --like PATTERN; NULL means "%" */
};

enum {
	DBHASH_OK = 0,
	DBHASH_PARTIAL = 1,            /* a query stopped early (as dbhash's would): hash printed, warn */
	DBHASH_NOT_DB = -1,            /* SQLite cannot read the schema: dbhash prints no hash */
	DBHASH_FAILED = -2,            /* a query could not be prepared, or I/O / memory failure */
};

/*
 * Hash the database file at `path` (read-only, defensive mode, untrusted
 * schema).  Returns DBHASH_OK, or DBHASH_PARTIAL with the hash in out and
 * SQLite's error in err (a table whose rows SQLite could not all read:
 * dbhash hashes the rows before the error and goes on), or DBHASH_NOT_DB /
 * DBHASH_FAILED with err set and out undefined.
 */
int dbhash_file(const char *path, const struct dbhash_opts *o, uint8_t out[DBHASH_DIGEST],
		char *err, size_t errlen);

/*
 * Copy the files of the state as of commit k of m (0 the database file
 * alone, MODEL_LAST the effective state) from their read-only mappings into
 * a private temporary folder and hash the copy with dbhash_file, so that
 * SQLite itself decides what the state is (its WAL recovery, hot-journal
 * rollback and corruption checks), as it would for dbhash on the
 * originals.  For commit=K the -wal is cut after that commit's frame.
 * Same returns as dbhash_file.
 */
int dbhash_state(const struct model *m, uint32_t k, const struct dbhash_opts *o,
		 uint8_t out[DBHASH_DIGEST], char *err, size_t errlen);

/* 40 lowercase hex digits and a NUL. */
void dbhash_hex(const uint8_t d[DBHASH_DIGEST], char out[2 * DBHASH_DIGEST + 1]);

#endif
