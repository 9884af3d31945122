/*
 * B-tree pages, cells, records, freelist, pointer map and the page
 * accounting, against databases real libsqlite3 wrote (and hand-damaged
 * copies of them).  SQLite's dbstat virtual table is the oracle for which
 * page belongs to which b-tree and what kind of page it is.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "test.h"
#include "testlib.h"
#include "formats/btree.h"
#include "formats/bytes.h"
#include "formats/dbheader.h"
#include "inspect/schema.h"

static struct sc_source img_source(struct tl_img *m)
{
	struct sc_source s = { tl_img_get, m, m->page_size, m->usable, m->npages, m->h.text_encoding };
	return s;
}

/* Schema and accounting of an image; returns the accounting status. */
static int img_account(struct tl_img *m, struct sc_schema *s, struct sc_account *a, struct wd_diags *d)
{
	/* Re-read the header: tests patch it in place. */
	struct wd_diags hd = { 0 };
	dbh_parse(m->p, m->n, &m->h, &hd);
	wd_diags_free(&hd);
	struct sc_source src = img_source(m);
	sc_read_schema(&src, s, NULL);
	return sc_account_pages(&src, &m->h, s, a, d);
}

static void dump_diags(const struct wd_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "# %s %s page %lld offset %lld: %s\n", wd_severity_name(d->v[i].sev),
			wd_code_name(d->v[i].code), (long long)d->v[i].page, (long long)d->v[i].offset,
			d->v[i].msg);
}

#define CHECK_NO_DIAGS(d) do { if ((d)->n) { dump_diags(d); CHECK_EQ((d)->n, 0); } } while (0)

static bool has_diag(const struct wd_diags *d, enum wd_code code, int64_t page, int64_t offset)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].code == code && (page == WD_NONE || d->v[i].page == page) &&
		    (offset == WD_NONE || d->v[i].offset == offset))
			return true;
	return false;
}

#define CHECK_DIAG(d, code, page, off) do { \
	if (!has_diag((d), (code), (page), (off))) { dump_diags(d); \
		tl_fail(__FILE__, __LINE__, "no %s at page %lld offset %lld", #code, (long long)(page), (long long)(off)); } \
} while (0)

/* --- SQLite as the oracle ------------------------------------------------- */

static sqlite3 *open_copy(const char *db)
{
	static unsigned k;
	const char *copy = tl_path("oracle-%u.db", k++);
	tl_copy(db, copy);
	sqlite3 *h = NULL;
	if (sqlite3_open(copy, &h) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "cannot open copy of '%s'", db);
	return h;
}

static sqlite3_stmt *prep(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "prepare '%s': %s", sql, sqlite3_errmsg(h));
	return st;
}

static const struct sc_tree *tree_named(const struct sc_account *a, const char *name)
{
	for (size_t i = 0; i < a->ntrees; i++)
		if (!strcmp(a->trees[i].name, name))
			return &a->trees[i];
	return NULL;
}

/*
 * Every page dbstat lists belongs to the tree of that name in waldo's
 * accounting with the same kind (internal/leaf/overflow), and the
 * per-tree counts agree.
 */
static void check_against_dbstat(const char *db, const struct sc_account *a)
{
	sqlite3 *h = open_copy(db);
	sqlite3_stmt *st = prep(h, "SELECT name, pageno, pagetype FROM dbstat ORDER BY pageno");
	unsigned n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		uint32_t pgno = (uint32_t)sqlite3_column_int64(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);
		const struct sc_tree *t = sc_account_tree_of(a, pgno);
		if (!t)
			tl_fail(__FILE__, __LINE__, "page %u (%s of %s) is in no tree", pgno, type, name);
		CHECK_STR(t->name, name);
		enum sc_role want = !strcmp(type, "internal") ? SC_ROLE_BTREE_INTERIOR
				  : !strcmp(type, "leaf") ? SC_ROLE_BTREE_LEAF : SC_ROLE_OVERFLOW;
		if (a->role[pgno] != want)
			tl_fail(__FILE__, __LINE__, "page %u: dbstat says %s, waldo %s", pgno, type,
				sc_role_name(a->role[pgno]));
		n++;
	}
	sqlite3_finalize(st);
	CHECK_EQ(n, a->nbtree);
	st = prep(h, "SELECT name, count(*) FROM dbstat GROUP BY name");
	size_t ngroups = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const struct sc_tree *t = tree_named(a, (const char *)sqlite3_column_text(st, 0));
		CHECK(t != NULL);
		CHECK_EQ(t->npages, sqlite3_column_int64(st, 1));
		ngroups++;
	}
	sqlite3_finalize(st);
	CHECK_EQ(ngroups, a->ntrees);
	sqlite3_close(h);
}

/* Every page is counted once, and the total is SQLite's page_count. */
static void check_totals(const char *db, const struct tl_img *m, const struct sc_account *a)
{
	CHECK_EQ(a->npages, tl_query_int(db, "PRAGMA page_count"));
	CHECK_EQ(m->npages, a->npages);
	CHECK_EQ(a->nbtree + a->nfree_trunk + a->nfree_leaf + a->nptrmap + a->nlockbyte + a->nunused,
		 a->npages);
	CHECK_EQ(a->nfree_trunk + a->nfree_leaf, tl_query_int(db, "PRAGMA freelist_count"));
	unsigned k[16] = { 0 };
	for (uint32_t p = 1; p <= a->npages; p++)
		k[a->role[p]]++;
	CHECK_EQ(k[SC_ROLE_FREE_TRUNK], a->nfree_trunk);
	CHECK_EQ(k[SC_ROLE_FREE_LEAF], a->nfree_leaf);
	CHECK_EQ(k[SC_ROLE_PTRMAP], a->nptrmap);
	CHECK_EQ(k[SC_ROLE_UNUSED], a->nunused);
}

/* The root page of the object called name (by SQLite). */
static uint32_t root_of(const char *db, const char *name)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT rootpage FROM sqlite_schema WHERE name='%s'", name);
	return (uint32_t)tl_query_int(db, sql);
}

/* The first page dbstat lists for `name` with this pagetype, 0 if none. */
static uint32_t page_of_kind(const char *db, const char *name, const char *kind)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT min(pageno) FROM dbstat WHERE name='%s' AND pagetype='%s'",
		 name, kind);
	return (uint32_t)tl_query_int(db, sql);
}

/* The leaf cell of table `name` holding rowid; fails the test when absent. */
static const uint8_t *find_row(const char *db, struct tl_img *m, const char *name, int64_t rowid,
			       uint32_t *pgno, struct bt_page *pg, struct bt_cell *c)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT pageno FROM dbstat WHERE name='%s' AND pagetype='leaf'", name);
	sqlite3 *h = open_copy(db);
	sqlite3_stmt *st = prep(h, sql);
	const uint8_t *found = NULL;
	while (!found && sqlite3_step(st) == SQLITE_ROW) {
		uint32_t p = (uint32_t)sqlite3_column_int64(st, 0);
		const uint8_t *page = tl_img_page(m, p);
		CHECK_EQ(bt_parse_page(page, m->page_size, m->usable, p, pg, NULL), WD_OK);
		CHECK_EQ(pg->type, BT_LEAF_TABLE);
		for (unsigned i = 0; i < pg->ncell; i++) {
			CHECK_EQ(bt_parse_cell(page, pg, i, c, NULL), WD_OK);
			if (c->rowid == rowid) {
				found = page;
				*pgno = p;
				break;
			}
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	if (!found)
		tl_fail(__FILE__, __LINE__, "rowid %lld of %s not found", (long long)rowid, name);
	return found;
}

static const char fill_sql[] =
	"CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB);"
	"CREATE INDEX tb ON t(b);"
	"CREATE TABLE u(x, y) ;"
	"CREATE VIEW v AS SELECT a FROM t;"
	"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<600)"
	" INSERT INTO t SELECT i, 'row number ' || i, randomblob(i % 50) FROM s;"
	"INSERT INTO t VALUES(5000, 'big', randomblob(150000));"
	"INSERT INTO u VALUES(1, 2);";

/* --- healthy databases ------------------------------------------------------ */

TEST(btree_real_pages_parse_clean_at_every_page_size)
{
	static const unsigned sizes[] = { 512, 4096, 65536 };
	for (unsigned z = 0; z < 3; z++) {
		const char *db = tl_path("p%u.db", sizes[z]);
		tl_make_db(db, sizes[z], false);
		tl_sql(db, fill_sql);
		struct tl_img m;
		tl_img_load(&m, db);
		CHECK_EQ(m.page_size, sizes[z]);
		/* Every page dbstat calls a b-tree page parses with no finding. */
		for (uint32_t p = 1; p <= m.npages; p++) {
			struct bt_page pg;
			struct wd_diags d = { 0 };
			int rc = bt_parse_page(tl_img_page(&m, p), m.page_size, m.usable, p, &pg, &d);
			if (pg.type_ok) {
				CHECK_NO_DIAGS(&d);
				CHECK_EQ(rc, WD_OK);
				for (unsigned i = 0; i < pg.ncell; i++) {
					struct bt_cell c;
					CHECK_EQ(bt_parse_cell(tl_img_page(&m, p), &pg, i, &c, &d), WD_OK);
					CHECK(c.offset >= pg.content_start);
					CHECK(c.offset + c.size <= m.usable);
				}
			}
			wd_diags_free(&d);
		}
		struct sc_schema s;
		struct sc_account a;
		struct wd_diags d = { 0 };
		CHECK_EQ(img_account(&m, &s, &a, &d), WD_OK);
		CHECK_NO_DIAGS(&d);
		CHECK_EQ(s.n, 4);
		CHECK_STR(s.v[0].type, "table");
		CHECK_STR(s.v[0].name, "t");
		CHECK_EQ(s.v[0].rootpage, root_of(db, "t"));
		CHECK_STR(s.v[1].name, "tb");
		CHECK_STR(s.v[1].tbl_name, "t");
		CHECK_STR(s.v[1].sql, "CREATE INDEX tb ON t(b)");
		CHECK_STR(s.v[3].type, "view");
		CHECK_EQ(s.v[3].rootpage, 0);
		CHECK_EQ(a.ntrees, 4);   /* sqlite_schema, t, tb, u */
		check_totals(db, &m, &a);
		CHECK_EQ(a.nunused, 0);
		check_against_dbstat(db, &a);
		sc_account_free(&a);
		sc_schema_free(&s);
		wd_diags_free(&d);
		free(m.p);
	}
}

TEST(btree_page1_header_is_at_offset_100)
{
	const char *db = tl_path("one.db");
	tl_make_db(db, 4096, true);
	tl_sql(db, "CREATE TABLE t(a); CREATE TABLE t2(b);");
	struct tl_img m;
	tl_img_load(&m, db);
	struct bt_page pg;
	struct wd_diags d = { 0 };
	CHECK_EQ(bt_parse_page(m.p, m.page_size, m.usable, 1, &pg, &d), WD_OK);
	CHECK_EQ(pg.hdr_off, 100);
	CHECK_EQ(pg.type, BT_LEAF_TABLE);
	CHECK_STR(bt_type_name(pg.type), "table leaf");
	CHECK_EQ(pg.ncell, 2);
	CHECK_EQ(pg.cellptr_off, 108);
	CHECK(pg.leaf && pg.intkey);
	CHECK_EQ(pg.content_start, rd_be16(m.p + 105));
	/* Read as if it were page 2, the header is at 0: the type byte is 'S'. */
	CHECK_EQ(bt_parse_page(m.p, m.page_size, m.usable, 2, &pg, &d), WD_FATAL);
	CHECK_EQ(pg.type, 'S');
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, 2, 4096);
	wd_diags_free(&d);
	free(m.p);
}

TEST(btree_table_interior_and_leaf_cells_match_rows)
{
	const char *db = tl_path("t.db");
	tl_make_db(db, 512, false);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
		   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<2000)"
		   " INSERT INTO t SELECT i*3, 'v' || (i*3) FROM s;");
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t root = root_of(db, "t");
	struct bt_page pg;
	CHECK_EQ(bt_parse_page(tl_img_page(&m, root), m.page_size, m.usable, root, &pg, NULL), WD_OK);
	CHECK_EQ(pg.type, BT_INTERIOR_TABLE);
	CHECK_EQ(pg.hdr_size, 12);
	CHECK(pg.right_child >= 2 && pg.right_child <= m.npages);

	/* Walk every leaf: each row appears once, rowid and text as SQLite has them. */
	int64_t nrows = 0, prev = 0;
	sqlite3 *h = open_copy(db);
	sqlite3_stmt *st = prep(h, "SELECT pageno FROM dbstat WHERE name='t' AND pagetype='leaf' ORDER BY path");
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint32_t p = (uint32_t)sqlite3_column_int64(st, 0);
		const uint8_t *page = tl_img_page(&m, p);
		CHECK_EQ(bt_parse_page(page, m.page_size, m.usable, p, &pg, NULL), WD_OK);
		CHECK_EQ(pg.type, BT_LEAF_TABLE);
		for (unsigned i = 0; i < pg.ncell; i++) {
			struct bt_cell c;
			CHECK_EQ(bt_parse_cell(page, &pg, i, &c, NULL), WD_OK);
			CHECK(c.has_rowid && c.has_payload);
			CHECK(c.rowid > prev);
			prev = c.rowid;
			CHECK_EQ(c.rowid % 3, 0);
			CHECK_EQ(c.overflow, 0);
			CHECK_EQ(c.local_size, c.payload_size);
			struct bt_value v[4];
			unsigned ncol;
			CHECK_EQ(bt_parse_record(page + c.payload_off, c.local_size, v, 4, &ncol), WD_OK);
			CHECK_EQ(ncol, 2);
			CHECK_EQ(v[0].serial_type, 0);   /* INTEGER PRIMARY KEY is stored as NULL */
			char want[32];
			int n = snprintf(want, sizeof want, "v%lld", (long long)c.rowid);
			CHECK_EQ(v[1].serial_type, 13 + 2 * n);
			CHECK_MEM(page + c.payload_off + v[1].offset, want, (size_t)n);
			nrows++;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	CHECK_EQ(nrows, 2000);

	/* Interior cells: a left child and a rowid key, no payload. */
	uint32_t ip = page_of_kind(db, "t", "internal");
	const uint8_t *page = tl_img_page(&m, ip);
	CHECK_EQ(bt_parse_page(page, m.page_size, m.usable, ip, &pg, NULL), WD_OK);
	for (unsigned i = 0; i < pg.ncell; i++) {
		struct bt_cell c;
		CHECK_EQ(bt_parse_cell(page, &pg, i, &c, NULL), WD_OK);
		CHECK(!c.has_payload && c.has_rowid);
		CHECK(c.left_child >= 2 && c.left_child <= m.npages);
		CHECK_EQ(c.size, 4 + (c.rowid < 128 ? 1 : c.rowid < 16384 ? 2 : 3));
	}
	free(m.p);
}

TEST(btree_index_pages_hold_every_key_once)
{
	const char *db = tl_path("i.db");
	tl_make_db(db, 1024, false);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
		   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<3000)"
		   " INSERT INTO t SELECT i, printf('key-%06d', (i * 7919) % 3000) FROM s;"
		   "CREATE INDEX tb ON t(b);");
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t root = root_of(db, "tb");
	struct bt_page pg;
	CHECK_EQ(bt_parse_page(tl_img_page(&m, root), m.page_size, m.usable, root, &pg, NULL), WD_OK);
	CHECK_EQ(pg.type, BT_INTERIOR_INDEX);
	CHECK(!pg.intkey);

	/* In an index b-tree each entry is in exactly one cell, interior or leaf. */
	unsigned nentries = 0, ninterior = 0;
	for (uint32_t p = 2; p <= m.npages; p++) {
		const uint8_t *page = tl_img_page(&m, p);
		if (bt_parse_page(page, m.page_size, m.usable, p, &pg, NULL) != WD_OK ||
		    (pg.type != BT_LEAF_INDEX && pg.type != BT_INTERIOR_INDEX))
			continue;
		ninterior += pg.type == BT_INTERIOR_INDEX;
		for (unsigned i = 0; i < pg.ncell; i++) {
			struct bt_cell c;
			CHECK_EQ(bt_parse_cell(page, &pg, i, &c, NULL), WD_OK);
			CHECK(!c.has_rowid && c.has_payload);
			if (pg.type == BT_INTERIOR_INDEX)
				CHECK(c.left_child >= 2 && c.left_child <= m.npages);
			struct bt_value v[3];
			unsigned ncol;
			CHECK_EQ(bt_parse_record(page + c.payload_off, c.local_size, v, 3, &ncol), WD_OK);
			CHECK_EQ(ncol, 2);                    /* key, rowid */
			CHECK_EQ(v[0].serial_type, 13 + 2 * 10);
			int64_t rowid;
			CHECK(bt_value_int(page + c.payload_off + v[1].offset, v[1].serial_type, &rowid));
			char want[16];
			snprintf(want, sizeof want, "key-%06d", (int)((rowid * 7919) % 3000));
			CHECK_MEM(page + c.payload_off + v[0].offset, want, 10);
			nentries++;
		}
	}
	CHECK_EQ(nentries, 3000);
	CHECK_EQ(ninterior, tl_query_int(db, "SELECT count(*) FROM dbstat WHERE name='tb' AND pagetype='internal'"));
	free(m.p);
}

TEST(btree_overflow_chains_rebuild_the_value)
{
	static const unsigned sizes[] = { 512, 4096, 65536 };
	for (unsigned z = 0; z < 3; z++) {
		const char *db = tl_path("o%u.db", sizes[z]);
		tl_make_db(db, sizes[z], false);
		tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB, c TEXT);"
			   "INSERT INTO t VALUES(1, randomblob(200000), 'tail');"
			   "INSERT INTO t VALUES(2, NULL, printf('%.*c', 70000, 'x'));"
			   "CREATE INDEX tc ON t(c);");
		struct tl_img m;
		tl_img_load(&m, db);
		struct sc_source src = img_source(&m);
		sqlite3 *h = open_copy(db);
		sqlite3_stmt *st = prep(h, "SELECT b FROM t WHERE a=1");
		CHECK_EQ(sqlite3_step(st), SQLITE_ROW);
		const void *want = sqlite3_column_blob(st, 0);
		CHECK_EQ(sqlite3_column_bytes(st, 0), 200000);

		uint32_t leaf;
		struct bt_page pg;
		struct bt_cell c;
		const uint8_t *page = find_row(db, &m, "t", 1, &leaf, &pg, &c);
		CHECK(c.payload_size > 200000);
		CHECK(c.local_size < c.payload_size);
		CHECK_EQ(c.local_size, bt_local_payload(m.usable, BT_LEAF_TABLE, c.payload_size));
		CHECK(c.overflow >= 2);
		CHECK_EQ(c.size, c.payload_off - c.offset + c.local_size + 4);

		uint8_t *buf = malloc(c.payload_size);
		size_t n = sc_read_payload(&src, leaf, page, &c, buf, c.payload_size, NULL);
		CHECK_EQ(n, c.payload_size);
		struct bt_value v[3];
		unsigned ncol;
		CHECK_EQ(bt_parse_record(buf, n, v, 3, &ncol), WD_OK);
		CHECK_EQ(ncol, 3);
		CHECK_EQ(v[1].serial_type, 12 + 2 * 200000);
		CHECK_MEM(buf + v[1].offset, want, 200000);
		CHECK_MEM(buf + v[2].offset, "tail", 4);
		/* Asking for less reads less. */
		CHECK_EQ(sc_read_payload(&src, leaf, page, &c, buf, 1000, NULL), 1000);
		free(buf);
		sqlite3_finalize(st);

		/* The chains are as long as SQLite's dbstat says. */
		long long novfl = tl_query_int(db, "SELECT count(*) FROM dbstat WHERE name='t' AND pagetype='overflow'");
		uint32_t need0 = bt_overflow_pages(m.usable, c.payload_size, c.local_size);
		find_row(db, &m, "t", 2, &leaf, &pg, &c);
		CHECK_EQ(need0 + bt_overflow_pages(m.usable, c.payload_size, c.local_size), novfl);
		sqlite3_close(h);

		/* The 70000-byte key overflows in the index too (index max-local rule). */
		struct sc_schema s;
		struct sc_account a;
		struct wd_diags d = { 0 };
		CHECK_EQ(img_account(&m, &s, &a, &d), WD_OK);
		CHECK_NO_DIAGS(&d);
		CHECK(tree_named(&a, "tc")->noverflow > 0);
		check_totals(db, &m, &a);
		check_against_dbstat(db, &a);
		sc_account_free(&a);
		sc_schema_free(&s);
		free(m.p);
	}
}

TEST(btree_local_payload_rules)
{
	/* U = 4096: table leaf X = 4061, index X = 1002, M = 489. */
	CHECK_EQ(bt_local_payload(4096, BT_LEAF_TABLE, 4061), 4061);
	CHECK_EQ(bt_local_payload(4096, BT_LEAF_TABLE, 4062), 489);   /* K = 4062 > X: keep M */
	CHECK_EQ(bt_local_payload(4096, BT_LEAF_INDEX, 1002), 1002);
	CHECK_EQ(bt_local_payload(4096, BT_LEAF_INDEX, 1003), 489);
	CHECK_EQ(bt_local_payload(4096, BT_INTERIOR_INDEX, 1003), 489);
	/* K = M + (P-M) % (U-4) fits under X: K is kept. */
	CHECK_EQ(bt_local_payload(4096, BT_LEAF_TABLE, 489 + 4092 + 100), 589);
	CHECK_EQ(bt_local_payload(512, BT_LEAF_TABLE, 477), 477);
	CHECK_EQ(bt_local_payload(512, BT_LEAF_TABLE, 478), 39);
	CHECK_EQ(bt_local_payload(65536, BT_LEAF_TABLE, 65501), 65501);
	CHECK_EQ(bt_overflow_pages(4096, 10000, 489), 3);
	CHECK_EQ(bt_overflow_pages(4096, 489, 489), 0);
}

TEST(btree_records_of_every_serial_type)
{
	const char *db = tl_path("r.db");
	tl_make_db(db, 4096, false);
	tl_sql(db, "CREATE TABLE t(v);"
		   "INSERT INTO t VALUES(NULL),(0),(1),(100),(-1),(1000),(-129),(100000),(100000000),"
		   "(100000000000),(10000000000000000),(-9223372036854775808),(1.5),('abc'),(x'0102ff'),(''),(x'');");
	static const struct { uint64_t st; int64_t i; } want[] = {
		{ 0, 0 }, { 8, 0 }, { 9, 1 }, { 1, 100 }, { 1, -1 }, { 2, 1000 }, { 2, -129 },
		{ 3, 100000 }, { 4, 100000000 }, { 5, 100000000000 }, { 6, 10000000000000000 },
		{ 6, INT64_MIN }, { 7, 0 }, { 19, 0 }, { 18, 0 }, { 13, 0 }, { 12, 0 },
	};
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t root = root_of(db, "t");
	const uint8_t *page = tl_img_page(&m, root);
	struct bt_page pg;
	CHECK_EQ(bt_parse_page(page, m.page_size, m.usable, root, &pg, NULL), WD_OK);
	CHECK_EQ(pg.ncell, sizeof want / sizeof *want);
	for (unsigned i = 0; i < pg.ncell; i++) {
		struct bt_cell c;
		CHECK_EQ(bt_parse_cell(page, &pg, i, &c, NULL), WD_OK);
		struct bt_value v;
		unsigned ncol;
		const uint8_t *rec = page + c.payload_off;
		CHECK_EQ(bt_parse_record(rec, c.local_size, &v, 1, &ncol), WD_OK);
		CHECK_EQ(ncol, 1);
		CHECK_EQ(v.serial_type, want[i].st);
		CHECK_EQ(v.offset + v.len, c.payload_size);   /* the value ends the record */
		CHECK_EQ(v.len, bt_serial_len(v.serial_type));
		int64_t x;
		if (bt_value_int(rec + v.offset, v.serial_type, &x))
			CHECK_EQ(x, want[i].i);
		else
			CHECK(v.serial_type == 0 || v.serial_type >= 7);
	}
	struct bt_cell c;
	bt_parse_cell(page, &pg, 12, &c, NULL);
	struct bt_value v;
	unsigned ncol;
	bt_parse_record(page + c.payload_off, c.local_size, &v, 1, &ncol);
	CHECK(bt_value_float(page + c.payload_off + v.offset) == 1.5);
	bt_parse_cell(page, &pg, 13, &c, NULL);
	bt_parse_record(page + c.payload_off, c.local_size, &v, 1, &ncol);
	CHECK_MEM(page + c.payload_off + v.offset, "abc", 3);
	bt_parse_cell(page, &pg, 14, &c, NULL);
	bt_parse_record(page + c.payload_off, c.local_size, &v, 1, &ncol);
	CHECK_MEM(page + c.payload_off + v.offset, "\x01\x02\xff", 3);
	free(m.p);

	CHECK_EQ(bt_serial_len(0), 0);
	CHECK_EQ(bt_serial_len(5), 6);
	CHECK_EQ(bt_serial_len(6), 8);
	CHECK_EQ(bt_serial_len(7), 8);
	CHECK_EQ(bt_serial_len(9), 0);
	CHECK_EQ(bt_serial_len(12), 0);
	CHECK_EQ(bt_serial_len(13), 0);
	CHECK_EQ(bt_serial_len(101), 44);
}

TEST(btree_record_header_rules)
{
	struct bt_value v[4];
	unsigned ncol;
	/* header 3 bytes: types 1 (int8) and 15 (text of 1), body 2 bytes */
	const uint8_t ok[] = { 3, 1, 15, 42, 'z' };
	CHECK_EQ(bt_parse_record(ok, sizeof ok, v, 4, &ncol), WD_OK);
	CHECK_EQ(ncol, 2);
	CHECK_EQ(v[1].offset, 4);
	CHECK_EQ(bt_parse_record(ok, 4, v, 4, &ncol), WD_WARN);     /* body past the bytes given */
	CHECK_EQ(bt_parse_record(ok, sizeof ok, v, 1, &ncol), WD_OK);
	CHECK_EQ(ncol, 2);                                           /* counts past max */
	const uint8_t reserved10[] = { 2, 10 }, reserved11[] = { 2, 11 };
	CHECK_EQ(bt_parse_record(reserved10, 2, v, 4, &ncol), WD_FATAL);
	CHECK_EQ(bt_parse_record(reserved11, 2, v, 4, &ncol), WD_FATAL);
	const uint8_t too_long[] = { 9, 1, 1 };
	CHECK_EQ(bt_parse_record(too_long, sizeof too_long, v, 4, &ncol), WD_FATAL);
	const uint8_t zero[] = { 0 };
	CHECK_EQ(bt_parse_record(zero, 1, v, 4, &ncol), WD_FATAL);
	const uint8_t split_varint[] = { 2, 0x81 };                 /* type varint runs past the header */
	CHECK_EQ(bt_parse_record(split_varint, 2, v, 4, &ncol), WD_FATAL);
	CHECK_EQ(bt_parse_record(ok, 0, v, 4, &ncol), WD_FATAL);
	/* header size above 98307 (OP_Column's limit) */
	uint8_t big[8];
	size_t k = varint_put(big, 98308);
	CHECK_EQ(bt_parse_record(big, k, v, 4, &ncol), WD_FATAL);
}

TEST(btree_freelist_trunks_and_leaves)
{
	const char *db = tl_path("f.db");
	tl_make_db(db, 1024, false);
	tl_sql(db, "PRAGMA auto_vacuum=NONE; CREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB);"
		   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<2000)"
		   " INSERT INTO t SELECT i, randomblob(600) FROM s;"
		   "DELETE FROM t WHERE a > 50;");
	long long nfree = tl_query_int(db, "PRAGMA freelist_count");
	CHECK(nfree > 1000);
	struct tl_img m;
	tl_img_load(&m, db);
	CHECK_EQ(m.h.freelist_count, nfree);
	/* 1024-byte pages: a trunk lists at most 1024/4 - 2 = 254 leaves. */
	struct bt_trunk t;
	struct wd_diags d = { 0 };
	uint32_t trunk = m.h.freelist_trunk, ntrunk = 0, nleaf = 0;
	while (trunk) {
		CHECK_EQ(bt_parse_trunk(tl_img_page(&m, trunk), m.usable, trunk, &t, &d), WD_OK);
		CHECK(t.nleaf <= 254);
		CHECK_EQ(t.nleaf_ok, t.nleaf);
		for (uint32_t i = 0; i < t.nleaf_ok; i++) {
			uint32_t lf = rd_be32(tl_img_page(&m, trunk) + 8 + 4 * i);
			CHECK(lf >= 2 && lf <= m.npages);
		}
		nleaf += t.nleaf;
		ntrunk++;
		CHECK(ntrunk < 100);
		trunk = t.next;
	}
	CHECK(ntrunk >= 2);
	CHECK_EQ(ntrunk + nleaf, nfree);
	CHECK_EQ(d.n, 0);

	struct sc_schema s;
	struct sc_account a;
	CHECK_EQ(img_account(&m, &s, &a, &d), WD_OK);
	CHECK_NO_DIAGS(&d);
	CHECK_EQ(a.nfree_trunk, ntrunk);
	CHECK_EQ(a.nfree_leaf, nleaf);
	CHECK_EQ(a.role[m.h.freelist_trunk], SC_ROLE_FREE_TRUNK);
	check_totals(db, &m, &a);
	check_against_dbstat(db, &a);
	sc_account_free(&a);
	sc_schema_free(&s);
	free(m.p);
}

TEST(btree_ptrmap_page_numbers)
{
	/* usable 512: each map page covers 512/5 = 102 pages, so maps are 2, 105, 208, ... */
	CHECK_EQ(bt_ptrmap_pageno(512, 512, 1), 0);
	CHECK_EQ(bt_ptrmap_pageno(512, 512, 2), 2);
	CHECK_EQ(bt_ptrmap_pageno(512, 512, 3), 2);
	CHECK_EQ(bt_ptrmap_pageno(512, 512, 104), 2);
	CHECK_EQ(bt_ptrmap_pageno(512, 512, 105), 105);
	CHECK_EQ(bt_ptrmap_pageno(512, 512, 106), 105);
	CHECK(bt_is_ptrmap_page(512, 512, 2));
	CHECK(bt_is_ptrmap_page(512, 512, 105));
	CHECK(!bt_is_ptrmap_page(512, 512, 104));
	CHECK(!bt_is_ptrmap_page(512, 512, 1));
	/* 1024-byte pages: 205 pages per map, and 2 + 5115*205 is the lock-byte page
	 * 1048577, so that map moves one page up (ptrmapPageno's PENDING_BYTE_PAGE skip). */
	CHECK_EQ(dbh_lock_byte_page(1024), 1048577);
	CHECK_EQ(bt_ptrmap_pageno(1024, 1024, 1048576), 1048372);
	CHECK_EQ(bt_ptrmap_pageno(1024, 1024, 1048577), 1048578);
	CHECK_EQ(bt_ptrmap_pageno(1024, 1024, 1048578), 1048578);
	CHECK(!bt_is_ptrmap_page(1024, 1024, 1048577));
	CHECK(bt_is_ptrmap_page(1024, 1024, 1048578));
	/* Entries: 5 bytes each after the map page. */
	uint8_t map[512] = { 0 };
	map[5] = PTRMAP_BTREE;
	wr_be32(map + 6, 7);
	uint8_t ty;
	uint32_t parent;
	CHECK_EQ(bt_ptrmap_entry(map, 512, 2, 4, &ty, &parent), WD_OK);
	CHECK_EQ(ty, PTRMAP_BTREE);
	CHECK_EQ(parent, 7);
	CHECK_EQ(bt_ptrmap_entry(map, 512, 2, 3, &ty, &parent), WD_WARN);   /* type 0 */
	CHECK_EQ(bt_ptrmap_entry(map, 512, 2, 2, &ty, &parent), WD_FATAL);
	CHECK_EQ(bt_ptrmap_entry(map, 512, 2, 2 + 102, &ty, &parent), WD_WARN);  /* last entry, type 0 */
	CHECK_EQ(bt_ptrmap_entry(map, 512, 2, 2 + 103, &ty, &parent), WD_FATAL);
}

TEST(btree_ptrmap_entries_match_what_sqlite_wrote)
{
	static const char *modes[] = { "FULL", "INCREMENTAL" };
	for (unsigned k = 0; k < 2; k++) {
		const char *db = tl_path("av%u.db", k);
		char sql[400];
		snprintf(sql, sizeof sql, "PRAGMA page_size=512; PRAGMA auto_vacuum=%s;", modes[k]);
		tl_sql(db, sql);
		tl_sql(db, fill_sql);
		tl_sql(db, "DELETE FROM t WHERE a % 3 = 0; DROP TABLE u;");
		CHECK_EQ(tl_query_int(db, "PRAGMA auto_vacuum"), k ? 2 : 1);
		long long nfree = tl_query_int(db, "PRAGMA freelist_count");
		CHECK(k ? nfree > 0 : nfree == 0);
		struct tl_img m;
		tl_img_load(&m, db);
		CHECK(m.h.auto_vacuum);
		CHECK(m.npages > 300);
		struct sc_schema s;
		struct sc_account a;
		struct wd_diags d = { 0 };
		CHECK_EQ(img_account(&m, &s, &a, &d), WD_OK);
		CHECK_NO_DIAGS(&d);
		unsigned nmap = 0;
		for (uint32_t p = 1; p <= m.npages; p++)
			nmap += bt_is_ptrmap_page(m.usable, m.page_size, p);
		CHECK_EQ(a.nptrmap, nmap);
		CHECK(nmap >= 3);
		CHECK_EQ(a.role[2], SC_ROLE_PTRMAP);
		CHECK_EQ(a.role[105], SC_ROLE_PTRMAP);
		check_totals(db, &m, &a);
		check_against_dbstat(db, &a);
		/* The root of t is a ROOTPAGE entry with parent 0 on map page 2. */
		uint32_t root = root_of(db, "t");
		uint8_t ty;
		uint32_t parent;
		CHECK_EQ(bt_ptrmap_entry(tl_img_page(&m, 2), m.usable, 2, root, &ty, &parent), WD_OK);
		CHECK_EQ(ty, PTRMAP_ROOTPAGE);
		CHECK_EQ(parent, 0);
		sc_account_free(&a);
		sc_schema_free(&s);

		/* Damage one entry: the accounting notices exactly that one. */
		uint32_t leaf = page_of_kind(db, "t", "leaf");
		uint32_t mp = bt_ptrmap_pageno(m.usable, m.page_size, leaf);
		uint32_t off = 5 * (leaf - mp - 1);
		tl_img_page(&m, mp)[off] = PTRMAP_OVERFLOW2;
		CHECK_EQ(img_account(&m, &s, &a, &d), WD_WARN);
		CHECK_EQ(d.n, 1);
		CHECK_DIAG(&d, WD_PTRMAP_INVALID, mp, (int64_t)(mp - 1) * 512 + off);
		sc_account_free(&a);
		sc_schema_free(&s);
		wd_diags_free(&d);
		free(m.p);
	}
}

/* --- damage ----------------------------------------------------------------- */

/* A 512-byte-page database with interior, leaf, overflow and freelist pages. */
static void make_damage_db(const char *db)
{
	tl_make_db(db, 512, false);
	tl_sql(db, fill_sql);
	tl_sql(db, "DELETE FROM t WHERE a BETWEEN 100 AND 300;");
}

/* Parse + accounting of a damaged image must not crash and must report code at page/offset. */
static void expect_damage(struct tl_img *m, enum wd_code code, int64_t page, int64_t off)
{
	struct sc_schema s;
	struct sc_account a;
	struct wd_diags d = { 0 };
	CHECK(img_account(m, &s, &a, &d) != WD_OK);
	CHECK_DIAG(&d, code, page, off);
	/* Whatever the damage, each page is still counted once. */
	CHECK_EQ(a.nbtree + a.nfree_trunk + a.nfree_leaf + a.nptrmap + a.nlockbyte + a.nunused, a.npages);
	sc_account_free(&a);
	sc_schema_free(&s);
	wd_diags_free(&d);
}

static int64_t foff(const struct tl_img *m, uint32_t pgno, uint32_t off)
{
	return (int64_t)(pgno - 1) * m->page_size + off;
}

TEST(btree_damage_bad_type_byte)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t leaf = page_of_kind(db, "t", "leaf");
	tl_img_page(&m, leaf)[0] = 7;
	struct bt_page pg;
	struct wd_diags d = { 0 };
	CHECK_EQ(bt_parse_page(tl_img_page(&m, leaf), 512, 512, leaf, &pg, &d), WD_FATAL);
	CHECK(!pg.type_ok);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 0));
	wd_diags_free(&d);
	expect_damage(&m, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 0));
	free(m.p);
	tl_patch(db, (uint64_t)foff(&m, leaf, 0), "\x07", 1);
	char res[200];
	tl_query_text(db, "PRAGMA integrity_check", res, sizeof res);
	CHECK(strcmp(res, "ok") != 0);   /* SQLite agrees the page is damaged */
}

TEST(btree_damage_cell_count_too_large)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t leaf = page_of_kind(db, "t", "leaf");
	wr_be16(tl_img_page(&m, leaf) + 3, 0xffff);
	struct bt_page pg;
	struct wd_diags d = { 0 };
	CHECK_EQ(bt_parse_page(tl_img_page(&m, leaf), 512, 512, leaf, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 3));
	/* No pointer past the usable size is ever returned. */
	CHECK_EQ(bt_cell_ptr(tl_img_page(&m, leaf), &pg, 300), 0);
	struct bt_cell c;
	CHECK_EQ(bt_parse_cell(tl_img_page(&m, leaf), &pg, 300, &c, NULL), WD_FATAL);
	wd_diags_free(&d);
	expect_damage(&m, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 3));
	free(m.p);
}

TEST(btree_damage_cell_pointer_out_of_range)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t leaf = page_of_kind(db, "t", "leaf");
	uint8_t *page = tl_img_page(&m, leaf);
	wr_be16(page + 8, 510);      /* cell 0 points 2 bytes before the end */
	wr_be16(page + 10, 3);       /* cell 1 points into the page header */
	struct bt_page pg;
	struct wd_diags d = { 0 };
	CHECK_EQ(bt_parse_page(page, 512, 512, leaf, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 8));
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 10));
	struct bt_cell c;
	CHECK_EQ(bt_parse_cell(page, &pg, 0, &c, NULL), WD_FATAL);
	CHECK_EQ(bt_parse_cell(page, &pg, 1, &c, NULL), WD_FATAL);
	wd_diags_free(&d);
	expect_damage(&m, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 8));
	free(m.p);
}

TEST(btree_damage_cell_extends_past_page)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t leaf = page_of_kind(db, "t", "leaf");
	uint8_t *page = tl_img_page(&m, leaf);
	struct bt_page pg;
	bt_parse_page(page, 512, 512, leaf, &pg, NULL);
	/* Make the last cell (highest offset) claim a 400-byte payload. */
	uint32_t hi = 0;
	unsigned hi_i = 0;
	for (unsigned i = 0; i < pg.ncell; i++)
		if (bt_cell_ptr(page, &pg, i) > hi)
			hi = bt_cell_ptr(page, &pg, i), hi_i = i;
	page[hi] = 0x83;
	page[hi + 1] = 0x10;   /* varint 400 */
	struct wd_diags d = { 0 };
	CHECK_EQ(bt_parse_page(page, 512, 512, leaf, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, hi));
	struct bt_cell c;
	CHECK_EQ(bt_parse_cell(page, &pg, hi_i, &c, NULL), WD_FATAL);
	wd_diags_free(&d);
	free(m.p);
}

TEST(btree_damage_freeblock_loop)
{
	const char *db = tl_path("d.db");
	tl_make_db(db, 4096, false);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
		   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40)"
		   " INSERT INTO t SELECT i, printf('%.*c', 40, 'q') FROM s;"
		   "DELETE FROM t WHERE a IN (5, 20);");
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t root = root_of(db, "t");
	uint8_t *page = tl_img_page(&m, root);
	struct bt_page pg;
	struct wd_diags d = { 0 };
	CHECK_EQ(bt_parse_page(page, 4096, 4096, root, &pg, &d), WD_OK);
	CHECK_NO_DIAGS(&d);
	CHECK(pg.first_freeblock != 0);
	CHECK_EQ(pg.nfreeblocks, 2);      /* rows 5 and 20 left two freeblocks */
	uint32_t fb = pg.first_freeblock;
	uint32_t second = rd_be16(page + fb);
	CHECK(second > fb);
	wr_be16(page + second, (uint16_t)fb);   /* the second points back to the first */
	CHECK_EQ(bt_parse_page(page, 4096, 4096, root, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, root, foff(&m, root, second));
	wd_diags_free(&d);
	/* Freeblocks closer than 4 bytes should have been merged (btreeComputeFreeSpace). */
	uint32_t fsize = rd_be16(page + fb + 2);
	wr_be16(page + fb, (uint16_t)(fb + fsize + 2));
	CHECK_EQ(bt_parse_page(page, 4096, 4096, root, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, root, foff(&m, root, fb));
	wd_diags_free(&d);
	wr_be16(page + fb, (uint16_t)second);
	wr_be16(page + second, (uint16_t)second);  /* points to itself */
	CHECK_EQ(bt_parse_page(page, 4096, 4096, root, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, root, foff(&m, root, second));
	wd_diags_free(&d);
	wr_be16(page + second, 0);
	wr_be16(page + second + 2, 2);             /* a 2-byte freeblock */
	CHECK_EQ(bt_parse_page(page, 4096, 4096, root, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, root, foff(&m, root, second + 2));
	wd_diags_free(&d);
	expect_damage(&m, WD_BTREE_PAGE_INVALID, root, foff(&m, root, second + 2));
	free(m.p);
}

TEST(btree_damage_fragment_count_and_overlap)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t leaf = page_of_kind(db, "t", "leaf");
	uint8_t *page = tl_img_page(&m, leaf);
	struct bt_page pg;
	struct wd_diags d = { 0 };
	uint8_t frag = page[7];
	page[7] = (uint8_t)(frag + 1);
	CHECK_EQ(bt_parse_page(page, 512, 512, leaf, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 7));
	wd_diags_free(&d);
	page[7] = 61;
	bt_parse_page(page, 512, 512, leaf, &pg, &d);
	CHECK(has_diag(&d, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, 7)));
	bool warned = false;
	for (size_t i = 0; i < d.n; i++)
		warned |= d.v[i].sev == WD_WARNING;
	CHECK(warned);
	wd_diags_free(&d);
	page[7] = frag;
	/* Two cell pointers to the same cell: bytes used twice. */
	bt_parse_page(page, 512, 512, leaf, &pg, NULL);
	CHECK(pg.ncell >= 2);
	wr_be16(page + 10, rd_be16(page + 8));
	CHECK_EQ(bt_parse_page(page, 512, 512, leaf, &pg, &d), WD_FATAL);
	CHECK_DIAG(&d, WD_BTREE_PAGE_INVALID, leaf, foff(&m, leaf, rd_be16(page + 8)));
	wd_diags_free(&d);
	free(m.p);
}

TEST(btree_damage_overflow_cycle)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	/* Row 5000 has a 150000-byte blob: a long chain of 512-byte overflow pages. */
	uint32_t first = page_of_kind(db, "t", "overflow");
	CHECK(first);
	/* Find a chain of at least 3 pages: follow from the cell that owns `first`. */
	uint32_t second = rd_be32(tl_img_page(&m, first));
	CHECK(second >= 2);
	uint32_t third = rd_be32(tl_img_page(&m, second));
	CHECK(third >= 2);
	uint32_t fourth = rd_be32(tl_img_page(&m, third));
	wr_be32(tl_img_page(&m, third), first);    /* third -> first: a cycle */
	expect_damage(&m, WD_OVERFLOW_CHAIN_INVALID, third, foff(&m, third, 0));
	wr_be32(tl_img_page(&m, third), fourth);
	/* A chain cut short: second -> 0. */
	wr_be32(tl_img_page(&m, second), 0);
	expect_damage(&m, WD_OVERFLOW_CHAIN_INVALID, second, foff(&m, second, 0));
	/* A chain pointing past the end of the database. */
	wr_be32(tl_img_page(&m, second), m.npages + 5);
	expect_damage(&m, WD_OVERFLOW_CHAIN_INVALID, second, foff(&m, second, 0));
	free(m.p);
}

TEST(btree_damage_interior_child_points_to_itself)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t root = root_of(db, "t");
	uint8_t *page = tl_img_page(&m, root);
	CHECK_EQ(page[0], BT_INTERIOR_TABLE);
	wr_be32(page + 8, root);                /* right child = itself */
	expect_damage(&m, WD_BTREE_PAGE_INVALID, root, foff(&m, root, 8));
	wr_be32(page + 8, 0);                   /* right child = page 0 */
	expect_damage(&m, WD_BTREE_PAGE_INVALID, root, foff(&m, root, 8));
	wr_be32(page + 8, 1);                   /* right child = page 1 */
	expect_damage(&m, WD_BTREE_PAGE_INVALID, root, foff(&m, root, 8));
	wr_be32(page + 8, 0x7fffffff);          /* past the end */
	expect_damage(&m, WD_BTREE_PAGE_INVALID, root, foff(&m, root, 8));
	/* A child of the wrong kind: an index leaf under a table interior page. */
	free(m.p);
	tl_img_load(&m, db);
	page = tl_img_page(&m, root);
	uint32_t kid = rd_be32(page + 8);
	tl_img_page(&m, kid)[0] = BT_LEAF_INDEX;
	expect_damage(&m, WD_BTREE_PAGE_INVALID, kid, foff(&m, kid, 0));
	free(m.p);
	tl_img_load(&m, db);
	page = tl_img_page(&m, root);
	/* A child that is another tree's root: reached twice. */
	wr_be32(page + 8, root_of(db, "u"));
	expect_damage(&m, WD_BTREE_PAGE_INVALID, WD_NONE, WD_NONE);
	free(m.p);
}

/* A database of 1 GiB and a few pages: pages 1 and 2 real, the rest zeros. */
struct huge {
	const uint8_t *p1;
	uint8_t zero[512];
};

static const uint8_t *huge_get(void *ctx, uint32_t pgno)
{
	const struct huge *h = ctx;
	return pgno == 1 ? h->p1 : pgno == 2 ? h->p1 + 512 : h->zero;
}

TEST(btree_lock_byte_page_is_accounted_once)
{
	const char *db = tl_path("l.db");
	tl_make_db(db, 512, false);
	tl_sql(db, "CREATE TABLE t(a);");
	struct tl_img m;
	tl_img_load(&m, db);
	static struct huge hg;
	hg.p1 = m.p;
	uint32_t lb = dbh_lock_byte_page(512);
	CHECK_EQ(lb, 2097153);
	struct sc_source src = { huge_get, &hg, 512, 512, lb + 3, 1 };
	struct sc_schema s;
	struct sc_account a;
	struct wd_diags d = { 0 };
	sc_read_schema(&src, &s, NULL);
	sc_account_pages(&src, &m.h, &s, &a, &d);
	CHECK_EQ(a.nlockbyte, 1);
	CHECK_EQ(a.role[lb], SC_ROLE_LOCKBYTE);
	CHECK_EQ(a.role[lb - 1], SC_ROLE_UNUSED);
	/* Everything but page 1, t's root and the lock-byte page is unused, said once. */
	CHECK_EQ(a.nunused, lb + 3 - 3);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].sev, WD_WARNING);
	sc_account_free(&a);
	sc_schema_free(&s);
	wd_diags_free(&d);
	free(m.p);
}

TEST(btree_damage_deep_tree_stops_at_the_depth_limit)
{
	/* Hand-made chain of interior pages 2 -> 3 -> ... -> 40, each with only a right child. */
	enum { N = 41, PS = 512 };
	static uint8_t img_buf[N * PS];
	struct tl_img m = { img_buf, sizeof img_buf, { 0 }, PS, PS, N };
	memset(img_buf, 0, sizeof img_buf);
	for (uint32_t p = 2; p <= N; p++) {
		uint8_t *pg = img_buf + (p - 1) * PS;
		pg[0] = p < N ? BT_INTERIOR_TABLE : BT_LEAF_TABLE;
		wr_be16(pg + 5, PS);
		if (p < N)
			wr_be32(pg + 8, p + 1);
	}
	struct bt_walk_ops ops = { tl_img_get, NULL, &m, PS, PS, N, NULL };
	struct wd_diags d = { 0 };
	uint32_t n = bt_walk_tree(&ops, 2, NULL, &d);
	CHECK_EQ(n, BT_MAX_DEPTH);
	CHECK(wd_count(&d, WD_BTREE_PAGE_INVALID) >= 1);
	wd_diags_free(&d);
}

TEST(btree_damage_freelist_trunk_cycle)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t trunk = m.h.freelist_trunk;
	CHECK(trunk);
	wr_be32(tl_img_page(&m, trunk), trunk);    /* next trunk = itself */
	expect_damage(&m, WD_FREELIST_INVALID, trunk, foff(&m, trunk, 0));
	wr_be32(tl_img_page(&m, trunk), root_of(db, "t"));  /* next trunk = a b-tree page */
	expect_damage(&m, WD_FREELIST_INVALID, trunk, foff(&m, trunk, 0));
	wr_be32(tl_img_page(&m, trunk), 0);
	wr_be32(m.p + 32, m.npages + 1);        /* header's first trunk past the end */
	expect_damage(&m, WD_FREELIST_INVALID, 1, 32);
	free(m.p);
}

TEST(btree_damage_freelist_leaf_count_too_large)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint32_t trunk = m.h.freelist_trunk;
	wr_be32(tl_img_page(&m, trunk) + 4, 0xffffffff);
	struct bt_trunk t;
	struct wd_diags d = { 0 };
	CHECK_EQ(bt_parse_trunk(tl_img_page(&m, trunk), m.usable, trunk, &t, &d), WD_FATAL);
	CHECK_EQ(t.nleaf, 0xffffffff);
	CHECK_EQ(t.nleaf_ok, 512 / 4 - 2);
	CHECK_DIAG(&d, WD_FREELIST_INVALID, trunk, WD_NONE);
	wd_diags_free(&d);
	expect_damage(&m, WD_FREELIST_INVALID, trunk, foff(&m, trunk, 4));
	/* The header count now disagrees with what the chain holds. */
	struct sc_schema s;
	struct sc_account a;
	img_account(&m, &s, &a, &d);
	if (wd_count(&d, WD_FREELIST_COUNT_MISMATCH) != 1)
		dump_diags(&d);
	CHECK(wd_count(&d, WD_FREELIST_COUNT_MISMATCH) == 1);
	sc_account_free(&a);
	sc_schema_free(&s);
	wd_diags_free(&d);
	free(m.p);
}

TEST(btree_damage_orphan_pages_and_bad_roots)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	/* Empty the freelist in the header: its pages become unused. */
	uint32_t nfree = m.h.freelist_count;
	wr_be32(m.p + 32, 0);
	wr_be32(m.p + 36, 0);
	struct sc_schema s;
	struct sc_account a;
	struct wd_diags d = { 0 };
	CHECK_EQ(img_account(&m, &s, &a, &d), WD_WARN);
	CHECK_EQ(a.nunused, nfree);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].sev, WD_WARNING);
	sc_account_free(&a);
	sc_schema_free(&s);
	wd_diags_free(&d);
	free(m.p);

	/* sqlite_schema says u is rooted at page 1, then at t's root. */
	tl_img_load(&m, db);
	struct bt_page pg;
	CHECK_EQ(bt_parse_page(m.p, 512, 512, 1, &pg, NULL), WD_OK);
	uint8_t *root_byte = NULL;
	for (unsigned i = 0; i < pg.ncell; i++) {
		struct bt_cell c;
		struct bt_value v[5];
		unsigned ncol;
		CHECK_EQ(bt_parse_cell(m.p, &pg, i, &c, NULL), WD_OK);
		CHECK_EQ(bt_parse_record(m.p + c.payload_off, c.local_size, v, 5, &ncol), WD_OK);
		if (v[1].len == 1 && m.p[c.payload_off + v[1].offset] == 'u' && v[3].serial_type == 1)
			root_byte = m.p + c.payload_off + v[3].offset;
	}
	CHECK(root_byte != NULL);
	CHECK_EQ(*root_byte, root_of(db, "u"));
	*root_byte = 1;
	expect_damage(&m, WD_BTREE_PAGE_INVALID, 1, WD_NONE);
	*root_byte = (uint8_t)root_of(db, "t");
	struct sc_schema s2;
	struct sc_account a2;
	img_account(&m, &s2, &a2, &d);
	bool shared = false;
	for (size_t i = 0; i < d.n; i++)
		shared |= strstr(d.v[i].msg, "share root page") != NULL;
	CHECK(shared);
	sc_account_free(&a2);
	sc_schema_free(&s2);
	wd_diags_free(&d);
	free(m.p);
}

/* A cheap deterministic byte-flip sweep: no damage anywhere may crash the walk. */
TEST(btree_byte_flip_sweep_never_crashes)
{
	const char *db = tl_path("d.db");
	make_damage_db(db);
	struct tl_img m;
	tl_img_load(&m, db);
	uint8_t *orig = malloc(m.n);
	memcpy(orig, m.p, m.n);
	unsigned nfound = 0, ntried = 0;
	for (size_t off = 100; off < m.n; off += 53) {
		memcpy(m.p, orig, m.n);
		m.p[off] ^= (uint8_t)(0x5a + off);
		struct sc_schema s;
		struct sc_account a;
		struct wd_diags d = { 0 };
		img_account(&m, &s, &a, &d);
		CHECK_EQ(a.nbtree + a.nfree_trunk + a.nfree_leaf + a.nptrmap + a.nlockbyte + a.nunused, a.npages);
		nfound += d.n > 0;
		ntried++;
		/* every page decodes without reading out of bounds (ASan checks) */
		for (uint32_t p = 1; p <= m.npages; p++) {
			struct bt_page pg;
			bt_parse_page(tl_img_page(&m, p), m.page_size, m.usable, p, &pg, &d);
			for (unsigned i = 0; i < pg.ncell && pg.type_ok; i++) {
				struct bt_cell c;
				struct bt_value v[8];
				unsigned ncol;
				if (bt_parse_cell(tl_img_page(&m, p), &pg, i, &c, NULL) == WD_OK && c.has_payload)
					bt_parse_record(tl_img_page(&m, p) + c.payload_off, c.local_size, v, 8, &ncol);
			}
		}
		sc_account_free(&a);
		sc_schema_free(&s);
		wd_diags_free(&d);
	}
	/* Most flips land in cell content SQLite does not check; some must be caught. */
	CHECK(nfound > ntried / 100);
	/* A flipped type byte of any page in a b-tree is always caught. */
	memcpy(m.p, orig, m.n);
	struct sc_schema s;
	struct sc_account a;
	img_account(&m, &s, &a, NULL);
	unsigned nbt = 0;
	for (uint32_t p = 2; p <= m.npages; p++) {
		if (a.role[p] != SC_ROLE_BTREE_LEAF && a.role[p] != SC_ROLE_BTREE_INTERIOR)
			continue;
		memcpy(m.p, orig, m.n);
		tl_img_page(&m, p)[0] ^= 0x40;
		expect_damage(&m, WD_BTREE_PAGE_INVALID, p, foff(&m, p, 0));
		nbt++;
	}
	CHECK(nbt > 10);
	sc_account_free(&a);
	sc_schema_free(&s);
	free(orig);
	free(m.p);
}

TEST(btree_utf16_schema_names)
{
	const char *db = tl_path("u16.db");
	tl_sql(db, "PRAGMA encoding='UTF-16be'; CREATE TABLE \"täble\"(x); CREATE INDEX \"i€\" ON \"täble\"(x);"
		   "INSERT INTO \"täble\" VALUES('ü');");
	struct tl_img m;
	tl_img_load(&m, db);
	CHECK_EQ(m.h.text_encoding, 3);
	struct sc_schema s;
	struct sc_account a;
	struct wd_diags d = { 0 };
	CHECK_EQ(img_account(&m, &s, &a, &d), WD_OK);
	CHECK_EQ(s.n, 2);
	CHECK_STR(s.v[0].name, "täble");
	CHECK_STR(s.v[1].name, "i€");
	check_totals(db, &m, &a);
	check_against_dbstat(db, &a);
	sc_account_free(&a);
	sc_schema_free(&s);
	free(m.p);
}
