/*
 * resetrace.h — the WAL-reset race of SQLite 3.7.0 to 3.51.2, recognised
 * from the files it leaves behind, and the page versions it lost.
 *
 * The race (sqlite3WalCheckpoint / walCheckpoint / walRestartLog, fixed in
 * 3.51.3): a checkpointer that holds only the CKPT lock reads the -shm
 * header while every frame is already backfilled (nBackfill = mxFrame = N);
 * before it compares nBackfill with that header, a writer restarts the WAL
 * and commits M frames of a new generation; the checkpointer then stores
 * nBackfill = nBackfillAttempted = aReadMark[1] = N.  Readers start at frame
 * nBackfill+1, so committed frames M+1..N of the new generation are never
 * read, and they are lost for good when the WAL is restarted over them.
 *
 * Three rules, each stated with its evidence (docs/cookbook.md):
 *
 *   RR_COUNTERS  the -shm claims a checkpoint past the end of its own WAL
 *                generation: nBackfill = nBackfillAttempted > mxFrame.
 *   RR_HIDDEN    pages whose newest committed frame lies at or below
 *                nBackfill differ from the database file, and the pattern
 *                is the race's: every such page up to some frame K reached
 *                the file and none after it did, or nBackfill falls inside a
 *                transaction (a real checkpoint stops at commit frames).
 *   RR_WRAPPED   after the WAL was restarted again: checksum-verified,
 *                committed frames of the previous generation (salt-1 one
 *                lower) hold the last version of pages that the database
 *                file does not hold and no frame of the current generation
 *                rewrote.
 *
 * RR_COUNTERS and RR_HIDDEN need the qualifying checks: a -shm SQLite would
 * accept (both header copies equal, checksum good, this host's byte order)
 * whose salts and mxFrame are those of the WAL on disk, and a WAL that pairs
 * with the database.
 */
#ifndef WALDO_RESETRACE_H
#define WALDO_RESETRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum rr_rule {
	RR_COUNTERS = 1,
	RR_HIDDEN = 2,
	RR_WRAPPED = 4,
};

#define RR_LIST_MAX 200   /* per-page findings listed; the summary counts them all */

struct rr_lost {              /* one page version a reader no longer sees */
	uint32_t pgno;
	uint32_t frame;           /* the WAL frame holding it */
	uint8_t rule;             /* enum rr_rule that found it */
	bool beyond_eof;          /* the database file ends before this page */
};

struct resetrace {
	/* qualifying checks */
	bool shm_intact;          /* SQLite would accept the -shm header; native byte order */
	bool shm_matches;         /* -shm salts and mxFrame are the WAL's */
	bool pairs;               /* WAL usable with a valid database file */
	uint32_t mx_frame, n_backfill, n_attempted, read_mark1;

	unsigned rules;           /* enum rr_rule bits that fired */

	/* RR_COUNTERS / RR_HIDDEN: pages whose newest frame is at or below
	 * min(nBackfill, mxFrame) */
	uint32_t nmatch;          /* ... that the database file holds */
	uint32_t match_last;      /* the newest frame among them (0: none) */
	uint32_t cut;             /* RR_HIDDEN: the file holds every page up to this frame */
	bool backfill_mid_txn;    /* nBackfill is not a commit frame of this WAL */

	/* RR_WRAPPED */
	uint32_t prev_salt1, prev_salt2;
	uint32_t prev_frames;     /* committed frames of the previous generation */
	uint32_t nunverified;     /* lost-looking versions whose checksum cannot be verified */

	struct rr_lost *lost;     /* sorted by page number; owned */
	uint32_t nlost;
	uint32_t nlost_rule[3];   /* per rule: COUNTERS, HIDDEN, WRAPPED */
};

/*
 * Analyse m's files.  Returns 0, or -1 when out of memory (r->rules then 0).
 * Always call resetrace_free.
 */
int resetrace_analyze(const struct model *m, struct resetrace *r);
void resetrace_free(struct resetrace *r);

/* Add the WAL_RESET_RACE findings (a summary per rule, then the pages) to m->diags. */
void resetrace_check(struct model *m);

/*
 * Page pgno of the recovery state: the last commit SQLite sees once its
 * -shm is rebuilt (model_page at MODEL_LAST, which already includes the
 * versions RR_COUNTERS and RR_HIDDEN list), with the RR_WRAPPED versions
 * laid over.  *frame (may be NULL) gets the frame or 0 for the file.
 */
const uint8_t *resetrace_page(const struct model *m, const struct resetrace *r, uint32_t pgno,
			      uint32_t *frame);

/*
 * Write that state as a standalone rollback-mode database at `path`
 * (created, must not exist); see materialize_pages.  Returns 0, or -1 with
 * err set.
 */
int resetrace_materialize(const struct model *m, const struct resetrace *r, const char *path,
			  uint32_t *missing, char *err, size_t errlen);

/* "counters", "hidden-frames", "wrapped". */
const char *resetrace_rule_name(enum rr_rule rule);

#endif
