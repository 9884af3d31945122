/* checks.c — cross-file findings; see checks.h. */
#include "checks.h"

#include <stdio.h>
#include <string.h>

#include "materialize.h"
#include "resetrace.h"
#include "schema.h"
#include "../formats/bytes.h"

/* The WAL against the database: page size, and page 1 of the WAL against the file's. */
static void check_wal_pairing(struct model *m)
{
	if (!m->has_wal || !m->wal.hdr.valid || !m->db_ok || !m->dbh.page_size_ok)
		return;
	if (m->wal.hdr.page_size != m->dbh.page_size) {
		wd_add(&m->diags, WD_WAL_PAGE_SIZE_MISMATCH, WD_F_WAL, 8, WD_NONE, WD_NONE,
		       "WAL page size %u, database page size %u: SQLite would apply these frames to the "
		       "wrong offsets", m->wal.hdr.page_size, m->dbh.page_size);
		wd_add(&m->diags, WD_WAL_FOREIGN, WD_F_WAL, 8, WD_NONE, WD_NONE,
		       "a WAL of %u-byte pages cannot belong to a database of %u-byte pages",
		       m->wal.hdr.page_size, m->dbh.page_size);
		return;
	}
	/*
	 * The newest valid copy of page 1 in the WAL must describe the same
	 * database.  Only what no transaction can change is compared: the page
	 * size, and the text encoding once the file has one (a database made in
	 * WAL mode keeps encoding 0 in the file until its first checkpoint).
	 * application_id and auto-vacuum are legitimately changed by a commit.
	 */
	uint32_t f = model_find_frame(m, 1, 0, m->wal.nvalid);
	const uint8_t *p = f ? model_frame_page(m, f) : NULL;
	if (!p || m->page_size < DBH_SIZE)
		return;
	struct db_header wh;
	struct wd_diags scratch = { 0 };
	dbh_parse(p, DBH_SIZE, &wh, &scratch);
	wd_diags_free(&scratch);
	const char *what = NULL;
	if (!wh.magic_ok)
		what = "does not start with the SQLite header";
	else if (wh.page_size != m->dbh.page_size)
		what = "names another page size";
	else if (m->dbh.text_encoding != 0 && wh.text_encoding != m->dbh.text_encoding)
		what = "names another text encoding";
	if (what)
		wd_add(&m->diags, WD_WAL_FOREIGN, WD_F_WAL,
		       (int64_t)wal_frame_offset(m->wal.page_size, f) + WAL_FRAME_HDR_SIZE, f, 1,
		       "the WAL's copy of page 1 (frame %u) %s than the database file has", f, what);
}

/* ---- lineage: can the database file be a state of this WAL? ------------
 *
 * A WAL generation starts from the database file as it then was (S0), and a
 * checkpoint only moves the file forward along the WAL's commits, so a
 * database file paired with its own WAL is some state S_b of it (b = 0
 * while nothing was copied).  Three rules of SQLite's code give evidence
 * that the file is no such state:
 *
 *  - size: a transaction changes the page count only by allocating pages
 *    (allocateBtreePage) or truncating (autoVacuumCommit, incrVacuumStep,
 *    VACUUM), and each rewrites the size field of page 1 (offset 28): a
 *    commit whose size differs from the state before it always carries a
 *    frame of page 1.  The WAL must keep this rule between its own commits
 *    (otherwise a commit-size field is damaged: WAL_FRAME_INVALID, not a
 *    pairing question); commit 1 is then judged against the file.  When
 *    commit 1 leaves page 1 alone, its size is the size SQLite gave the
 *    database when the generation began: the file's page count
 *    (pagerPagecount) or, after a WAL restart within a process, the last
 *    commit's size, which the file's trusted in-header size repeats.  A
 *    commit 1 size equal to neither, while an intact -shm of this
 *    generation says no checkpoint has started (nBackfill and
 *    nBackfillAttempted 0, commit 1 indexed), cannot happen;
 *  - extent: with commit 1 leaving page 1 alone, the file held no data past
 *    the largest commit size M of the generation when it began, and
 *    checkpoints write only pages up to a commit's size, extending the file
 *    with zeros (SQLITE_FCNTL_SIZE_HINT).  A b-tree page past M (bytes
 *    appended by some other tool would rarely look like one) cannot come
 *    from this WAL or its starting state, unless a chunk size
 *    (SQLITE_FCNTL_CHUNK_SIZE) rounded the file up and kept old pages in the
 *    rounding: a file whose size a power-of-two chunk explains is not judged;
 *  - schema cookie (offset 40): it only grows (sqlite3ChangeCookie adds 1 per
 *    schema change), so no page 1 of the generation can hold a lower cookie
 *    than the file's.  `PRAGMA schema_version = N` can lower it by hand:
 *    this rule is a heuristic and its message says so.
 *
 * A -shm copied at another moment than the database, or a database file
 * changed outside SQLite, gives the same evidence; hence "probable" in every
 * message.  docs/limits.md lists the rules.
 */

#define LINEAGE_EXTENT_PAGES 1024u   /* pages past the largest size looked at for data */

/* True when frames first..last (1-based, recorded) include one of page 1. */
static bool txn_writes_page1(const struct wal_walk *w, const struct wal_txn *t)
{
	for (uint32_t f = t->first; f <= t->last && f <= w->nframes; f++)
		if (w->frames[f - 1].pgno == 1)
			return true;
	return false;
}

/* The size rule between the WAL's own commits: every size change carries page 1. */
static bool wal_sizes_follow_page1(const struct wal_walk *w)
{
	for (uint32_t k = 1; k < w->ntxn; k++)
		if (w->txns[k].db_size != w->txns[k - 1].db_size && !txn_writes_page1(w, &w->txns[k]))
			return false;
	return true;
}

static bool frame_of_generation(const struct wal_walk *w, const struct wal_frame *f)
{
	return f->salt1 == w->hdr.salt1 && f->salt2 == w->hdr.salt2;
}

/* The largest commit size of any frame of this generation (valid or behind a break). */
static uint32_t wal_max_commit_size(const struct wal_walk *w)
{
	uint32_t mx = 0;
	for (uint32_t i = 0; i < w->nframes; i++)
		if (frame_of_generation(w, &w->frames[i]) && w->frames[i].commit_size > mx)
			mx = w->frames[i].commit_size;
	return mx;
}

/* The first byte of a b-tree page that is not page 1 (btreeInitPage's flags). */
static bool btree_page_type_ok(uint8_t t)
{
	return t == 2 || t == 5 || t == 10 || t == 13;
}

/*
 * Could rounding `pages` pages up to a power-of-two chunk larger than a
 * page (SQLITE_FCNTL_CHUNK_SIZE, unixTruncate / fcntlSizeHint) give a file
 * of `size` bytes?  The largest such chunk dividing the size is the most
 * permissive one.
 */
static bool chunk_explains(uint64_t size, uint64_t pages, uint32_t page_size)
{
	uint64_t c = size & -size;
	return size && c >= 2ull * page_size && size - c < pages * page_size;
}

/* An intact -shm of this generation that has indexed commit 1 and says no checkpoint has started. */
static bool shm_says_nothing_copied(const struct model *m)
{
	const struct shm_info *s = &m->shm;
	return m->has_shm && s->hdr_ok && !s->foreign_endian && s->hdr[0].salt1 == m->wal.hdr.salt1 &&
	       s->hdr[0].salt2 == m->wal.hdr.salt2 && s->hdr[0].mx_frame >= m->wal.txns[0].last &&
	       s->n_backfill == 0 && s->n_backfill_attempted == 0;
}

/* Returns true when it reported. */
static bool lineage_size(struct model *m, bool c1_keeps_size)
{
	const struct wal_walk *w = &m->wal;
	const struct wal_txn *c1 = &w->txns[0];
	const uint64_t fpages = (m->files.db.size + m->page_size - 1) / m->page_size;
	if (!c1_keeps_size || !m->dbh.size_valid || c1->db_size == fpages || c1->db_size == m->dbh.db_size ||
	    !shm_says_nothing_copied(m))
		return false;
	wd_add(&m->diags, WD_WAL_FOREIGN, WD_F_WAL, (int64_t)wal_frame_offset(w->page_size, c1->last) + 4,
	       c1->last, WD_NONE,
	       "commit 1 sets %u pages without writing page 1, the file has %llu and the -shm says none was "
	       "checkpointed: not this WAL's starting state (probable mispairing)",
	       c1->db_size, (unsigned long long)fpages);
	return true;
}

static bool lineage_extent(struct model *m, bool c1_keeps_size)
{
	const struct wal_walk *w = &m->wal;
	if (!c1_keeps_size)
		return false;
	const uint32_t ps = m->page_size, mx = wal_max_commit_size(w);
	if (mx >= m->db_pages || chunk_explains(m->files.db.size, mx, ps))
		return false;
	uint64_t end = m->db_pages - mx > LINEAGE_EXTENT_PAGES ? (uint64_t)mx + LINEAGE_EXTENT_PAGES : m->db_pages;
	for (uint64_t pg = (uint64_t)mx + 1; pg <= end; pg++) {
		const uint8_t *p = model_db_page(m, (uint32_t)pg);
		if (!p || !btree_page_type_ok(p[0]))
			continue;
		wd_add(&m->diags, WD_WAL_FOREIGN, WD_F_DB, (int64_t)(pg - 1) * ps, WD_NONE, (int64_t)pg,
		       "page %llu of the database file is a b-tree page, but no commit of the WAL makes the "
		       "database larger than %u pages: no state of this WAL (probable mispairing)",
		       (unsigned long long)pg, mx);
		return true;
	}
	return false;
}

static void lineage_cookie(struct model *m)
{
	const struct wal_walk *w = &m->wal;
	uint32_t n;
	const uint32_t *v = model_page_frames(m, 1, &n);
	uint32_t best = 0, f1 = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct wal_frame *f = &w->frames[v[i] - 1];
		const uint8_t *p = model_frame_page(m, v[i]);
		if (!p || !frame_of_generation(w, f))
			continue;
		uint32_t c = rd_be32(p + 40);
		if (!f1 || c >= best) {
			best = c;
			f1 = v[i];
		}
	}
	uint32_t dc = rd_be32(m->files.db.data + 40);
	if (f1 && best < dc)
		wd_add(&m->diags, WD_WAL_FOREIGN, WD_F_WAL,
		       (int64_t)wal_frame_offset(w->page_size, f1) + WAL_FRAME_HDR_SIZE + 40, f1, 1,
		       "schema cookie %u of the WAL's page 1 (frame %u) is below the database file's %u: the WAL "
		       "is older than the file or another database's (heuristic)", best, f1, dc);
}

static void check_wal_lineage(struct model *m)
{
	const struct wal_walk *w = &m->wal;
	if (!m->wal_usable || !m->has_db || !m->db_ok || !w->ntxn || !w->frames || m->page_size < DBH_SIZE ||
	    m->db_pages == 0 || m->files.db.size < DBH_SIZE)
		return;
	for (size_t i = 0; i < m->diags.n; i++)
		if (m->diags.v[i].code == WD_WAL_FOREIGN)
			return;              /* page 1 already names another database */
	const bool c1_keeps_size = !txn_writes_page1(w, &w->txns[0]) && wal_sizes_follow_page1(w);
	if (!lineage_size(m, c1_keeps_size) && !lineage_extent(m, c1_keeps_size))
		lineage_cookie(m);
}

/*
 * The walk stops at a run of zero frame headers (formats/wal.c) without
 * knowing whether anything follows.  The file system does (SEEK_DATA): when
 * nothing but holes follows the part of the run it read, nothing was left
 * unread and the finding becomes information; else it names where data
 * resumes.
 */
static void check_wal_hole(struct model *m)
{
	const struct wal_walk *w = &m->wal;
	if (!m->has_wal || !w->zero_from || !w->page_size)
		return;
	uint64_t run_off = wal_frame_offset(w->page_size, w->zero_from);
	uint64_t after = wal_frame_offset(w->page_size, (uint64_t)w->zero_from + wal_zero_run_frames(w->page_size));
	uint64_t size = m->files.wal.size, data = wf_data_after(&m->files.wal, after);
	if (after >= size || data == after)
		return;                  /* unknown, or data right where the walk stopped reading */
	for (size_t i = 0; i < m->diags.n; i++) {
		struct wd_diag *g = &m->diags.v[i];
		if (g->code != WD_WAL_LIMIT_EXCEEDED || g->file != WD_F_WAL || g->offset != (int64_t)run_off)
			continue;
		if (data >= size) {
			g->sev = WD_INFO;
			snprintf(g->msg, sizeof g->msg, "from frame %u (offset %llu) the WAL is zeros, and from offset "
				 "%llu to its end (%llu bytes) a hole of the sparse file: nothing there for SQLite or waldo",
				 w->zero_from, (unsigned long long)run_off, (unsigned long long)after,
				 (unsigned long long)size);
		} else {
			snprintf(g->msg, sizeof g->msg, "from frame %u (offset %llu) the WAL is zeros; data resumes "
				 "at offset %llu of %llu bytes, past a hole: waldo does not read it (SQLite never does)",
				 w->zero_from, (unsigned long long)run_off, (unsigned long long)data,
				 (unsigned long long)size);
		}
		return;
	}
}

/*
 * Pages the structure walk covers: the last commit's size, or without WAL
 * commits the larger of the trusted in-header size and the file's extent,
 * so that pages on both sides of a wrong size field are seen.
 */
static uint32_t walk_pages(const struct model *m)
{
	if (model_ncommits(m))
		return model_npages(m, MODEL_LAST);
	uint64_t file = (m->files.db.size + m->page_size - 1) / m->page_size;
	uint64_t n = m->dbh.size_valid && m->dbh.db_size > file ? m->dbh.db_size : file;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/*
 * Walk every b-tree, the freelist and the pointer map of the final state
 * (inspect/schema.h) and account for every page.  Findings about pages that
 * the state reads from the WAL are moved to the frame they came from.
 */
static bool check_structure(struct model *m, struct sc_account *a)
{
	if (!m->db_ok || !m->page_size || m->page_size < DBH_SIZE)
		return false;
	uint32_t k = model_commit(m, MODEL_LAST), npages = walk_pages(m);
	if (!npages || !model_size_plausible(m, npages))
		return false;
	struct model_state ss = { m, k };
	const uint8_t *p1 = model_page(m, k, 1, NULL);
	if (!p1)
		return false;
	struct db_header h;
	dbh_parse(p1, DBH_SIZE, &h, NULL);
	if (!h.magic_ok || !h.usable_size)
		return false;
	struct sc_source src = { model_state_page, &ss, m->page_size, h.usable_size, npages, h.text_encoding };
	struct sc_schema schema;
	sc_read_schema(&src, &schema, NULL);
	size_t n0 = m->diags.n;
	sc_account_pages_mt(&src, &h, &schema, a, &m->diags, 0);   /* model_state_page is thread-safe */
	sc_schema_free(&schema);
	for (size_t i = n0; i < m->diags.n; i++) {
		struct wd_diag *g = &m->diags.v[i];
		uint32_t f = 0;
		if (g->file != WD_F_DB || g->page <= 0 || g->page > UINT32_MAX)
			continue;
		model_page(m, k, (uint32_t)g->page, &f);
		if (!f)
			continue;
		uint64_t data = wal_frame_offset(m->wal.page_size, f) + WAL_FRAME_HDR_SIZE;
		int64_t in_page = g->offset == WD_NONE ? 0 : g->offset - (g->page - 1) * (int64_t)m->page_size;
		g->file = WD_F_WAL;
		g->frame = f;
		g->offset = (int64_t)data + (in_page >= 0 && in_page < (int64_t)m->page_size ? in_page : 0);
	}
	return true;
}

/* First page in (from, to] that the accounting found in use, 0 if none. */
static uint32_t first_used(const struct sc_account *a, uint32_t from, uint32_t to)
{
	for (uint32_t p = from + 1; p <= to && p <= a->npages; p++)
		if (a->role[p] != SC_ROLE_UNUSED && a->role[p] != SC_ROLE_LOCKBYTE)
			return p;
	return 0;
}

static void check_sizes(struct model *m, struct check_result *r, const struct sc_account *a)
{
	if (!m->db_ok || !m->page_size)
		return;
	/* A hot journal's rollback restores the size; the file's extent is in flux. */
	if (m->has_journal && m->jrnl.first_byte_nonzero)
		return;
	uint32_t ps = m->page_size;
	uint64_t fsize = m->files.db.size;
	uint64_t whole = fsize / ps;
	if (fsize % ps)
		wd_add(&m->diags, WD_DB_TRAILING_BYTES, WD_F_DB, (int64_t)(whole * ps), WD_NONE, WD_NONE,
		       "file ends with a partial page of %llu bytes after page %llu",
		       (unsigned long long)(fsize % ps), (unsigned long long)whole);
	uint32_t ncommit = model_ncommits(m);
	if (ncommit == 0) {
		uint32_t hsize = m->dbh.db_size;
		if (!m->dbh.size_valid) {
			if (hsize != 0 || m->dbh.change_counter != m->dbh.version_valid_for)
				wd_add(&m->diags, WD_DB_SIZE_FIELD_STALE, WD_F_DB, 28, WD_NONE, 1,
				       "in-header size %u is not trusted: change counter %u != version-valid-for %u; "
				       "SQLite uses the file size (%llu pages)", hsize,
				       m->dbh.change_counter, m->dbh.version_valid_for, (unsigned long long)whole);
		} else if (hsize > whole) {
			/* Missing pages that something points at are lost data; otherwise only the field is wrong. */
			uint32_t used = a ? first_used(a, (uint32_t)whole, hsize) : (uint32_t)whole + 1;
			if (used)
				wd_add(&m->diags, WD_DB_FILE_TRUNCATED, WD_F_DB, (int64_t)fsize, WD_NONE, used,
				       "header says %u pages but the file holds %llu: pages %llu..%u are missing%s "
				       "(SQLite reports corruption)", hsize, (unsigned long long)whole,
				       (unsigned long long)whole + 1, hsize,
				       a ? ", and the database's b-trees or freelist use them" : "");
			else
				wd_add(&m->diags, WD_DB_SIZE_FIELD_STALE, WD_F_DB, 28, WD_NONE, 1,
				       "header says %u pages but the file holds %llu and nothing uses pages past "
				       "them: the size field is wrong (SQLite reports corruption until it is fixed)",
				       hsize, (unsigned long long)whole);
		} else if (hsize < whole) {
			uint32_t used = a ? first_used(a, hsize, (uint32_t)whole) : 0;
			if (used)
				wd_add(&m->diags, WD_DB_SIZE_FIELD_STALE, WD_F_DB, 28, WD_NONE, 1,
				       "header says %u pages but the database uses page %u and the file holds %llu: "
				       "the size field is too small (SQLite ignores the pages past it)",
				       hsize, used, (unsigned long long)whole);
			else
				wd_add(&m->diags, WD_DB_TRAILING_BYTES, WD_F_DB, (int64_t)hsize * ps, WD_NONE,
				       (int64_t)hsize + 1,
				       "pages %u..%llu lie past the in-header size of %u pages and nothing uses them "
				       "(SQLite ignores them)", hsize + 1, (unsigned long long)whole, hsize);
		}
		return;
	}
	/* The final state comes from the WAL: every page must be somewhere. */
	uint32_t last = model_commit(m, MODEL_LAST);
	uint32_t npages = model_npages(m, last);
	if (!model_size_plausible(m, npages)) {
		uint32_t f = model_commit_frame(m, last);
		wd_add(&m->diags, WD_WAL_FRAME_INVALID, WD_F_WAL, (int64_t)wal_frame_offset(m->wal.page_size, f) + 4,
		       f, WD_NONE, "commit %u says the database has %u pages; no file can hold that many "
		       "(%llu pages in the database file, %u frames)", last, npages,
		       (unsigned long long)whole, m->wal.nframes);
		return;
	}
	uint32_t first_missing = 0, nmissing = 0;
	for (uint32_t p = 1; p <= npages; p++) {
		if (p == dbh_lock_byte_page(ps))
			continue;
		if (!model_page(m, last, p, NULL)) {
			if (!nmissing)
				first_missing = p;
			nmissing++;
		}
	}
	r->missing_pages = nmissing;
	if (nmissing)
		wd_add(&m->diags, WD_DB_FILE_TRUNCATED, WD_F_DB, (int64_t)fsize, WD_NONE, first_missing,
		       "the last commit needs %u pages; %u of them (from page %u) are in neither the "
		       "database file (%llu pages) nor the WAL", npages, nmissing, first_missing,
		       (unsigned long long)whole);
	uint32_t f1;
	const uint8_t *p1 = model_page(m, last, 1, &f1);
	if (p1 && ps >= DBH_SIZE) {
		uint32_t cc = rd_be32(p1 + 24), vvf = rd_be32(p1 + 92), sz = rd_be32(p1 + 28);
		if (cc == vvf && sz != 0 && sz != npages)
			wd_add(&m->diags, WD_DB_SIZE_FIELD_STALE, f1 ? WD_F_WAL : WD_F_DB,
			       f1 ? (int64_t)wal_frame_offset(m->wal.page_size, f1) + WAL_FRAME_HDR_SIZE + 28 : 28,
			       f1 ? (int64_t)f1 : WD_NONE, 1,
			       "page 1 says the database has %u pages, the last commit says %u", sz, npages);
	}
}

static void check_shm(struct model *m)
{
	if (m->has_shm && !m->has_wal) {
		wd_add(&m->diags, WD_SHM_WITHOUT_WAL, WD_F_SHM, WD_NONE, WD_NONE, WD_NONE,
		       "-shm present but no -wal (normal after a clean close or a TRUNCATE checkpoint)");
		if (m->shm.has_header && m->shm.order_known && m->shm.hdr[0].mx_frame > 0)
			wd_add(&m->diags, WD_SHM_STALE, WD_F_SHM, 16, WD_NONE, WD_NONE,
			       "-shm says the WAL has %u committed frames, but there is no -wal",
			       m->shm.hdr[0].mx_frame);
	}
}

/*
 * A checkpointer is starved when the backlog is past SQLite's auto-checkpoint
 * threshold, or when a read mark holds nBackfill where it is while the
 * backlog already outweighs the database file.
 */
static void check_checkpoint(struct model *m, const struct check_result *r)
{
	if (!m->has_shm || !m->shm.has_header || !m->shm.order_known || !m->shm.hdr[0].is_init)
		return;
	const struct shm_info *s = &m->shm;
	uint32_t mx = s->hdr[0].mx_frame;
	if (mx <= s->n_backfill)
		return;
	uint32_t backlog = mx - s->n_backfill;
	bool pinned = false;
	char marks[128] = "";
	size_t k = 0;
	for (int i = 1; i < SHM_NREADER; i++) {
		if (s->read_mark[i] == SHM_READMARK_NOT_USED || s->read_mark[i] >= mx)
			continue;
		if (s->n_backfill > 0 && s->read_mark[i] == s->n_backfill)
			pinned = true;
		if (k < sizeof marks)
			k += (size_t)snprintf(marks + k, sizeof marks - k, "%sREAD%d=%u", k ? ", " : "", i,
					      s->read_mark[i]);
	}
	uint64_t backlog_bytes = (uint64_t)backlog * (m->page_size ? m->page_size : 0);
	if (backlog < CKPT_STARVED_FRAMES && !(pinned && backlog_bytes > m->files.db.size))
		return;
	char pids[256] = "";
	struct lock_report readers;
	readers.n = 0;
	for (int i = 0; i < r->locks.n; i++)
		if (r->locks.h[i].file == 's' && !strncmp(r->locks.h[i].what, "READ", 4) &&
		    strcmp(r->locks.h[i].what, "READ0"))
			readers.h[readers.n++] = r->locks.h[i];
	locks_pid_list(&readers, pids, sizeof pids);
	wd_add(&m->diags, WD_CKPT_STARVED, WD_F_SHM, 96, WD_NONE, WD_NONE,
	       "%u frames (%llu bytes) not checkpointed: nBackfill %u, mxFrame %u%s%s%s%s", backlog,
	       (unsigned long long)backlog_bytes, s->n_backfill, mx,
	       marks[0] ? "; read marks below mxFrame: " : "", marks,
	       pids[0] ? "; readers now: " : "", pids);
}

/*
 * A checkpoint copies, for every page, the page's newest frame, and skips a
 * page altogether when that frame lies past the frames it may copy
 * (walCheckpoint: `iFrame > mxSafeFrame`).  Frames are only ever appended,
 * so a page whose newest committed frame is at or below nBackfill now was
 * copied by the checkpoint that set nBackfill, and the file must hold
 * exactly that frame's bytes.  When it does not, the -shm claims a
 * checkpoint the file does not reflect: pages written back by hand after a
 * checkpoint, or the WAL-reset race of SQLite 3.7.0 to 3.51.2.  SQLite
 * trusts nBackfill and reads those pages from the file.
 */
static void check_backfill(struct model *m)
{
	const struct shm_info *s = &m->shm;
	if (!m->has_shm || !m->has_wal || !m->wal_usable || !s->hdr_ok || s->foreign_endian)
		return;
	uint32_t nb = s->n_backfill, mx = m->wal.mx_frame;
	if (nb == 0 || nb > mx || s->hdr[0].mx_frame != mx ||
	    s->hdr[0].salt1 != m->wal.hdr.salt1 || s->hdr[0].salt2 != m->wal.hdr.salt2)
		return;
	uint32_t npages = model_npages(m, MODEL_LAST);
	uint32_t ndiff = 0, first = 0, first_frame = 0;
	for (uint32_t p = 1; p <= m->idx_maxpg && p <= npages; p++) {
		uint32_t f = model_find_frame(m, p, 0, mx);
		const uint8_t *dbp = f && f <= nb ? model_db_page(m, p) : NULL;
		if (!dbp)
			continue;
		if (memcmp(dbp, model_frame_page(m, f), m->page_size)) {
			if (!ndiff) {
				first = p;
				first_frame = f;
			}
			ndiff++;
		}
	}
	if (ndiff)
		wd_add(&m->diags, WD_SHM_BACKFILL_INVALID, WD_F_DB, (int64_t)(first - 1) * m->page_size,
		       first_frame, first,
		       "nBackfill %u says the checkpoint copied frames up to %u, but %u pages whose newest "
		       "frame lies there differ from it in the database file (first: page %u, frame %u); "
		       "the file was changed after the checkpoint, or the checkpoint was lost",
		       nb, nb, ndiff, first, first_frame);
}

static void check_journal(struct model *m)
{
	if (m->has_journal && m->jrnl.first_byte_nonzero && m->has_db)
		wd_add(&m->diags, WD_DB_HOT_JOURNAL, WD_F_JOURNAL, 0, WD_NONE, WD_NONE,
		       "journal of %llu bytes%s: the next connection rolls the database back to %u pages",
		       (unsigned long long)m->files.journal.size,
		       m->jrnl.magic_ok ? "" : " (header not synced)", m->jrnl.orig_pages);
}

static void check_locks(struct model *m, struct check_result *r)
{
	locks_probe(&m->files, &r->locks);
	locks_add_remote(&r->locks, &m->diags);
	if (!r->locks.n)
		return;
	char pids[512];
	locks_pid_list(&r->locks, pids, sizeof pids);
	wd_add(&m->diags, WD_DB_IN_USE, r->locks.h[0].file == 's' ? WD_F_SHM : WD_F_DB, WD_NONE, WD_NONE,
	       WD_NONE, "locks held by: %s", pids);
}

static void check_sqlite(struct model *m, struct check_result *r)
{
	if (!m->db_ok && !(m->wal_usable && !m->has_db))
		return;
	uint32_t npages = model_npages(m, MODEL_LAST);
	if (!npages || !model_size_plausible(m, npages))
		return;
	char dir[4096], path[4200], err[512];
	if (tmpdir_make(dir, sizeof dir, err, sizeof err)) {
		snprintf(r->integrity_msg, sizeof r->integrity_msg, "%s", err);
		r->integrity = -1;
		return;
	}
	snprintf(path, sizeof path, "%s/state.db", dir);
	uint32_t missing;
	if (materialize_state(m, MODEL_LAST, path, &missing, err, sizeof err)) {
		snprintf(r->integrity_msg, sizeof r->integrity_msg, "%s", err);
		r->integrity = -1;
	} else {
		r->integrity = sqlite_integrity(path, r->integrity_msg, sizeof r->integrity_msg);
	}
	tmpdir_remove(dir);
	if (r->integrity != 1)
		wd_add(&m->diags, WD_SQLITE_INTEGRITY_FAILED, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
		       "%s the state after commit %u: %.150s",
		       r->integrity == 0 ? "PRAGMA integrity_check fails on" : "SQLite cannot read",
		       model_commit(m, MODEL_LAST), r->integrity_msg);
}

void checks_run(struct model *m, const struct check_opts *o, struct check_result *r)
{
	memset(r, 0, sizeof *r);
	r->integrity = -2;
	check_wal_pairing(m);
	check_wal_lineage(m);
	struct sc_account acct;
	memset(&acct, 0, sizeof acct);
	bool have = check_structure(m, &acct);
	check_sizes(m, r, have ? &acct : NULL);
	if (have)
		sc_account_free(&acct);
	check_shm(m);
	check_journal(m);
	if (o->locks)
		check_locks(m, r);
	check_checkpoint(m, r);
	check_backfill(m);
	resetrace_check(m);
	if (o->sqlite)
		check_sqlite(m, r);
	check_wal_hole(m);
	wf_set_check_changed(&m->files, &m->diags);
}

void checks_lineage(struct model *m)
{
	check_wal_pairing(m);
	check_wal_lineage(m);
}
