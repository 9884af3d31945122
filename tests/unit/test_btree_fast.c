/*
 * The fast paths of the b-tree checks give exactly what the plain ones
 * give: the word bitmap of the coverage check says the same as a byte map
 * (same messages, same offsets), a clean-leaf summary is the struct
 * bt_parse_page fills, bt_walk_tree_clean visits and reports what
 * bt_walk_tree does, and sc_account_pages_mt accounts and reports what
 * sc_account_pages does — on databases real libsqlite3 wrote, clean and
 * hand-damaged.  Speed itself is measured by `make bench`, not here.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test.h"
#include "testlib.h"
#include "formats/btree.h"
#include "formats/bytes.h"
#include "formats/dbheader.h"
#include "inspect/schema.h"

/*
 * A database of 512-byte pages, over 1024 pages (so that
 * sc_account_pages_mt runs its threads): a table with an index, rows of
 * several sizes, some long enough for overflow chains, and deleted rows
 * (freeblocks, fragments, freelist pages).
 */
static const char *make_db(void)
{
	const char *db = tl_path("fast.db");
	tl_make_db(db, 512, false);
	tl_sql(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);"
		   "CREATE INDEX tk ON t(k);"
		   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<4000) "
		   "INSERT INTO t SELECT i, printf('key-%d-%d', (i*7919)%4001, i), "
		   "zeroblob(CASE WHEN i%97=0 THEN 1500 ELSE 20+(i*31)%90 END) FROM s;"
		   "DELETE FROM t WHERE id%5=0;"
		   "UPDATE t SET v=zeroblob(10) WHERE id%7=0;");
	return db;
}

/* --- the coverage check ------------------------------------------------ */

/* The first table leaf with at least two cells and no freeblock. */
static uint32_t find_leaf(const struct tl_img *m)
{
	for (uint32_t p = 2; p <= m->npages; p++) {
		struct bt_page pg;
		if (bt_parse_page(tl_img_page(m, p), m->page_size, m->usable, p, &pg, NULL) == WD_OK &&
		    pg.type == BT_LEAF_TABLE && pg.ncell >= 2 && !pg.first_freeblock && pg.frag < 50)
			return p;
	}
	return 0;
}

static const struct wd_diag *find_msg(const struct wd_diags *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, want))
			return &d->v[i];
	return NULL;
}

TEST(btree_coverage_reports_the_first_byte_used_twice)
{
	struct tl_img m;
	tl_img_load(&m, make_db());
	uint32_t pgno = find_leaf(&m);
	CHECK(pgno);
	uint8_t *p = tl_img_page(&m, pgno);
	struct bt_page pg;
	CHECK_EQ(bt_parse_page(p, m.page_size, m.usable, pgno, &pg, NULL), WD_OK);
	uint32_t c0 = bt_cell_ptr(p, &pg, 0);

	/* Cell 1 points at cell 0: its first byte is the first byte used twice. */
	uint8_t save[2];
	memcpy(save, p + pg.cellptr_off + 2, 2);
	wr_be16(p + pg.cellptr_off + 2, (uint16_t)c0);
	struct wd_diags d = { 0 };
	CHECK_EQ(bt_parse_page(p, m.page_size, m.usable, pgno, &pg, &d), WD_FATAL);
	char want[128];
	snprintf(want, sizeof want, "page %u offset %u: cell 1 overlaps another cell (byte %u used twice)",
		 pgno, c0, c0);
	const struct wd_diag *g = find_msg(&d, "overlaps");
	CHECK(g);
	CHECK_STR(g->msg, want);
	CHECK_EQ(g->offset, (int64_t)(pgno - 1) * m.page_size + c0);
	wd_diags_free(&d);
	memcpy(p + pg.cellptr_off + 2, save, 2);

	/* A freeblock of 4 bytes inside cell 0's payload. */
	CHECK_EQ(bt_parse_page(p, m.page_size, m.usable, pgno, &pg, NULL), WD_OK);
	struct bt_cell c;
	CHECK_EQ(bt_parse_cell(p, &pg, 0, &c, NULL), WD_OK);
	CHECK(c.local_size >= 8);
	uint32_t fb = c.payload_off + 2;
	uint8_t blk[4] = { 0, 0, 0, 4 };
	uint8_t save4[4], saveh[2];
	memcpy(save4, p + fb, 4);
	memcpy(saveh, p + pg.hdr_off + 1, 2);
	memcpy(p + fb, blk, 4);
	wr_be16(p + pg.hdr_off + 1, (uint16_t)fb);
	CHECK_EQ(bt_parse_page(p, m.page_size, m.usable, pgno, &pg, &d), WD_FATAL);
	snprintf(want, sizeof want, "page %u offset %u: freeblock at %u overlaps a cell (byte %u used twice)",
		 pgno, fb, fb, fb);
	g = find_msg(&d, "overlaps");
	CHECK(g);
	CHECK_STR(g->msg, want);
	wd_diags_free(&d);
	memcpy(p + fb, save4, 4);
	memcpy(p + pg.hdr_off + 1, saveh, 2);

	/* One fragmented byte more than the cells leave. */
	CHECK_EQ(bt_parse_page(p, m.page_size, m.usable, pgno, &pg, NULL), WD_OK);
	uint8_t frag = pg.frag;
	p[pg.hdr_off + 7] = (uint8_t)(frag + 1);
	CHECK_EQ(bt_parse_page(p, m.page_size, m.usable, pgno, &pg, &d), WD_FATAL);
	snprintf(want, sizeof want,
		 "page %u offset %u: %u bytes of the content area are in no cell or freeblock, but the header counts %u fragmented bytes",
		 pgno, pg.hdr_off + 7, frag, frag + 1);
	CHECK_EQ(d.n, 1);
	CHECK_STR(d.v[0].msg, want);
	wd_diags_free(&d);
	free(m.p);
}

/* --- clean-leaf summaries ---------------------------------------------------- */

TEST(btree_clean_leaf_summary_is_the_parsed_header)
{
	struct tl_img m;
	tl_img_load(&m, make_db());
	unsigned nclean = 0, noverflow = 0, ninterior = 0;
	for (uint32_t p = 1; p <= m.npages; p++) {
		const uint8_t *buf = tl_img_page(&m, p);
		struct bt_leaf_summary sum;
		bool clean = bt_page_is_clean_leaf(buf, m.page_size, m.usable, p, &sum);
		struct bt_page pg;
		struct wd_diags d = { 0 };
		int rc = bt_parse_page(buf, m.page_size, m.usable, p, &pg, &d);
		bool chains = false;
		for (unsigned i = 0; pg.type_ok && i < pg.ncell; i++) {
			struct bt_cell c;
			if (bt_parse_cell(buf, &pg, i, &c, NULL) == WD_OK && c.local_size < c.payload_size)
				chains = true;
		}
		/* Clean: a leaf, no finding at all, no overflow chain. */
		CHECK_EQ(clean, rc == WD_OK && d.n == 0 && pg.type_ok && pg.leaf && !chains);
		CHECK_EQ(sum.type != 0, clean);
		if (clean) {
			nclean++;
			CHECK_EQ(sum.type, pg.type);
			CHECK_EQ(sum.ncell, pg.ncell);
			CHECK_EQ(sum.frag, pg.frag);
			CHECK_EQ(sum.first_freeblock, pg.first_freeblock);
			CHECK_EQ(sum.content_raw ? sum.content_raw : 65536u, pg.content_start);
			CHECK_EQ(sum.nfreeblocks, pg.nfreeblocks);
			CHECK_EQ(sum.free_bytes, pg.free_bytes);
		}
		noverflow += pg.type_ok && pg.leaf && chains;
		ninterior += pg.type_ok && !pg.leaf;
		wd_diags_free(&d);
	}
	/* The database has all three kinds. */
	CHECK(nclean > 500);
	CHECK(noverflow > 0);
	CHECK(ninterior > 0);
	free(m.p);
}

/* --- walks and accounting on damaged copies ------------------------------------ */

struct vlog {
	char *buf;
	size_t n, cap;
};

static void vlog_visit(void *ctx, const struct bt_visit *v)
{
	struct vlog *l = ctx;
	char line[256];
	int k = snprintf(line, sizeof line, "%u %d %u %u %u %u", v->pgno, v->is_overflow, v->root, v->parent,
			 v->ptrmap_type, v->depth);
	if (v->pg)
		k += snprintf(line + k, sizeof line - (size_t)k, " [%u %u %u %u %d %d %d %u %u %u %u %u %u %u %u %u]",
			      v->pg->pgno, v->pg->page_size, v->pg->usable, v->pg->hdr_off, v->pg->type_ok,
			      v->pg->leaf, v->pg->intkey, v->pg->type, v->pg->first_freeblock, v->pg->ncell,
			      v->pg->content_start, v->pg->frag, v->pg->right_child, v->pg->hdr_size,
			      v->pg->nfreeblocks, v->pg->free_bytes);
	if (l->n + (size_t)k + 2 > l->cap) {
		l->cap = (l->cap + (size_t)k + 2) * 2;
		l->buf = realloc(l->buf, l->cap);
		CHECK(l->buf);
	}
	memcpy(l->buf + l->n, line, (size_t)k);
	l->n += (size_t)k;
	l->buf[l->n++] = '\n';
}

struct logged_img {
	struct tl_img *m;
	struct vlog *log;
};

static const uint8_t *logged_get(void *ctx, uint32_t pgno)
{
	return tl_img_get(((struct logged_img *)ctx)->m, pgno);
}

static void logged_visit(void *ctx, const struct bt_visit *v)
{
	vlog_visit(((struct logged_img *)ctx)->log, v);
}

static void diags_same(const struct wd_diags *a, const struct wd_diags *b)
{
	CHECK_EQ(a->n, b->n);
	CHECK_EQ(a->dropped, b->dropped);
	for (size_t i = 0; i < a->n; i++) {
		CHECK_EQ(a->v[i].code, b->v[i].code);
		CHECK_EQ(a->v[i].sev, b->v[i].sev);
		CHECK_EQ(a->v[i].file, b->v[i].file);
		CHECK_EQ(a->v[i].offset, b->v[i].offset);
		CHECK_EQ(a->v[i].frame, b->v[i].frame);
		CHECK_EQ(a->v[i].page, b->v[i].page);
		CHECK_STR(a->v[i].msg, b->v[i].msg);
	}
}

/* Damage `nbytes` bytes of the image, deterministically from seed. */
static void damage(struct tl_img *m, uint32_t seed, unsigned nbytes)
{
	uint32_t x = seed * 2654435761u + 1;
	for (unsigned k = 0; k < nbytes; k++) {
		x = x * 1103515245u + 12345u;
		uint32_t pg = 2 + (x >> 8) % (m->npages - 1);
		x = x * 1103515245u + 12345u;
		/* Mostly headers and pointer arrays, where damage shows. */
		uint32_t off = (x >> 4) % 4 == 0 ? (x >> 8) % m->page_size : (x >> 8) % 48;
		x = x * 1103515245u + 12345u;
		tl_img_page(m, pg)[off] ^= (uint8_t)(1u << ((x >> 16) & 7));
	}
}

TEST(btree_clean_walk_and_threaded_accounting_match_the_plain_ones)
{
	const char *db = make_db();
	unsigned ndiag = 0, nclean_total = 0;
	for (uint32_t seed = 0; seed < 12; seed++) {
		struct tl_img m;
		tl_img_load(&m, db);
		CHECK(m.npages > 1024);
		if (seed)
			damage(&m, seed, 4 * seed);

		/* bt_walk_tree against bt_walk_tree_clean from every root of the schema. */
		struct bt_leaf_summary *clean = calloc(m.npages + 1, sizeof *clean);
		CHECK(clean);
		for (uint32_t p = 1; p <= m.npages; p++)
			nclean_total += bt_page_is_clean_leaf(tl_img_page(&m, p), m.page_size, m.usable, p, &clean[p]);
		struct vlog l1 = { 0 }, l2 = { 0 };
		struct logged_img c1 = { &m, &l1 }, c2 = { &m, &l2 };
		struct bt_walk_ops o1 = { logged_get, NULL, &c1, m.page_size, m.usable, m.npages, logged_visit };
		struct bt_walk_ops o2 = { logged_get, NULL, &c2, m.page_size, m.usable, m.npages, logged_visit };
		uint8_t *s1 = calloc(m.npages / 8 + 1, 1), *s2 = calloc(m.npages / 8 + 1, 1);
		struct wd_diags d1 = { 0 }, d2 = { 0 };
		for (uint32_t root = 1; root <= 8; root++) {
			CHECK_EQ(bt_walk_tree(&o1, root, s1, &d1), bt_walk_tree_clean(&o2, root, s2, clean, &d2));
		}
		CHECK_EQ(l1.n, l2.n);
		CHECK_MEM(l1.buf, l2.buf, l1.n);
		CHECK_MEM(s1, s2, m.npages / 8 + 1);
		diags_same(&d1, &d2);
		ndiag += (unsigned)d1.n;
		free(l1.buf);
		free(l2.buf);
		free(s1);
		free(s2);
		free(clean);
		wd_diags_free(&d1);
		wd_diags_free(&d2);

		/* The accounting, serial and with threads. */
		struct wd_diags hd = { 0 };
		dbh_parse(m.p, m.n, &m.h, &hd);
		wd_diags_free(&hd);
		struct sc_source src = { tl_img_get, &m, m.page_size, m.usable, m.npages, m.h.text_encoding };
		struct sc_schema sch;
		sc_read_schema(&src, &sch, NULL);
		struct sc_account a1, a2;
		struct wd_diags e1 = { 0 }, e2 = { 0 };
		int r1 = sc_account_pages(&src, &m.h, &sch, &a1, &e1);
		int r2 = sc_account_pages_mt(&src, &m.h, &sch, &a2, &e2, 3);
		CHECK_EQ(r1, r2);
		diags_same(&e1, &e2);
		CHECK_EQ(a1.npages, a2.npages);
		CHECK_EQ(a1.ntrees, a2.ntrees);
		CHECK_EQ(a1.nbtree, a2.nbtree);
		CHECK_EQ(a1.nfree_trunk, a2.nfree_trunk);
		CHECK_EQ(a1.nfree_leaf, a2.nfree_leaf);
		CHECK_EQ(a1.nunused, a2.nunused);
		CHECK_EQ(a1.complete, a2.complete);
		CHECK_MEM(a1.role, a2.role, (size_t)a1.npages + 1);
		CHECK_MEM(a1.tree, a2.tree, ((size_t)a1.npages + 1) * sizeof *a1.tree);
		for (size_t t = 0; t < a1.ntrees; t++) {
			CHECK_EQ(a1.trees[t].root, a2.trees[t].root);
			CHECK_EQ(a1.trees[t].npages, a2.trees[t].npages);
			CHECK_EQ(a1.trees[t].nleaf, a2.trees[t].nleaf);
			CHECK_EQ(a1.trees[t].ninvalid, a2.trees[t].ninvalid);
		}
		if (!seed) {
			/* The clean database: nothing to report, and most pages are clean leaves. */
			CHECK_EQ(e1.n, 0);
			CHECK(a1.nbtree > 1000);
		}
		sc_account_free(&a1);
		sc_account_free(&a2);
		sc_schema_free(&sch);
		wd_diags_free(&e1);
		wd_diags_free(&e2);
		free(m.p);
	}
	/* The damage was seen, and the fast path was taken. */
	CHECK(ndiag > 10);
	CHECK(nclean_total > 5000);
}
