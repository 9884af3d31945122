/*
 * salvage.c — commit groups past the end of the WAL SQLite reads; see
 * salvage.h and docs/timetravel.md.
 *
 * The scan starts right after the last valid commit frame (mxFrame), not at
 * the first invalid frame: a transaction whose first frames passed the
 * checksum test and whose later frames lie behind the break is one group.
 * When SQLite reads no frame at all (invalid WAL header, or a database file
 * without a valid header) it starts at frame 1.
 * A group is a run of frames that
 *   - all carry the same salts (a salt change ends the run: the frames
 *     before it, without a commit frame, are an unfinished transaction),
 *   - have a non-zero page number (a page-0 frame ends the run too),
 *   - ends with the first frame whose commit size is non-zero.
 * Checksums are not required to chain: after a break they cannot, by
 * definition.  Each group records how many of its frames still verify
 * locally (the stored checksum of frame f-1, extended over frame f, equals
 * frame f's stored checksum), which tells a damaged frame from its
 * undamaged neighbours.  The word order is the header magic's, which is a
 * guess when the magic itself is damaged.
 */
#include "salvage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "materialize.h"
#include "../formats/bytes.h"


/*
 * Does frame f (1-based) carry the checksum that continues the stored
 * checksum of frame f-1 (or of the header for frame 1)?  This is the test
 * walDecodeFrame applies, seeded from what is on disk rather than from a
 * chain SQLite verified.
 */
static bool frame_verifies(const struct model *m, uint32_t f)
{
	const struct wal_walk *w = &m->wal;
	const uint8_t *base = m->files.wal.data;
	uint32_t s[2];
	if (f == 1) {
		s[0] = w->hdr.cksum1;
		s[1] = w->hdr.cksum2;
	} else {
		s[0] = w->frames[f - 2].cksum1;
		s[1] = w->frames[f - 2].cksum2;
	}
	const uint8_t *fr = base + wal_frame_offset(w->page_size, f);
	int big = w->hdr.big_endian_cksum;
	wal_checksum(big, fr, 8, s);
	wal_checksum(big, fr + WAL_FRAME_HDR_SIZE, w->page_size, s);
	return s[0] == w->frames[f - 1].cksum1 && s[1] == w->frames[f - 1].cksum2;
}

/* Why SQLite drops a group with these salts. */
static enum salvage_kind kind_of(const struct model *m, uint32_t salt1, uint32_t salt2)
{
	const struct wal_walk *w = &m->wal;
	if (m->has_db && !m->db_ok)
		return SALVAGE_NO_DATABASE;
	if (!w->hdr.valid)
		return SALVAGE_NO_HEADER;
	return salt1 == w->hdr.salt1 && salt2 == w->hdr.salt2 ? SALVAGE_AFTER_BREAK : SALVAGE_STALE;
}

static bool same_salts(const struct wal_frame *a, const struct wal_frame *b)
{
	return a->salt1 == b->salt1 && a->salt2 == b->salt2;
}

int salvage_find(const struct model *m, struct salvage *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->m = m;
	s->base = model_ncommits(m);
	const struct wal_walk *w = &m->wal;
	/* Frames can only be laid over the database when both agree on the page
	 * size.  With a destroyed database header the model sees no commit at
	 * all: every commit group of the WAL is then salvage. */
	if (!m->has_wal || !w->nframes || !w->page_size || w->page_size != m->page_size)
		return 0;
	const bool no_db = m->has_db && !m->db_ok;
	uint32_t start = w->hdr.valid && !no_db ? w->mx_frame : 0;   /* 0-based index of the first candidate */
	if (start >= w->nframes)
		return 0;
	s->frame_group = calloc(w->nframes, sizeof *s->frame_group);
	if (!s->frame_group) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint32_t cap = 0;
	uint32_t run = 0;                 /* 1-based first frame of the open run, 0 if none */
	uint32_t in_groups = 0;
	for (uint32_t i = start; i < w->nframes; i++) {
		const struct wal_frame *f = &w->frames[i];
		if (f->pgno == 0) {
			run = 0;
			continue;
		}
		if (run && !same_salts(&w->frames[run - 1], f))
			run = 0;
		if (!run)
			run = i + 1;
		if (!f->commit_size)
			continue;
		if (!model_size_plausible(m, f->commit_size)) {
			s->nskipped++;
			run = 0;
			continue;
		}
		if (s->ng == cap) {
			uint32_t ncap = cap ? cap * 2 : 16;
			struct salvage_group *ng = realloc(s->g, (size_t)ncap * sizeof *ng);
			if (!ng) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			s->g = ng;
			cap = ncap;
		}
		struct salvage_group *g = &s->g[s->ng++];
		memset(g, 0, sizeof *g);
		g->first = run;
		g->last = i + 1;
		g->db_size = f->commit_size;
		g->salt1 = f->salt1;
		g->salt2 = f->salt2;
		g->kind = kind_of(m, f->salt1, f->salt2);
		g->whole = run == 1 || (w->frames[run - 2].commit_size && same_salts(&w->frames[run - 2], f));
		for (uint32_t fr = g->first; fr <= g->last; fr++) {
			s->frame_group[fr - 1] = s->ng;
			g->nverified += frame_verifies(m, fr);
		}
		in_groups += g->last - g->first + 1;
		run = 0;
	}
	s->nframes_outside = w->nframes - start - in_groups;
	return 0;
}

void salvage_free(struct salvage *s)
{
	free(s->g);
	free(s->frame_group);
	memset(s, 0, sizeof *s);
}

uint32_t salvage_ncommits(const struct salvage *s)
{
	return s->base + s->ng;
}

const struct salvage_group *salvage_group_of(const struct salvage *s, uint32_t k)
{
	if (k <= s->base || k - s->base > s->ng)
		return NULL;
	return &s->g[k - s->base - 1];
}

uint32_t salvage_commit_of_frame(const struct salvage *s, uint32_t f)
{
	if (!s->frame_group || f == 0 || f > s->m->wal.nframes || !s->frame_group[f - 1])
		return 0;
	return s->base + s->frame_group[f - 1];
}

uint32_t salvage_npages(const struct salvage *s, uint32_t k)
{
	const struct salvage_group *g = salvage_group_of(s, k);
	return g ? g->db_size : model_npages(s->m, k);
}

const uint8_t *salvage_page(const struct salvage *s, uint32_t k, uint32_t pgno, uint32_t *frame)
{
	if (k <= s->base || !s->frame_group)
		return model_page(s->m, k, pgno, frame);
	uint32_t upto = k - s->base > s->ng ? s->ng : k - s->base;
	uint32_t n;
	const uint32_t *v = model_page_frames(s->m, pgno, &n);
	for (uint32_t j = n; j > 0; j--) {
		uint32_t f = v[j - 1], grp = s->frame_group[f - 1];
		if (grp && grp <= upto) {
			if (frame)
				*frame = f;
			return model_frame_page(s->m, f);
		}
	}
	return model_page(s->m, s->base, pgno, frame);
}

struct salvage_state {
	const struct salvage *s;
	uint32_t k;
};

static const uint8_t *salvage_state_page(void *ctx, uint32_t pgno)
{
	const struct salvage_state *st = ctx;
	return salvage_page(st->s, st->k, pgno, NULL);
}

int salvage_materialize(const struct salvage *s, uint32_t k, const char *path, uint32_t *missing,
			char *err, size_t errlen)
{
	struct salvage_state st = { s, k };
	return materialize_pages(s->m, salvage_npages(s, k), salvage_state_page, &st, path, missing,
				 err, errlen);
}

uint32_t salvage_count_newer_pages(const struct model *m, uint32_t k)
{
	k = model_commit(m, k);
	const uint32_t cf = model_commit_frame(m, k), mx = m->wal.mx_frame, ps = m->page_size;
	if (!m->wal_usable || cf >= mx)
		return 0;
	uint32_t n = 0, np = model_npages(m, k);
	/* Only pages written after commit k matter: walk the page index, not
	 * every page of the state. */
	for (uint32_t p = 1; p <= m->idx_maxpg && p <= np; p++) {
		uint32_t nf;
		const uint32_t *v = model_page_frames(m, p, &nf);
		if (!nf || v[nf - 1] <= cf || model_find_frame(m, p, 0, cf))
			continue;                      /* not rewritten later, or state k reads a frame */
		const uint8_t *db = model_db_page(m, p);
		if (!db)
			continue;
		for (uint32_t i = 0; i < nf; i++)
			if (v[i] > cf && v[i] <= mx && !memcmp(db, model_frame_page(m, v[i]), ps)) {
				n++;
				break;
			}
	}
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

uint32_t salvage_count_pages(const struct model *m, uint32_t first, uint32_t last)
{
	if (last > m->wal.nframes)
		last = m->wal.nframes;
	if (first == 0 || first > last)
		return 0;
	uint32_t n = last - first + 1;
	uint32_t *v = malloc((size_t)n * sizeof *v);
	if (!v)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		v[i] = m->wal.frames[first - 1 + i].pgno;
	qsort(v, n, sizeof *v, cmp_u32);
	uint32_t distinct = 0;
	for (uint32_t i = 0; i < n; i++)
		distinct += i == 0 || v[i] != v[i - 1];
	free(v);
	return distinct;
}

const char *salvage_kind_name(enum salvage_kind k)
{
	switch (k) {
	case SALVAGE_AFTER_BREAK: return "after-break";
	case SALVAGE_STALE: return "stale";
	case SALVAGE_NO_HEADER: return "no-header";
	case SALVAGE_NO_DATABASE: return "no-database";
	}
	return "unknown";
}

const char *salvage_kind_reason(enum salvage_kind k)
{
	switch (k) {
	case SALVAGE_AFTER_BREAK: return "behind the first invalid frame, where SQLite stops reading";
	case SALVAGE_STALE: return "salts of an earlier WAL generation: older data than the current state";
	case SALVAGE_NO_HEADER: return "the WAL header is invalid, so SQLite ignores every frame";
	case SALVAGE_NO_DATABASE: return "the database file has no valid header, so SQLite opens nothing";
	}
	return "";
}
