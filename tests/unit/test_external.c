/*
 * Databases nobody here wrote: the DFRWS 2018 SQLite forensic corpus
 * ($WALDO_SHARED/external/dfrws2018-v1, see its README.md).  They are
 * rollback-mode files (no WAL) with deleted records, UTF-16 encodings,
 * unusual page sizes and schema corner cases.  For every file the header
 * parser, sqlite_schema reader and page accounting must run cleanly, and
 * agree with what libsqlite3 says of a copy: header fields, page count,
 * per-b-tree page counts (dbstat), and whether the file is damaged
 * (integrity_check).
 *
 * When the corpus folder is missing the test fails under CI (env CI set)
 * and is skipped with a note otherwise.
 */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "test.h"
#include "testlib.h"
#include "formats/btree.h"
#include "formats/dbheader.h"
#include "inspect/schema.h"

#define MAX_FILES 512

struct img {
	uint8_t *p;
	size_t n;
	uint32_t page_size;
	uint32_t npages;
};

static const uint8_t *img_get(void *ctx, uint32_t pgno)
{
	const struct img *m = ctx;
	if (pgno == 0 || (uint64_t)pgno * m->page_size > m->n)
		return NULL;
	return m->p + (size_t)(pgno - 1) * m->page_size;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.db one or two folder levels below dir, sorted; returns the count. */
static size_t list_dbs(const char *dir, char **out)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < MAX_FILES) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			DIR *d2 = opendir(path);
			struct dirent *e2;
			while (d2 && (e2 = readdir(d2)) && n < MAX_FILES) {
				size_t k = strlen(e2->d_name);
				if (k > 3 && !strcmp(e2->d_name + k - 3, ".db")) {
					char p2[4400];
					snprintf(p2, sizeof p2, "%s/%s", path, e2->d_name);
					out[n++] = strdup(p2);
				}
			}
			if (d2)
				closedir(d2);
		} else {
			size_t k = strlen(e->d_name);
			if (k > 3 && !strcmp(e->d_name + k - 3, ".db"))
				out[n++] = strdup(path);
		}
	}
	closedir(d);
	qsort(out, n, sizeof *out, cmp_str);
	return n;
}

static const char *corpus_dir(void)
{
	static char dir[4096];
	snprintf(dir, sizeof dir, "%s/external/dfrws2018-v1", tl_shared());
	return dir;
}

/* SQLite's view of a copy: one integer. */
static long long q_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "prepare '%s': %s", sql, sqlite3_errmsg(h));
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

static void q_text(sqlite3 *h, const char *sql, char *buf, size_t n)
{
	sqlite3_stmt *st = NULL;
	buf[0] = '\0';
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static const struct sc_tree *tree_named(const struct sc_account *a, const char *name)
{
	for (size_t i = 0; i < a->ntrees; i++)
		if (!strcmp(a->trees[i].name, name))
			return &a->trees[i];
	return NULL;
}

#define FAIL_IN(file, ...) do { fprintf(stderr, "# in %s\n", file); tl_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define CHECK_IN(file, c) do { if (!(c)) FAIL_IN(file, "CHECK(%s)", #c); } while (0)
#define CHECK_EQ_IN(file, a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) FAIL_IN(file, "%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)

static void check_one(const char *path, unsigned idx)
{
	size_t n;
	struct img m;
	m.p = tl_read(path, &n);
	m.n = n;
	struct db_header h;
	struct wd_diags d = { 0 };
	int hrc = dbh_parse(m.p, n, &h, &d);
	CHECK_IN(path, hrc != WD_FATAL);
	/* Rollback-mode files: DB_NOT_WAL_MODE (info) and nothing else from the header. */
	CHECK_IN(path, wd_worst(&d) <= WD_INFO);
	m.page_size = h.page_size;
	uint64_t file_pages = (n + h.page_size - 1) / h.page_size;
	m.npages = h.size_valid ? h.db_size : (uint32_t)file_pages;

	/* SQLite's view of a copy (it may write to it: never the original). */
	const char *copy = tl_path("copy-%u.db", idx);
	tl_copy(path, copy);
	sqlite3 *q = NULL;
	CHECK_IN(path, sqlite3_open_v2(copy, &q, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
	CHECK_EQ_IN(path, h.page_size, q_int(q, "PRAGMA page_size"));
	CHECK_EQ_IN(path, m.npages, q_int(q, "PRAGMA page_count"));
	CHECK_EQ_IN(path, h.freelist_count, q_int(q, "PRAGMA freelist_count"));
	CHECK_EQ_IN(path, h.schema_cookie, q_int(q, "PRAGMA schema_version"));
	CHECK_EQ_IN(path, (int32_t)h.user_version, q_int(q, "PRAGMA user_version"));
	CHECK_EQ_IN(path, (int32_t)h.application_id, q_int(q, "PRAGMA application_id"));
	char enc[32], integrity[256];
	q_text(q, "PRAGMA encoding", enc, sizeof enc);
	static const char *const encs[] = { "", "UTF-8", "UTF-16le", "UTF-16be" };
	CHECK_IN(path, h.text_encoding >= 1 && h.text_encoding <= 3);
	if (strcmp(enc, encs[h.text_encoding]))
		FAIL_IN(path, "encoding: SQLite says %s, header %u", enc, h.text_encoding);
	q_text(q, "PRAGMA integrity_check", integrity, sizeof integrity);
	bool sqlite_ok = !strcmp(integrity, "ok");

	struct sc_source src = { img_get, &m, h.page_size, h.usable_size, m.npages, h.text_encoding };
	struct sc_schema s;
	struct sc_account a;
	struct wd_diags ad = { 0 };
	sc_read_schema(&src, &s, NULL);
	int arc = sc_account_pages(&src, &h, &s, &a, &ad);
	CHECK_EQ_IN(path, s.n, q_int(q, "SELECT count(*) FROM sqlite_schema"));
	CHECK_EQ_IN(path, a.npages, m.npages);
	CHECK_EQ_IN(path, a.nbtree + a.nfree_trunk + a.nfree_leaf + a.nptrmap + a.nlockbyte + a.nunused,
		    m.npages);
	/*
	 * Agreement with integrity_check.  All 77 files of version 1.0 pass
	 * SQLite's integrity_check; if a file SQLite calls corrupt appears,
	 * waldo must report an error for it too.
	 */
	if (!sqlite_ok) {
		CHECK_IN(path, wd_worst(&ad) == WD_ERROR);
	} else {
		if (ad.n) {
			for (size_t i = 0; i < ad.n; i++)
				fprintf(stderr, "# %s: %s %s\n", path, wd_code_name(ad.v[i].code), ad.v[i].msg);
			FAIL_IN(path, "SQLite's integrity_check says ok, waldo reports %zu findings", ad.n);
		}
		CHECK_EQ_IN(path, arc, WD_OK);
		CHECK_EQ_IN(path, a.nunused, 0);
		CHECK_EQ_IN(path, a.nfree_trunk + a.nfree_leaf, h.freelist_count);
		/* Per-b-tree page counts agree with dbstat. */
		sqlite3_stmt *st = NULL;
		CHECK_IN(path, sqlite3_prepare_v2(q, "SELECT name, count(*) FROM dbstat GROUP BY name", -1,
						  &st, NULL) == SQLITE_OK);
		size_t ngroups = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			const struct sc_tree *t = tree_named(&a, name);
			if (!t)
				FAIL_IN(path, "dbstat lists '%s', waldo has no such b-tree", name);
			CHECK_EQ_IN(path, t->npages, sqlite3_column_int64(st, 1));
			ngroups++;
		}
		sqlite3_finalize(st);
		CHECK_EQ_IN(path, ngroups, a.ntrees);
	}
	sqlite3_close(q);
	sc_account_free(&a);
	sc_schema_free(&s);
	wd_diags_free(&ad);
	wd_diags_free(&d);
	free(m.p);
}

TEST(external_dfrws2018_corpus_agrees_with_sqlite)
{
	const char *dir = corpus_dir();
	struct stat st;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		if (getenv("CI"))
			tl_fail(__FILE__, __LINE__, "corpus folder '%s' is missing (set WALDO_SHARED)", dir);
		fprintf(stderr, "# skipped: corpus folder '%s' is missing (set WALDO_SHARED)\n", dir);
		return;
	}
	char *files[MAX_FILES];
	size_t n = list_dbs(dir, files);
	CHECK(n >= 1);
	for (size_t i = 0; i < n; i++) {
		check_one(files[i], (unsigned)i);
		free(files[i]);
	}
	/* Version 1.0 has 77 databases; fewer means the copy is incomplete. */
	CHECK(n >= 77);
}

/* Hand-damaged copies of corpus files: SQLite and waldo both object. */
TEST(external_damaged_copies_are_reported_by_both)
{
	const char *dir = corpus_dir();
	struct stat st;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		if (getenv("CI"))
			tl_fail(__FILE__, __LINE__, "corpus folder '%s' is missing", dir);
		fprintf(stderr, "# skipped: corpus folder '%s' is missing\n", dir);
		return;
	}
	char *files[MAX_FILES];
	size_t n = list_dbs(dir, files);
	unsigned ndamaged = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		uint8_t *p = tl_read(files[i], &len);
		struct db_header h;
		struct wd_diags d = { 0 };
		dbh_parse(p, len, &h, &d);
		wd_diags_free(&d);
		uint32_t npages = (uint32_t)(len / h.page_size);
		/* Damage the type byte of the last page when it is a b-tree page SQLite reads. */
		uint8_t *last = p + (size_t)(npages - 1) * h.page_size;
		if (npages < 2 || (last[0] != 13 && last[0] != 5 && last[0] != 10 && last[0] != 2) ||
		    h.freelist_count) {
			free(p);
			free(files[i]);
			continue;
		}
		last[0] = 0x42;
		const char *copy = tl_path("damaged-%zu.db", i);
		tl_write(copy, p, len);
		char res[256];
		tl_query_text(copy, "PRAGMA integrity_check", res, sizeof res);
		struct img m = { p, len, h.page_size, npages };
		struct sc_source src = { img_get, &m, h.page_size, h.usable_size, npages, h.text_encoding };
		struct sc_schema s;
		struct sc_account a;
		sc_read_schema(&src, &s, NULL);
		sc_account_pages(&src, &h, &s, &a, &d);
		if (strcmp(res, "ok")) {
			CHECK_IN(files[i], wd_worst(&d) == WD_ERROR);
			CHECK_IN(files[i], wd_count(&d, WD_BTREE_PAGE_INVALID) >= 1);
			ndamaged++;
		}
		sc_account_free(&a);
		sc_schema_free(&s);
		wd_diags_free(&d);
		free(p);
		free(files[i]);
	}
	CHECK(ndamaged >= 10);
}
