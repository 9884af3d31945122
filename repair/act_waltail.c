/*
 * act_waltail.c — wal-tail: cut the WAL right after its last valid commit.
 *
 * SQLite's recovery (walIndexRecover) reads frames only while each one
 * passes the salt, page-number and checksum tests, and keeps the state as
 * of the last commit frame among them (mxFrame).  Everything after that
 * frame — the frames of a transaction that never committed, a partial frame
 * a crash left, frames behind a checksum break, frames of an earlier WAL
 * generation — is never read, and the next writer overwrites it.  Cutting
 * the file at frame mxFrame + 1 therefore changes nothing SQLite sees; what
 * is cut stays in the undo file (in place) or in the input (-o).
 */
#include "actions.h"

#include <stdio.h>
#include <string.h>

int act_waltail_plan(struct rp_plan *p, struct rp_proposal *pr)
{
	const struct model *m = p->m;
	const struct wal_walk *w = &m->wal;
	if (!m->has_wal || !w->hdr.valid || !m->wal_usable)
		return 0;
	uint64_t cut = wal_frame_offset(w->page_size, (uint64_t)w->mx_frame + 1);
	if (w->mx_frame == 0)
		cut = WAL_HDR_SIZE;
	uint64_t size = m->files.wal.size;
	if (cut >= size)
		return 0;
	uint32_t nunc = 0, nbreak = 0, nstale = 0, ncommit_lost = 0;
	for (uint32_t f = w->mx_frame + 1; f <= w->nframes; f++) {
		const struct wal_frame *fr = &w->frames[f - 1];
		switch (fr->state) {
		case WAL_FR_UNCOMMITTED:
			nunc++;
			break;
		case WAL_FR_STALE:
			nstale++;
			break;
		default:
			nbreak++;
			if (fr->commit_size)
				ncommit_lost++;
			break;
		}
	}
	/* Frames of an earlier generation alone are normal (and older page
	 * versions for forensics): no reason to cut.  Cut for real damage only. */
	static const enum wd_code codes[] = {
		WD_WAL_UNCOMMITTED_TAIL, WD_WAL_PARTIAL_FRAME, WD_WAL_CHECKSUM_MISMATCH,
	};
	rp_codes(pr, p, codes, 3);
	if (!pr->ncodes && !nbreak)
		return 0;
	if (nstale) {
		enum wd_code c = WD_WAL_STALE_FRAMES;
		rp_codes(pr, p, &c, 1);
	}
	if (nbreak && rp_has_code(p, WD_WAL_FRAME_INVALID)) {
		/* Only the frame-level finding (page 0 in a frame): not a commit's bad size. */
		for (size_t i = 0; i < m->diags.n; i++)
			if (m->diags.v[i].code == WD_WAL_FRAME_INVALID && m->diags.v[i].frame > (int64_t)w->mx_frame) {
				enum wd_code c = WD_WAL_FRAME_INVALID;
				rp_codes(pr, p, &c, 1);
				break;
			}
	}
	snprintf(pr->summary, sizeof pr->summary, "cut the WAL after frame %u, its last valid commit%s",
		 w->mx_frame, w->mx_frame ? "" : " (none: keep only the 32-byte header)");
	snprintf(pr->why, sizeof pr->why,
		 "SQLite reads the WAL only up to its last valid commit (frame %u); it never reads what "
		 "follows, and the next writer overwrites it", w->mx_frame);
	size_t k = 0;
	char *g = pr->gives_up;
	size_t gn = sizeof pr->gives_up;
	if (nunc)
		k += (size_t)snprintf(g + k, gn - k, "%u frame%s of a transaction that never committed", nunc,
				      nunc == 1 ? "" : "s");
	if (nbreak && k < gn)
		k += (size_t)snprintf(g + k, gn - k, "%s%u frame%s from a checksum break on (%u commit frame%s "
				      "SQLite drops; `waldo extract --salvage` reads them)", k ? "; " : "", nbreak,
				      nbreak == 1 ? "" : "s", ncommit_lost, ncommit_lost == 1 ? "" : "s");
	if (nstale && k < gn)
		k += (size_t)snprintf(g + k, gn - k, "%s%u frame%s of an earlier WAL generation", k ? "; " : "",
				      nstale, nstale == 1 ? "" : "s");
	if (w->partial_bytes && k < gn)
		k += (size_t)snprintf(g + k, gn - k, "%s%u bytes of a partial frame", k ? "; " : "", w->partial_bytes);
	if (k < gn)
		snprintf(g + k, gn - k, " (SQLite sees none of it; the undo file keeps it)");
	if (w->nframes > w->mx_frame)
		rp_change(pr, RP_WAL, RP_CH_CUT, cut, size - cut, "frames %u..%u%s", w->mx_frame + 1, w->nframes,
			  w->partial_bytes ? " and a partial frame" : "");
	else
		rp_change(pr, RP_WAL, RP_CH_CUT, cut, size - cut, "a partial frame of %u bytes", w->partial_bytes);
	pr->a[0] = cut;
	return 1;
}

void act_waltail_build(struct rp_plan *p, const struct rp_proposal *pr)
{
	struct rp_fout *f = &p->fout[RP_WAL];
	if (f->mode == RP_FM_KEEP) {
		f->mode = RP_FM_EDIT;
		f->size = p->m->files.wal.size;
	}
	if (f->mode == RP_FM_EDIT && pr->a[0] < f->size)
		f->size = pr->a[0];
	f->by = pr->act->name;
}
