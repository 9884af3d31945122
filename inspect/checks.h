/*
 * checks.h — the judgements that need more than one file: the WAL against
 * the database, the -shm against the WAL, size fields against the real
 * extent of the final state, hot journals, checkpoint progress, live lock
 * holders, and what real libsqlite3 says of the materialised state.  Each
 * adds findings to the model's list.
 */
#ifndef WALDO_CHECKS_H
#define WALDO_CHECKS_H

#include <stdbool.h>

#include "locks.h"
#include "model.h"

#define CKPT_STARVED_FRAMES 1000   /* SQLite's default auto-checkpoint threshold */

struct check_opts {
	bool sqlite;     /* materialise the final state and run PRAGMA integrity_check */
	bool locks;      /* look for other processes holding locks */
};

struct check_result {
	struct lock_report locks;
	int integrity;               /* 1 ok, 0 problems, -1 SQLite could not read it, -2 not run */
	char integrity_msg[512];
	uint32_t missing_pages;      /* pages of the final state no file holds */
};

void checks_run(struct model *m, const struct check_opts *o, struct check_result *r);

/*
 * Only the rules that say whether the WAL belongs to the database (page
 * sizes, the WAL's page 1, lineage: WAL_PAGE_SIZE_MISMATCH, WAL_FOREIGN),
 * as checks_run applies them: for a command that lets libsqlite3 apply the
 * WAL and must refuse another database's first (waldo checkpoint).
 */
void checks_lineage(struct model *m);

#endif
