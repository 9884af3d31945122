/*
 * act_headerfields.c — header-fields: put back the header fields that have
 * exactly one valid value.
 *
 * lockBtree refuses a database whose maximum embedded payload fraction
 * (offset 21) is not 64, or whose minimum and leaf payload fractions (22,
 * 23) are not 32: "file is not a database".  Those bytes carry no
 * information, so a damaged one can only have held that value: writing it
 * back restores the header exactly.  Other invalid fields (page size,
 * versions, encoding, …) have several possible values and are left alone.
 * Only for page 1 of the database file, when no WAL commit supplies page 1.
 */
#include "actions.h"

#include <stdio.h>
#include <string.h>

static const struct { unsigned off; uint8_t want; const char *name; } fixed[] = {
	{ 21, 64, "maximum embedded payload fraction" },
	{ 22, 32, "minimum embedded payload fraction" },
	{ 23, 32, "leaf payload fraction" },
};

int act_headerfields_plan(struct rp_plan *p, struct rp_proposal *pr)
{
	const struct model *m = p->m;
	if (!m->dbh.magic_ok || !m->page_size || !rp_has_code(p, WD_DB_HEADER_INVALID) || m->files.db.size < DBH_SIZE || p->hot_journal)
		return 0;
	if (model_find_frame(m, 1, 0, model_commit_frame(m, MODEL_LAST)))
		return 0;
	const uint8_t *p1 = m->files.db.data;
	uint32_t mask = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		if (p1[fixed[i].off] != fixed[i].want) {
			mask |= 1u << i;
			rp_change(pr, RP_DB, RP_CH_PATCH, fixed[i].off, 1, "%s %u -> %u", fixed[i].name,
				  p1[fixed[i].off], fixed[i].want);
		}
	if (!mask)
		return 0;
	enum wd_code c = WD_DB_HEADER_INVALID;
	rp_codes(pr, p, &c, 1);
	pr->a[0] = mask;
	snprintf(pr->summary, sizeof pr->summary, "write back the payload fractions of the database header");
	snprintf(pr->why, sizeof pr->why,
		 "SQLite accepts only 64/32/32 at offsets 21..23 (lockBtree) and refuses the file otherwise: "
		 "the damaged byte%s can only have held that", mask & (mask - 1) ? "s" : "");
	return 1;
}

void act_headerfields_build(struct rp_plan *p, const struct rp_proposal *pr)
{
	struct rp_fout *f = &p->fout[RP_DB];
	if (f->mode == RP_FM_KEEP) {
		f->mode = RP_FM_EDIT;
		f->size = p->m->files.db.size;
	}
	f->by = pr->act->name;
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		if (pr->a[0] & (1u << i)) {
			rp_patch_add(f->patch, &f->npatch, fixed[i].off, &fixed[i].want, 1);
			rp_patch_add(p->exp.p1_db, &p->exp.np1_db, fixed[i].off, &fixed[i].want, 1);
		}
	/* SQLite could not read the header before; now it takes the size as lockBtree would. */
	const struct db_header *h = &p->m->dbh;
	if (h->db_size && h->change_counter == h->version_valid_for && !model_ncommits(p->m))
		p->exp.npages = h->db_size;
	p->exp.same_as_before = false;
}
