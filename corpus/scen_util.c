/* scen_util.c — the step interpreter and page tools of scen.h. */
#include "scen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/bytes.h"

struct steps_arg {
	const struct step *steps;
	const char *db;
};

static void do_steps(struct gen *g, sqlite3 *h, void *arg)
{
	const struct steps_arg *sa = arg;
	char src[CG_PATH_MAX];
	for (const struct step *s = sa->steps; s->op != OP_END; s++) {
		switch (s->op) {
		case OP_CREATE:
			db_create(h, (unsigned)s->a, (int)s->b, true);
			wl_schema(h);
			break;
		case OP_CREATE_MINI:
			db_create(h, (unsigned)s->a, 0, true);
			sql(h, "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
			       " qty INTEGER, price REAL, tag BLOB);"
			       "CREATE INDEX items_name ON items(name);");
			break;
		case OP_CREATE_ROLLBACK:
			db_create(h, (unsigned)s->a, 0, false);
			wl_schema(h);
			break;
		case OP_COMMITS:
			wl_commits(g, h, (int)s->a);
			break;
		case OP_ITEMS:
			for (long i = 0; i < s->a; i++)
				wl_changes(g, h, 1);
			break;
		case OP_BIGDOCS:
			for (long i = 0; i < s->a; i++)
				wl_big_doc(g, h);
			break;
		case OP_DELETE:
			sql(h, "BEGIN");
			wl_delete_some(g, h, (int)s->a);
			sql(h, "COMMIT");
			break;
		case OP_CKPT:
			wl_checkpoint(h, s->s);
			break;
		case OP_SQL:
			sql(h, "%s", s->s);
			break;
		case OP_SNAP:
			file_copy(pathf(src, "%s%s", sa->db, s->s), work_path(g, s->t));
			break;
		case OP_SPILL:
			/* A cache of 10 pages: the transaction's pages spill to the WAL
			 * (pagerStress) long before COMMIT.  Overflow pages are written
			 * once each, so every spilled frame stays valid. */
			sql(h, "PRAGMA cache_size=10; BEGIN;");
			wl_doc(g, h, (size_t)s->a * (size_t)sql_int(h, "PRAGMA page_size"));
			break;
		case OP_SPILL_REWRITE:
			/* A document whose overflow pages spill once each (valid
			 * frames), then row changes: leaf pages spill, change again
			 * with the UPDATE and spill again: SQLite
			 * overwrites their earlier frame of this transaction in place and
			 * would re-chain the checksums at COMMIT (walRewriteChecksums). */
			sql(h, "PRAGMA cache_size=10; BEGIN;");
			wl_doc(g, h, 16 * (size_t)sql_int(h, "PRAGMA page_size"));
			wl_changes(g, h, (int)s->a);
			sql(h, "UPDATE items SET qty = qty + 1");
			break;
		case OP_READ:
			sql_int(h, "SELECT count(*) FROM sqlite_schema");
			break;
		default:
			die("unknown step %d", s->op);
		}
	}
}

void run_steps(struct gen *g, const char *db, enum sess_end end, const struct step *steps)
{
	struct steps_arg sa = { steps, db };
	sess_run(g, db, end, do_steps, &sa);
}

const char *work_path(struct gen *g, const char *name)
{
	static char ring[8][CG_PATH_MAX];
	static unsigned k;
	return pathf(ring[k++ % 8], "%s/%s", g->work, name);
}

const char *case_path(struct gen *g, const char *name)
{
	static char ring[8][CG_PATH_MAX];
	static unsigned k;
	return pathf(ring[k++ % 8], "%s/%s", g->dir, name);
}

uint32_t db_page_size(const char *db)
{
	uint8_t h[18];
	if (!file_exists(db) || file_size(db) < 100)
		return 0;
	file_pread(db, 0, h, sizeof h);
	uint32_t raw = rd_be16(h + 16);
	uint32_t ps = raw == 1 ? 65536 : raw;
	return ps >= 512 && ps <= 65536 && is_pow2_u32(ps) ? ps : 0;
}

uint32_t db_file_pages(const char *db)
{
	uint32_t ps = db_page_size(db);
	if (!ps)
		die("'%s' has no valid page size", db);
	return (uint32_t)((file_size(db) + ps - 1) / ps);
}

void page_read(const char *db, uint32_t ps, uint32_t pgno, uint8_t *buf)
{
	file_pread(db, (uint64_t)(pgno - 1) * ps, buf, ps);
}

void page_write(const char *db, uint32_t ps, uint32_t pgno, const uint8_t *buf)
{
	file_patch(db, (uint64_t)(pgno - 1) * ps, buf, ps);
}

uint32_t db_header_u32(const char *db, unsigned off)
{
	uint8_t b[4];
	file_pread(db, off, b, 4);
	return rd_be32(b);
}

void db_header_put_u32(const char *db, unsigned off, uint32_t v)
{
	uint8_t b[4];
	wr_be32(b, v);
	file_patch(db, off, b, 4);
}

void case_walscan(struct gen *g, struct walscan *w)
{
	walscan_file(g->wal, db_page_size(g->db), w);
}

uint32_t wal_txn_first_frame(const char *wal, uint32_t c)
{
	size_t n;
	uint8_t *p = file_read(wal, &n);
	struct walscan w;
	walscan(p, n, 0, &w);
	uint32_t first = 1, seen = 0, found = 0;
	for (uint32_t i = 1; i <= w.frames_valid && !found; i++) {
		const uint8_t *f = p + wal_frame_off(w.page_size, i);
		if (rd_be32(f + 4)) {
			if (++seen == c)
				found = first;
			first = i + 1;
		}
	}
	free(p);
	if (!found)
		die("the WAL has no committed transaction %u", c);
	return found;
}

long long query_copy(const char *db, const char *q)
{
	static unsigned k;
	char dir[CG_PATH_MAX], dst[CG_PATH_MAX], src[CG_PATH_MAX];
	pathf(dir, "%s/query-%u", tmp_root(), k++);
	dir_make(dir);
	file_copy(db, pathf(dst, "%s/db", dir));
	file_copy_opt(pathf(src, "%s-wal", db), pathf(dst, "%s/db-wal", dir));
	sqlite3 *h = db_open(pathf(dst, "%s/db", dir));
	long long v = sql_int(h, "%s", q);
	if (sqlite3_close(h) != SQLITE_OK)
		die("close failed");
	dir_remove(dir);
	return v;
}

void must_not_db(struct gen *g)
{
	expect_intact(g, INTACT_DB);
}
