/*
 * scen_other.c — failed manual rollbacks after a checkpoint, and files
 * that are not what they should be (empty, text, rollback mode with a hot
 * journal, a WAL from another database).
 */
#include "scen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/bytes.h"

/* ---- failed manual rollbacks ---------------------------------------------------- */

#define RB_MAX_PAGES 4096

struct rb {
	uint32_t ps;
	uint32_t n0, n1;           /* database pages before and after the checkpoint */
	uint32_t npg;
	uint32_t pg[RB_MAX_PAGES]; /* saved pages, ascending */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Before the checkpoint: the user saves every page of the database file
 * that it will change, read from the file itself (the frames' pages the
 * checkpoint copies in, and the pages its truncation cuts off), plus a
 * copy of the whole file.  Then the checkpoint runs through libsqlite3
 * (FULL, so nBackfill = mxFrame) and its process exits, leaving the WAL
 * and -shm.
 */
static void rollback_base(struct gen *g, struct rb *rb)
{
	memset(rb, 0, sizeof *rb);
	RUN(g, SESS_CLOSE, CREATE(1024, 1), COMMITS(10), BIGDOCS(4));
	RUN(g, SESS_CRASH, COMMITS(4), SQL("DELETE FROM docs"), DELETE(70));
	struct walscan w;
	case_walscan(g, &w);
	rb->ps = w.page_size;
	rb->n0 = db_file_pages(g->db);
	rb->n1 = w.npage;
	if (!rb->n1 || rb->n1 >= rb->n0)
		die("expected the WAL to shrink the database (%u -> %u pages)", rb->n0, rb->n1);

	size_t n;
	uint8_t *wal = file_read(g->wal, &n);
	for (uint32_t i = 1; i <= w.last_commit; i++) {
		uint32_t pg = wal_frame_pgno(wal, n, w.page_size, i);
		if (pg && pg <= rb->n1 && rb->npg < RB_MAX_PAGES)
			rb->pg[rb->npg++] = pg;
	}
	free(wal);
	for (uint32_t pg = rb->n1 + 1; pg <= rb->n0 && rb->npg < RB_MAX_PAGES; pg++)
		rb->pg[rb->npg++] = pg;
	qsort(rb->pg, rb->npg, sizeof rb->pg[0], cmp_u32);
	uint32_t k = 0;
	for (uint32_t i = 0; i < rb->npg; i++)
		if (!k || rb->pg[k - 1] != rb->pg[i])
			rb->pg[k++] = rb->pg[i];
	rb->npg = k;

	file_copy(g->db, case_path(g, "pre-checkpoint.db"));
	uint8_t *bin = malloc((size_t)rb->npg * rb->ps);
	FILE *txt = fopen(case_path(g, "saved-pages.txt"), "w");
	if (!bin || !txt)
		die("cannot save pages");
	fprintf(txt, "# waldo corpus: database pages saved before a checkpoint overwrote them\n"
		     "# saved-pages.bin holds them in this order, %u bytes each\n"
		     "# page_size %u\n# db_pages_before %u\n# db_pages_after %u\n",
		rb->ps, rb->ps, rb->n0, rb->n1);
	for (uint32_t i = 0; i < rb->npg; i++) {
		page_read(g->db, rb->ps, rb->pg[i], bin + (size_t)i * rb->ps);
		fprintf(txt, "%u\n", rb->pg[i]);
	}
	if (fclose(txt))
		die("cannot write saved-pages.txt");
	file_write(case_path(g, "saved-pages.bin"), bin, (size_t)rb->npg * rb->ps);
	free(bin);

	RUN(g, SESS_CRASH, CKPT("FULL"));
	if (db_file_pages(g->db) != rb->n1)
		die("the checkpoint left %u pages, expected %u", db_file_pages(g->db), rb->n1);
	gen_snapshot_orig(g);
}

/* Write saved page i back into the database file by hand. */
static void rb_write_back(struct gen *g, const struct rb *rb, uint32_t i)
{
	uint8_t *buf = malloc(rb->ps);
	if (!buf)
		die("out of memory");
	file_pread(case_path(g, "saved-pages.bin"), (uint64_t)i * rb->ps, buf, rb->ps);
	page_write(g->db, rb->ps, rb->pg[i], buf);
	free(buf);
}

static void rb_repair(struct gen *g, const char *note)
{
	const char *d = gen_repair_dir(g, "%s", note);
	char p[CG_PATH_MAX];
	file_copy(case_path(g, "pre-checkpoint.db"), pathf(p, "%s/db", d));
	file_remove(pathf(p, "%s/db-wal", d));
	file_remove(pathf(p, "%s/db-shm", d));
}

static void rb_expect_integrity(struct gen *g)
{
	struct sqlview v;
	view_dir(g->dir, &v);
	if (!v.opens || !strcmp(v.integrity, "ok"))
		die("expected SQLite to open the rolled-back file and find it inconsistent "
		    "(opens %d, integrity '%s')", v.opens, v.integrity);
	expect_must(g, "SQLITE_INTEGRITY_FAILED");
	g->want_opens = 1;
	g->want_integrity_ok = 0;
}

void b_rollback_partial(struct gen *g)
{
	struct rb rb;
	rollback_base(g, &rb);
	/* Page 1 and the cut-off tail first, then every other page of the
	 * rest: the database opens, its b-trees mix two states. */
	char list[400] = "";
	size_t len = 0;
	uint32_t nw = 0, k = 0;
	if (rb.pg[0] != 1)
		die("page 1 is not among the saved pages");
	for (uint32_t i = 0; i < rb.npg; i++) {
		bool back = rb.pg[i] == 1 || rb.pg[i] > rb.n1 || (k++ % 2 == 1);
		if (!back)
			continue;
		rb_write_back(g, &rb, i);
		nw++;
		if (len < sizeof list - 12)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%u", len ? " " : "",
						rb.pg[i]);
	}
	file_remove(g->wal);
	file_remove(g->shm);
	snprintf(g->note, sizeof g->note, "%u of %u saved pages written back (pages %s); the WAL "
		 "and -shm deleted", nw, rb.npg, list);
	rb_repair(g, "writing every page of saved-pages.bin back and cutting the file to "
		  "db_pages_before (or using pre-checkpoint.db) completes the rollback");
	rb_expect_integrity(g);
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_HEADER_INVALID");
	expect_intact(g, INTACT_WAL | INTACT_SHM | INTACT_OTHER);
	g->exit_status = 2;
}

void b_rollback_size_field(struct gen *g)
{
	struct rb rb;
	rollback_base(g, &rb);
	uint8_t size_after[4];
	file_pread(g->db, 28, size_after, 4);
	for (uint32_t i = 0; i < rb.npg; i++)
		rb_write_back(g, &rb, i);
	file_patch(g->db, 28, size_after, 4);
	file_remove(g->wal);
	file_remove(g->shm);
	if (db_file_pages(g->db) != rb.n0 || db_header_u32(g->db, 28) != rb.n1)
		die("rollback: %u pages, size field %u", db_file_pages(g->db),
		    db_header_u32(g->db, 28));
	snprintf(g->note, sizeof g->note, "all %u saved pages written back, but page 1 keeps the "
		 "post-checkpoint size field (%u) while the file and the b-trees span %u pages",
		 rb.npg, rb.n1, rb.n0);
	rb_repair(g, "writing db_pages_before into the size field completes the rollback");
	rb_expect_integrity(g);
	expect_must(g, "DB_SIZE_FIELD_STALE");
	/* The pages past the size field are in use: not trailing bytes to cut. */
	expect_must_not(g, "DB_TRAILING_BYTES");
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_HEADER_INVALID");
	expect_must_not(g, "DB_FILE_TRUNCATED");
	expect_intact(g, INTACT_WAL | INTACT_SHM | INTACT_OTHER);
	g->exit_status = 2;
}

void b_rollback_stale_wal(struct gen *g)
{
	struct rb rb;
	rollback_base(g, &rb);
	for (uint32_t i = 0; i < rb.npg; i++)
		rb_write_back(g, &rb, i);
	size_t a, b;
	uint8_t *x = file_read(g->db, &a), *y = file_read(case_path(g, "pre-checkpoint.db"), &b);
	if (a != b || memcmp(x, y, a))
		die("the full write-back does not reproduce the pre-checkpoint file");
	free(x);
	free(y);
	snprintf(g->note, sizeof g->note, "all %u saved pages written back: the file equals "
		 "pre-checkpoint.db, but the WAL and the -shm (nBackfill = mxFrame) stayed; SQLite "
		 "recovers the WAL and applies it again", rb.npg);
	rb_repair(g, "the rollback's intent: set the WAL and -shm aside, the file is then the "
		  "pre-checkpoint database");
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_HEADER_INVALID");
	expect_intact(g, INTACT_WAL | INTACT_OTHER);
	expect_must_not(g, "SHM_FOREIGN_ENDIAN");
	expect_must_not(g, "SHM_HEADER_INVALID");
	expect_must_not(g, "SHM_HEADER_MISMATCH");
	expect_must(g, "SHM_BACKFILL_INVALID");
	g->exit_status = 2;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

/* ---- wrong files -------------------------------------------------------------------- */

void b_wrong_empty_file(struct gen *g)
{
	file_write(g->db, "", 0);
	expect_healthy(g);
	expect_must(g, "DB_EMPTY");
}

void b_wrong_text_file(struct gen *g)
{
	static const char *const w[] = { "anchor", "bolt", "cable", "drill", "easel", "flask" };
	char buf[4096];
	size_t len = (size_t)snprintf(buf, sizeof buf, "id,name,qty,price\n");
	for (int i = 1; i <= 60 && len < sizeof buf - 64; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%d,%s-%u,%u,%u.%02u\n", i,
					w[prng_below(&g->rng, 6)], prng_below(&g->rng, 10000),
					prng_below(&g->rng, 500), prng_below(&g->rng, 1000),
					prng_below(&g->rng, 100));
	file_write(g->db, buf, len);
	gen_repair_impossible(g, "not a database: there is nothing to repair");
	expect_must_not(g, "DB_EMPTY");
	expect_intact(g, INTACT_WAL | INTACT_SHM | INTACT_OTHER);
	expect_must(g, "DB_NOT_SQLITE");
	g->exit_status = 2;
	g->want_opens = 0;
}

void b_wrong_hot_journal(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE_ROLLBACK(4096), COMMITS(20), BIGDOCS(3));
	gen_snapshot_orig(g);
	RUN(g, SESS_CRASH, SQL("PRAGMA synchronous=FULL"), SPILL_REWRITE(400));
	uint8_t first = 0;
	if (!file_exists(g->journal) || (file_pread(g->journal, 0, &first, 1), first == 0))
		die("no hot journal");
	size_t a, b;
	char orig[CG_PATH_MAX];
	uint8_t *x = file_read(g->db, &a), *y = file_read(pathf(orig, "%s/orig/db", g->work), &b);
	if (a == b && !memcmp(x, y, a))
		die("the transaction never reached the database file");
	free(x);
	free(y);
	gen_repair_dir(g, "SQLite rolls the hot journal back when it opens the "
		       "database and journal together: the state before the "
		       "transaction");
	/* What SQLite sees is the database after the journal's rollback, which
	 * also cuts the pages the transaction appended: the database file's
	 * extra pages and half-written b-trees are the journal's business. */
	expect_intact(g, INTACT_DB | INTACT_DBSIZE);
	expect_must_not(g, "JOURNAL_INVALID");
	expect_must_not(g, "CKPT_STARVED");
	expect_must_not(g, "DB_IN_USE");
	expect_intact(g, INTACT_WAL | INTACT_SHM);
	expect_must(g, "DB_HOT_JOURNAL");
	expect_must(g, "DB_NOT_WAL_MODE");
	g->exit_status = 1;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_wrong_foreign_wal(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(4096, 0), COMMITS(8), BIGDOCS(1));
	gen_snapshot_orig(g);
	char other[CG_PATH_MAX], p[CG_PATH_MAX];
	dir_make(work_path(g, "other"));
	pathf(other, "%s/other/db", g->work);
	RUN_AT(g, other, SESS_CRASH, CREATE(1024, 0),
	       SQL("CREATE TABLE contacts(id INTEGER PRIMARY KEY, email TEXT UNIQUE, seen INTEGER)"),
	       COMMITS(6));
	file_copy(pathf(p, "%s-wal", other), g->wal);
	file_copy(pathf(p, "%s-shm", other), g->shm);
	const char *d = gen_repair_dir(g, "the WAL is another database's: setting the -wal and -shm "
				       "aside leaves this database as it was");
	file_remove(pathf(p, "%s/db-wal", d));
	file_remove(pathf(p, "%s/db-shm", d));
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_HEADER_INVALID");
	expect_must_not(g, "WAL_HEADER_INVALID");
	expect_must_not(g, "WAL_CHECKSUM_MISMATCH");
	expect_must_not(g, "WAL_PARTIAL_FRAME");
	expect_must_not(g, "SHM_FOREIGN_ENDIAN");
	expect_must_not(g, "SHM_HEADER_INVALID");
	expect_must_not(g, "SHM_HEADER_MISMATCH");
	expect_intact(g, INTACT_OTHER);
	expect_must(g, "WAL_PAGE_SIZE_MISMATCH");
	g->exit_status = 2;
}
