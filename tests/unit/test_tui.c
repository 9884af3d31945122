/*
 * The TUI's screen model (inspect/tuimodel.c), without ncurses: the grid,
 * the list, wrapping and escaping, and each view's rows formatted from a
 * model of files real libsqlite3 wrote (and hand-damaged copies of them).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "testlib.h"
#include "formats/wal.h"
#include "inspect/model.h"
#include "inspect/tuimodel.h"

/* A path that stays valid for the whole test. */
static const char *P(const char *name)
{
	static char pool[16][4096];
	static unsigned n;
	char *p = pool[n++ % 16];
	snprintf(p, 4096, "%s/%s", tl_tmp(), name);
	return p;
}

/*
 * A database whose file holds t's first two rows, and a WAL of three
 * commits after it: two updates of page 2, then a row big enough for an
 * overflow chain.  The -wal and -shm stay as a crash leaves them.
 */
static const char *make_wal_db(void)
{
	const char *db = P("db");
	tl_make_db(db, 1024, true);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB);"
		   "INSERT INTO t VALUES(1, 'alpha', x'00ff'), (2, 'beta', NULL);");
	tl_sql_keep_wal(db, "UPDATE t SET b = 'gamma' WHERE a = 2;"
			    "UPDATE t SET b = 'delta' WHERE a = 1;"
			    "INSERT INTO t VALUES(3, 'big', zeroblob(3000));");
	return db;
}

static void open_model(struct model *m, const char *db)
{
	char err[512];
	CHECK_EQ(model_open(m, db, NULL, NULL, err, sizeof err), 0);
}

static bool lines_have(const struct tm_lines *l, const char *needle)
{
	for (size_t i = 0; i < l->n; i++)
		if (strstr(l->v[i].text, needle))
			return true;
	return false;
}

static const struct tm_item *item_with(const struct tm_page *p, const char *needle)
{
	for (size_t i = 0; i < p->nitem; i++)
		if (strstr(p->item[i].text, needle))
			return &p->item[i];
	return NULL;
}

TEST(tui_screen_clips_and_replaces_control_bytes)
{
	struct tm_screen s = { 0 };
	CHECK_EQ(tm_screen_resize(&s, 10, 3), 0);
	CHECK_EQ(tm_put(&s, 1, 2, TM_ERROR, "ab\033[2Jcdefghij"), 10);
	char row[64];
	tm_row_text(&s, 1, row, sizeof row);
	CHECK_STR(row, "  ab?[2Jcd");            /* ESC cannot reach the terminal */
	CHECK_EQ(s.cell[1 * 10 + 2].style, TM_ERROR);
	CHECK_EQ(tm_putn(&s, 2, -2, TM_NORMAL, "xyzw", 3), 1);   /* clipped on the left, 3 columns */
	tm_row_text(&s, 2, row, sizeof row);
	CHECK_STR(row, "z");
	tm_put(&s, 5, 0, TM_NORMAL, "off screen");                /* no row 5: nothing happens */
	tm_mark(&s, 1, 0, 100, TM_CURSOR);
	CHECK_EQ(s.cell[1 * 10 + 9].style, TM_ERROR | TM_CURSOR);
	CHECK_EQ(s.cell[1 * 10 + 0].style, TM_NORMAL | TM_CURSOR);
	tm_screen_free(&s);
}

TEST(tui_list_moves_pages_and_scrolls)
{
	struct tm_list l = { .n = 100, .height = 10 };
	tm_list_move(&l, 5);
	CHECK_EQ(l.cur, 5);
	CHECK_EQ(l.top, 0);
	tm_list_move(&l, 7);                  /* past the screen: scroll by the minimum */
	CHECK_EQ(l.cur, 12);
	CHECK_EQ(l.top, 3);
	tm_list_move(&l, -1000);
	CHECK_EQ(l.cur, 0);
	CHECK_EQ(l.top, 0);
	tm_list_goto(&l, 50);                 /* off screen: a third from the top */
	CHECK_EQ(l.cur, 50);
	CHECK_EQ(l.top, 47);
	tm_list_goto(&l, 1000);               /* clamps to the last row; no blank space below it */
	CHECK_EQ(l.cur, 99);
	CHECK_EQ(l.top, 90);
	tm_list_scroll(&l, -20);              /* the cursor follows into view */
	CHECK_EQ(l.top, 70);
	CHECK_EQ(l.cur, 79);
	struct tm_list small = { .n = 3, .height = 10, .cur = 7, .top = 2 };
	tm_list_fix(&small);
	CHECK_EQ(small.cur, 2);
	CHECK_EQ(small.top, 0);
	struct tm_list empty = { .n = 0, .height = 10, .cur = 4 };
	tm_list_move(&empty, 1);
	CHECK_EQ(empty.cur, 0);
}

TEST(tui_wrap_escape_match)
{
	struct tm_lines l = { 0 };
	struct tm_jump j = { .kind = TM_T_PAGE, .page = 7 };
	tm_lines_wrap(&l, 20, 4, TM_WARNING, 3, &j, "one two three four five six seven abcdefghijklmnopqrstuvwxyz");
	CHECK_EQ(l.n, 4);
	CHECK_STR(l.v[0].text, "one two three four");
	CHECK_STR(l.v[1].text, "    five six seven");
	CHECK_STR(l.v[2].text, "    abcdefghijklmnop");   /* a word longer than the line is cut */
	CHECK_STR(l.v[3].text, "    qrstuvwxyz");
	for (size_t i = 0; i < l.n; i++) {
		CHECK_EQ(l.v[i].finding, 3);
		CHECK_EQ(l.v[i].jump.page, 7);
		CHECK_EQ(l.v[i].style, TM_WARNING);
	}
	tm_lines_free(&l);

	char out[64];
	const uint8_t raw[] = { 'i', '\'', 's', 0x00, 0xc3, 0xa9, '\\', 0x1b };
	tm_escape(out, sizeof out, raw, sizeof raw, '\'');
	CHECK_STR(out, "i''s\\x00\\xc3\\xa9\\\\\\x1b");
	CHECK_EQ(tm_escape(out, 6, raw, sizeof raw, 0), 3);  /* never splits an escape */
	CHECK_STR(out, "i's");
	CHECK(tm_match("Frame 12 COMMITTED", "committed"));
	CHECK(tm_match("anything", ""));
	CHECK(!tm_match("frame", "frames"));
}

TEST(tui_value_text_formats_every_kind)
{
	/* A record: header (6 bytes: size, NULL, int8, float, text(3), blob(2)), then the values. */
	const uint8_t rec[] = { 6, 0, 1, 7, 13 + 2 * 3, 12 + 2 * 2,
				0xfe,
				0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
				'a', '\'', 'b',
				0xde, 0xad };
	struct bt_value cols[8];
	unsigned ncol = 0;
	CHECK_EQ(bt_parse_record(rec, sizeof rec, cols, 8, &ncol), WD_OK);
	CHECK_EQ(ncol, 5);
	char buf[128];
	tm_value_text(buf, sizeof buf, rec, sizeof rec, &cols[0], 1);
	CHECK_STR(buf, "NULL");
	tm_value_text(buf, sizeof buf, rec, sizeof rec, &cols[1], 1);
	CHECK_STR(buf, "-2");
	tm_value_text(buf, sizeof buf, rec, sizeof rec, &cols[2], 1);
	CHECK_STR(buf, "1.5");
	tm_value_text(buf, sizeof buf, rec, sizeof rec, &cols[3], 1);
	CHECK_STR(buf, "'a''b'");
	tm_value_text(buf, sizeof buf, rec, sizeof rec, &cols[4], 1);
	CHECK_STR(buf, "x'dead'");
	tm_value_text(buf, sizeof buf, rec, 10, &cols[3], 1);   /* value past the bytes read */
	CHECK_STR(buf, "?");
}

TEST(tui_value_text_real_digits)
{
	/* 0.1 + 0.2 needs 17 digits to read back; 470.82 needs 15. */
	const uint8_t rec[] = { 3, 7, 7,
				0x3f, 0xd3, 0x33, 0x33, 0x33, 0x33, 0x33, 0x34,
				0x40, 0x7d, 0x6d, 0x1e, 0xb8, 0x51, 0xeb, 0x85 };
	struct bt_value cols[2];
	unsigned ncol = 0;
	CHECK_EQ(bt_parse_record(rec, sizeof rec, cols, 2, &ncol), WD_OK);
	char buf[64];
	tm_value_text(buf, sizeof buf, rec, sizeof rec, &cols[0], 1);
	CHECK_STR(buf, "0.30000000000000004");
	tm_value_text(buf, sizeof buf, rec, sizeof rec, &cols[1], 1);
	CHECK_STR(buf, "470.82");
}

TEST(tui_wal_rows_frames_markers_and_roundtrip)
{
	const char *db = make_wal_db();
	struct model m;
	open_model(&m, db);
	CHECK(m.has_wal);
	CHECK_EQ(m.wal.ntxn, 3);
	struct tm_wal_rows r;
	tm_wal_rows_init(&r, &m);
	CHECK_EQ(r.nframes, m.wal.nframes);
	CHECK_EQ(r.nrows, (uint64_t)r.nframes + r.nmark);
	/* Every frame is on exactly one row, in order, and markers sit between them. */
	uint32_t expect = 1;
	for (uint64_t row = 0; row < r.nrows; row++) {
		unsigned mk = 99;
		uint32_t f = tm_wal_row_frame(&r, row, &mk);
		if (f) {
			CHECK_EQ(f, expect);
			CHECK_EQ(tm_wal_frame_row(&r, f), row);
			expect++;
		} else {
			CHECK(mk < r.nmark);
		}
	}
	CHECK_EQ(expect, m.wal.nframes + 1);
	/* The mxFrame marker directly follows the last commit frame. */
	uint32_t mx = m.wal.mx_frame;
	CHECK_EQ(mx, m.wal.nframes);
	char buf[256];
	uint8_t st;
	tm_wal_row_text(&r, tm_wal_frame_row(&r, mx) + 1, 80, buf, sizeof buf, &st);
	char want[64];
	snprintf(want, sizeof want, "-- mxFrame %u: last commit", mx);
	CHECK(strstr(buf, want));
	CHECK_EQ(st, TM_MARKER);
	/* The commit frame's row: frame, page, commit size, salts, status, transaction. */
	tm_wal_row_text(&r, tm_wal_frame_row(&r, mx), 80, buf, sizeof buf, &st);
	const struct wal_frame *fr = &m.wal.frames[mx - 1];
	char salts[32];
	snprintf(salts, sizeof salts, "%08x %08x", m.wal.hdr.salt1, m.wal.hdr.salt2);
	CHECK(strstr(buf, salts));
	CHECK(strstr(buf, "valid"));
	CHECK_EQ(st, TM_COMMIT);
	unsigned f = 0, pg = 0, commit = 0, txn = 0;
	char s1[16], s2[16], status[16];
	CHECK_EQ(sscanf(buf, "%u %u %u %15s %15s %15s %u", &f, &pg, &commit, s1, s2, status, &txn), 7);
	CHECK_EQ(f, mx);
	CHECK_EQ(pg, fr->pgno);
	CHECK_EQ(commit, fr->commit_size);
	CHECK_EQ(txn, 3);
	CHECK(strlen(buf) <= 80);
	tm_wal_heading(80, buf, sizeof buf);
	CHECK(strstr(buf, "frame") && strstr(buf, "salt-1") && strstr(buf, "txn") && !strstr(buf, "offset"));
	tm_wal_heading(120, buf, sizeof buf);
	CHECK(strstr(buf, "offset") && strstr(buf, "cksum-1"));
	/* The -shm the crash left: nBackfill 0 before frame 1. */
	tm_wal_row_text(&r, 0, 80, buf, sizeof buf, &st);
	CHECK(strstr(buf, "nBackfill 0"));
	model_close(&m);
}

TEST(tui_wal_rows_show_a_checksum_break)
{
	const char *db = make_wal_db();
	struct model m;
	open_model(&m, db);
	uint32_t ps = m.wal.page_size, n = m.wal.nframes;
	CHECK(n >= 3);
	model_close(&m);
	/* Damage the data of frame 2: SQLite stops at frame 1. */
	tl_flip(P("db-wal"), wal_frame_offset(ps, 2) + WAL_FRAME_HDR_SIZE + 100, 0x01);
	open_model(&m, db);
	CHECK_EQ(m.wal.nvalid, 1);
	struct tm_wal_rows r;
	tm_wal_rows_init(&r, &m);
	char buf[256];
	uint8_t st;
	tm_wal_row_text(&r, tm_wal_frame_row(&r, 2), 80, buf, sizeof buf, &st);
	CHECK(strstr(buf, "break"));
	CHECK_EQ(st, TM_ERROR);
	tm_wal_row_text(&r, tm_wal_frame_row(&r, 3), 80, buf, sizeof buf, &st);
	CHECK(strstr(buf, "after-break"));
	bool seen = false;
	for (unsigned i = 0; i < r.nmark; i++)
		if (strstr(r.mark[i].text, "checksum break at frame 2")) {
			CHECK_EQ(r.mark[i].after, 1);
			CHECK_EQ(r.mark[i].style, TM_ERROR);
			seen = true;
		}
	CHECK(seen);
	model_close(&m);
}

TEST(tui_finding_jumps)
{
	struct model m;
	memset(&m, 0, sizeof m);
	m.page_size = 1024;
	m.has_wal = true;
	m.wal.page_size = 1024;
	struct wd_diag d = { .code = WD_BTREE_PAGE_INVALID, .file = WD_F_DB, .offset = 3 * 1024 + 17,
			     .frame = WD_NONE, .page = 4 };
	struct tm_jump j = tm_finding_jump(&m, &d);
	CHECK_EQ(j.kind, TM_T_PAGE);
	CHECK_EQ(j.page, 4);
	CHECK_EQ(j.offset, 17);
	d.frame = 9;                                   /* a frame wins over a page */
	j = tm_finding_jump(&m, &d);
	CHECK_EQ(j.kind, TM_T_FRAME);
	CHECK_EQ(j.frame, 9);
	struct wd_diag w = { .file = WD_F_WAL, .offset = 32 + 2 * (1024 + 24) + 5, .frame = WD_NONE,
			     .page = WD_NONE };
	j = tm_finding_jump(&m, &w);                   /* a WAL offset names its frame */
	CHECK_EQ(j.kind, TM_T_FRAME);
	CHECK_EQ(j.frame, 3);
	w.offset = 8;                                  /* in the WAL header: the WAL view */
	j = tm_finding_jump(&m, &w);
	CHECK_EQ(j.kind, TM_T_VIEW);
	CHECK_EQ(j.view, 2);
	struct wd_diag s = { .file = WD_F_SHM, .offset = 16, .frame = WD_NONE, .page = WD_NONE };
	j = tm_finding_jump(&m, &s);
	CHECK_EQ(j.kind, TM_T_VIEW);
	CHECK_EQ(j.view, 5);
	struct wd_diag n = { .file = WD_F_NONE, .offset = WD_NONE, .frame = WD_NONE, .page = WD_NONE };
	CHECK_EQ(tm_finding_jump(&m, &n).kind, TM_T_NONE);
}

TEST(tui_overview_lists_findings_and_repair_commands)
{
	const char *db = make_wal_db();
	struct model m;
	open_model(&m, db);
	uint32_t ps = m.wal.page_size;
	model_close(&m);
	tl_flip(P("db-wal"), wal_frame_offset(ps, 2) + WAL_FRAME_HDR_SIZE + 100, 0x01);
	open_model(&m, db);
	struct check_opts o = { .sqlite = false, .locks = false };
	struct check_result cr;
	checks_run(&m, &o, &cr);
	size_t k = 0;
	for (; k < m.diags.n; k++)
		if (m.diags.v[k].code == WD_WAL_CHECKSUM_MISMATCH)
			break;
	CHECK(k < m.diags.n);
	struct tm_lines l = { 0 };
	tm_overview_build(&l, &m, &cr, "my db", 80);
	CHECK(lines_have(&l, "WAL_CHECKSUM_MISMATCH"));
	CHECK(lines_have(&l, "integrity_check not run"));
	CHECK(lines_have(&l, "waldo repair --only wal-rechain 'my db'"));   /* quoted for the shell */
	bool found = false;
	for (size_t i = 0; i < l.n; i++) {
		CHECK(strlen(l.v[i].text) <= 80);
		if (l.v[i].finding == (int32_t)k && strstr(l.v[i].text, "WAL_CHECKSUM_MISMATCH")) {
			CHECK_EQ(l.v[i].style, TM_ERROR);
			CHECK_EQ(l.v[i].jump.kind, TM_T_FRAME);
			CHECK_EQ(l.v[i].jump.frame, 2);
			found = true;
		}
	}
	CHECK(found);
	tm_lines_free(&l);
	model_close(&m);
}

TEST(tui_page_decode_cells_links_and_ranges)
{
	const char *db = make_wal_db();
	struct model m;
	open_model(&m, db);
	struct tm_roles roles;
	tm_roles_compute(&roles, &m);
	CHECK(roles.ok);
	uint32_t f2 = 0;
	CHECK(model_page(&m, MODEL_LAST, 2, &f2));
	CHECK(f2 > 0);
	struct tm_page p;
	CHECK_EQ(tm_page_decode(&p, &m, &roles, 2, f2, 200), 0);
	CHECK(p.present);
	CHECK(strstr(p.title, "SQLite reads this version"));
	CHECK(item_with(&p, "role     b-tree leaf page of table 't' (root 2)"));
	const struct tm_item *c0 = item_with(&p, "rowid 1: NULL, 'delta', x'00ff'");   /* the rowid alias is NULL in the record */
	CHECK(c0);
	CHECK(item_with(&p, "rowid 2: NULL, 'gamma', NULL"));
	/* The cell's bytes: its offset is the first cell pointer's value. */
	uint32_t ptr0 = (uint32_t)p.data[8] << 8 | p.data[9];
	CHECK_EQ(c0->off, ptr0);
	CHECK(c0->len > 0);
	CHECK_EQ(tm_page_item_at(&p, ptr0), (size_t)(c0 - p.item));
	const struct tm_item *ty = item_with(&p, "type 13 (table leaf)");
	CHECK(ty);
	CHECK_EQ(ty->off, 0);
	CHECK_EQ(ty->len, 1);
	/* The big row's overflow chain is a link to an overflow page. */
	const struct tm_item *ov = item_with(&p, "overflow -> page");
	CHECK(ov);
	CHECK(ov->link > 2);
	CHECK_EQ(roles.acct.role[ov->link], SC_ROLE_OVERFLOW);
	tm_page_free(&p);

	/* The database file's copy of page 2 is older: SQLite reads another version. */
	CHECK_EQ(tm_page_decode(&p, &m, &roles, 2, 0, 200), 0);
	CHECK(p.present);
	CHECK(item_with(&p, "rowid 2: NULL, 'beta', NULL"));
	CHECK(item_with(&p, "SQLite reads a newer WAL frame"));
	tm_page_free(&p);

	/* Page 1: the database header, field by field. */
	CHECK_EQ(tm_page_decode(&p, &m, &roles, 1, 0, 200), 0);
	const struct tm_item *psz = item_with(&p, "page size 1024");
	CHECK(psz);
	CHECK_EQ(psz->off, 16);
	CHECK_EQ(psz->len, 2);
	CHECK(item_with(&p, "type 13 (table leaf)"));
	tm_page_free(&p);

	/* A page no file holds. */
	CHECK_EQ(tm_page_decode(&p, &m, &roles, 500, 0, 200), 0);
	CHECK(!p.present);
	CHECK(item_with(&p, "no file holds this version of page 500"));
	tm_page_free(&p);
	tm_roles_free(&roles);
	model_close(&m);
}

TEST(tui_page_decode_reports_a_damaged_page)
{
	const char *db = P("db");
	tl_make_db(db, 1024, false);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t VALUES(1, 'x');");
	tl_patch(db, 1024 + 3, "\xff\xff", 2);        /* page 2: 65535 cells */
	struct model m;
	open_model(&m, db);
	struct tm_roles roles;
	tm_roles_compute(&roles, &m);
	struct tm_page p;
	CHECK_EQ(tm_page_decode(&p, &m, &roles, 2, 0, 120), 0);
	CHECK(p.d.n > 0);
	const struct tm_item *bad = item_with(&p, "BTREE_PAGE_INVALID");
	CHECK(bad);
	CHECK_EQ(bad->style, TM_ERROR);
	tm_page_free(&p);
	tm_roles_free(&roles);
	model_close(&m);
}

TEST(tui_versions_and_diff)
{
	const char *db = make_wal_db();
	struct model m;
	open_model(&m, db);
	struct tm_versions v;
	tm_versions_init(&v, &m, 2);
	uint32_t nf;
	model_page_frames(&m, 2, &nf);
	CHECK(nf >= 3);
	CHECK(v.has_db);
	CHECK_EQ(v.n, nf + 1);
	CHECK_EQ(tm_version_frame(&v, 0), 0);
	uint32_t cur = 0;
	model_page(&m, MODEL_LAST, 2, &cur);
	CHECK_EQ(tm_version_frame(&v, v.reads), cur);
	CHECK_EQ(v.reads, v.n - 1);
	for (uint32_t i = 0; i < v.n; i++)
		CHECK_EQ(tm_version_index(&v, tm_version_frame(&v, i)), i);
	CHECK_EQ(tm_version_index(&v, 999999), UINT32_MAX);
	char buf[256];
	tm_version_text(&v, v.reads, buf, sizeof buf);
	CHECK(strstr(buf, "<- SQLite reads"));
	CHECK(strstr(buf, "leaf table"));
	CHECK(strlen(buf) + 2 <= 80);
	tm_version_text(&v, 0, buf, sizeof buf);
	CHECK(strstr(buf, "database file") && !strstr(buf, "SQLite reads"));

	/* 'beta' -> 'gamma' between the file's copy and the first frame. */
	uint32_t sa, sb, nbytes;
	const uint8_t *a = tm_version_data(&v, 0, &sa), *b = tm_version_data(&v, 1, &sb);
	CHECK(a && b && sa == 1024 && sb == 1024);
	uint32_t *rows;
	uint32_t nrows = tm_diff_rows(a, b, sa, 16, &rows, &nbytes);
	CHECK(nrows > 0);
	CHECK(nbytes > 0);
	uint32_t count = 0;
	for (uint32_t i = 0; i < sa; i++)
		count += a[i] != b[i];
	CHECK_EQ(nbytes, count);
	for (uint32_t i = 0; i < nrows; i++) {
		CHECK_EQ(rows[i] % 16, 0);
		CHECK(memcmp(a + rows[i], b + rows[i], 16) != 0);
		if (i)
			CHECK(rows[i] > rows[i - 1]);
	}
	free(rows);
	CHECK_EQ(tm_diff_rows(a, a, sa, 16, &rows, &nbytes), 0);
	CHECK(rows == NULL);
	model_close(&m);
}

TEST(tui_hex_row_highlights_field_and_diff)
{
	uint8_t a[32], b[32];
	for (int i = 0; i < 32; i++)
		a[i] = b[i] = (uint8_t)('A' + i % 26);
	b[20] ^= 0xff;
	struct tm_screen s = { 0 };
	CHECK_EQ(tm_screen_resize(&s, 80, 2), 0);
	tm_hex_row(&s, 0, 0, a, 32, 16, 16, 18, 2, b, true);
	char row[128];
	tm_row_text(&s, 0, row, sizeof row);
	CHECK_STR(row, "0010  51 52 53 54 55 56 57 58  59 5a 41 42 43 44 45 46  QRSTUVWXYZABCDEF");
	CHECK_EQ((int)strlen(row), tm_hex_width(16, true));
	/* Bytes 18..19 are the field: "53 54" and the blank between them. */
	CHECK_EQ(s.cell[6 + 2 * 3].style, TM_HIGHLIGHT);
	CHECK_EQ(s.cell[6 + 2 * 3 + 2].style, TM_HIGHLIGHT);
	CHECK_EQ(s.cell[6 + 3 * 3 + 1].style, TM_HIGHLIGHT);
	CHECK_EQ(s.cell[6 + 4 * 3].style, TM_DIFF);      /* byte 20 differs from b */
	CHECK_EQ(s.cell[6 + 1 * 3].style, TM_NORMAL);
	tm_screen_free(&s);
}

TEST(tui_shm_view_rows)
{
	const char *db = make_wal_db();
	struct model m;
	open_model(&m, db);
	CHECK(m.has_shm);
	struct lock_report none = { .n = 0, .reliable = true };
	struct tm_lines l = { 0 };
	tm_shm_build(&l, &m, &none);
	CHECK(lines_have(&l, "header copies identical; SQLite accepts this header"));
	CHECK(lines_have(&l, "nBackfill"));
	CHECK(lines_have(&l, "aReadMark[1]"));
	char want[64];
	snprintf(want, sizeof want, "mxFrame      %u", m.wal.mx_frame);
	CHECK(lines_have(&l, want));
	CHECK_EQ(tm_shm_index_rows(&m), m.wal.mx_frame);
	char buf[128];
	uint8_t st;
	tm_shm_index_text(&m, 1, buf, sizeof buf, &st);
	unsigned f, pg, wp;
	CHECK_EQ(sscanf(buf, "%u %u %u", &f, &pg, &wp), 3);
	CHECK_EQ(f, 1);
	CHECK_EQ(pg, m.wal.frames[0].pgno);
	CHECK_EQ(wp, pg);
	CHECK_EQ(st, TM_NORMAL);
	tm_lines_free(&l);
	model_close(&m);

	/* Copy 1 of the header changed: the fields that differ are marked. */
	tl_flip(P("db-shm"), 48 + 16, 0x01);
	open_model(&m, db);
	tm_shm_build(&l, &m, &none);
	CHECK(lines_have(&l, "DIFFER"));
	bool marked = false;
	for (size_t i = 0; i < l.n; i++)
		if (strstr(l.v[i].text, "mxFrame") && l.v[i].text[0] == '*') {
			CHECK_EQ(l.v[i].style, TM_ERROR);
			marked = true;
		}
	CHECK(marked);
	tm_lines_free(&l);
	model_close(&m);
}

TEST(tui_readers_rows_and_growth)
{
	const char *db = make_wal_db();
	struct model m;
	open_model(&m, db);
	struct lock_report r = { .n = 1, .reliable = true };
	r.h[0] = (struct lock_holder){ .pid = 4242, .file = 's', .exclusive = false, .start = 124, .end = 124 };
	m.shm.read_mark[1] = 1;              /* READ1's mark below mxFrame: it holds frames back */
	snprintf(r.h[0].what, sizeof r.h[0].what, "READ1");
	snprintf(r.h[0].comm, sizeof r.h[0].comm, "reader");
	struct tm_growth g = { 0 };
	for (unsigned i = 0; i < TM_SAMPLES + 5; i++)
		tm_growth_add(&g, 1000 + 100 * i);
	CHECK_EQ(g.n, TM_SAMPLES);
	CHECK_EQ(g.size[0], 1500);
	struct tm_lines l = { 0 };
	tm_readers_build(&l, &m, &r, &g, 80);
	bool read1 = false;
	for (size_t i = 0; i < l.n; i++)
		if (!strncmp(l.v[i].text, "READ1", 5)) {
			CHECK(strstr(l.v[i].text, "pid 4242 (reader) shared"));
			char pin[64];
			snprintf(pin, sizeof pin, "; holds back frames 2..%u", m.shm.hdr[0].mx_frame);
			CHECK(strstr(l.v[i].text, pin));
			CHECK_EQ(l.v[i].style, TM_WARNING);
			read1 = true;
		}
	CHECK(read1);
	CHECK(lines_have(&l, "processes  4242(reader)") || lines_have(&l, "processes  4242"));
	CHECK(lines_have(&l, "+5900 bytes over the last 59 s"));
	CHECK(lines_have(&l, "[___"));
	tm_lines_free(&l);
	model_close(&m);
}
