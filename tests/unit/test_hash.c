/*
 * Page hashing, manifests, verify, diff and dbhash, against databases real
 * libsqlite3 wrote (WALs kept by ending a child before it closes).
 */
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "inspect/cmd.h"
#include "inspect/dbhash.h"
#include "inspect/model.h"
#include "inspect/pagehash.h"

#define FILL(n) "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<" #n ")"

/* ---- helpers ---- */

static void open_model(struct model *m, const char *path)
{
	char err[512];
	if (model_open(m, path, NULL, NULL, err, sizeof err))
		tl_fail(__FILE__, __LINE__, "model_open '%s': %s", path, err);
}

static void hash_state(const char *path, uint32_t k, unsigned threads, struct ph_hashes *h)
{
	struct model m;
	char err[512];
	open_model(&m, path);
	if (ph_hash_state(&m, k, threads, h, err, sizeof err))
		tl_fail(__FILE__, __LINE__, "ph_hash_state: %s", err);
	model_close(&m);
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned len = 0;
	CHECK(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1);
	CHECK_EQ(len, 32);
}

static void sql_on(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	char *err = NULL;
	CHECK(sqlite3_open(db, &h) == SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "sql '%s': %s", sql, err ? err : "?");
	CHECK(sqlite3_close(h) == SQLITE_OK);
}

/* Copy db and its -wal (not the -shm) into folder `dir` as dir/db; returns that path. */
static const char *copy_pair(const char *db, const char *dir, char *out, size_t n)
{
	char src[4096], dst[4096];
	mkdir(dir, 0700);
	snprintf(out, n, "%s/db", dir);
	tl_copy(db, out);
	snprintf(src, sizeof src, "%s-wal", db);
	snprintf(dst, sizeof dst, "%s-wal", out);
	if (tl_exists(src))
		tl_copy(src, dst);
	return out;
}

/* Run a command with stdout captured into `out`; returns its exit status. */
static int run_cmd(const char *out, int argc, char **argv)
{
	char errpath[4200];
	snprintf(errpath, sizeof errpath, "%s.err", out);
	fflush(stdout);
	fflush(stderr);
	int saved = dup(1), saved2 = dup(2);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fd2 = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(saved >= 0 && saved2 >= 0 && fd >= 0 && fd2 >= 0);
	dup2(fd, 1);
	dup2(fd2, 2);
	close(fd);
	close(fd2);
	int (*fn)(int, char **) = !strcmp(argv[0], "hash") ? cmd_hash : !strcmp(argv[0], "verify") ? cmd_verify
				: !strcmp(argv[0], "diff") ? cmd_diff : cmd_dbhash;
	int rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(saved2, 2);
	close(saved);
	close(saved2);
	return rc;
}

static char *slurp(const char *path)
{
	size_t n;
	uint8_t *p = tl_read(path, &n);
	char *s = realloc(p, n + 1);
	CHECK(s);
	s[n] = '\0';
	return s;
}

/* A WAL database: committed history in the file, more in the -wal. */
static void make_wal_db(const char *db, unsigned page_size)
{
	tl_make_db(db, page_size, true);
	tl_sql(db, "CREATE TABLE a(x INTEGER PRIMARY KEY, y TEXT); CREATE TABLE b(k INTEGER PRIMARY KEY, v BLOB);"
		   "CREATE INDEX ay ON a(y);" FILL(150) " INSERT INTO a SELECT i, printf('a-%05d', i) FROM s;");
	tl_sql_keep_wal(db, FILL(80) " INSERT INTO b SELECT i, randomblob(200) FROM s;"
			    "UPDATE a SET y = 'changed' WHERE x = 17; DELETE FROM a WHERE x = 120;"
			    "INSERT INTO b VALUES (1000, zeroblob(3 * 4096));");
}

/* ---- hashing ---- */

TEST(hash_effective_state_equals_checkpointed_copy)
{
	static const unsigned sizes[] = { 1024, 4096 };
	for (unsigned z = 0; z < 2; z++) {
		char db[4096], copy[4096];
		snprintf(db, sizeof db, "%s", tl_path("e%u.db", sizes[z]));
		make_wal_db(db, sizes[z]);
		CHECK(tl_size(tl_path("e%u.db-wal", sizes[z])) > 0);

		struct ph_hashes eff, ck;
		hash_state(db, MODEL_LAST, 2, &eff);
		CHECK_EQ(eff.nmissing, 0);
		CHECK(eff.commit > 0);

		/* What SQLite itself makes of the pair: a full checkpoint of a copy. */
		copy_pair(db, tl_path("ck%u", sizes[z]), copy, sizeof copy);
		sql_on(copy, "PRAGMA wal_checkpoint(TRUNCATE);");
		hash_state(copy, 0, 2, &ck);

		CHECK_EQ(eff.page_size, sizes[z]);
		CHECK_EQ(ck.page_size, sizes[z]);
		CHECK_EQ(eff.npages, ck.npages);
		CHECK_EQ((uint64_t)ck.npages * sizes[z], tl_size(copy));
		CHECK_MEM(eff.state_hash, ck.state_hash, 32);
		/* And every page digest is the SHA-256 of that file's page bytes. */
		size_t n;
		uint8_t *file = tl_read(copy, &n);
		for (uint32_t p = 1; p <= eff.npages; p++) {
			uint8_t d[32];
			sha256(file + (size_t)(p - 1) * sizes[z], sizes[z], d);
			CHECK(ph_page_digest(&eff, p) != NULL);
			CHECK_MEM(ph_page_digest(&eff, p), d, 32);
			CHECK_MEM(ph_page_digest(&ck, p), d, 32);
		}
		free(file);
		ph_hashes_free(&eff);
		ph_hashes_free(&ck);
	}
}

TEST(hash_threads_give_identical_results)
{
	const char *db = tl_path("t.db");
	make_wal_db(db, 1024);
	struct ph_hashes h1, h3, h4;
	hash_state(db, MODEL_LAST, 1, &h1);
	hash_state(db, MODEL_LAST, 3, &h3);
	hash_state(db, MODEL_LAST, 4, &h4);
	CHECK(h1.npages > 20);
	CHECK_EQ(h1.npages, h4.npages);
	CHECK_EQ(h1.npages, h3.npages);
	CHECK_MEM(h1.digest, h4.digest, (size_t)h1.nheld * 32);
	CHECK_MEM(h1.digest, h3.digest, (size_t)h1.nheld * 32);
	CHECK_MEM(h1.frame, h4.frame, (size_t)h1.nheld * 4);
	CHECK_MEM(h1.state_hash, h4.state_hash, 32);
	CHECK_MEM(h1.state_hash, h3.state_hash, 32);
	ph_hashes_free(&h1);
	ph_hashes_free(&h3);
	ph_hashes_free(&h4);
}

TEST(hash_state_db_reads_the_file_alone)
{
	const char *db = tl_path("f.db");
	make_wal_db(db, 4096);
	struct ph_hashes h;
	hash_state(db, 0, 2, &h);
	CHECK_EQ(h.commit, 0);
	CHECK_EQ((uint64_t)h.npages * 4096, tl_size(db));
	size_t n;
	uint8_t *file = tl_read(db, &n);
	for (uint32_t p = 1; p <= h.npages; p++) {
		uint8_t d[32];
		sha256(file + (size_t)(p - 1) * 4096, 4096, d);
		CHECK_MEM(ph_page_digest(&h, p), d, 32);
		CHECK_EQ(h.frame[p - 1], 0);
	}
	free(file);
	ph_hashes_free(&h);
}

TEST(hash_state_hash_follows_its_definition)
{
	const char *db = tl_path("s.db");
	make_wal_db(db, 1024);
	struct ph_hashes h;
	hash_state(db, MODEL_LAST, 2, &h);
	/* docs/manifest.md: SHA-256 of (be32 pgno || digest)* || be32 pages || be32 page size */
	size_t n = (size_t)h.npages * 36 + 8;
	uint8_t *buf = malloc(n), d[32];
	CHECK(buf);
	for (uint32_t p = 1; p <= h.npages; p++) {
		wr_be32(buf + (size_t)(p - 1) * 36, p);
		memcpy(buf + (size_t)(p - 1) * 36 + 4, ph_page_digest(&h, p), 32);
	}
	wr_be32(buf + n - 8, h.npages);
	wr_be32(buf + n - 4, h.page_size);
	sha256(buf, n, d);
	CHECK_MEM(d, h.state_hash, 32);
	free(buf);
	ph_hashes_free(&h);
}

TEST(hash_lists_pages_no_file_holds_as_missing)
{
	const char *db = tl_path("m.db");
	tl_make_db(db, 1024, false);
	tl_sql(db, "CREATE TABLE t(x);" FILL(200) " INSERT INTO t SELECT randomblob(300) FROM s;");
	uint64_t size = tl_size(db);
	CHECK(size >= 30 * 1024);
	tl_truncate(db, size - 5 * 1024);       /* header still says the old size */
	struct ph_hashes h;
	hash_state(db, 0, 2, &h);
	CHECK_EQ(h.npages, size / 1024);
	CHECK_EQ(h.nmissing, 5);
	for (uint32_t p = h.npages - 4; p <= h.npages; p++)
		CHECK(ph_page_digest(&h, p) == NULL);
	CHECK(ph_page_digest(&h, h.npages - 5) != NULL);

	/* The manifest says so, as one range, and reads back the same. */
	const char *mpath = tl_path("m.manifest");
	char err[512];
	CHECK_EQ(ph_manifest_save(mpath, &h, db, "db", NULL, err, sizeof err), 0);
	char *text = slurp(mpath);
	char want[64];
	snprintf(want, sizeof want, "\n%u-%u missing\n", h.npages - 4, h.npages);
	CHECK(strstr(text, want) != NULL);
	CHECK(strstr(text, "\nmissing 5\n") != NULL);
	free(text);
	struct ph_manifest mf;
	CHECK_EQ(ph_manifest_read(mpath, &mf, err, sizeof err), 0);
	CHECK_EQ(mf.npages, h.npages);
	CHECK_EQ(mf.nmissing, 5);
	CHECK_EQ(mf.nent, h.npages - 5);
	ph_manifest_free(&mf);
	ph_hashes_free(&h);
}

/* ---- manifests ---- */

TEST(manifest_round_trips)
{
	const char *db = tl_path("r.db");
	make_wal_db(db, 1024);
	struct model m;
	open_model(&m, db);
	struct ph_hashes h;
	char err[512];
	CHECK_EQ(ph_hash_state(&m, MODEL_LAST, 2, &h, err, sizeof err), 0);
	struct db_header hdr;
	CHECK(ph_state_header(&m, MODEL_LAST, &hdr));
	const char *mpath = tl_path("r.manifest");
	CHECK_EQ(ph_manifest_save(mpath, &h, "some\npath", "effective", &hdr, err, sizeof err), 0);
	struct ph_manifest mf;
	CHECK_EQ(ph_manifest_read(mpath, &mf, err, sizeof err), 0);
	CHECK_EQ(mf.page_size, h.page_size);
	CHECK_EQ(mf.npages, h.npages);
	CHECK_EQ(mf.nent, h.npages);
	CHECK_EQ(mf.nmissing, 0);
	CHECK_MEM(mf.state_hash, h.state_hash, 32);
	CHECK_STR(mf.state_name, "effective");
	CHECK_STR(mf.source, "some\\npath");     /* escaped: one line */
	for (uint32_t i = 0; i < mf.nent; i++) {
		CHECK_EQ(mf.pgno[i], i + 1);
		CHECK_MEM(mf.digest[i], ph_page_digest(&h, i + 1), 32);
		CHECK_MEM(ph_manifest_digest(&mf, i + 1), mf.digest[i], 32);
	}
	CHECK(ph_manifest_digest(&mf, h.npages + 1) == NULL);
	/* Written twice, byte-identical: diff-friendly and deterministic. */
	const char *m2 = tl_path("r2.manifest");
	CHECK_EQ(ph_manifest_save(m2, &h, "some\npath", "effective", &hdr, err, sizeof err), 0);
	size_t n1, n2;
	uint8_t *a = tl_read(mpath, &n1), *b = tl_read(m2, &n2);
	CHECK_EQ(n1, n2);
	CHECK_MEM(a, b, n1);
	CHECK(!memcmp(a, "waldo-manifest 1\n", 17));
	free(a);
	free(b);
	/* No temporary file left beside it. */
	DIR *dir = opendir(tl_tmp());
	CHECK(dir);
	for (struct dirent *e; (e = readdir(dir));)
		if (strstr(e->d_name, ".tmp"))
			tl_fail(__FILE__, __LINE__, "temporary file '%s' left behind", e->d_name);
	closedir(dir);
	ph_manifest_free(&mf);
	ph_hashes_free(&h);
	model_close(&m);
}

/* Expect ph_manifest_read to refuse `text` naming line `line`. */
static void check_malformed(const char *text, unsigned line, const char *what)
{
	const char *p = tl_path("bad.manifest");
	tl_write(p, text, strlen(text));
	struct ph_manifest mf;
	char err[512], want[600];
	int rc = ph_manifest_read(p, &mf, err, sizeof err);
	ph_manifest_free(&mf);
	if (rc != -2)
		tl_fail(__FILE__, __LINE__, "accepted (%d) a manifest with %s", rc, what);
	snprintf(want, sizeof want, "%s:%u: ", p, line);
	if (strncmp(err, want, strlen(want)))
		tl_fail(__FILE__, __LINE__, "%s: message '%s' does not start with '%s'", what, err, want);
}

TEST(manifest_malformed_is_refused_with_file_and_line)
{
	/* A valid 2-page manifest to damage: state hash computed by the reader's rule. */
	const char *d1 = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *d2 = "2222222222222222222222222222222222222222222222222222222222222222";
	struct ph_manifest mf = { .page_size = 512, .npages = 2, .nent = 2 };
	uint32_t pg[2] = { 1, 2 };
	uint8_t dg[2][32];
	memset(dg[0], 0x11, 32);
	memset(dg[1], 0x22, 32);
	mf.pgno = pg;
	mf.digest = dg;
	uint8_t sh[32];
	char hex[65], good[1024];
	CHECK_EQ(ph_manifest_state_hash(&mf, sh), 0);
	ph_hex(sh, hex);
	snprintf(good, sizeof good, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %s\n2 %s\n", hex, d1, d2);
	const char *p = tl_path("good.manifest");
	tl_write(p, good, strlen(good));
	struct ph_manifest ok;
	char err[512], t[2048];
	CHECK_EQ(ph_manifest_read(p, &ok, err, sizeof err), 0);
	CHECK_EQ(ok.nent, 2);
	ph_manifest_free(&ok);

	check_malformed("", 1, "an empty file");
	check_malformed("waldo-manifest 2\n", 1, "a future version");
	check_malformed("SQLite format 3\n", 1, "another format");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %s\n", hex, d1);
	check_malformed(t, 6, "page 2 not listed");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n2 %s\n1 %s\n", hex, d2, d1);
	check_malformed(t, 5, "pages out of order");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %s\n1 %s\n", hex, d1, d1);
	check_malformed(t, 6, "a page listed twice");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %.63s\n2 %s\n", hex, d1, d2);
	check_malformed(t, 5, "a short digest");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %s\n2 %.63sg\n", hex, d1, d2);
	check_malformed(t, 6, "a non-hex digit");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %s\n2 %.63s3\n", hex, d1, d2);
	check_malformed(t, 7, "a digest edited without the state hash");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %s\n2 %s", hex, d1, d2);
	check_malformed(t, 6, "no final newline");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 500\npages 2\nstate_hash %s\n", hex);
	check_malformed(t, 2, "a bad page size");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npage_size 512\n");
	check_malformed(t, 3, "a duplicate key");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\n1 %s\n", d1);
	check_malformed(t, 3, "a page line before the header is complete");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %s\n2 %s\n3 %s\n", hex, d1, d2, d2);
	check_malformed(t, 7, "a page beyond the page count");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n1 %s\npages 3\n", hex, d1);
	check_malformed(t, 6, "a header line among the page lines");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 4294967295\nstate_hash %s\n2-1 missing\n", hex);
	check_malformed(t, 5, "a descending range");
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 2\nstate_hash %s\n01 %s\n", hex, d1);
	check_malformed(t, 5, "a leading zero");
	/* A huge missing range costs nothing (no allocation by page count). */
	mf.npages = UINT32_MAX;
	mf.nent = 0;
	CHECK_EQ(ph_manifest_state_hash(&mf, sh), 0);
	ph_hex(sh, hex);
	snprintf(t, sizeof t, "waldo-manifest 1\npage_size 512\npages 4294967295\nstate_hash %s\n1-4294967295 missing\n", hex);
	tl_write(p, t, strlen(t));
	CHECK_EQ(ph_manifest_read(p, &ok, err, sizeof err), 0);
	CHECK_EQ(ok.nmissing, UINT32_MAX);
	ph_manifest_free(&ok);
}

/* ---- verify ---- */

TEST(verify_detects_a_flipped_byte_in_any_page)
{
	char db[4096], mpath[4096], out[4096], copy[4096];
	snprintf(db, sizeof db, "%s", tl_path("v.db"));
	snprintf(mpath, sizeof mpath, "%s", tl_path("v.manifest"));
	snprintf(out, sizeof out, "%s", tl_path("v.out"));
	snprintf(copy, sizeof copy, "%s", tl_path("vc.db"));
	tl_make_db(db, 1024, true);
	tl_sql(db, "CREATE TABLE t(x);" FILL(100) " INSERT INTO t SELECT randomblob(150) FROM s;");
	char *hargv[] = { "hash", "--state", "db", "-o", mpath, db, NULL };
	CHECK_EQ(run_cmd(out, 6, hargv), 0);
	uint32_t npages = (uint32_t)(tl_size(db) / 1024);
	CHECK(npages > 10);
	char *vargv[] = { "verify", "--state", "db", copy, mpath, NULL };
	tl_copy(db, copy);
	CHECK_EQ(run_cmd(out, 5, vargv), 0);
	char *text = slurp(out);
	CHECK(strstr(text, "identical: ") != NULL);
	free(text);
	const uint32_t pages[] = { 1, 2, 3, npages / 2, npages - 1, npages };
	for (unsigned i = 0; i < sizeof pages / sizeof *pages; i++) {
		uint32_t p = pages[i];
		tl_copy(db, copy);
		/* Past the header on page 1 (a changed page size would make the rest unreadable). */
		uint64_t off = (uint64_t)(p - 1) * 1024 + (p == 1 ? 200 : 517);
		tl_flip(copy, off, 0x40);
		CHECK_EQ(run_cmd(out, 5, vargv), 1);
		text = slurp(out);
		char want[64];
		snprintf(want, sizeof want, "\ndiffer  %u  ", p);
		if (!strstr(text, want))
			tl_fail(__FILE__, __LINE__, "page %u: no '%s' in:\n%s", p, want + 1, text);
		CHECK(strstr(text, "different: 1 differ, 0 missing, 0 extra") != NULL);
		free(text);
	}
	/* A shorter file: pages missing; a longer one is the same pages plus extra ones. */
	tl_copy(db, copy);
	tl_truncate(copy, (uint64_t)(npages - 2) * 1024);
	CHECK_EQ(run_cmd(out, 5, vargv), 1);
	text = slurp(out);
	CHECK(strstr(text, "different: 0 differ, 2 missing, 0 extra") != NULL);
	free(text);
	/* A malformed manifest is 65, an unreadable one 66. */
	tl_write(mpath, "waldo-manifest 1\npages x\n", 25);
	CHECK_EQ(run_cmd(out, 5, vargv), EXIT_DATAERR);
	char *nargv[] = { "verify", copy, (char *)tl_path("nonexistent"), NULL };
	CHECK_EQ(run_cmd(out, 3, nargv), EXIT_NOINPUT);
}

TEST(verify_effective_state_against_checkpointed_copy)
{
	char db[4096], copy[4096], mpath[4096], out[4096];
	snprintf(db, sizeof db, "%s", tl_path("w.db"));
	snprintf(mpath, sizeof mpath, "%s", tl_path("w.manifest"));
	snprintf(out, sizeof out, "%s", tl_path("w.out"));
	make_wal_db(db, 4096);
	char *hargv[] = { "hash", "-j", "3", "-o", mpath, db, NULL };
	CHECK_EQ(run_cmd(out, 6, hargv), 0);
	copy_pair(db, tl_path("wc"), copy, sizeof copy);
	sql_on(copy, "PRAGMA wal_checkpoint(TRUNCATE);");
	char *vargv[] = { "verify", "-j", "1", copy, mpath, NULL };
	CHECK_EQ(run_cmd(out, 5, vargv), 0);
	/* The database file alone is an older state: it differs. */
	char *v2[] = { "verify", "--state", "db", db, mpath, NULL };
	CHECK_EQ(run_cmd(out, 5, v2), 1);
}

/* ---- diff ---- */

TEST(diff_names_the_table_and_the_rowids)
{
	char db[4096], out[4096];
	snprintf(db, sizeof db, "%s", tl_path("d.db"));
	snprintf(out, sizeof out, "%s", tl_path("d.out"));
	tl_make_db(db, 1024, true);
	tl_sql(db, "CREATE TABLE alpha(x INTEGER PRIMARY KEY, y TEXT); CREATE TABLE beta(k INTEGER PRIMARY KEY, v TEXT);"
		   "CREATE INDEX beta_v ON beta(v);" FILL(60) " INSERT INTO alpha SELECT i, printf('alpha %d', i) FROM s;"
		   FILL(60) " INSERT INTO beta SELECT i, printf('beta %d', i) FROM s;");
	tl_sql_keep_wal(db, "UPDATE beta SET v = 'CHANGED' WHERE k = 33; DELETE FROM beta WHERE k = 41;"
			    "INSERT INTO beta VALUES (500, 'new row');");
	char *argv[] = { "diff", db, NULL };            /* the file alone against the effective state */
	CHECK_EQ(run_cmd(out, 2, argv), 1);
	char *text = slurp(out);
	CHECK(strstr(text, "b-tree leaf (root) of table 'beta', from WAL frame") != NULL);
	CHECK(strstr(text, "b-tree leaf (root) of table 'beta', from the database file") != NULL);
	CHECK(strstr(text, "table 'beta': 1 added, 1 removed, 1 changed") != NULL);
	CHECK(strstr(text, "rowids added 1: 500\n") != NULL);
	CHECK(strstr(text, "rowids removed 1: 41\n") != NULL);
	CHECK(strstr(text, "rowids changed 1: 33\n") != NULL);
	CHECK(strstr(text, "index 'beta_v': 2 added, 2 removed") != NULL);
	CHECK(strstr(text, "('CHANGED', 33)") != NULL);
	CHECK(strstr(text, "('beta 41', 41)") != NULL);
	/* alpha did not change: none of its pages is named. */
	CHECK(strstr(text, "'alpha'") == NULL);
	free(text);

	/* Identical states are identical. */
	char *same[] = { "diff", "--state", "effective", "--state", "effective", db, NULL };
	CHECK_EQ(run_cmd(out, 6, same), 0);
	text = slurp(out);
	CHECK(strstr(text, "identical: ") != NULL);
	free(text);
}

TEST(diff_two_databases_flipped_byte_and_commits)
{
	char db[4096], copy[4096], out[4096];
	snprintf(db, sizeof db, "%s", tl_path("x.db"));
	snprintf(copy, sizeof copy, "%s", tl_path("y.db"));
	snprintf(out, sizeof out, "%s", tl_path("x.out"));
	tl_make_db(db, 1024, false);
	tl_sql(db, "CREATE TABLE t(x INTEGER PRIMARY KEY, y);" FILL(100) " INSERT INTO t SELECT i, randomblob(100) FROM s;");
	uint32_t npages = (uint32_t)(tl_size(db) / 1024);
	char *argv[] = { "diff", db, copy, NULL };
	for (uint32_t p = 2; p <= npages; p += 3) {
		tl_copy(db, copy);
		tl_flip(copy, (uint64_t)(p - 1) * 1024 + 1000, 0x01);
		CHECK_EQ(run_cmd(out, 3, argv), 1);
		char *text = slurp(out), want[64];
		snprintf(want, sizeof want, "\npage %u differs\n", p);
		CHECK(strstr(text, want) != NULL);
		CHECK(strstr(text, "different: 1 page\n") != NULL);
		free(text);
	}
	tl_copy(db, copy);
	CHECK_EQ(run_cmd(out, 3, argv), 0);

	/* Two commits of one WAL. */
	const char *w = tl_path("c.db");
	tl_make_db(w, 1024, true);
	tl_sql(w, "CREATE TABLE t(x INTEGER PRIMARY KEY, y);" FILL(50) " INSERT INTO t SELECT i, i FROM s;");
	tl_sql_keep_wal(w, "UPDATE t SET y = -1 WHERE x = 7; UPDATE t SET y = -2 WHERE x = 9;");
	char *c[] = { "diff", "--commit", "1", "--commit", "2", (char *)w, NULL };
	CHECK_EQ(run_cmd(out, 6, c), 1);
	char *text = slurp(out);
	CHECK(strstr(text, "rowids changed 1: 9\n") != NULL);
	CHECK(strstr(text, "rowids changed 1: 7\n") == NULL);
	free(text);
	char *bad[] = { "diff", "--commit", "9", (char *)w, NULL };
	CHECK_EQ(run_cmd(out, 4, bad), EXIT_USAGE);
}

/* ---- dbhash ---- */

static void dbhash_of(const char *path, enum dbhash_mode mode, const char *like, char hex[41])
{
	struct model m;
	open_model(&m, path);
	struct dbhash_opts o = { .mode = mode, .like = like };
	uint8_t d[20];
	char err[512];
	int rc = dbhash_state(&m, MODEL_LAST, &o, d, err, sizeof err);
	if (rc != DBHASH_OK)
		tl_fail(__FILE__, __LINE__, "dbhash_state '%s': %d %s", path, rc, err);
	dbhash_hex(d, hex);
	model_close(&m);
}

TEST(dbhash_matches_a_hand_computed_vector)
{
	const char *db = tl_path("v.db");
	tl_make_db(db, 4096, false);
	tl_sql(db, "CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 'x'), (NULL, x'00ff'), (-2, 0.5);");
	/* The bytes dbhash feeds SHA-1, written out by hand from its rules. */
	uint8_t buf[256];
	size_t n = 0;
	const uint8_t one[] = { '1', 0, 0, 0, 0, 0, 0, 0, 1 };
	memcpy(buf + n, one, sizeof one); n += sizeof one;
	memcpy(buf + n, "3x", 2); n += 2;
	memcpy(buf + n, "0", 1); n += 1;
	const uint8_t blob[] = { '4', 0x00, 0xff };
	memcpy(buf + n, blob, sizeof blob); n += sizeof blob;
	const uint8_t m2[] = { '1', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	memcpy(buf + n, m2, sizeof m2); n += sizeof m2;
	const uint8_t half[] = { '2', 0x3f, 0xe0, 0, 0, 0, 0, 0, 0 };   /* 0.5 */
	memcpy(buf + n, half, sizeof half); n += sizeof half;
	const char *schema = "3table3t3t3CREATE TABLE t(a, b)";
	memcpy(buf + n, schema, strlen(schema)); n += strlen(schema);
	uint8_t want[20];
	unsigned len = 0;
	CHECK(EVP_Digest(buf, n, want, &len, EVP_sha1(), NULL) == 1);
	char wanthex[41], got[41];
	dbhash_hex(want, wanthex);
	dbhash_of(db, DBHASH_ALL, NULL, got);
	CHECK_STR(got, wanthex);

	/* --schema-only is the schema part alone; --without-schema the rows alone. */
	CHECK(EVP_Digest(schema, strlen(schema), want, &len, EVP_sha1(), NULL) == 1);
	dbhash_hex(want, wanthex);
	dbhash_of(db, DBHASH_SCHEMA_ONLY, NULL, got);
	CHECK_STR(got, wanthex);
	CHECK(EVP_Digest(buf, n - strlen(schema), want, &len, EVP_sha1(), NULL) == 1);
	dbhash_hex(want, wanthex);
	dbhash_of(db, DBHASH_WITHOUT_SCHEMA, NULL, got);
	CHECK_STR(got, wanthex);
	/* --like excluding every table: nothing at all, SHA-1 of the empty string. */
	dbhash_of(db, DBHASH_ALL, "nomatch%", got);
	CHECK_STR(got, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(dbhash_ignores_layout_and_sees_content)
{
	char a[4000], b[4000], ha[41], hb[41];
	snprintf(a, sizeof a, "%s", tl_path("a.db"));
	snprintf(b, sizeof b, "%s", tl_path("b.db"));
	make_wal_db(a, 1024);
	/* The same content in another page size, encoding and journal mode. */
	tl_copy(a, b);
	char aw[4200], bw[4200];
	snprintf(aw, sizeof aw, "%s-wal", a);
	snprintf(bw, sizeof bw, "%s-wal", b);
	tl_copy(aw, bw);
	sql_on(b, "PRAGMA journal_mode=DELETE; PRAGMA page_size=8192; VACUUM;");
	dbhash_of(a, DBHASH_ALL, NULL, ha);
	dbhash_of(b, DBHASH_ALL, NULL, hb);
	CHECK_STR(ha, hb);
	sql_on(b, "UPDATE a SET y = 'other' WHERE x = 3;");
	dbhash_of(b, DBHASH_ALL, NULL, hb);
	CHECK(strcmp(ha, hb) != 0);
	/* The schema alone did not change. */
	dbhash_of(a, DBHASH_SCHEMA_ONLY, NULL, ha);
	dbhash_of(b, DBHASH_SCHEMA_ONLY, NULL, hb);
	CHECK_STR(ha, hb);
	/* Table b alone did not change either. */
	dbhash_of(a, DBHASH_ALL, "b", ha);
	dbhash_of(b, DBHASH_ALL, "b", hb);
	CHECK_STR(ha, hb);
	/* The input was never touched: its -wal is still there. */
	CHECK(tl_size(aw) > 0);
}

TEST(dbhash_command_prints_hash_and_path)
{
	char db[4096], out[4096];
	snprintf(db, sizeof db, "%s", tl_path("p.db"));
	snprintf(out, sizeof out, "%s", tl_path("p.out"));
	tl_make_db(db, 4096, false);
	char *argv[] = { "dbhash", db, NULL };
	CHECK_EQ(run_cmd(out, 2, argv), 0);
	char *text = slurp(out), want[4200];
	snprintf(want, sizeof want, "da39a3ee5e6b4b0d3255bfef95601890afd80709 %s\n", db);
	CHECK_STR(text, want);
	free(text);
	char *both[] = { "dbhash", "--schema-only", "--without-schema", db, NULL };
	CHECK_EQ(run_cmd(out, 4, both), EXIT_USAGE);
	const char *junk = tl_path("junk.db");
	tl_write(junk, "this is not a database at all, not even close......................................................................", 110);
	char *j[] = { "dbhash", (char *)junk, NULL };
	CHECK_EQ(run_cmd(out, 2, j), EXIT_ERRORS);
	text = slurp(out);
	CHECK_STR(text, "");                      /* no hash for what SQLite cannot read */
	free(text);
}

TEST(diff_names_overflow_freelist_and_pointer_map_pages)
{
	char db[4000], out[4096];
	snprintf(db, sizeof db, "%s", tl_path("o.db"));
	snprintf(out, sizeof out, "%s", tl_path("o.out"));
	/* auto-vacuum full: pointer-map pages; no VACUUM so it stays on */
	tl_sql(db, "PRAGMA page_size=1024; PRAGMA auto_vacuum=FULL; PRAGMA journal_mode=WAL;"
		   "CREATE TABLE big(k INTEGER PRIMARY KEY, v BLOB); CREATE TABLE small(x);"
		   FILL(40) " INSERT INTO small SELECT randomblob(200) FROM s;");
	tl_sql_keep_wal(db, "INSERT INTO big VALUES (7, randomblob(5000));");
	char *argv[] = { "diff", db, NULL };
	CHECK_EQ(run_cmd(out, 2, argv), 1);
	char *text = slurp(out);
	CHECK(strstr(text, "B: overflow of table 'big', from WAL frame") != NULL);
	CHECK(strstr(text, "B: pointer map, from WAL frame") != NULL);
	CHECK(strstr(text, "rowids added 1: 7\n") != NULL);
	free(text);

	/* Rows deleted without auto-vacuum: their pages go to the freelist. */
	const char *f = tl_path("free.db");
	tl_make_db(f, 1024, true);
	tl_sql(f, "CREATE TABLE t(x INTEGER PRIMARY KEY, y);" FILL(200) " INSERT INTO t SELECT i, randomblob(300) FROM s;");
	tl_sql_keep_wal(f, "DELETE FROM t WHERE x > 20;");
	char *fargv[] = { "diff", (char *)f, NULL };
	CHECK_EQ(run_cmd(out, 2, fargv), 1);
	text = slurp(out);
	CHECK(strstr(text, "A: b-tree leaf of table 't', from the database file\n    B: freelist leaf, from") != NULL);
	CHECK(strstr(text, "B: freelist trunk, from WAL frame") != NULL);
	CHECK(strstr(text, "table 't': 0 added, 180 removed, 0 changed") != NULL);
	free(text);
}
