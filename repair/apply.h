/*
 * apply.h — carrying out a plan: a repaired copy (-o) or the files
 * themselves (--in-place), each followed by verification.
 *
 * In place, in this order, while holding SQLite's locks (lockx.h):
 *   1. every changed file is written to a temporary file beside it (a
 *      database file is locked before it gets its name);
 *   2. the undo file DB.waldo-undo-TIMESTAMP is written and synced: the
 *      original bytes of every region that changes, sizes and SHA-256s;
 *   3. the temporary files are renamed over the originals, and removed
 *      files unlinked, each followed by a folder fsync, in the order -shm,
 *      database, -wal (every state in between is one SQLite reads the same
 *      way as the original or the repaired state);
 * then, with the locks released: wal-synth --apply's checkpoint, the
 * verification (page hashes and PRAGMA integrity_check on the real path),
 * and when it fails, the restore from the undo file.
 */
#ifndef WALDO_APPLY_H
#define WALDO_APPLY_H

#include <stdbool.h>

#include "lockx.h"
#include "plan.h"
#include "verify.h"

struct rp_outcome {
	bool written;                /* a file was changed or created */
	char undo[4200];             /* the undo file, "" when none */
	struct {
		char path[4200];
		const char *what;        /* "kept", "written", "removed", "created" */
		bool present;
		uint64_t size;
		uint8_t sha[RIO_SHA];
	} file[RP_NFILES];
	bool applied;                /* wal-synth --apply's checkpoint ran */
	struct rp_verify v;
	bool verified;               /* verification ran */
	bool restored;               /* it failed and the original is back (or the copy is gone) */
	char msg[1024];              /* what went wrong, "" when nothing */
};

/*
 * Write the repaired state to OUT (and OUT-wal when a WAL remains),
 * leaving the inputs untouched; verify it; remove it again when the
 * verification fails.  Returns an exit status: 0, 2 (verification failed),
 * 73 (OUT cannot be written, or exists without `force`), 70.
 */
int rp_apply_copy(struct rp_plan *p, const char *out, bool force, struct rp_outcome *o);

/*
 * Apply the plan to the files themselves; the caller holds lk (taken before
 * the model was opened).  Releases lk.  Returns an exit status: 0; 2 when
 * the result failed verification (restored from the undo file, or not, as
 * o->restored says); 73 when a file cannot be written (nothing changed, or
 * the undo file says how to go back); 75 when the database is in use at
 * restore time; 70.
 */
int rp_apply_in_place(struct rp_plan *p, struct lockx *lk, struct rp_outcome *o);

/* The undo file name for db_path at this time (an unused one), into buf. */
void rp_undo_name(const char *db_path, char *buf, size_t n);

#endif
