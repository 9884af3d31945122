/*
 * act_headersize.c — header-size: make page 1's size field and the file's
 * length agree with the pages the database really uses.
 *
 * SQLite trusts the in-header database size (offset 28) only when it is not
 * zero and the change counter (24) equals version-valid-for (92); a trusted
 * size larger than the file is corruption, a trusted size smaller than the
 * file hides the pages past it (lockBtree).  Which of the two is wrong, the
 * field or the file, `waldo inspect` has already judged by walking every
 * b-tree and the freelist (inspect/checks.c): DB_SIZE_FIELD_STALE means the
 * field is wrong (nothing points past the file, or something points past
 * the field), DB_TRAILING_BYTES means the file holds pages or bytes past
 * what is used.  So:
 *   - DB_SIZE_FIELD_STALE: write the file's whole-page count N into offset
 *     28 and the change counter into 92, so that SQLite trusts it;
 *   - DB_TRAILING_BYTES: cut the file after the last page of the database
 *     (the trusted size, or the whole pages when only a partial page trails).
 * Only when the database file alone is the state (no WAL commit supplies
 * page 1 and the size) and no hot journal is about to roll the file back.
 */
#include "actions.h"

#include <stdio.h>
#include <string.h>

int act_headersize_plan(struct rp_plan *p, struct rp_proposal *pr)
{
	const struct model *m = p->m;
	if (!m->db_ok || !m->page_size || m->page_size < DBH_SIZE || model_ncommits(m) > 0 || p->hot_journal)
		return 0;
	bool stale = false, trailing = rp_has_code(p, WD_DB_TRAILING_BYTES);
	for (size_t i = 0; i < m->diags.n; i++)
		if (m->diags.v[i].code == WD_DB_SIZE_FIELD_STALE && m->diags.v[i].file == WD_F_DB)
			stale = true;
	if ((!stale && !trailing) || rp_has_code(p, WD_DB_FILE_TRUNCATED))
		return 0;
	uint32_t ps = m->page_size;
	uint64_t fsize = m->files.db.size, whole = fsize / ps;
	if (whole == 0 || whole > UINT32_MAX)
		return 0;
	const struct db_header *h = &m->dbh;
	uint32_t n;
	if (stale)
		n = (uint32_t)whole;
	else if (h->size_valid && h->db_size < whole)
		n = h->db_size;
	else
		n = (uint32_t)whole;
	bool write_size = h->db_size != n || !h->size_valid;
	bool write_vvf = h->change_counter != h->version_valid_for;
	uint64_t cut = (uint64_t)n * ps;
	if (!write_size && !write_vvf && cut >= fsize)
		return 0;
	enum wd_code codes[] = { WD_DB_SIZE_FIELD_STALE, WD_DB_TRAILING_BYTES };
	rp_codes(pr, p, codes, 2);
	pr->a[0] = n;
	pr->a[1] = cut;
	pr->a[2] = write_size;
	pr->a[3] = write_vvf;
	if (write_size || write_vvf)
		snprintf(pr->summary, sizeof pr->summary, "set the in-header size to %u pages%s%s", n,
			 write_vvf ? " and version-valid-for to the change counter" : "",
			 cut < fsize ? ", and cut the file after it" : "");
	else
		snprintf(pr->summary, sizeof pr->summary, "cut the file after page %u, the database's last", n);
	if (stale && !h->size_valid)
		snprintf(pr->why, sizeof pr->why,
			 "SQLite ignores the field (%u: change counter %u != version-valid-for %u) and reads the "
			 "file's %llu pages; the field then says so, and SQLite trusts it", h->db_size,
			 h->change_counter, h->version_valid_for, (unsigned long long)whole);
	else if (stale && h->db_size < whole)
		snprintf(pr->why, sizeof pr->why,
			 "the b-trees or the freelist use pages past the field's %u, and the file holds %llu: the "
			 "field is too small, and SQLite reads no page past it", h->db_size,
			 (unsigned long long)whole);
	else if (stale)
		snprintf(pr->why, sizeof pr->why,
			 "the field says %u pages, the file holds %llu, and nothing uses a page past them: the field "
			 "is too large (SQLite reports corruption)", h->db_size, (unsigned long long)whole);
	else
		snprintf(pr->why, sizeof pr->why,
			 "nothing uses the bytes past page %u: SQLite %s", n,
			 fsize % ps ? "reads a partial page as zeros past its end" : "ignores pages past the size field");
	if (write_size)
		rp_change(pr, RP_DB, RP_CH_PATCH, 28, 4, "database size in pages %u -> %u", h->db_size, n);
	if (write_vvf)
		rp_change(pr, RP_DB, RP_CH_PATCH, 92, 4, "version-valid-for %u -> %u (the change counter)",
			  h->version_valid_for, h->change_counter);
	if (cut < fsize) {
		if (whole > n)
			rp_change(pr, RP_DB, RP_CH_CUT, cut, fsize - cut, "pages %u..%llu%s", n + 1,
				  (unsigned long long)whole, fsize % ps ? " and a partial page" : "");
		else
			rp_change(pr, RP_DB, RP_CH_CUT, cut, fsize - cut, "a partial page of %llu bytes",
				  (unsigned long long)(fsize % ps));
		snprintf(pr->gives_up, sizeof pr->gives_up,
			 "%llu bytes past page %u that nothing uses (the undo file keeps them)",
			 (unsigned long long)(fsize - cut), n);
	}
	return 1;
}

void act_headersize_build(struct rp_plan *p, const struct rp_proposal *pr)
{
	const struct model *m = p->m;
	struct rp_fout *f = &p->fout[RP_DB];
	if (f->mode == RP_FM_KEEP) {
		f->mode = RP_FM_EDIT;
		f->size = m->files.db.size;
	}
	f->by = pr->act->name;
	uint32_t n = (uint32_t)pr->a[0];
	if (pr->a[1] < f->size)
		f->size = pr->a[1];
	if (pr->a[2]) {
		rp_patch_u32(f->patch, &f->npatch, 28, n);
		rp_patch_u32(p->exp.p1_db, &p->exp.np1_db, 28, n);
	}
	if (pr->a[3]) {
		rp_patch_u32(f->patch, &f->npatch, 92, m->dbh.change_counter);
		rp_patch_u32(p->exp.p1_db, &p->exp.np1_db, 92, m->dbh.change_counter);
	}
	if (p->exp.npages != n || pr->a[2] || pr->a[3])
		p->exp.same_as_before = false;
	p->exp.npages = n;
}
