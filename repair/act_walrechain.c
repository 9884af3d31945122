/*
 * act_walrechain.c — wal-rechain: give a WAL whose frames are intact a
 * valid header and checksum chain again.
 *
 * SQLite stops reading a WAL at the first frame whose cumulative checksum
 * does not continue the chain (walIndexRecover / walDecodeFrame), and reads
 * none of it when the header's own checksum fails; it refuses the database
 * when the header's version is not 3007000.  A bit flip in a checksum
 * field, in the header, or a hand-edited version thus hides frames whose
 * content is perfectly good.  Re-chaining writes a correct header (magic,
 * version 3007000, page size, checksum) and recomputes every frame's
 * checksum from it, so that SQLite reads the frames again.
 *
 * Only frames whose content a stored checksum vouches for are re-chained.
 * Frame k is vouched for when
 *   - its stored checksum continues the chain of the frames before it (the
 *     stored chain, or the chain as recomputed through a damaged checksum
 *     field), or
 *   - its own checksum field is what is damaged: the next frame's stored
 *     checksum continues the chain recomputed through frame k.
 * A frame with a flipped bit in its page or in its page number is vouched
 * for by neither (with overwhelming probability), nor is a frame with other
 * salts (an earlier WAL generation: older page versions, which must never be
 * made current), a page number of 0, the lock-byte page or a page no state
 * could hold.  Re-chaining stops before the first such frame and keeps the
 * frames up to the last commit frame before it.
 *
 * Making SQLite read frames it drops today is salvage (--salvage), unless
 * the frames are exactly those SQLite's recovery already accepts and only
 * the header's version keeps SQLite from opening the database: then it is a
 * fix.
 */
#include "actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../formats/bytes.h"
#include "../formats/dbheader.h"

enum { H_MAGIC = 0, H_VERSION = 4, H_PAGE_SIZE = 8, H_CKPT = 12, H_SALT1 = 16, H_SALT2 = 20, H_CK1 = 24, H_CK2 = 28 };
enum { F_PGNO = 0, F_COMMIT = 4, F_SALT1 = 8, F_SALT2 = 12, F_CK1 = 16, F_CK2 = 20 };

static uint32_t whole_frames(const struct model *m, uint32_t ps)
{
	uint64_t size = m->files.wal.size;
	if (size < WAL_HDR_SIZE)
		return 0;
	uint64_t n = (size - WAL_HDR_SIZE) / ((uint64_t)ps + WAL_FRAME_HDR_SIZE);
	return n > WAL_MAX_FRAMES ? WAL_MAX_FRAMES : (uint32_t)n;
}

static const uint8_t *frame_at(const struct model *m, uint32_t ps, uint32_t k)
{
	return m->files.wal.data + wal_frame_offset(ps, k);
}

static bool salts_ok(const uint8_t *fr, const uint8_t *hdr)
{
	return !memcmp(fr + F_SALT1, hdr + H_SALT1, 8);
}

/* One verification pass with checksum order `big`, starting from chain value t0. */
static void verify_pass(const struct model *m, uint32_t ps, int big, const uint32_t t0[2], struct rechain *r)
{
	const uint8_t *hdr = m->files.wal.data;
	uint32_t n = whole_frames(m, ps), lockpg = dbh_lock_byte_page(ps);
	uint32_t t[2] = { t0[0], t0[1] };
	uint32_t prev_stored[2] = { rd_be32(hdr + H_CK1), rd_be32(hdr + H_CK2) };
	memset(r, 0, sizeof *r);
	r->big = big;
	r->ps = ps;
	r->t0[0] = t0[0];
	r->t0[1] = t0[1];
	snprintf(r->stop, sizeof r->stop, "the WAL ends");
	for (uint32_t k = 1; k <= n; k++) {
		const uint8_t *fr = frame_at(m, ps, k);
		uint32_t pgno = rd_be32(fr + F_PGNO), commit = rd_be32(fr + F_COMMIT);
		uint32_t s[2] = { rd_be32(fr + F_CK1), rd_be32(fr + F_CK2) };
		if (!salts_ok(fr, hdr)) {
			snprintf(r->stop, sizeof r->stop, "frame %u has other salts (an earlier WAL generation)", k);
			break;
		}
		if (pgno == 0 || pgno == lockpg || !model_size_plausible(m, pgno) ||
		    (commit && !model_size_plausible(m, commit))) {
			snprintf(r->stop, sizeof r->stop, "frame %u names page %u (commit size %u): not a page of "
				 "this database", k, pgno, commit);
			break;
		}
		uint32_t c[2] = { t[0], t[1] };
		wal_frame_checksum(big, fr, ps, c);
		bool ok = c[0] == s[0] && c[1] == s[1];
		if (ok) {
			t[0] = s[0];
			t[1] = s[1];
		} else {
			uint32_t l[2] = { prev_stored[0], prev_stored[1] };
			wal_frame_checksum(big, fr, ps, l);
			if (l[0] == s[0] && l[1] == s[1]) {
				ok = true;           /* the stored chain vouches for it */
				t[0] = s[0];
				t[1] = s[1];
			} else if (k < n && salts_ok(frame_at(m, ps, k + 1), hdr)) {
				const uint8_t *nx = frame_at(m, ps, k + 1);
				uint32_t f[2] = { c[0], c[1] };
				wal_frame_checksum(big, nx, ps, f);
				if (f[0] == rd_be32(nx + F_CK1) && f[1] == rd_be32(nx + F_CK2)) {
					ok = true;   /* only this frame's checksum field is damaged */
					r->nfield++;
					t[0] = c[0];
					t[1] = c[1];
				}
			}
		}
		if (!ok) {
			snprintf(r->stop, sizeof r->stop, "frame %u: no stored checksum vouches for its content "
				 "(page or page number damaged)", k);
			break;
		}
		prev_stored[0] = s[0];
		prev_stored[1] = s[1];
		r->nverified = k;
		if (commit) {
			r->last_commit = k;
			r->commit_size = commit;
			r->ncommits++;
		}
	}
}

int rechain_scan(const struct model *m, struct rechain *out)
{
	memset(out, 0, sizeof *out);
	uint32_t ps = m->wal.page_size;
	if (!m->has_wal || !wal_page_size_ok(ps) || whole_frames(m, ps) == 0)
		return 0;
	const uint8_t *hdr = m->files.wal.data;
	uint32_t magic = rd_be32(hdr + H_MAGIC);
	int orders[2] = { (int)(magic & 1), !(magic & 1) };
	int norders = (magic & ~1u) == WAL_MAGIC ? 1 : 2;
	for (int i = 0; i < norders; i++) {
		uint32_t stored[2] = { rd_be32(hdr + H_CK1), rd_be32(hdr + H_CK2) };
		uint32_t calc[2] = { 0, 0 };
		wal_checksum(orders[i], hdr, 24, calc);
		const uint32_t *starts[2] = { stored, calc };
		for (int j = 0; j < 2; j++) {
			struct rechain r;
			verify_pass(m, ps, orders[i], starts[j], &r);
			if (r.last_commit > out->last_commit ||
			    (r.last_commit == out->last_commit && r.nverified > out->nverified))
				*out = r;
		}
	}
	return out->last_commit ? 1 : 0;
}

/* The header the re-chained WAL gets. */
static void new_header(const struct model *m, const struct rechain *r, uint8_t h[WAL_HDR_SIZE])
{
	memcpy(h, m->files.wal.data, WAL_HDR_SIZE);
	wr_be32(h + H_MAGIC, WAL_MAGIC | (uint32_t)r->big);
	wr_be32(h + H_VERSION, WAL_VERSION);
	wr_be32(h + H_PAGE_SIZE, r->ps);
	wal_header_seal(h);
}

int act_walrechain_gen(struct rp_plan *p, struct rp_sink *s, char *err, size_t errlen)
{
	const struct model *m = p->m;
	const struct rechain *r = &p->rechain;
	uint8_t h[WAL_HDR_SIZE];
	new_header(m, r, h);
	uint32_t t[2] = { rd_be32(h + H_CK1), rd_be32(h + H_CK2) };
	rp_sink_write(s, h, sizeof h);
	uint8_t fh[WAL_FRAME_HDR_SIZE];
	for (uint32_t k = 1; k <= r->last_commit && !s->bad; k++) {
		const uint8_t *fr = frame_at(m, r->ps, k);
		memcpy(fh, fr, WAL_FRAME_HDR_SIZE);
		memcpy(fh + F_SALT1, h + H_SALT1, 8);
		wal_checksum(r->big, fh, 8, t);
		wal_checksum(r->big, fr + WAL_FRAME_HDR_SIZE, r->ps, t);
		wr_be32(fh + F_CK1, t[0]);
		wr_be32(fh + F_CK2, t[1]);
		rp_sink_write(s, fh, sizeof fh);
		rp_sink_write(s, fr + WAL_FRAME_HDR_SIZE, r->ps);
	}
	if (s->bad) {
		snprintf(err, errlen, "cannot write the re-chained WAL");
		return -1;
	}
	return 0;
}

int act_walrechain_plan(struct rp_plan *p, struct rp_proposal *pr)
{
	const struct model *m = p->m;
	const struct wal_walk *w = &m->wal;
	if (!m->has_wal || rp_has_code(p, WD_WAL_FOREIGN) || rp_has_code(p, WD_WAL_PAGE_SIZE_MISMATCH))
		return 0;
	if (m->has_db && (!m->db_ok || m->page_size != w->page_size))
		return 0;
	struct rechain r;
	if (!rechain_scan(m, &r))
		return 0;
	const uint8_t *hdr = m->files.wal.data;
	uint8_t h[WAL_HDR_SIZE];
	new_header(m, &r, h);
	bool fix_header = memcmp(h, hdr, WAL_HDR_SIZE) != 0;
	bool sqlite_reads = w->hdr.valid && w->hdr.version_ok;
	uint32_t visible = sqlite_reads ? w->mx_frame : 0;
	if (!fix_header && r.last_commit <= w->mx_frame)
		return 0;
	if (r.last_commit < w->mx_frame)
		return 0;            /* would hide commits SQLite sees: never */
	p->rechain = r;
	bool salvage = r.last_commit > w->mx_frame || !w->hdr.valid;
	pr->safety = salvage ? RP_SALVAGE : RP_FIX;
	static const enum wd_code codes[] = {
		WD_WAL_HEADER_INVALID, WD_WAL_VERSION_INVALID, WD_WAL_CHECKSUM_MISMATCH, WD_WAL_UNCOMMITTED_TAIL,
		WD_WAL_PARTIAL_FRAME, WD_WAL_STALE_FRAMES,
	};
	rp_codes(pr, p, codes, (int)(sizeof codes / sizeof *codes));

	/* Which commits become visible: those after what SQLite reads now. */
	uint32_t nnew = 0, first_new = 0;
	for (uint32_t k = visible + 1; k <= r.last_commit; k++)
		if (rd_be32(frame_at(m, r.ps, k) + F_COMMIT)) {
			if (!nnew)
				first_new = k;
			nnew++;
		}
	snprintf(pr->summary, sizeof pr->summary,
		 "%s re-chain frames 1..%u: SQLite then reads %u commit%s (%u more than now%s)",
		 fix_header ? "write a valid WAL header and" : "", r.last_commit, r.ncommits,
		 r.ncommits == 1 ? "" : "s", nnew, sqlite_reads ? "" : ": today SQLite reads none of the WAL");
	if (nnew)
		snprintf(pr->why, sizeof pr->why,
			 "frames 1..%u are each vouched for by a stored checksum%s; the commits ending at frames "
			 "%u..%u become visible", r.last_commit,
			 r.nfield ? " (the next frame's, for a frame whose checksum field is damaged)" : "",
			 first_new, r.last_commit);
	else
		snprintf(pr->why, sizeof pr->why,
			 "SQLite's recovery accepts frames 1..%u; only the header keeps SQLite from opening the "
			 "database", r.last_commit);
	char fields[160] = "";
	size_t k = 0;
	static const struct { unsigned off; const char *name; } hf[] = {
		{ H_MAGIC, "magic" }, { H_VERSION, "version" }, { H_PAGE_SIZE, "page size" },
		{ H_CK1, "checksum" },
	};
	for (size_t i = 0; i < sizeof hf / sizeof *hf; i++)
		if (memcmp(h + hf[i].off, hdr + hf[i].off, hf[i].off == H_CK1 ? 8 : 4) && k < sizeof fields)
			k += (size_t)snprintf(fields + k, sizeof fields - k, "%s%s %08x -> %08x", k ? ", " : "",
					      hf[i].name, rd_be32(hdr + hf[i].off), rd_be32(h + hf[i].off));
	if (fix_header)
		rp_change(pr, RP_WAL, RP_CH_PATCH, 0, WAL_HDR_SIZE, "WAL header: %s", fields);
	/* Frames whose stored checksum differs from the new chain. */
	uint32_t t[2] = { rd_be32(h + H_CK1), rd_be32(h + H_CK2) }, first = 0, nchg = 0;
	for (uint32_t f = 1; f <= r.last_commit; f++) {
		const uint8_t *fr = frame_at(m, r.ps, f);
		wal_frame_checksum(r.big, fr, r.ps, t);
		if (t[0] != rd_be32(fr + F_CK1) || t[1] != rd_be32(fr + F_CK2)) {
			if (!nchg)
				first = f;
			nchg++;
		}
	}
	if (nchg)
		rp_change(pr, RP_WAL, RP_CH_FIELDS, wal_frame_offset(r.ps, first) + F_CK1, 8,
			  "the checksum (bytes 16..23 of the frame header) of %u frames from frame %u, every %u "
			  "bytes", nchg, first, r.ps + WAL_FRAME_HDR_SIZE);
	uint64_t cut = wal_frame_offset(r.ps, (uint64_t)r.last_commit + 1);
	if (m->files.wal.size > cut) {
		rp_change(pr, RP_WAL, RP_CH_CUT, cut, m->files.wal.size - cut, "frames from %u on: %s",
			  r.last_commit + 1, r.stop);
		snprintf(pr->gives_up, sizeof pr->gives_up,
			 "the frames after frame %u (%s; the undo file keeps them)", r.last_commit, r.stop);
	}
	if (m->has_shm)
		rp_change(pr, RP_SHM, RP_CH_REMOVE, 0, m->files.shm.size, "the -shm describes the old chain");
	return 1;
}

void act_walrechain_build(struct rp_plan *p, const struct rp_proposal *pr)
{
	struct rp_fout *f = &p->fout[RP_WAL];
	memset(f, 0, sizeof *f);
	f->mode = RP_FM_GEN;
	f->gen = act_walrechain_gen;
	f->by = pr->act->name;
	if (p->m->has_shm) {
		p->fout[RP_SHM].mode = RP_FM_DELETE;
		p->fout[RP_SHM].by = pr->act->name;
	}
	p->exp.upto_frame = p->rechain.last_commit;
	p->exp.npages = p->rechain.commit_size;
	if (p->rechain.last_commit != model_commit_frame(p->m, MODEL_LAST))
		p->exp.same_as_before = false;
}
