/* walsynth.c — the synthetic WAL; see walsynth.h. */
#include "walsynth.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "../formats/bytes.h"
#include "../formats/dbheader.h"

void walsynth_ids(const struct model *m, const struct pageset *set, uint32_t *ckpt_seq, uint32_t *salt1,
		  uint32_t *salt2)
{
	if (set->info.flags & PAGESET_F_WAL_IDS) {
		*ckpt_seq = set->info.ckpt_seq;
		*salt1 = set->info.salt1;
		*salt2 = set->info.salt2;
		return;
	}
	/*
	 * As walRestartHdr does: the next checkpoint sequence, salt-1 one more
	 * than the old WAL's, so that no frame of the old WAL can pass for one of
	 * the new; salt-2 from the set's page hashes (deterministic: the same set
	 * makes the same WAL, so a re-run writes identical bytes).
	 */
	const struct wal_header *h = &m->wal.hdr;
	bool old = m->has_wal && m->files.wal.size >= WAL_HDR_SIZE && h->magic_ok;
	*ckpt_seq = old ? h->ckpt_seq + 1 : 0;
	uint8_t d[RIO_SHA];
	rio_sha256(set->digest, (size_t)set->n * RIO_SHA, d);
	*salt1 = old ? h->salt1 + 1 : rd_be32(d + 4);
	*salt2 = rd_be32(d);
}

/* Page 1 when the set has none: the database file's, sized to the set. */
static void page1_synth(const struct rp_plan *p, uint8_t *buf)
{
	const struct model *m = p->m;
	memcpy(buf, model_db_page(m, 1), m->page_size);
	wr_be32(buf + 28, p->set.info.db_pages);
	memcpy(buf + 92, buf + 24, 4);
}

/* The synthetic WAL: header, then one frame per page, the last one a commit. */
static int gen_wal(struct rp_plan *p, struct rp_sink *s, char *err, size_t errlen)
{
	const struct synth *sy = &p->synth;
	uint32_t ps = p->set.info.page_size;
	uint8_t h[WAL_HDR_SIZE];
	wr_be32(h, WAL_MAGIC | (uint32_t)sy->big);
	wr_be32(h + 4, WAL_VERSION);
	wr_be32(h + 8, ps);
	wr_be32(h + 12, sy->ckpt_seq);
	wr_be32(h + 16, sy->salt1);
	wr_be32(h + 20, sy->salt2);
	wal_header_seal(h);
	rp_sink_write(s, h, sizeof h);
	uint32_t t[2] = { rd_be32(h + 24), rd_be32(h + 28) };
	uint8_t *page = malloc(ps);
	if (!page) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint32_t nwritten = 0;
	int rc = pageset_rewind(&p->set, err, errlen);
	bool page1 = sy->page1_from_db;
	while (!rc) {
		uint32_t pgno = 1;
		if (page1) {
			page1_synth(p, page);
			page1 = false;
		} else {
			int k = pageset_next(&p->set, page, &pgno, err, errlen);
			if (k < 0)
				rc = -1;
			if (k <= 0)
				break;
		}
		nwritten++;
		uint8_t fh[WAL_FRAME_HDR_SIZE];
		wr_be32(fh, pgno);
		wr_be32(fh + 4, nwritten == sy->nframes ? p->set.info.db_pages : 0);
		wr_be32(fh + 8, sy->salt1);
		wr_be32(fh + 12, sy->salt2);
		wal_checksum(sy->big, fh, 8, t);
		wal_checksum(sy->big, page, ps, t);
		wr_be32(fh + 16, t[0]);
		wr_be32(fh + 20, t[1]);
		rp_sink_write(s, fh, sizeof fh);
		rp_sink_write(s, page, ps);
	}
	free(page);
	if (!rc && nwritten != sy->nframes) {
		snprintf(err, errlen, "the page set gave %u pages, %u expected", nwritten, sy->nframes);
		rc = -1;
	}
	if (!rc && s->bad) {
		snprintf(err, errlen, "cannot write the synthetic WAL");
		rc = -1;
	}
	return rc ? -1 : 0;
}

/* The database file as SQLite's checkpoint of that WAL will leave it (a prediction). */
static int gen_db(struct rp_plan *p, struct rp_sink *s, char *err, size_t errlen)
{
	const struct model *m = p->m;
	uint32_t ps = p->set.info.page_size, npages = p->set.info.db_pages;
	uint8_t *page = malloc(ps), *setpage = malloc(ps);
	if (!page || !setpage) {
		free(page);
		free(setpage);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = pageset_rewind(&p->set, err, errlen);
	uint32_t next = 0;                  /* page number of setpage, 0: none pending */
	for (uint32_t pg = 1; pg <= npages && !rc && !s->bad; pg++) {
		if (next < pg) {
			int k = pageset_next(&p->set, setpage, &next, err, errlen);
			if (k < 0)
				rc = -1;
			else if (k == 0)
				next = UINT32_MAX;
		}
		const uint8_t *src;
		if (next == pg) {
			src = setpage;
		} else if (pg == 1 && p->synth.page1_from_db) {
			page1_synth(p, page);
			src = page;
		} else {
			src = model_db_page(m, pg);
			if (!src) {
				memset(page, 0, ps);   /* only the lock-byte page can be held by no one */
				src = page;
			}
		}
		rp_sink_write(s, src, ps);
	}
	free(page);
	free(setpage);
	if (!rc && s->bad) {
		snprintf(err, errlen, "cannot predict the database file");
		rc = -1;
	}
	return rc ? -1 : 0;
}

/* Is every committed frame's page already in the database file (a finished checkpoint)? */
static uint32_t pages_not_checkpointed(const struct model *m)
{
	uint32_t mx = model_commit_frame(m, MODEL_LAST), n = 0;
	for (uint32_t pg = 1; pg <= m->idx_maxpg; pg++) {
		uint32_t f = model_find_frame(m, pg, 0, mx);
		if (!f)
			continue;
		const uint8_t *db = model_db_page(m, pg);
		if (!db || memcmp(db, model_frame_page(m, f), m->page_size))
			n++;
	}
	return n;
}

int act_walsynth_plan(struct rp_plan *p, struct rp_proposal *pr)
{
	const struct model *m = p->m;
	if (!p->have_set)
		return 0;
	struct pageset *set = &p->set;
	pr->requested = true;
	snprintf(pr->summary, sizeof pr->summary,
		 "write a WAL of the %u pages of the page set '%s' (database of %u pages)%s", set->n, set->path,
		 set->info.db_pages, p->o->apply ? ", then let SQLite checkpoint it" : "");
	const char *why_not = NULL;
	char buf[300];
	uint32_t nc;
	if (!m->db_ok)
		why_not = "the database header is not usable";
	else if (set->info.page_size != m->page_size)
		why_not = "the page set's page size is not the database's";
	else if (p->hot_journal)
		why_not = "a hot journal exists: SQLite must roll it back first";
	else if (model_ncommits(m) && (nc = pages_not_checkpointed(m)) > 0 && !p->o->replace_wal) {
		snprintf(buf, sizeof buf, "the WAL holds %u pages that are not in the database file: replacing "
			 "it would lose them (checkpoint first)", nc);
		why_not = buf;
	}
	for (uint64_t pg = m->db_pages + 1; !why_not && pg <= set->info.db_pages; pg++)
		if (pg != dbh_lock_byte_page(m->page_size) && pageset_find(set, (uint32_t)pg) < 0) {
			snprintf(buf, sizeof buf, "page %llu is past the database file and not in the set: the "
				 "database would have a hole", (unsigned long long)pg);
			why_not = buf;
		}
	char err[512];
	if (!why_not && pageset_verify(set, err, sizeof err)) {
		snprintf(buf, sizeof buf, "%.290s", err);
		why_not = buf;
	}
	if (why_not) {
		pr->status = RP_ST_REFUSED;
		snprintf(pr->note, sizeof pr->note, "%.250s", why_not);
		return 1;
	}
	/* The set replaces the pages these findings are about; verification judges the new state. */
	static const enum wd_code replaced[] = {
		WD_BTREE_PAGE_INVALID, WD_OVERFLOW_CHAIN_INVALID, WD_FREELIST_INVALID, WD_FREELIST_COUNT_MISMATCH,
		WD_PTRMAP_INVALID, WD_PAGE_UNUSED, WD_SQLITE_INTEGRITY_FAILED, WD_DB_SIZE_FIELD_STALE,
	};
	rp_codes(pr, p, replaced, (int)(sizeof replaced / sizeof *replaced));
	struct synth *sy = &p->synth;
	memset(sy, 0, sizeof *sy);
	walsynth_ids(m, set, &sy->ckpt_seq, &sy->salt1, &sy->salt2);
	sy->big = host_is_be();
	sy->page1_from_db = pageset_find(set, 1) < 0;
	sy->nframes = set->n + (sy->page1_from_db ? 1 : 0);
	snprintf(pr->why, sizeof pr->why,
		 "SQLite applies a WAL's frames only with the commit frame that ends them, and its checkpoint "
		 "sizes the file to %u pages: the pages go in all at once or not at all%s", set->info.db_pages,
		 sy->page1_from_db ? "; page 1 (not in the set) is the file's with its size field set" : "");
	uint64_t wsize = WAL_HDR_SIZE + (uint64_t)sy->nframes * (set->info.page_size + WAL_FRAME_HDR_SIZE);
	rp_change(pr, RP_WAL, m->has_wal ? RP_CH_REWRITE : RP_CH_CREATE, 0, wsize,
		  "a WAL of %u frames, salts %08x %08x, checkpoint sequence %u, commit size %u", sy->nframes,
		  sy->salt1, sy->salt2, sy->ckpt_seq, set->info.db_pages);
	if (m->has_shm)
		rp_change(pr, RP_SHM, RP_CH_REMOVE, 0, m->files.shm.size, "the wal-index of the old WAL");
	if (p->o->apply) {
		uint32_t ndiff = 0;
		for (uint32_t i = 0; i < set->n; i++) {
			const uint8_t *cur = model_db_page(m, set->pgno[i]);
			uint8_t d[RIO_SHA];
			if (!cur || rio_sha256(cur, m->page_size, d) || memcmp(d, set->digest[i], RIO_SHA))
				ndiff++;
		}
		rp_change(pr, RP_DB, RP_CH_REWRITE, 0, (uint64_t)set->info.db_pages * m->page_size,
			  "SQLite's checkpoint writes %u changed pages and sizes the file to %u pages (%llu bytes)",
			  ndiff, set->info.db_pages, (unsigned long long)set->info.db_pages * m->page_size);
	}
	uint32_t lost = model_ncommits(m) ? pages_not_checkpointed(m) : 0;
	if (m->has_wal && m->files.wal.size && lost)
		snprintf(pr->gives_up, sizeof pr->gives_up,
			 "the old WAL (%u frames, %u commits) with %u committed pages that are not in the database "
			 "file: the page set replaces them (the undo file keeps it)", m->wal.nframes,
			 model_ncommits(m), lost);
	else if (m->has_wal && m->files.wal.size)
		snprintf(pr->gives_up, sizeof pr->gives_up,
			 "the old WAL (%u frames; every committed page of it is already in the database file; "
			 "the undo file keeps it)", m->wal.nframes);
	return 1;
}

void act_walsynth_build(struct rp_plan *p, const struct rp_proposal *pr)
{
	struct rp_fout *w = &p->fout[RP_WAL];
	memset(w, 0, sizeof *w);
	w->mode = RP_FM_GEN;
	w->gen = gen_wal;
	w->by = pr->act->name;
	if (p->m->has_shm) {
		p->fout[RP_SHM].mode = RP_FM_DELETE;
		p->fout[RP_SHM].by = pr->act->name;
	}
	if (p->o->apply) {
		struct rp_fout *d = &p->fout[RP_DB];
		memset(d, 0, sizeof *d);
		d->mode = RP_FM_GEN;
		d->gen = gen_db;
		d->by_sqlite = true;
		d->by = pr->act->name;
	}
	struct rp_expect *e = &p->exp;
	e->upto_frame = 0;
	e->npages = p->set.info.db_pages;
	e->overlay_set = true;
	e->same_as_before = false;
	if (p->synth.page1_from_db) {
		rp_patch_u32(e->p1_db, &e->np1_db, 28, p->set.info.db_pages);
		rp_patch_u32(e->p1_db, &e->np1_db, 92, rd_be32(model_db_page(p->m, 1) + 24));
	}
}

int walsynth_apply(const char *db_path, char *msg, size_t n)
{
	sqlite3 *db = NULL;
	msg[0] = '\0';
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(msg, n, "cannot open '%s': %s", db_path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		int busy = sqlite3_column_int(st, 0), log = sqlite3_column_int(st, 1),
		    done = sqlite3_column_int(st, 2);
		if (busy)
			snprintf(msg, n, "the checkpoint of '%s' was blocked by another connection", db_path);
		else if (log != done)
			snprintf(msg, n, "the checkpoint of '%s' copied %d of %d frames", db_path, done, log);
		else
			rc = 0;
	} else {
		snprintf(msg, n, "checkpoint of '%s' failed: %s", db_path, sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	if (sqlite3_close(db) != SQLITE_OK && !rc) {
		snprintf(msg, n, "cannot close '%s'", db_path);
		rc = -1;
	}
	return rc;
}
