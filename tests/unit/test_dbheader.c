/* Database header and journal parsers, against files real libsqlite3 wrote. */
#include <stdlib.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "formats/dbheader.h"
#include "formats/journal.h"

static void parse_file(const char *path, struct db_header *h, struct wd_diags *d)
{
	size_t n;
	uint8_t *p = tl_read(path, &n);
	dbh_parse(p, n, h, d);
	free(p);
}

static void check_against_sqlite(const char *db, const struct db_header *h)
{
	CHECK_EQ(h->page_size, tl_query_int(db, "PRAGMA page_size"));
	CHECK_EQ(h->schema_cookie, tl_query_int(db, "PRAGMA schema_version"));
	CHECK_EQ(h->user_version, tl_query_int(db, "PRAGMA user_version"));
	CHECK_EQ((int32_t)h->application_id, tl_query_int(db, "PRAGMA application_id"));
	CHECK_EQ(h->freelist_count, tl_query_int(db, "PRAGMA freelist_count"));
}

TEST(dbheader_fields_match_sqlite)
{
	static const unsigned sizes[] = { 512, 1024, 4096, 8192, 65536 };
	for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		const char *db = tl_path("h%u.db", sizes[i]);
		tl_make_db(db, sizes[i], true);
		tl_sql(db, "PRAGMA user_version=42; PRAGMA application_id=-559038737;"
			   "CREATE TABLE t(a); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40) INSERT INTO t SELECT zeroblob(3000) FROM s;"
			   "DELETE FROM t WHERE rowid % 2;");
		struct db_header h;
		struct wd_diags d = { 0 };
		parse_file(db, &h, &d);
		CHECK(h.magic_ok);
		CHECK(h.page_size_ok);
		CHECK(h.wal_mode);
		CHECK_EQ(h.write_version, 2);
		CHECK_EQ(h.text_encoding, 1);
		CHECK_EQ(h.schema_format, 4);
		CHECK(h.size_valid);
		CHECK_EQ((uint64_t)h.db_size * h.page_size, tl_size(db));
		CHECK_EQ(h.sqlite_version / 1000000, 3);
		CHECK_EQ(h.usable_size, h.page_size);
		CHECK_EQ(d.n, 0);
		check_against_sqlite(db, &h);
		wd_diags_free(&d);
	}
}

TEST(dbheader_page_size_65536_is_stored_as_1)
{
	const char *db = tl_path("big.db");
	tl_make_db(db, 65536, true);
	size_t n;
	uint8_t *p = tl_read(db, &n);
	CHECK_EQ(rd_be16(p + 16), 1);
	free(p);
	CHECK_EQ(dbh_decode_page_size(1), 65536);
	CHECK_EQ(dbh_decode_page_size(0), 0);
	CHECK_EQ(dbh_decode_page_size(256), 0);
	CHECK_EQ(dbh_decode_page_size(3), 0);
	CHECK_EQ(dbh_decode_page_size(65535), 0);
	CHECK_EQ(dbh_decode_page_size(32768), 32768);
}

TEST(dbheader_rollback_mode_and_encoding)
{
	const char *db = tl_path("r.db");
	tl_sql(db, "PRAGMA encoding='UTF-16le'; PRAGMA auto_vacuum=FULL; CREATE TABLE t(a);");
	struct db_header h;
	struct wd_diags d = { 0 };
	parse_file(db, &h, &d);
	CHECK(!h.wal_mode);
	CHECK_EQ(h.text_encoding, 2);
	CHECK(h.auto_vacuum);
	CHECK_EQ(h.largest_root, tl_query_int(db, "SELECT max(rootpage) FROM sqlite_schema"));
	CHECK_EQ(wd_count(&d, WD_DB_NOT_WAL_MODE), 1);
	CHECK_EQ(wd_worst(&d), WD_INFO);
	wd_diags_free(&d);
}

TEST(dbheader_damage_is_reported_with_offsets)
{
	const char *db = tl_path("d.db");
	tl_make_db(db, 4096, true);
	size_t n;
	uint8_t *p = tl_read(db, &n);
	struct db_header h;
	struct wd_diags d = { 0 };

	CHECK_EQ(dbh_parse(p, 0, &h, &d), WD_WARN);
	CHECK_EQ(d.v[0].code, WD_DB_EMPTY);
	wd_diags_free(&d);

	CHECK_EQ(dbh_parse(p, 50, &h, &d), WD_FATAL);
	CHECK_EQ(d.v[0].code, WD_DB_NOT_SQLITE);
	CHECK_EQ(d.v[0].offset, 50);
	wd_diags_free(&d);

	p[17] = 0x01; /* page size 0x1001 */
	CHECK_EQ(dbh_parse(p, n, &h, &d), WD_FATAL);
	CHECK_EQ(d.v[0].code, WD_DB_PAGE_SIZE_INVALID);
	CHECK_EQ(d.v[0].offset, 16);
	wd_diags_free(&d);
	p[17] = 0;

	p[20] = 255; /* 4096-255 = 3841 usable: fine, but reported */
	CHECK_EQ(dbh_parse(p, n, &h, &d), WD_OK);
	CHECK_EQ(d.v[0].code, WD_DB_RESERVED_BYTES);
	CHECK_EQ(h.usable_size, 3841);
	wd_diags_free(&d);
	p[20] = 0;

	p[21] = 65;
	CHECK_EQ(dbh_parse(p, n, &h, &d), WD_FATAL);
	CHECK_EQ(d.v[0].code, WD_DB_HEADER_INVALID);
	CHECK_EQ(d.v[0].offset, 21);
	wd_diags_free(&d);
	p[21] = 64;

	wr_be32(p + 92, rd_be32(p + 24) + 1); /* version-valid-for stale */
	dbh_parse(p, n, &h, &d);
	CHECK(!h.size_valid);
	wd_diags_free(&d);
	free(p);
}

TEST(dbheader_usable_size_below_480_is_fatal)
{
	uint8_t p[100] = "SQLite format 3";
	wr_be16(p + 16, 512);
	p[18] = p[19] = 1;
	p[20] = 255;
	p[21] = 64; p[22] = 32; p[23] = 32;
	struct db_header h;
	struct wd_diags d = { 0 };
	CHECK_EQ(dbh_parse(p, sizeof p, &h, &d), WD_FATAL);
	CHECK_EQ(wd_count(&d, WD_DB_HEADER_INVALID), 1);
	wd_diags_free(&d);
}

TEST(journal_hot_journal_from_real_sqlite)
{
	/* A crash inside a rollback-mode transaction leaves a hot journal. */
	const char *db = tl_path("j.db");
	tl_sql(db, "PRAGMA journal_mode=DELETE; CREATE TABLE t(a); INSERT INTO t VALUES(1),(2);");
	tl_sql_keep_wal(db, "PRAGMA cache_size=1; BEGIN; WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<200) INSERT INTO t SELECT zeroblob(2000) FROM s;");
	const char *jr = tl_path("j.db-journal");
	CHECK(tl_exists(jr));
	size_t n;
	uint8_t *p = tl_read(jr, &n);
	struct jrnl_header h;
	struct wd_diags d = { 0 };
	CHECK_EQ(jrnl_parse_header(p, n, &h, &d), WD_OK);
	CHECK(h.magic_ok);
	CHECK(h.first_byte_nonzero);
	CHECK_EQ(h.page_size, 4096);
	CHECK_EQ(h.orig_pages, 2);
	CHECK(h.nrec >= 1);
	CHECK_EQ(d.n, 0);
	/* SQLite rolls it back: the copy still has two rows. */
	CHECK_EQ(tl_query_int(db, "SELECT count(*) FROM t"), 2);

	p[3] ^= 0xff;
	CHECK_EQ(jrnl_parse_header(p, n, &h, &d), WD_WARN);
	CHECK_EQ(d.v[0].code, WD_JOURNAL_INVALID);
	wd_diags_free(&d);
	memset(p, 0, 28);
	CHECK_EQ(jrnl_parse_header(p, n, &h, &d), WD_OK);
	CHECK(h.zeroed);
	CHECK(!h.first_byte_nonzero);
	free(p);
}
