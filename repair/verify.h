/*
 * verify.h — checking a repair's result: every page of the state SQLite
 * sees afterwards against the plan's expectation (SHA-256 per page, the
 * result hashed with inspect/pagehash.h), and PRAGMA integrity_check by
 * real libsqlite3 on the result itself.
 */
#ifndef WALDO_VERIFY_H
#define WALDO_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"

struct rp_verify {
	bool hashed;                 /* the page hashes were compared */
	uint32_t npages_expected, npages_found;
	uint32_t nbad;               /* pages whose hash differs (or that one side lacks) */
	uint32_t first_bad;
	bool hashes_ok;
	int integrity;               /* 1 ok, 0 problems, -1 SQLite cannot read it, -2 not run */
	char integrity_msg[512];
	bool ok;                     /* hashes_ok && integrity == 1 */
	char err[512];               /* why the check itself could not run */
};

/*
 * The SHA-256 of every page of the state the plan expects: (*dig)[pgno-1],
 * (*missing)[pgno-1] = 1 for a page no file will hold.  The lock-byte page
 * is never compared (SQLite never reads it).  Returns 0, or -1 with err.
 * The caller frees both arrays.
 */
int rp_expect_digests(const struct rp_plan *p, uint8_t (**dig)[RIO_SHA], uint8_t **missing,
		      char *err, size_t errlen);

/*
 * Verify the database at db_path (its -wal beside it) against the plan:
 * page hashes, then PRAGMA integrity_check on db_path itself.  Fills v and
 * returns v->ok.
 */
bool rp_verify_result(const struct rp_plan *p, const char *db_path, struct rp_verify *v);

#endif
