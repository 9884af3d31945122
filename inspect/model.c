/*
 * model.c — the files of one database, parsed and indexed; see model.h.
 *
 * The page-version index is a counting sort of frame numbers by page
 * number: two arrays of 32-bit integers, so memory stays at a few bytes per
 * frame beyond the walk itself, whatever the page size.  Page numbers that
 * no state could reach (beyond the database file plus one new page per
 * frame) are not indexed, so a garbage page number in a stale frame cannot
 * make us allocate gigabytes.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void parse_db(struct model *m)
{
	const struct wf_file *f = &m->files.db;
	if (!f->present)
		return;
	m->has_db = f->size > 0;
	size_t n = f->size < DBH_SIZE ? (size_t)f->size : DBH_SIZE;
	int rc = dbh_parse(f->data, n, &m->dbh, &m->diags);
	m->db_ok = m->dbh.magic_ok && rc != WD_FATAL;
	if (m->dbh.page_size_ok)
		m->page_size = m->dbh.page_size;
	if (m->page_size)
		m->db_pages = f->size / m->page_size;
}

static int model_build(struct model *m, char *err, size_t errlen);

static int build_index(struct model *m)
{
	const struct wal_walk *w = &m->wal;
	uint64_t cap = m->db_pages + w->nframes + 16;
	if (cap > UINT32_MAX - 2)
		cap = UINT32_MAX - 2;
	uint32_t maxpg = 0;
	for (uint32_t i = 0; i < w->nframes; i++) {
		uint32_t p = w->frames[i].pgno;
		if (p <= cap && p > maxpg)
			maxpg = p;
	}
	m->idx_maxpg = maxpg;
	m->idx_start = calloc((size_t)maxpg + 2, sizeof *m->idx_start);
	m->idx_frames = malloc(((size_t)w->nframes + 1) * sizeof *m->idx_frames);
	if (!m->idx_start || !m->idx_frames)
		return -1;
	for (uint32_t i = 0; i < w->nframes; i++) {
		uint32_t p = w->frames[i].pgno;
		if (p && p <= maxpg)
			m->idx_start[p + 1]++;
	}
	for (uint32_t p = 1; p <= maxpg + 1; p++)
		m->idx_start[p] += m->idx_start[p - 1];
	/* Fill using a cursor per page: idx_start[p] walks forward, then shift back. */
	for (uint32_t i = 0; i < w->nframes; i++) {
		uint32_t p = w->frames[i].pgno;
		if (p && p <= maxpg)
			m->idx_frames[m->idx_start[p]++] = i + 1;
	}
	for (uint32_t p = maxpg + 1; p > 0; p--)
		m->idx_start[p] = m->idx_start[p - 1];
	m->idx_start[0] = 0;
	return 0;
}

int model_open(struct model *m, const char *path, const char *wal_path, const char *shm_path,
	       char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (wf_set_open(&m->files, path, wal_path, shm_path, err, errlen))
		return -1;
	return model_build(m, err, errlen);
}

int model_open_set(struct model *m, struct wf_set *s, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	m->files = *s;
	memset(s, 0, sizeof *s);
	s->db.fd = s->wal.fd = s->shm.fd = s->journal.fd = -1;
	return model_build(m, err, errlen);
}

/* Parse and index the files already in m->files. */
static int model_build(struct model *m, char *err, size_t errlen)
{
	parse_db(m);

	const struct wf_file *wf = &m->files.wal;
	if (wf->present) {
		m->has_wal = true;
		wal_walk(wf->data, wf->size, m->page_size, &m->wal, &m->diags);
		if (!m->page_size && m->wal.hdr.page_size_ok) {
			m->page_size = m->wal.hdr.page_size;
			m->db_pages = m->files.db.size / m->page_size;
		}
		m->wal_usable = m->wal.hdr.valid && m->wal.page_size == m->page_size &&
				(m->db_ok || !m->has_db);
		if (build_index(m)) {
			snprintf(err, errlen, "out of memory indexing '%s'", wf->path);
			return -1;
		}
	}
	const struct wf_file *sf = &m->files.shm;
	if (sf->present) {
		m->has_shm = true;
		shm_parse(sf->data, sf->size, &m->shm, &m->diags);
		if (m->has_wal && m->shm.has_header)
			shm_check_wal(sf->data, sf->size, &m->shm, &m->wal, &m->diags);
	}
	const struct wf_file *jf = &m->files.journal;
	if (jf->present) {
		m->has_journal = true;
		jrnl_parse_header(jf->data, (size_t)(jf->size < 512 ? jf->size : 512), &m->jrnl, &m->diags);
	}
	return 0;
}

void model_close(struct model *m)
{
	wal_walk_free(&m->wal);
	free(m->idx_start);
	free(m->idx_frames);
	wd_diags_free(&m->diags);
	wf_set_close(&m->files);
	memset(m, 0, sizeof *m);
}

#define ZERO_PAGES_BYTES (1ull << 30)   /* pages no file holds that a state may still have */

bool model_size_plausible(const struct model *m, uint64_t npages)
{
	uint64_t cap = m->db_pages + (uint64_t)m->wal.nframes + 16;
	if (m->page_size)
		cap += ZERO_PAGES_BYTES / m->page_size;
	return npages <= cap;
}

uint32_t model_ncommits(const struct model *m)
{
	return m->wal_usable ? m->wal.ntxn : 0;
}

uint32_t model_commit(const struct model *m, uint32_t k)
{
	uint32_t n = model_ncommits(m);
	return k > n ? n : k;
}

uint32_t model_commit_frame(const struct model *m, uint32_t k)
{
	k = model_commit(m, k);
	return k ? m->wal.txns[k - 1].last : 0;
}

uint32_t model_npages(const struct model *m, uint32_t k)
{
	k = model_commit(m, k);
	if (k)
		return m->wal.txns[k - 1].db_size;
	if (!m->page_size || !m->has_db)
		return 0;
	if (m->db_ok && m->dbh.size_valid)
		return m->dbh.db_size;
	uint64_t n = (m->files.db.size + m->page_size - 1) / m->page_size;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

const uint32_t *model_page_frames(const struct model *m, uint32_t pgno, uint32_t *n)
{
	if (!m->idx_start || pgno == 0 || pgno > m->idx_maxpg) {
		*n = 0;
		return NULL;
	}
	*n = m->idx_start[pgno + 1] - m->idx_start[pgno];
	return m->idx_frames + m->idx_start[pgno];
}

uint32_t model_find_frame(const struct model *m, uint32_t pgno, uint32_t min_frame, uint32_t max_frame)
{
	uint32_t n;
	const uint32_t *v = model_page_frames(m, pgno, &n);
	/* Binary search for the last entry <= max_frame. */
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v[mid] <= max_frame)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && v[lo - 1] > min_frame ? v[lo - 1] : 0;
}

const uint8_t *model_frame_page(const struct model *m, uint32_t f)
{
	if (!m->has_wal || f == 0 || f > m->wal.nframes || !m->wal.page_size)
		return NULL;
	return m->files.wal.data + wal_frame_offset(m->wal.page_size, f) + WAL_FRAME_HDR_SIZE;
}

const uint8_t *model_db_page(const struct model *m, uint32_t pgno)
{
	if (!m->page_size || pgno == 0 || pgno > m->db_pages)
		return NULL;
	return m->files.db.data + (uint64_t)(pgno - 1) * m->page_size;
}

const uint8_t *model_page(const struct model *m, uint32_t k, uint32_t pgno, uint32_t *frame)
{
	uint32_t f = model_find_frame(m, pgno, 0, model_commit_frame(m, k));
	if (frame)
		*frame = f;
	return f ? model_frame_page(m, f) : model_db_page(m, pgno);
}

const uint8_t *model_state_page(void *ctx, uint32_t pgno)
{
	const struct model_state *st = ctx;
	return model_page(st->m, st->k, pgno, NULL);
}
