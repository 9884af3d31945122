/*
 * act_ckptoffline.c — checkpoint-offline: apply the WAL's committed frames
 * to the database file without libsqlite3, leaving a rollback-mode file.
 *
 * For a database SQLite will not open (or must not be let near), this does
 * what a checkpoint does — each page's newest committed frame written into
 * the file, the file sized to the last commit — from waldo's own reading of
 * the WAL (the frames SQLite's recovery would accept, nothing more), and
 * turns the result into a standalone rollback-journal database: page 1 gets
 * read/write versions 1 and a trusted size field (materialize_state), the
 * -wal and -shm go.  It rewrites the whole database file, so it runs only
 * when named: --only checkpoint-offline; and it refuses a WAL that
 * inspect's pairing and lineage rules say is another database's
 * (WAL_FOREIGN), whose frames would overwrite this database's pages.
 */
#include "actions.h"

#include <stdio.h>
#include <string.h>

#include "../formats/bytes.h"
#include "../inspect/materialize.h"

static int gen_path(struct rp_plan *p, const char *path, char *err, size_t errlen)
{
	uint32_t missing;
	return materialize_state(p->m, MODEL_LAST, path, &missing, err, errlen);
}

int act_ckptoffline_plan(struct rp_plan *p, struct rp_proposal *pr)
{
	const struct model *m = p->m;
	if (!(p->o->only & (1u << rp_action_index(pr->act))))
		return 0;
	uint32_t n = model_ncommits(m), npages = model_npages(m, MODEL_LAST);
	if (!m->has_wal || (m->wal_usable && n == 0))
		return 0;            /* no commit to apply: nothing to do */
	snprintf(pr->summary, sizeof pr->summary,
		 "write the WAL's %u commits into the database file and make it a rollback-mode database", n);
	if (!m->db_ok || !m->wal_usable || n == 0)
		pr->status = RP_ST_REFUSED;
	if (pr->status == RP_ST_REFUSED) {
		snprintf(pr->note, sizeof pr->note, "%s",
			 !m->db_ok ? "the database header is not usable"
			 : !m->wal_usable ? "the WAL cannot be read with this database (header or page size)"
					  : "the WAL holds no commit: there is nothing to apply");
		return 1;
	}
	/* Never replay another database's WAL into this one (walrechain stays out for the same reason). */
	for (size_t i = 0; i < m->diags.n; i++) {
		if (m->diags.v[i].code != WD_WAL_FOREIGN)
			continue;
		pr->status = RP_ST_REFUSED;
		snprintf(pr->note, sizeof pr->note, "the WAL is probably another database's (WAL_FOREIGN: %.150s): "
			 "its frames would overwrite this database's pages", m->diags.v[i].msg);
		return 1;
	}
	if (p->hot_journal || p->cr.missing_pages || !model_size_plausible(m, npages)) {
		pr->status = RP_ST_REFUSED;
		snprintf(pr->note, sizeof pr->note, "%s",
			 p->hot_journal ? "a hot journal exists: SQLite must roll it back first"
					: "pages of the last commit are in no file: the result would have holes");
		return 1;
	}
	snprintf(pr->why, sizeof pr->why,
		 "frames 1..%u are the ones SQLite's recovery accepts; each page's newest one is what a checkpoint "
		 "writes", model_commit_frame(m, MODEL_LAST));
	uint32_t ps = m->page_size, ndiff = 0, first = 0;
	for (uint32_t pg = 1; pg <= npages; pg++) {
		const uint8_t *a = model_page(m, MODEL_LAST, pg, NULL), *b = model_db_page(m, pg);
		if (pg == 1 || !a || !b || memcmp(a, b, ps)) {
			if (!ndiff)
				first = pg;
			ndiff++;
		}
	}
	rp_change(pr, RP_DB, RP_CH_REWRITE, (uint64_t)(first - 1) * ps, (uint64_t)ndiff * ps,
		  "%u of %u pages written from the WAL (from page %u), page 1 set to rollback mode; the file "
		  "becomes %llu bytes", ndiff, npages, first, (unsigned long long)npages * ps);
	rp_change(pr, RP_WAL, RP_CH_REMOVE, 0, m->files.wal.size, "the WAL, now in the database file");
	if (m->has_shm)
		rp_change(pr, RP_SHM, RP_CH_REMOVE, 0, m->files.shm.size, "the wal-index");
	uint32_t after = m->wal.nframes - model_commit_frame(m, MODEL_LAST);
	snprintf(pr->gives_up, sizeof pr->gives_up,
		 "the WAL as a history of %u commits%s (the undo file keeps it); WAL mode (re-enable with "
		 "PRAGMA journal_mode=WAL)", n, after ? " and the frames after its last commit" : "");
	return 1;
}

void act_ckptoffline_build(struct rp_plan *p, const struct rp_proposal *pr)
{
	const struct model *m = p->m;
	struct rp_fout *f = &p->fout[RP_DB];
	memset(f, 0, sizeof *f);
	f->mode = RP_FM_GEN;
	f->gen_path = gen_path;
	f->by = pr->act->name;
	p->fout[RP_WAL].mode = RP_FM_DELETE;
	p->fout[RP_WAL].by = pr->act->name;
	if (m->has_shm) {
		p->fout[RP_SHM].mode = RP_FM_DELETE;
		p->fout[RP_SHM].by = pr->act->name;
	}
	/* materialize_state's page 1: versions 1, trusted size. */
	struct rp_expect *e = &p->exp;
	uint8_t one = 1;
	rp_patch_add(e->p1_any, &e->np1_any, 18, &one, 1);
	rp_patch_add(e->p1_any, &e->np1_any, 19, &one, 1);
	rp_patch_u32(e->p1_any, &e->np1_any, 28, e->npages);
	const uint8_t *p1 = model_page(m, MODEL_LAST, 1, NULL);
	if (p1)
		rp_patch_u32(e->p1_any, &e->np1_any, 92, rd_be32(p1 + 24));
	e->zero_missing = true;
	e->same_as_before = false;
}
