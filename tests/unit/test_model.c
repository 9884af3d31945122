/*
 * The model (inspect/model.c) against real libsqlite3: for every commit of
 * a WAL, the pages the model returns are byte for byte the pages SQLite
 * shows when given the WAL cut right after that commit's frame.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "formats/wal.h"
#include "inspect/model.h"

/* One statement per commit: growth, overflow pages, an index, a delete
 * that frees pages, a VACUUM that shrinks the database, and a last insert. */
static const char *const statements[] = {
	"CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB)",
	"INSERT INTO t(b, c) VALUES('first', zeroblob(10))",
	"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<60) "
	"INSERT INTO t(b, c) SELECT printf('row %d', i), randomblob(200) FROM s",
	"INSERT INTO t(b, c) VALUES('big', randomblob(5000))",
	"CREATE INDEX t_b ON t(b)",
	"DELETE FROM t WHERE a % 2 = 0",
	"VACUUM",
	"INSERT INTO t(b, c) VALUES('last', x'00ff')",
};
#define NSTMT (sizeof statements / sizeof *statements)

static void make_wal_db(const char *db, unsigned page_size)
{
	tl_make_db(db, page_size, true);
	char sql[4096] = "";
	size_t k = 0;
	for (size_t i = 0; i < NSTMT; i++)
		k += (size_t)snprintf(sql + k, sizeof sql - k, "%s;", statements[i]);
	tl_sql_keep_wal(db, sql);
}

/*
 * What SQLite shows for db with its WAL cut to `wal_len` bytes (0: no WAL):
 * copy both, open the copy (SQLite recovers the WAL), and close it, which
 * checkpoints every frame into the copy and truncates it to nPage pages.
 * Returns the copy's bytes.
 */
static uint8_t *sqlite_view(const char *db, uint64_t wal_len, const char *name, size_t *n)
{
	const char *dst = tl_path("%s", name);
	char wal[4200], dwal[4200];
	snprintf(wal, sizeof wal, "%s-wal", db);
	snprintf(dwal, sizeof dwal, "%s-wal", dst);
	tl_copy(db, dst);
	if (wal_len) {
		size_t wn;
		uint8_t *w = tl_read(wal, &wn);
		CHECK(wal_len <= wn);
		tl_write(dwal, w, (size_t)wal_len);
		free(w);
	}
	sqlite3 *h = NULL;
	CHECK(sqlite3_open(dst, &h) == SQLITE_OK);
	CHECK(sqlite3_exec(h, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_close(h) == SQLITE_OK);
	CHECK(!tl_exists(dwal));
	return tl_read(dst, n);
}

static void open_model(struct model *m, const char *db)
{
	char err[256];
	if (model_open(m, db, NULL, NULL, err, sizeof err))
		tl_fail(__FILE__, __LINE__, "model_open: %s", err);
}

TEST(model_counts_commits_frames_and_sizes)
{
	const char *db = tl_keep("m.db");
	make_wal_db(db, 1024);
	struct model m;
	open_model(&m, db);
	CHECK(m.has_wal);
	CHECK(m.wal_usable);
	CHECK_EQ(m.page_size, 1024);
	CHECK_EQ(model_ncommits(&m), NSTMT);
	CHECK_EQ(m.wal.nvalid, m.wal.nframes);
	CHECK_EQ(model_commit_frame(&m, NSTMT), m.wal.nframes);
	CHECK_EQ(model_commit_frame(&m, MODEL_LAST), m.wal.nframes);
	CHECK_EQ(model_commit(&m, 1000), NSTMT);
	CHECK_EQ(model_commit_frame(&m, 0), 0);
	CHECK_EQ(model_npages(&m, 0), tl_size(db) / 1024);
	for (uint32_t k = 1; k <= NSTMT; k++) {
		/* Commit frames ascend, and the commit's size is the frame's field. */
		CHECK(model_commit_frame(&m, k) > model_commit_frame(&m, k - 1));
		const uint32_t f = model_commit_frame(&m, k);
		CHECK_EQ(model_npages(&m, k), m.wal.frames[f - 1].commit_size);
	}
	/* VACUUM (commit 7) shrank the database; SQLite agrees on the final size. */
	CHECK(model_npages(&m, 7) < model_npages(&m, 6));
	CHECK_EQ(model_npages(&m, MODEL_LAST), tl_query_int(db, "PRAGMA page_count"));
	model_close(&m);
}

TEST(model_page_equals_sqlite_at_every_commit)
{
	static const unsigned sizes[] = { 1024, 4096 };
	for (unsigned si = 0; si < 2; si++) {
		const unsigned ps = sizes[si];
		const char *db = tl_keep("p%u.db", ps);
		make_wal_db(db, ps);
		struct model m;
		open_model(&m, db);
		CHECK_EQ(model_ncommits(&m), NSTMT);
		for (uint32_t k = 0; k <= NSTMT; k++) {
			uint64_t cut = k ? wal_frame_offset(ps, (uint64_t)model_commit_frame(&m, k) + 1) : 0;
			char name[64];
			snprintf(name, sizeof name, "view-%u-%u.db", ps, k);
			size_t n;
			uint8_t *v = sqlite_view(db, cut, name, &n);
			CHECK_EQ(n, (uint64_t)model_npages(&m, k) * ps);
			for (uint32_t p = 1; p <= model_npages(&m, k); p++) {
				uint32_t f = 0;
				const uint8_t *mp = model_page(&m, k, p, &f);
				if (!mp)
					tl_fail(__FILE__, __LINE__, "commit %u page %u: no version", k, p);
				if (memcmp(mp, v + (size_t)(p - 1) * ps, ps))
					tl_fail(__FILE__, __LINE__, "commit %u page %u (frame %u) differs from SQLite's",
						k, p, f);
				/* The frame found is the newest one at or before the commit. */
				CHECK(f <= model_commit_frame(&m, k));
				if (f)
					CHECK_EQ(m.wal.frames[f - 1].pgno, p);
			}
			free(v);
		}
		model_close(&m);
	}
}

TEST(model_page_frames_lists_every_frame_of_a_page)
{
	const char *db = tl_keep("f.db");
	make_wal_db(db, 1024);
	struct model m;
	open_model(&m, db);
	uint32_t total = 0;
	for (uint32_t p = 1; p <= m.idx_maxpg; p++) {
		uint32_t n;
		const uint32_t *v = model_page_frames(&m, p, &n);
		uint32_t expect = 0;
		for (uint32_t f = 1; f <= m.wal.nframes; f++)
			expect += m.wal.frames[f - 1].pgno == p;
		CHECK_EQ(n, expect);
		for (uint32_t i = 0; i < n; i++) {
			CHECK_EQ(m.wal.frames[v[i] - 1].pgno, p);
			if (i)
				CHECK(v[i] > v[i - 1]);
		}
		total += n;
		/* model_find_frame is the newest entry within the window. */
		if (n) {
			CHECK_EQ(model_find_frame(&m, p, 0, m.wal.nframes), v[n - 1]);
			CHECK_EQ(model_find_frame(&m, p, v[n - 1], m.wal.nframes), 0);
			CHECK_EQ(model_find_frame(&m, p, 0, v[0] - 1), 0);
		}
	}
	CHECK_EQ(total, m.wal.nframes);
	uint32_t n = 99;
	CHECK(model_page_frames(&m, 0, &n) == NULL);
	CHECK_EQ(n, 0);
	CHECK(model_page_frames(&m, m.idx_maxpg + 1, &n) == NULL);
	model_close(&m);
}

TEST(model_without_wal_reads_the_database_file)
{
	const char *db = tl_keep("plain.db");
	tl_make_db(db, 2048, true);
	tl_sql(db, "CREATE TABLE t(x); INSERT INTO t VALUES(randomblob(3000));");
	CHECK(!tl_exists(tl_keep("plain.db-wal")));
	struct model m;
	open_model(&m, db);
	CHECK(!m.has_wal);
	CHECK_EQ(model_ncommits(&m), 0);
	CHECK_EQ(model_npages(&m, MODEL_LAST), tl_size(db) / 2048);
	size_t n;
	uint8_t *file = tl_read(db, &n);
	for (uint32_t p = 1; p <= model_npages(&m, 0); p++) {
		uint32_t f = 77;
		const uint8_t *mp = model_page(&m, MODEL_LAST, p, &f);
		CHECK(mp != NULL);
		CHECK_EQ(f, 0);
		CHECK_MEM(mp, file + (size_t)(p - 1) * 2048, 2048);
	}
	CHECK(model_page(&m, 0, model_npages(&m, 0) + 1, NULL) == NULL);
	free(file);
	model_close(&m);
}

TEST(model_stops_where_sqlite_stops_after_a_checksum_break)
{
	const char *db = tl_keep("b.db");
	make_wal_db(db, 1024);
	struct model m;
	open_model(&m, db);
	const uint32_t k = 4, f = model_commit_frame(&m, k - 1) + 1;   /* first frame of commit 4 */
	model_close(&m);
	/* Damage the stored checksum of that frame: SQLite keeps commits 1..3. */
	tl_flip(tl_keep("b.db-wal"), wal_frame_offset(1024, f) + 16, 0x01);
	open_model(&m, db);
	CHECK_EQ(model_ncommits(&m), k - 1);
	CHECK_EQ(m.wal.nvalid, f - 1);
	CHECK_EQ(m.wal.frames[f - 1].state, WAL_FR_CKSUM_BREAK);
	CHECK_EQ(model_npages(&m, MODEL_LAST), tl_query_int(db, "PRAGMA page_count"));
	CHECK_EQ(tl_query_int(db, "SELECT count(*) FROM t"), 61);   /* commits 2 and 3 only */
	model_close(&m);
}
