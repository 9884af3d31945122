/*
 * act_shmreset.c — shm-reset: remove a -shm that does not describe the WAL.
 *
 * The wal-index is shared memory, not data: the first connection to open
 * a database takes the -shm's dead-man-switch lock exclusively, truncates
 * the file and rebuilds the index from the WAL (unixOpenSharedMemory,
 * walIndexRecover).  A stale, torn or wrong -shm therefore harms only
 * connections that are open right now — and an in-place repair runs only
 * when no process holds a lock on the database or its -shm, and holds
 * SQLite's locks itself meanwhile.  Removing the file changes nothing
 * SQLite will see; the undo file keeps its bytes.
 *
 * That is also the repair for the WAL-reset race (inspect/resetrace.h) while
 * the frames it hides are still frames of the current WAL generation: the
 * -shm's false nBackfill is what hides them, and the rebuilt index shows
 * them again.  Once the WAL has been restarted over them (rule "wrapped")
 * they are stale frames SQLite never reads; removing the -shm does not
 * bring them back (`waldo extract --race` does).
 */
#include "actions.h"

#include <stdio.h>

#include "../inspect/resetrace.h"

int act_shmreset_plan(struct rp_plan *p, struct rp_proposal *pr)
{
	const struct model *m = p->m;
	if (!m->has_shm)
		return 0;
	static const enum wd_code codes[] = {
		WD_SHM_HEADER_INVALID, WD_SHM_HEADER_MISMATCH, WD_SHM_STALE, WD_SHM_BACKFILL_INVALID,
		WD_SHM_INDEX_MISMATCH,
	};
	rp_codes(pr, p, codes, (int)(sizeof codes / sizeof *codes));
	if (rp_has_code(p, WD_WAL_RESET_RACE)) {
		struct resetrace r;
		if (resetrace_analyze(m, &r) == 0 && r.rules && !(r.rules & RR_WRAPPED)) {
			enum wd_code c = WD_WAL_RESET_RACE;
			rp_codes(pr, p, &c, 1);
			if (r.nlost)
				snprintf(pr->gives_up, sizeof pr->gives_up,
					 "nothing: the %u page versions the -shm hides are in the WAL, and SQLite "
					 "sees them again once it rebuilds the index", r.nlost);
		}
		resetrace_free(&r);
	}
	if (!pr->ncodes)
		return 0;
	/* What else is wrong only with the -shm goes with it. */
	static const enum wd_code more[] = { WD_SHM_READMARK_INVALID, WD_SHM_FOREIGN_ENDIAN, WD_SHM_TRUNCATED };
	rp_codes(pr, p, more, (int)(sizeof more / sizeof *more));
	snprintf(pr->summary, sizeof pr->summary, "remove the -shm; SQLite rebuilds it from the WAL");
	snprintf(pr->why, sizeof pr->why,
		 "the first connection to open the database truncates the -shm and rebuilds the index from "
		 "the WAL: with no process holding the database open, the -shm holds nothing SQLite uses");
	rp_change(pr, RP_SHM, RP_CH_REMOVE, 0, m->files.shm.size, "the wal-index (%llu bytes)",
		  (unsigned long long)m->files.shm.size);
	return 1;
}

void act_shmreset_build(struct rp_plan *p, const struct rp_proposal *pr)
{
	p->fout[RP_SHM].mode = RP_FM_DELETE;
	p->fout[RP_SHM].by = pr->act->name;
}
