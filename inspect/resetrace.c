/*
 * resetrace.c — the WAL-reset race from the files it leaves; see
 * resetrace.h and docs/cookbook.md (WAL_RESET_RACE).
 *
 * Why each rule can be trusted, in SQLite's terms:
 *
 * counters.  nBackfill only ever grows within one WAL generation, up to
 * mxSafeFrame <= mxFrame (walCheckpoint), and walRestartHdr sets it back to
 * 0 together with mxFrame.  A -shm whose nBackfill is past its own mxFrame
 * was therefore written by a checkpointer that took mxSafeFrame from a
 * header of the generation before: the race.  That checkpointer writes
 * nBackfillAttempted = mxSafeFrame before copying and nBackfill =
 * mxSafeFrame after, so the two are equal; aReadMark[1] usually is too (it
 * is set to mxSafeFrame when READ(1) is free), until the next reader takes
 * slot 1.  A hand-edited nBackfill rarely matches nBackfillAttempted, which
 * is what keeps the corpus case mismatch-backfill out of this rule.
 *
 * hidden-frames.  Once the writer has committed past the stale nBackfill,
 * the counters look sound again.  What remains: the pages whose newest
 * committed frame lies at or below nBackfill are not in the database file
 * (the frames were written after the checkpoint that "copied" them).
 * check_backfill reports that fact as SHM_BACKFILL_INVALID; it has other
 * causes too (a database file rolled back or replaced behind its WAL).  The
 * race leaves a pattern those do not: the checkpointer did copy the new
 * generation's frames 1..M that existed when it ran, so the file holds every
 * such page up to some frame K and none after it.  A rollback or a file
 * restored from elsewhere leaves no page matching; a copy taken while a
 * checkpoint ran leaves a cut in page-number order (walIterator copies in
 * page order), not in frame order.  Independently, a real checkpoint only
 * stops at mxFrame or at a read mark, both commit frames, so an nBackfill
 * that ends no transaction is the race's too.  Pages the file does not
 * reach at all (the checkpointer skips pages past its stale nPage and may
 * truncate the file to it) are listed but left out of the ordering test.
 *
 * wrapped.  A writer restarts the WAL only when nBackfill = mxFrame, that
 * is after every page's newest frame was copied (walRestartLog).  So in a
 * healthy history, the last committed version of a page in the previous
 * generation is in the database file unless the current generation wrote
 * that page again.  Frames of the previous generation survive behind the
 * new one (salt-1 exactly one lower, walRestartHdr); among them, a page's
 * newest committed frame that the file does not hold, whose checksum
 * continues the frame before it, and that no current frame rewrote, is a
 * version no reader ever saw and no checkpoint copied.
 */
#include "resetrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "materialize.h"
#include "../formats/bytes.h"

#define OFF_NBACKFILL 96     /* WalCkptInfo.nBackfill in the -shm */

const char *resetrace_rule_name(enum rr_rule rule)
{
	switch (rule) {
	case RR_COUNTERS: return "counters";
	case RR_HIDDEN: return "hidden-frames";
	case RR_WRAPPED: return "wrapped";
	}
	return "?";
}

static int rule_index(enum rr_rule rule)
{
	return rule == RR_COUNTERS ? 0 : rule == RR_HIDDEN ? 1 : 2;
}

/* A -shm header SQLite would use as it is (walIndexTryHdr + version check), on this host. */
static bool shm_intact(const struct model *m)
{
	const struct shm_info *s = &m->shm;
	return m->has_shm && s->has_header && s->order_known && !s->foreign_endian && s->hdr_ok &&
	       s->hdr[0].version == SHM_VERSION;
}

/* The -shm describes the WAL on disk: same salts, page size and last commit frame. */
static bool shm_matches(const struct model *m)
{
	const struct shm_hdr *h = &m->shm.hdr[0];
	const struct wal_walk *w = &m->wal;
	return m->has_wal && w->hdr.valid && h->salt1 == w->hdr.salt1 && h->salt2 == w->hdr.salt2 &&
	       h->page_size == w->hdr.page_size && h->mx_frame == w->mx_frame;
}

static int add_lost(struct resetrace *r, uint32_t *cap, uint32_t pgno, uint32_t frame, enum rr_rule rule,
		    bool beyond_eof)
{
	if (r->nlost == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 64;
		struct rr_lost *v = realloc(r->lost, (size_t)ncap * sizeof *v);
		if (!v)
			return -1;
		r->lost = v;
		*cap = ncap;
	}
	r->lost[r->nlost++] = (struct rr_lost){ pgno, frame, (uint8_t)rule, beyond_eof };
	r->nlost_rule[rule_index(rule)]++;
	return 0;
}

/* Does the database file hold exactly these page bytes? */
static bool file_holds(const struct model *m, uint32_t pgno, const uint8_t *page, bool *beyond_eof)
{
	const uint8_t *dbp = model_db_page(m, pgno);
	*beyond_eof = dbp == NULL;
	return dbp && page && !memcmp(dbp, page, m->page_size);
}

/*
 * counters and hidden-frames: the current generation against nBackfill.
 * Candidates are collected first and become lost versions only when a rule
 * fires.
 */
static int scan_current(const struct model *m, struct resetrace *r, uint32_t *cap)
{
	const struct wal_walk *w = &m->wal;
	const uint32_t nb = r->n_backfill, mx = w->mx_frame;
	const uint32_t lim = nb < mx ? nb : mx;
	if (nb == 0)
		return 0;
	bool counters = nb > mx && r->n_attempted == nb;
	uint32_t first = r->nlost, min_diff = 0, npages = model_npages(m, MODEL_LAST);
	for (uint32_t p = 1; lim && p <= m->idx_maxpg && p <= npages; p++) {
		uint32_t f = model_find_frame(m, p, 0, mx);
		if (!f || f > lim)
			continue;                      /* no frame, or its newest is visible */
		bool eof;
		if (file_holds(m, p, model_frame_page(m, f), &eof)) {
			r->nmatch++;
			if (f > r->match_last)
				r->match_last = f;
			continue;
		}
		if (!eof && (!min_diff || f < min_diff))
			min_diff = f;
		if (add_lost(r, cap, p, f, counters ? RR_COUNTERS : RR_HIDDEN, eof))
			return -1;
	}
	uint32_t ncand = r->nlost - first;
	bool fire = counters;
	if (!counters && nb <= mx && ncand) {
		r->backfill_mid_txn = nb <= w->nframes && w->frames && w->frames[nb - 1].commit_size == 0;
		bool whole_pages = m->files.db.size % m->page_size == 0;
		bool cut = r->nmatch > 0 && (min_diff ? r->match_last < min_diff : whole_pages);
		if (cut)
			r->cut = r->match_last;
		fire = cut || r->backfill_mid_txn;
	}
	if (fire) {
		r->rules |= counters ? RR_COUNTERS : RR_HIDDEN;
	} else {
		/* Not the race's shape: SHM_BACKFILL_INVALID alone states the fact. */
		r->nlost_rule[rule_index(RR_HIDDEN)] -= ncand;
		r->nlost = first;
	}
	return 0;
}

/* Frame flags for the previous generation. */
enum { PF_CAND = 1, PF_COMMITTED = 2 };

/* Does frame f's stored checksum continue frame f-1's (walDecodeFrame's test)? */
static bool frame_continues(const struct model *m, uint32_t f)
{
	const struct wal_walk *w = &m->wal;
	uint32_t s[2] = { w->frames[f - 2].cksum1, w->frames[f - 2].cksum2 };
	wal_frame_checksum(w->hdr.big_endian_cksum, m->files.wal.data + wal_frame_offset(w->page_size, f),
			   w->page_size, s);
	return s[0] == w->frames[f - 1].cksum1 && s[1] == w->frames[f - 1].cksum2;
}

/* wrapped: the previous generation's last versions against the file. */
static int scan_previous(const struct model *m, struct resetrace *r, uint32_t *cap)
{
	const struct wal_walk *w = &m->wal;
	if (!w->hdr.valid || !w->frames || w->nframes < 2 || w->nvalid >= w->nframes)
		return 0;
	const uint32_t s1 = w->hdr.salt1 - 1;   /* walRestartHdr: salt-1 + 1 per restart */
	uint32_t s2 = 0, f;
	for (f = w->nvalid + 1; f <= w->nframes; f++)
		if (w->frames[f - 1].salt1 == s1 && w->frames[f - 1].pgno) {
			s2 = w->frames[f - 1].salt2;
			break;
		}
	if (f > w->nframes)
		return 0;
	r->prev_salt1 = s1;
	r->prev_salt2 = s2;
	uint8_t *fl = calloc(w->nframes + 1, 1);
	if (!fl)
		return -1;
	uint32_t prev_size = 0;
	for (f = w->nvalid + 1; f <= w->nframes; f++) {
		const struct wal_frame *x = &w->frames[f - 1];
		if (x->salt1 == s1 && x->salt2 == s2 && x->pgno)
			fl[f] = PF_CAND;
	}
	/* A WAL whose file ends inside a frame of that generation was cut: its
	 * newest frames may be missing, so "last version" means nothing. */
	if (w->partial_bytes && (fl[w->nframes] & PF_CAND)) {
		free(fl);
		return 0;
	}
	bool commit_ahead = false;
	for (f = w->nframes; f > w->nvalid; f--) {
		if (!(fl[f] & PF_CAND)) {
			commit_ahead = false;
			continue;
		}
		if (w->frames[f - 1].commit_size) {
			commit_ahead = true;
			if (!prev_size)
				prev_size = w->frames[f - 1].commit_size;
		}
		if (commit_ahead) {
			fl[f] |= PF_COMMITTED;
			r->prev_frames++;
		}
	}
	uint32_t npages = model_npages(m, MODEL_LAST);
	int rc = 0;
	for (uint32_t p = 1; p <= m->idx_maxpg && p <= npages && p <= prev_size && !rc; p++) {
		uint32_t n, last = 0;
		const uint32_t *v = model_page_frames(m, p, &n);
		bool rewritten = false;
		for (uint32_t i = 0; i < n && !rewritten; i++) {
			const struct wal_frame *x = &w->frames[v[i] - 1];
			rewritten = x->salt1 == w->hdr.salt1 && x->salt2 == w->hdr.salt2;
			if ((fl[v[i]] & PF_COMMITTED) && v[i] > last)
				last = v[i];
		}
		bool eof;
		if (rewritten || !last || file_holds(m, p, model_frame_page(m, last), &eof))
			continue;
		/* Verified only where it matters: a checksum pass over every stale
		 * frame would cost as much as the WAL walk itself. */
		if (!(last > 1 && (fl[last - 1] & PF_CAND) && frame_continues(m, last)))
			r->nunverified++;
		else
			rc = add_lost(r, cap, p, last, RR_WRAPPED, eof);
	}
	free(fl);
	if (r->nlost_rule[rule_index(RR_WRAPPED)])
		r->rules |= RR_WRAPPED;
	return rc;
}

static int cmp_lost(const void *a, const void *b)
{
	const struct rr_lost *x = a, *y = b;
	return x->pgno < y->pgno ? -1 : x->pgno > y->pgno;
}

int resetrace_analyze(const struct model *m, struct resetrace *r)
{
	memset(r, 0, sizeof *r);
	r->shm_intact = shm_intact(m);
	r->shm_matches = r->shm_intact && shm_matches(m);
	r->pairs = m->wal_usable && m->db_ok && m->page_size && m->has_wal;
	if (r->shm_intact) {
		r->mx_frame = m->shm.hdr[0].mx_frame;
		r->n_backfill = m->shm.n_backfill;
		r->n_attempted = m->shm.n_backfill_attempted;
		r->read_mark1 = m->shm.read_mark[1];
	}
	if (!r->pairs)
		return 0;
	uint32_t cap = 0;
	if ((r->shm_matches && scan_current(m, r, &cap)) || scan_previous(m, r, &cap)) {
		resetrace_free(r);
		return -1;
	}
	if (r->nlost > 1)
		qsort(r->lost, r->nlost, sizeof *r->lost, cmp_lost);
	return 0;
}

void resetrace_free(struct resetrace *r)
{
	free(r->lost);
	memset(r, 0, sizeof *r);
}

static const char *plural(uint32_t n)
{
	return n == 1 ? "" : "s";
}

static uint32_t first_lost_frame(const struct resetrace *r, enum rr_rule rule)
{
	uint32_t f = 0;
	for (uint32_t i = 0; i < r->nlost; i++)
		if (r->lost[i].rule == rule && (!f || r->lost[i].frame < f))
			f = r->lost[i].frame;
	return f;
}

void resetrace_check(struct model *m)
{
	struct resetrace r;
	if (resetrace_analyze(m, &r) || !r.rules) {
		resetrace_free(&r);
		return;
	}
	struct wd_diags *d = &m->diags;
	if (r.rules & RR_COUNTERS)
		wd_add(d, WD_WAL_RESET_RACE, WD_F_SHM, OFF_NBACKFILL, WD_NONE, WD_NONE,
		       "rule counters: nBackfill %u = nBackfillAttempted%s > mxFrame %u (intact -shm, salts match the "
		       "WAL): %u page version%s lost so far, frames %u-%u of later commits hidden",
		       r.n_backfill, r.read_mark1 == r.n_backfill ? " = aReadMark[1]" : "", r.mx_frame,
		       r.nlost_rule[0], plural(r.nlost_rule[0]), r.mx_frame + 1, r.n_backfill);
	if (r.rules & RR_HIDDEN) {
		char why[96];
		if (r.cut && r.backfill_mid_txn)
			snprintf(why, sizeof why, "every page up to frame %u did, and frame %u ends no transaction",
				 r.cut, r.n_backfill);
		else if (r.cut)
			snprintf(why, sizeof why, "every page up to frame %u did", r.cut);
		else
			snprintf(why, sizeof why, "frame %u ends no transaction", r.n_backfill);
		wd_add(d, WD_WAL_RESET_RACE, WD_F_SHM, OFF_NBACKFILL, WD_NONE, WD_NONE,
		       "rule hidden-frames: %u page%s' newest frames, at or below nBackfill %u, never reached the file; "
		       "%s (intact -shm, salts match)", r.nlost_rule[1], plural(r.nlost_rule[1]), r.n_backfill, why);
	}
	if (r.rules & RR_WRAPPED) {
		uint32_t f = first_lost_frame(&r, RR_WRAPPED);
		wd_add(d, WD_WAL_RESET_RACE, WD_F_WAL, (int64_t)wal_frame_offset(m->wal.page_size, f), f, WD_NONE,
		       "rule wrapped: %u verified committed frame%s of the previous WAL generation (salt-1 %08x) hold "
		       "the last version of pages the file never got and no later frame rewrote%s",
		       r.nlost_rule[2], plural(r.nlost_rule[2]), r.prev_salt1,
		       r.nunverified ? "; more cannot be verified" : "");
	}
	uint32_t shown = r.nlost < RR_LIST_MAX ? r.nlost : RR_LIST_MAX;
	for (uint32_t i = 0; i < shown; i++) {
		const struct rr_lost *l = &r.lost[i];
		int64_t off = (int64_t)wal_frame_offset(m->wal.page_size, l->frame) + WAL_FRAME_HDR_SIZE;
		if (l->rule == RR_WRAPPED)
			wd_add(d, WD_WAL_RESET_RACE, WD_F_WAL, off, l->frame, l->pgno,
			       "page %u: frame %u of the previous generation holds a version the database file never "
			       "got%s (rule wrapped)", l->pgno, l->frame, l->beyond_eof ? " (it ends before the page)" : "");
		else
			wd_add(d, WD_WAL_RESET_RACE, WD_F_WAL, off, l->frame, l->pgno,
			       "page %u: readers skip its newest version, frame %u, and the database file never got it%s "
			       "(rule %s)", l->pgno, l->frame, l->beyond_eof ? ", which ends before it" : "",
			       resetrace_rule_name((enum rr_rule)l->rule));
	}
	if (r.nlost > shown)
		wd_add(d, WD_WAL_RESET_RACE, WD_F_WAL, WD_NONE, WD_NONE, WD_NONE,
		       "%u more lost page versions not listed (`waldo extract --race` includes them all)",
		       r.nlost - shown);
	resetrace_free(&r);
}

const uint8_t *resetrace_page(const struct model *m, const struct resetrace *r, uint32_t pgno,
			      uint32_t *frame)
{
	struct rr_lost key = { .pgno = pgno };
	const struct rr_lost *l = r->nlost ? bsearch(&key, r->lost, r->nlost, sizeof key, cmp_lost) : NULL;
	if (l && l->rule == RR_WRAPPED) {
		if (frame)
			*frame = l->frame;
		return model_frame_page(m, l->frame);
	}
	return model_page(m, MODEL_LAST, pgno, frame);
}

struct rr_src {
	const struct model *m;
	const struct resetrace *r;
};

static const uint8_t *rr_get(void *ctx, uint32_t pgno)
{
	const struct rr_src *s = ctx;
	return resetrace_page(s->m, s->r, pgno, NULL);
}

int resetrace_materialize(const struct model *m, const struct resetrace *r, const char *path,
			  uint32_t *missing, char *err, size_t errlen)
{
	struct rr_src s = { m, r };
	return materialize_pages(m, model_npages(m, MODEL_LAST), rr_get, &s, path, missing, err, errlen);
}
