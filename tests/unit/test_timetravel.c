/*
 * Time travel: extract, salvage, bisect, history and log against WALs real
 * libsqlite3 wrote (and hand-damaged copies of them), and the atomic
 * output writer.
 */
#include <dirent.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "formats/wal.h"
#include "inspect/atomic.h"
#include "inspect/cmd.h"
#include "inspect/materialize.h"
#include "inspect/model.h"
#include "inspect/salvage.h"

/* ---- fixtures ---------------------------------------------------------- */

/* Run `waldo NAME args…` in a child with stdout and stderr in files;
 * returns the exit status, the stdout text (caller frees) in *out and the
 * stderr text's first 1 KiB in last_err. */
static char last_err[1024];

static int run(char **out, const char *name, ...)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)name;
	va_list ap;
	va_start(ap, name);
	const char *a;
	while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	static unsigned k;
	const char *path = tl_path("out-%u.txt", k++);
	char epath[4200];
	snprintf(epath, sizeof epath, "%s.err", path);
	int (*fn)(int, char **) = !strcmp(name, "log") ? cmd_log : !strcmp(name, "history") ? cmd_history
				: !strcmp(name, "extract") ? cmd_extract : !strcmp(name, "bisect") ? cmd_bisect
				: cmd_readers;
	int st = tl_run_cmd(fn, argv, path, epath);
	tl_read_text(epath, last_err, sizeof last_err);
	if (out) {
		size_t n;
		uint8_t *p = tl_read(path, &n);
		*out = realloc(p, n + 1);
		(*out)[n] = '\0';
	}
	return st;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* A WAL database with one commit per statement (autocheckpoint off). */
static void make_db(const char *db, unsigned page_size, const char *const *stmts, size_t n)
{
	tl_make_db(db, page_size, true);
	char sql[8192] = "";
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(sql + k, sizeof sql - k, "%s;", stmts[i]);
	tl_sql_keep_wal(db, sql);
}

#define INS50 "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<50) " \
	      "INSERT INTO t(b) SELECT printf('r%d-%s', i, hex(randomblob(30))) FROM s"
static const char *const rows_stmts[] = {
	"CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)",
	INS50, INS50, INS50,
	"UPDATE t SET b = b || '!' WHERE a % 5 = 0",
	INS50,
	"CREATE INDEX tb ON t(b)",
};
#define NROWS_STMTS (sizeof rows_stmts / sizeof *rows_stmts)

/* What SQLite shows with the WAL cut to wal_len bytes (0: none), as a
 * checkpointed standalone copy; returns the copy's path. */
static const char *sqlite_view(const char *db, uint64_t wal_len, const char *name)
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
	return dst;
}

/* Content fingerprint SQLite computes: schema plus every row of t. */
static void fingerprint(const char *db, bool has_t, char *buf, size_t n)
{
	tl_query_text(db, has_t ? "SELECT (SELECT group_concat(name) FROM sqlite_schema) || '|' || "
				  "(SELECT count(*) || ':' || group_concat(a || b, ',') FROM t)"
				: "SELECT count(*) FROM sqlite_schema", buf, n);
}

static void open_model(struct model *m, const char *db)
{
	char err[256];
	if (model_open(m, db, NULL, NULL, err, sizeof err))
		tl_fail(__FILE__, __LINE__, "model_open: %s", err);
}

/* Re-seal the WAL's checksum chain from frame `from` on, so that SQLite
 * accepts frames whose content we changed. */
static void reseal(const char *wal, uint32_t from)
{
	size_t n;
	uint8_t *p = tl_read(wal, &n);
	uint32_t ps = rd_be32(p + 8);
	int big = rd_be32(p) & 1;
	uint32_t s[2];
	const uint8_t *prev = from == 1 ? p + 24 : p + wal_frame_offset(ps, from - 1) + 16;
	s[0] = rd_be32(prev);
	s[1] = rd_be32(prev + 4);
	for (uint64_t f = from; wal_frame_offset(ps, f + 1) <= n; f++) {
		uint8_t *fr = p + wal_frame_offset(ps, f);
		wal_checksum(big, fr, 8, s);
		wal_checksum(big, fr + WAL_FRAME_HDR_SIZE, ps, s);
		wr_be32(fr + 16, s[0]);
		wr_be32(fr + 20, s[1]);
	}
	tl_write(wal, p, n);
	free(p);
}

/* ---- extract ----------------------------------------------------------- */

TEST(extract_every_commit_equals_sqlite_with_the_wal_cut_there)
{
	const char *db = tl_keep("app.db");
	make_db(db, 1024, rows_stmts, NROWS_STMTS);
	struct model m;
	open_model(&m, db);
	CHECK_EQ(model_ncommits(&m), NROWS_STMTS);
	for (uint32_t k = 0; k <= NROWS_STMTS; k++) {
		char kk[16], name[64], fa[4096], fb[4096];
		snprintf(kk, sizeof kk, "%u", k);
		const char *out = tl_keep("out-%u.db", k);
		char *text;
		CHECK_EQ(run(&text, "extract", db, "-o", out, "--commit", kk, "--json", NULL), 0);
		CHECK(strstr(text, "\"integrity\":\"ok\""));
		CHECK(strstr(text, "\"salvage\":false"));
		free(text);
		snprintf(name, sizeof name, "view-%u.db", k);
		uint64_t cut = k ? wal_frame_offset(1024, (uint64_t)model_commit_frame(&m, k) + 1) : 0;
		const char *view = sqlite_view(db, cut, name);
		/* Byte for byte the same pages, but for the journal-mode bytes. */
		size_t na, nb;
		uint8_t *a = tl_read(out, &na), *b = tl_read(view, &nb);
		CHECK_EQ(na, nb);
		CHECK_EQ(na, (uint64_t)model_npages(&m, k) * 1024);
		CHECK_EQ(a[18], 1);
		CHECK_EQ(a[19], 1);
		a[18] = b[18];
		a[19] = b[19];
		CHECK_MEM(a, b, na);
		free(a);
		free(b);
		/* And SQLite reads the same content from both. */
		fingerprint(out, k >= 1, fa, sizeof fa);
		fingerprint(view, k >= 1, fb, sizeof fb);
		CHECK_STR(fa, fb);
		char msg[256];
		CHECK_EQ(sqlite_integrity(out, msg, sizeof msg), 1);
		if (k >= 2)
			CHECK_EQ(tl_query_int(out, "SELECT count(*) FROM t"), k >= 6 ? 200 : 50 * (k - 1 > 3 ? 3 : k - 1));
	}
	/* The default is the last commit SQLite sees. */
	const char *last = tl_keep("last.db");
	CHECK_EQ(run(NULL, "extract", db, "-o", last, NULL), 0);
	size_t n1, n2;
	uint8_t *p1 = tl_read(last, &n1), *p2 = tl_read(tl_keep("out-%u.db", (unsigned)NROWS_STMTS), &n2);
	CHECK_EQ(n1, n2);
	CHECK_MEM(p1, p2, n1);
	free(p1);
	free(p2);
	model_close(&m);
}

TEST(extract_says_when_a_checkpoint_overwrote_the_past)
{
	const char *db = tl_keep("app.db");
	tl_make_db(db, 1024, true);
	tl_sql(db, "CREATE TABLE t1(x); INSERT INTO t1 VALUES('old'); CREATE TABLE t2(y);");
	/* Commit 1 touches t2 only, commit 2 rewrites t1's page; then a
	 * checkpoint copies both into the file without resetting the WAL. */
	tl_sql_keep_wal(db, "INSERT INTO t2 VALUES(1); UPDATE t1 SET x = 'new';"
			    "PRAGMA wal_checkpoint(PASSIVE);");
	char *text;
	CHECK_EQ(run(&text, "extract", db, "-o", tl_keep("c1.db"), "--commit", "1", "--json", NULL), 0);
	CHECK(strstr(text, "\"pages_newer\":1,"));
	free(text);
	char v[64];
	tl_query_text(tl_keep("c1.db"), "SELECT x FROM t1", v, sizeof v);
	CHECK_STR(v, "new");                  /* the limitation, as documented */
	CHECK_EQ(run(&text, "extract", db, "-o", tl_keep("c1b.db"), "--commit", "1", NULL), 0);
	CHECK(strstr(text, "1 page comes from the database file, which a checkpoint already updated past commit 1"));
	free(text);
	CHECK_EQ(run(&text, "extract", db, "-o", tl_keep("c2.db"), "--json", NULL), 0);
	CHECK(strstr(text, "\"pages_newer\":0,"));
	free(text);
}

TEST(extract_salvage_recovers_commits_after_a_checksum_break)
{
	const char *db = tl_keep("app.db"), *wal = tl_keep("app.db-wal");
	make_db(db, 1024, rows_stmts, NROWS_STMTS);
	char full[4096];
	fingerprint(db, true, full, sizeof full);
	CHECK_EQ(tl_query_int(db, "SELECT count(*) FROM t"), 200);
	struct model m;
	open_model(&m, db);
	const uint32_t f = model_commit_frame(&m, 3) + 1;   /* first frame of commit 4 */
	model_close(&m);
	/* Damage the stored checksum only: the page itself stays intact. */
	tl_flip(wal, wal_frame_offset(1024, f) + 16, 0x40);
	CHECK_EQ(tl_query_int(db, "SELECT count(*) FROM t"), 100);   /* SQLite drops commits 4.. */

	char *text;
	CHECK_EQ(run(&text, "extract", db, "-o", tl_keep("plain.db"), "--json", NULL), 0);
	CHECK(strstr(text, "\"commit\":3,"));
	free(text);
	CHECK_EQ(tl_query_int(tl_keep("plain.db"), "SELECT count(*) FROM t"), 100);

	/* Commit 4 does not exist for SQLite: only with --salvage. */
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("no.db"), "--commit", "7", NULL), EXIT_USAGE);
	CHECK(!tl_exists(tl_keep("no.db")));
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("no.db"), "--commit", "8", "--salvage", NULL), EXIT_USAGE);

	/* --salvage: everything back, labelled, exit 1 (warning). */
	CHECK_EQ(run(&text, "extract", db, "-o", tl_keep("salv.db"), "--salvage", "--json", NULL), 1);
	CHECK(strstr(text, "\"commit\":7,"));
	CHECK(strstr(text, "\"salvage\":true"));
	CHECK(strstr(text, "\"kind\":\"after-break\""));
	CHECK(strstr(text, "\"code\":\"WAL_CHECKSUM_MISMATCH\""));
	CHECK(strstr(text, "\"integrity\":\"ok\""));
	free(text);
	char got[4096];
	fingerprint(tl_keep("salv.db"), true, got, sizeof got);
	CHECK_STR(got, full);

	/* An intermediate salvage commit: the UPDATE (commit 5) but not commit 6. */
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("s5.db"), "--salvage", "--commit", "5", NULL), 1);
	CHECK_EQ(tl_query_int(tl_keep("s5.db"), "SELECT count(*) FROM t"), 150);
	CHECK_EQ(tl_query_int(tl_keep("s5.db"), "SELECT count(*) FROM t WHERE b LIKE '%!'"), 30);

	/* log marks the groups SQLite will not see. */
	CHECK_EQ(run(&text, "log", db, "--json", NULL), 2);
	CHECK_EQ(count(text, "\"sqlite_sees\":true"), 3);
	CHECK_EQ(count(text, "\"sqlite_sees\":false"), 4);
	CHECK(strstr(text, "\"sqlite_stops_at\":"));
	free(text);
	CHECK_EQ(run(&text, "log", db, NULL), 2);
	CHECK(strstr(text, "SQLite stops reading at frame"));
	CHECK(strstr(text, "NO: salvage, after-break"));
	free(text);
}

TEST(extract_salvage_rebuilds_a_database_whose_header_is_destroyed)
{
	const char *db = tl_keep("app.db");
	make_db(db, 1024, rows_stmts, NROWS_STMTS);
	char full[4096];
	fingerprint(db, true, full, sizeof full);
	/* The WAL holds page 1 (commit 1 wrote it); the file's copy is gone. */
	tl_patch(db, 0, "garbage garbage!", 16);
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("x.db"), NULL), EXIT_NOINPUT);
	CHECK(strstr(last_err, "--salvage rebuilds it"));
	char *text;
	CHECK_EQ(run(&text, "log", db, "--json", NULL) >= 1, 1);
	CHECK_EQ(count(text, "\"kind\":\"no-database\""), NROWS_STMTS);
	CHECK(strstr(text, "\"sqlite_stops_at\":1,\"stop_reason\":\"no-database\""));
	free(text);
	CHECK_EQ(run(&text, "extract", db, "-o", tl_keep("rebuilt.db"), "--salvage", "--json", NULL), 1);
	CHECK(strstr(text, "\"code\":\"DB_NOT_SQLITE\""));
	CHECK(strstr(text, "\"integrity\":\"ok\""));
	free(text);
	char got[4096];
	fingerprint(tl_keep("rebuilt.db"), true, got, sizeof got);
	CHECK_STR(got, full);
}

TEST(salvage_groups_and_pages)
{
	const char *db = tl_keep("app.db"), *wal = tl_keep("app.db-wal");
	make_db(db, 1024, rows_stmts, NROWS_STMTS);
	struct model m;
	open_model(&m, db);
	uint32_t cf[NROWS_STMTS + 1];
	for (uint32_t k = 0; k <= NROWS_STMTS; k++)
		cf[k] = model_commit_frame(&m, k);
	/* Healthy: nothing to salvage. */
	struct salvage s;
	char err[128];
	CHECK_EQ(salvage_find(&m, &s, err, sizeof err), 0);
	CHECK_EQ(s.ng, 0);
	CHECK_EQ(salvage_ncommits(&s), NROWS_STMTS);
	salvage_free(&s);
	model_close(&m);

	/* Break inside commit 4 (its second frame): its first frame is valid but
	 * uncommitted, and belongs to the first salvage group all the same. */
	CHECK(cf[4] - cf[3] >= 3);
	tl_flip(wal, wal_frame_offset(1024, cf[3] + 2) + 16, 0x01);
	open_model(&m, db);
	CHECK_EQ(model_ncommits(&m), 3);
	CHECK_EQ(salvage_find(&m, &s, err, sizeof err), 0);
	CHECK_EQ(s.base, 3);
	CHECK_EQ(s.ng, NROWS_STMTS - 3);
	CHECK_EQ(s.nframes_outside, 0);
	for (uint32_t i = 0; i < s.ng; i++) {
		const struct salvage_group *g = salvage_group_of(&s, 4 + i);
		CHECK(g != NULL);
		CHECK_EQ(g->first, cf[3 + i] + 1);
		CHECK_EQ(g->last, cf[4 + i]);
		CHECK_EQ(g->kind, SALVAGE_AFTER_BREAK);
		CHECK(g->whole);
		CHECK_EQ(g->db_size, m.wal.frames[g->last - 1].commit_size);
		/* Only the damaged frame and the one after it fail the local test. */
		CHECK_EQ(g->nverified, (g->last - g->first + 1) - (i == 0 ? 2 : 0));
	}
	CHECK(salvage_group_of(&s, 3) == NULL);
	CHECK(salvage_group_of(&s, NROWS_STMTS + 1) == NULL);
	CHECK_EQ(salvage_commit_of_frame(&s, cf[3] + 1), 4);
	CHECK_EQ(salvage_commit_of_frame(&s, cf[3]), 0);
	/* State k > base: the newest frame up to that group's commit frame,
	 * exactly what the undamaged WAL's model gave. */
	for (uint32_t k = 4; k <= NROWS_STMTS; k++) {
		CHECK_EQ(salvage_npages(&s, k), m.wal.frames[cf[k] - 1].commit_size);
		for (uint32_t p = 1; p <= salvage_npages(&s, k); p++) {
			uint32_t f = 0;
			const uint8_t *pg = salvage_page(&s, k, p, &f);
			CHECK(pg != NULL);
			CHECK_EQ(f, model_find_frame(&m, p, 0, cf[k]));
		}
	}
	/* k <= base is the model's own answer. */
	uint32_t f1, f2;
	CHECK(salvage_page(&s, 2, 1, &f1) == model_page(&m, 2, 1, &f2));
	CHECK_EQ(f1, f2);
	CHECK_EQ(salvage_count_pages(&m, 1, m.wal.nframes), m.idx_maxpg);
	salvage_free(&s);
	model_close(&m);
}

TEST(extract_refuses_to_overwrite_or_write_over_inputs)
{
	const char *db = tl_keep("app.db");
	make_db(db, 1024, rows_stmts, 3);
	const char *out = tl_keep("exists.db");
	tl_write(out, "keep me", 7);
	CHECK_EQ(run(NULL, "extract", db, "-o", out, NULL), 73);
	CHECK(strstr(last_err, "refusing to overwrite it (use --force)"));
	CHECK_EQ(tl_size(out), 7);
	CHECK_EQ(run(NULL, "extract", db, "-o", out, "--force", NULL), 0);
	CHECK_EQ(tl_size(out), (uint64_t)tl_query_int(db, "PRAGMA page_count") * 1024);
	/* Never over an input, nor onto a sibling name of one, even with --force. */
	uint64_t before = tl_size(db);
	CHECK_EQ(run(NULL, "extract", db, "-o", db, "--force", NULL), 73);
	CHECK(strstr(last_err, "is one of the inputs"));
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("app.db-wal"), "--force", NULL), 73);
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("app.db-journal"), NULL), 73);
	CHECK(!tl_exists(tl_keep("app.db-journal")));
	CHECK_EQ(tl_size(db), before);
	/* A leftover journal beside the output would be rolled into it. */
	tl_write(tl_keep("o2.db-journal"), "x", 1);
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("o2.db"), NULL), 73);
	CHECK(!tl_exists(tl_keep("o2.db")));
	/* Usage errors and unusable inputs. */
	CHECK_EQ(run(NULL, "extract", db, NULL), EXIT_USAGE);
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("x.db"), "--commit", "abc", NULL), EXIT_USAGE);
	CHECK_EQ(run(NULL, "extract", tl_keep("missing.db"), "-o", tl_keep("x.db"), NULL), EXIT_NOINPUT);
	tl_write(tl_keep("junk.db"), "this is not a database at all, just text padded out......"
		 "....................................................................", 120);
	CHECK_EQ(run(NULL, "extract", tl_keep("junk.db"), "-o", tl_keep("x.db"), NULL), EXIT_NOINPUT);
	CHECK(strstr(last_err, "is not an SQLite database"));
	tl_write(tl_keep("empty.db"), "", 0);
	CHECK_EQ(run(NULL, "extract", tl_keep("empty.db"), "-o", tl_keep("x.db"), NULL), EXIT_NOINPUT);
	CHECK(strstr(last_err, "is empty"));
	CHECK(!tl_exists(tl_keep("x.db")));
	/* No temporary files are left behind in the output folder. */
	DIR *d = opendir(tl_tmp());
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		CHECK(!strstr(e->d_name, ".waldo-"));
	closedir(d);
}

TEST(a_commit_size_no_file_can_hold_is_never_written)
{
	const char *db = tl_keep("app.db"), *wal = tl_keep("app.db-wal");
	make_db(db, 1024, rows_stmts, 3);
	struct model m;
	open_model(&m, db);
	const uint32_t last = model_commit_frame(&m, 3);
	model_close(&m);
	uint8_t huge[4];
	wr_be32(huge, 0xfffffff0u);
	tl_patch(wal, wal_frame_offset(1024, last) + 4, huge, 4);
	reseal(wal, last);                      /* the chain holds: SQLite would read it */
	open_model(&m, db);
	CHECK_EQ(model_ncommits(&m), 3);
	CHECK_EQ(model_npages(&m, 3), 0xfffffff0u);
	CHECK(!model_size_plausible(&m, 0xfffffff0u));
	CHECK(model_size_plausible(&m, model_npages(&m, 2)));
	model_close(&m);
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("x.db"), NULL), EXIT_NOINPUT);
	CHECK(strstr(last_err, "claims 4294967280 pages"));
	CHECK(!tl_exists(tl_keep("x.db")));
	CHECK_EQ(run(NULL, "extract", db, "-o", tl_keep("x2.db"), "--commit", "2", NULL), 0);
	char *text;
	CHECK_EQ(run(&text, "bisect", db, "--json", NULL), 2);
	CHECK(strstr(text, "\"first_bad\":3,"));
	CHECK(strstr(text, "far more than the files hold"));
	free(text);

	/* The same size on a group behind a checksum break: not a group. */
	tl_flip(wal, wal_frame_offset(1024, last) + 16, 0x01);
	open_model(&m, db);
	struct salvage sv;
	char err[64];
	CHECK_EQ(salvage_find(&m, &sv, err, sizeof err), 0);
	CHECK_EQ(sv.ng, 0);
	CHECK_EQ(sv.nskipped, 1);
	salvage_free(&sv);
	model_close(&m);
}

/* ---- bisect ------------------------------------------------------------ */

static const char *const table_stmts[] = {
	"CREATE TABLE t1(x)", "CREATE TABLE t2(x)", "CREATE TABLE t3(x)", "CREATE TABLE t4(x)",
	"INSERT INTO t1 VALUES(1)", "INSERT INTO t2 VALUES(2)", "INSERT INTO t3 VALUES(3)",
	"INSERT INTO t4 VALUES(4)", "INSERT INTO t1 VALUES(5)",
};
#define NTABLE_STMTS (sizeof table_stmts / sizeof *table_stmts)

TEST(bisect_finds_the_commit_that_broke_a_btree_page)
{
	const char *db = tl_keep("app.db"), *wal = tl_keep("app.db-wal");
	make_db(db, 1024, table_stmts, NTABLE_STMTS);
	char *text;
	CHECK_EQ(run(&text, "bisect", db, "--json", NULL), 0);
	CHECK(strstr(text, "\"first_bad\":null"));
	free(text);

	/* Commit 7 writes t3's root page: make it a leaf *index* page, then
	 * re-seal the checksum chain so that SQLite accepts the WAL. */
	const uint32_t root = (uint32_t)tl_query_int(db, "SELECT rootpage FROM sqlite_schema WHERE name='t3'");
	struct model m;
	open_model(&m, db);
	CHECK_EQ(model_ncommits(&m), NTABLE_STMTS);
	uint32_t f = model_find_frame(&m, root, model_commit_frame(&m, 6), model_commit_frame(&m, 7));
	CHECK(f != 0);
	CHECK_EQ(model_frame_page(&m, f)[0], 0x0d);
	model_close(&m);
	const uint8_t leaf_index = 0x0a;
	tl_patch(wal, wal_frame_offset(1024, f) + WAL_FRAME_HDR_SIZE, &leaf_index, 1);
	reseal(wal, f);
	CHECK_EQ(tl_query_int(db, "SELECT count(*) FROM t4"), 1);   /* SQLite reads the whole WAL */
	char ic[256];
	tl_query_text(db, "PRAGMA integrity_check", ic, sizeof ic);
	CHECK(strcmp(ic, "ok"));

	CHECK_EQ(run(&text, "bisect", db, "--json", NULL), 2);
	CHECK(strstr(text, "\"first_bad\":7,"));
	CHECK(strstr(text, "\"state0_fails\":false"));
	char want[96];
	snprintf(want, sizeof want, "{\"page\":%u,\"frame\":%u,\"page1\":false,\"type\":10,", root, f);
	CHECK(strstr(text, want));
	CHECK(strstr(text, "\"type_before\":13"));
	CHECK(strstr(text, "\"code\":\"SQLITE_INTEGRITY_FAILED\""));
	/* 0 and 9 first, then a binary search: far fewer than 10 checks. */
	CHECK(strstr(text, "\"checked\":[{\"commit\":0,\"result\":\"ok\""));
	CHECK(strstr(text, "{\"commit\":9,\"result\":\""));     /* fails, or SQLITE_CORRUPT */
	CHECK(!strstr(text, "{\"commit\":9,\"result\":\"ok\""));
	CHECK(count(text, "\"result\":") <= 6);
	free(text);
	CHECK_EQ(run(&text, "bisect", db, "--all", "--json", NULL), 2);
	CHECK(strstr(text, "\"first_bad\":7,"));
	CHECK_EQ(count(text, "\"result\":"), 8);
	free(text);
	CHECK_EQ(run(&text, "bisect", db, NULL), 2);
	CHECK(strstr(text, "first bad commit: 7"));
	CHECK(strstr(text, "TYPE CHANGED"));
	free(text);
}

TEST(bisect_reports_a_database_file_that_is_already_broken)
{
	const char *db = tl_keep("app.db");
	tl_make_db(db, 1024, true);
	tl_sql(db, "CREATE TABLE t1(x); CREATE TABLE t2(x); INSERT INTO t2 VALUES(1);");
	const uint32_t root = (uint32_t)tl_query_int(db, "SELECT rootpage FROM sqlite_schema WHERE name='t2'");
	tl_sql_keep_wal(db, "INSERT INTO t1 VALUES(1); INSERT INTO t1 VALUES(2);");
	const uint8_t bad = 0x0a;
	tl_patch(db, (uint64_t)(root - 1) * 1024, &bad, 1);
	char *text;
	CHECK_EQ(run(&text, "bisect", db, "--json", NULL), 2);
	CHECK(strstr(text, "\"first_bad\":0,"));
	CHECK(strstr(text, "\"state0_fails\":true"));
	CHECK(strstr(text, "\"change\":null"));
	free(text);
}

/* ---- history and log --------------------------------------------------- */

TEST(history_lists_every_version_and_the_one_sqlite_reads)
{
	const char *db = tl_keep("app.db");
	make_db(db, 1024, rows_stmts, NROWS_STMTS);
	const uint32_t root = (uint32_t)tl_query_int(db, "SELECT rootpage FROM sqlite_schema WHERE name='t'");
	struct model m;
	open_model(&m, db);
	uint32_t nf, cur;
	const uint32_t *fv = model_page_frames(&m, root, &nf);
	CHECK(nf >= 3);
	const uint8_t *curp = model_page(&m, MODEL_LAST, root, &cur);
	CHECK(cur != 0);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len;
	CHECK(EVP_Digest(curp, 1024, md, &len, EVP_sha256(), NULL));
	char hex[17];
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	char pg[16];
	snprintf(pg, sizeof pg, "%u", root);
	char *text;
	CHECK_EQ(run(&text, "history", db, pg, "--json", NULL), 0);
	CHECK_EQ(count(text, "\"source\":\"wal\""), nf + 1);          /* + the sqlite_reads object */
	CHECK_EQ(count(text, "\"source\":\"db\""), model_db_page(&m, root) ? 1 : 0);
	CHECK_EQ(count(text, "\"sqlite_reads\":true"), 1);
	char want[128];
	snprintf(want, sizeof want, "\"frame\":%u,\"offset\":%llu,\"state\":\"committed\"", fv[nf - 1],
		 (unsigned long long)wal_frame_offset(1024, fv[nf - 1]) + WAL_FRAME_HDR_SIZE);
	CHECK(strstr(text, want));
	snprintf(want, sizeof want, "\"sha256_16\":\"%s\",\"type\":\"0x%02x", hex, curp[0]);
	CHECK(strstr(text, want));
	snprintf(want, sizeof want, "\"sqlite_reads\":{\"source\":\"wal\",\"frame\":%u}", cur);
	CHECK(strstr(text, want));
	free(text);
	CHECK_EQ(run(&text, "history", db, pg, NULL), 0);
	CHECK_EQ(count(text, "<- SQLite reads this"), 1);
	free(text);
	/* A page past the end has no version SQLite reads. */
	CHECK_EQ(run(&text, "history", db, "100000", NULL), 0);
	CHECK(strstr(text, "past the end of the current state"));
	free(text);
	CHECK_EQ(run(NULL, "history", db, "0", NULL), EXIT_USAGE);
	CHECK_EQ(run(NULL, "history", db, "-3", NULL), EXIT_USAGE);
	CHECK_EQ(run(NULL, "history", db, NULL), EXIT_USAGE);
	model_close(&m);
}

TEST(log_lists_commits_and_stale_generation_groups)
{
	const char *db = tl_keep("app.db");
	tl_make_db(db, 1024, true);
	/* Generation A: many frames; a RESTART checkpoint; generation B writes
	 * two frames over A's first ones, A's later frames stay behind. */
	tl_sql_keep_wal(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
			    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<200) "
			    "INSERT INTO t(b) SELECT hex(randomblob(40)) FROM s;"
			    "INSERT INTO t(b) VALUES('a3');"
			    "PRAGMA wal_checkpoint(RESTART);"
			    "INSERT INTO t(b) VALUES('b1');");
	struct model m;
	open_model(&m, db);
	CHECK_EQ(m.wal.end, WAL_END_SALT);
	CHECK_EQ(model_ncommits(&m), 1);
	struct salvage s;
	char err[64];
	CHECK_EQ(salvage_find(&m, &s, err, sizeof err), 0);
	CHECK(s.ng >= 1);
	const struct salvage_group *g = salvage_group_of(&s, s.base + s.ng);
	CHECK_EQ(g->kind, SALVAGE_STALE);
	CHECK(g->salt1 + 1 == m.wal.hdr.salt1);         /* a restart adds 1 to salt-1 */
	CHECK_EQ(g->last, m.wal.nframes);                /* generation A's last commit ('a3') */
	CHECK_EQ(g->nverified, g->last - g->first + (g->whole ? 1 : 0));
	salvage_free(&s);
	model_close(&m);

	char *text;
	CHECK_EQ(run(&text, "log", db, "--json", NULL), 0);           /* stale frames are info */
	CHECK_EQ(count(text, "\"kind\":\"committed\""), 1);
	CHECK(count(text, "\"kind\":\"stale\"") >= 1);
	CHECK(strstr(text, "\"stop_reason\":\"salt\""));
	free(text);
	CHECK_EQ(run(&text, "log", db, NULL), 0);
	CHECK(strstr(text, "NO: salvage, stale (salts"));
	free(text);
	CHECK_EQ(run(&text, "extract", db, "-o", tl_keep("st.db"), "--salvage", "--json", NULL) >= 1, 1);
	CHECK(strstr(text, "\"kind\":\"stale\""));
	CHECK(strstr(text, "\"code\":\"WAL_STALE_FRAMES\""));
	free(text);
}

TEST(log_without_wal_shows_the_database_file_alone)
{
	const char *db = tl_keep("plain.db");
	tl_make_db(db, 4096, true);
	tl_sql(db, "CREATE TABLE t(x);");
	char *text;
	CHECK_EQ(run(&text, "log", db, "--json", NULL), 0);
	CHECK(strstr(text, "\"wal\":null"));
	CHECK(strstr(text, "\"commits\":[]"));
	CHECK(strstr(text, "\"database_pages\":2"));
	free(text);
	CHECK_EQ(run(NULL, "log", NULL), EXIT_USAGE);
	CHECK_EQ(run(NULL, "log", tl_keep("nope.db"), NULL), EXIT_NOINPUT);
}

/* ---- atomic output ----------------------------------------------------- */

TEST(atomic_commit_publishes_whole_files_and_never_clobbers)
{
	const char *out = tl_keep("a.bin");
	struct atomic_out a;
	char err[256];
	CHECK_EQ(atomic_prepare(&a, out, false, err, sizeof err), ATOMIC_OK);
	int fd = atomic_open(&a, err, sizeof err);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "hello", 5), 5);
	CHECK(!tl_exists(out));                         /* nothing visible before commit */
	char tmp[ATOMIC_PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", a.tmp);
	CHECK(tl_exists(tmp));
	CHECK_EQ(atomic_commit(&a, err, sizeof err), ATOMIC_OK);
	CHECK_EQ(tl_size(out), 5);
	CHECK(!tl_exists(tmp));

	CHECK_EQ(atomic_prepare(&a, out, false, err, sizeof err), ATOMIC_EXISTS);
	CHECK(strstr(err, "refusing to overwrite"));

	/* The target appears between prepare and commit: not clobbered. */
	const char *late = tl_keep("late.bin");
	CHECK_EQ(atomic_prepare(&a, late, false, err, sizeof err), ATOMIC_OK);
	snprintf(tmp, sizeof tmp, "%s", a.tmp);
	fd = atomic_open(&a, err, sizeof err);
	CHECK_EQ(write(fd, "new", 3), 3);
	tl_write(late, "someone else", 12);
	CHECK_EQ(atomic_commit(&a, err, sizeof err), ATOMIC_EXISTS);
	atomic_abort(&a);
	CHECK_EQ(tl_size(late), 12);
	CHECK(!tl_exists(tmp));

	/* replace: the old content goes, atomically. */
	CHECK_EQ(atomic_prepare(&a, late, true, err, sizeof err), ATOMIC_OK);
	fd = atomic_open(&a, err, sizeof err);
	CHECK_EQ(write(fd, "xy", 2), 2);
	CHECK_EQ(atomic_commit(&a, err, sizeof err), ATOMIC_OK);
	CHECK_EQ(tl_size(late), 2);

	/* Folders and missing folders are refused. */
	CHECK_EQ(atomic_prepare(&a, tl_tmp(), true, err, sizeof err), ATOMIC_ERR);
	CHECK_EQ(atomic_prepare(&a, tl_keep("no/such/dir/x.db"), false, err, sizeof err), ATOMIC_ERR);
	CHECK_EQ(atomic_prepare(&a, tl_keep("ends/"), false, err, sizeof err), ATOMIC_ERR);

	/* Input detection, by inode and by sibling name. */
	CHECK(atomic_same_file(out, out));
	CHECK(!atomic_same_file(late, out));
	char sib[4200];
	snprintf(sib, sizeof sib, "%s/../%s/a.bin-shm", tl_tmp(), strrchr(tl_tmp(), '/') + 1);
	CHECK(atomic_same_file(sib, out));
	CHECK(!atomic_same_file(tl_keep("a.bin-other"), out));
}
