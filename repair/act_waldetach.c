/*
 * act_waldetach.c — wal-detach: take the -wal (and -shm) away from a
 * database they do not belong to.
 *
 * SQLite pairs a database with whatever file is named DB-wal.  A WAL of
 * another page size makes it report corruption or apply frames at the wrong
 * offsets; a WAL whose page 1 describes another database (another text
 * encoding, application id, …) makes it show — and at the next checkpoint
 * write — another database's pages.  In both cases the database file alone
 * is this database, and removing the WAL (the undo file keeps it; with -o
 * it is simply not copied) is the fix.
 *
 * The same action, named with --only wal-detach, also completes a rollback
 * done by hand: after a checkpoint's pages were written back into the
 * database file, the old WAL beside it would be applied again at the next
 * open (SHM_BACKFILL_INVALID: the -shm says the frames are in the file, the
 * file says otherwise).  That gives up the WAL's commits, so it is never
 * the default.
 */
#include "actions.h"

#include <stdio.h>

int act_waldetach_plan(struct rp_plan *p, struct rp_proposal *pr)
{
	const struct model *m = p->m;
	if (!m->has_wal)
		return 0;
	bool foreign = rp_has_code(p, WD_WAL_PAGE_SIZE_MISMATCH) || rp_has_code(p, WD_WAL_FOREIGN);
	bool named = p->o->only & (1u << rp_action_index(pr->act));
	bool rollback = rp_has_code(p, WD_SHM_BACKFILL_INVALID) && m->shm.n_backfill <= m->wal.mx_frame;
	if (!foreign && !named && !rollback)
		return 0;
	uint32_t ncommit = m->wal.ntxn;
	if (foreign) {
		enum wd_code codes[] = { WD_WAL_PAGE_SIZE_MISMATCH, WD_WAL_FOREIGN };
		rp_codes(pr, p, codes, 2);
		pr->safety = RP_FIX;
		snprintf(pr->summary, sizeof pr->summary, "remove the -wal and -shm: they belong to another database");
		snprintf(pr->why, sizeof pr->why,
			 "SQLite would read this WAL's pages as this database's (%s); the database file alone is "
			 "this database", rp_has_code(p, WD_WAL_PAGE_SIZE_MISMATCH) ? "at another page size"
										  : "its page 1 describes another database");
		snprintf(pr->gives_up, sizeof pr->gives_up,
			 "another database's WAL (%u commits); the undo file keeps it", ncommit);
	} else {
		if (rollback) {
			enum wd_code c = WD_SHM_BACKFILL_INVALID;
			rp_codes(pr, p, &c, 1);
		}
		pr->safety = RP_REWRITE;
		snprintf(pr->summary, sizeof pr->summary,
			 "remove the -wal and -shm: SQLite then sees the database file alone");
		snprintf(pr->why, sizeof pr->why,
			 "%s", rollback ? "the -shm says the WAL's frames are in the database file, but the file "
					  "holds other pages (written back by hand): the WAL would be applied again "
					  "at the next open, undoing that rollback"
					: "asked for with --only wal-detach");
		snprintf(pr->gives_up, sizeof pr->gives_up,
			 "the WAL's %u commits, which SQLite applies today (the undo file keeps them)",
			 model_ncommits(m));
	}
	rp_change(pr, RP_WAL, RP_CH_REMOVE, 0, m->files.wal.size, "the WAL (%u frames)", m->wal.nframes);
	if (m->has_shm)
		rp_change(pr, RP_SHM, RP_CH_REMOVE, 0, m->files.shm.size, "the wal-index");
	return 1;
}

void act_waldetach_build(struct rp_plan *p, const struct rp_proposal *pr)
{
	const struct model *m = p->m;
	p->fout[RP_WAL].mode = RP_FM_DELETE;
	p->fout[RP_WAL].by = pr->act->name;
	if (m->has_shm) {
		p->fout[RP_SHM].mode = RP_FM_DELETE;
		p->fout[RP_SHM].by = pr->act->name;
	}
	if (model_ncommits(m))
		p->exp.same_as_before = false;
	p->exp.upto_frame = 0;
	p->exp.npages = model_npages(m, 0);
}
