/*
 * waldo repair and waldo undo: each action against databases real
 * libsqlite3 wrote (and hand-damaged copies), through the commands as a
 * user runs them; the policy; the action table against the findings
 * catalogue.  What SQLite sees afterwards is asked of libsqlite3 itself
 * (tl_query_int on a copy).
 */
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "formats/wal.h"
#include "inspect/cmd.h"
#include "inspect/model.h"
#include "repair/pageset.h"
#include "repair/apply.h"
#include "repair/plan.h"

static char out_text[1 << 16];

/* Run `waldo repair|undo args…` in a child, stdout into out_text; returns the exit status. */
static int run(const char *name, ...)
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
	const char *path = tl_keep("out-%u.txt", k++);
	char epath[4200];
	snprintf(epath, sizeof epath, "%s.err", path);
	int st = tl_run_cmd(!strcmp(name, "repair") ? cmd_repair : cmd_undo, argv, path, epath);
	tl_read_text(path, out_text, sizeof out_text);
	return st;
}

static const char *sib(const char *db, const char *suffix)
{
	return tl_keep("%s%s", strrchr(db, '/') + 1, suffix);
}

/* SHA-256 of a file, hex, or "-" when it does not exist. */
static const char *fhash(const char *path)
{
	static char ring[16][65];
	static unsigned k;
	char *h = ring[k++ % 16];
	if (!tl_exists(path)) {
		strcpy(h, "-");
		return h;
	}
	size_t n;
	uint8_t *p = tl_read(path, &n), d[32];
	unsigned len;
	EVP_Digest(p, n, d, &len, EVP_sha256(), NULL);
	free(p);
	for (int i = 0; i < 32; i++)
		snprintf(h + 2 * i, 3, "%02x", d[i]);
	return h;
}

/* The hashes of db, -wal and -shm, concatenated. */
static char *state_of(const char *db)
{
	static char s[3][256];
	static unsigned k;
	char *o = s[k++ % 3];
	snprintf(o, 256, "%.16s %.16s %.16s", fhash(db), fhash(sib(db, "-wal")), fhash(sib(db, "-shm")));
	return o;
}

static const char *undo_file_of(const char *db)
{
	DIR *d = opendir(tl_tmp());
	CHECK(d);
	struct dirent *e;
	const char *found = NULL;
	char prefix[512];
	snprintf(prefix, sizeof prefix, "%s.waldo-undo-", strrchr(db, '/') + 1);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			found = tl_keep("%s", e->d_name);
	closedir(d);
	return found;
}

/* A WAL-mode database: 60 rows in the file, then `ncommit` one-row commits in the WAL. */
static const char *make_db(const char *name, unsigned ps, int ncommit)
{
	const char *db = tl_keep("%s", name);
	tl_make_db(db, ps, true);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
		   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<60)"
		   " INSERT INTO t(b) SELECT hex(randomblob(150)) FROM s;");
	char sql[8192];
	size_t k = 0;
	for (int i = 0; i < ncommit; i++)
		k += (size_t)snprintf(sql + k, sizeof sql - k, "INSERT INTO t(b) VALUES(hex(randomblob(%d)));",
				      200 + 37 * i);
	if (ncommit)
		tl_sql_keep_wal(db, sql);
	return db;
}

static long long rows(const char *db)
{
	return tl_query_int(db, "SELECT count(*) FROM t");
}

/* Append one frame that continues the WAL's checksum chain. */
static void wal_append(const char *wal, uint32_t pgno, uint32_t commit, const uint8_t *page)
{
	size_t n;
	uint8_t *w = tl_read(wal, &n);
	uint32_t ps = rd_be32(w + 8), s[2];
	int big = rd_be32(w) & 1;
	uint64_t nfr = (n - WAL_HDR_SIZE) / (ps + WAL_FRAME_HDR_SIZE);
	const uint8_t *ck = nfr ? w + wal_frame_offset(ps, nfr) + 16 : w + 24;
	s[0] = rd_be32(ck);
	s[1] = rd_be32(ck + 4);
	uint8_t *fr = calloc(1, WAL_FRAME_HDR_SIZE + ps);
	wr_be32(fr, pgno);
	wr_be32(fr + 4, commit);
	memcpy(fr + 8, w + 16, 8);
	if (page)
		memcpy(fr + WAL_FRAME_HDR_SIZE, page, ps);
	wal_checksum(big, fr, 8, s);
	wal_checksum(big, fr + WAL_FRAME_HDR_SIZE, ps, s);
	wr_be32(fr + 16, s[0]);
	wr_be32(fr + 20, s[1]);
	tl_truncate(wal, wal_frame_offset(ps, nfr + 1));
	tl_patch(wal, wal_frame_offset(ps, nfr + 1), fr, WAL_FRAME_HDR_SIZE + ps);
	free(fr);
	free(w);
}

static uint32_t wal_frames(const char *wal, uint32_t ps)
{
	return (uint32_t)((tl_size(wal) - WAL_HDR_SIZE) / (ps + WAL_FRAME_HDR_SIZE));
}

/* ---- wal-tail ---------------------------------------------------------- */

/* Uncommitted frames and a torn frame after the last commit. */
static const char *make_tail(void)
{
	const char *db = make_db("db", 4096, 5);
	const char *wal = sib(db, "-wal");
	uint8_t page[4096];
	memset(page, 0x5a, sizeof page);
	wal_append(wal, 2, 0, page);
	wal_append(wal, 3, 0, page);
	uint64_t end = tl_size(wal);
	tl_patch(wal, end, page, 1000);       /* a partial frame */
	return db;
}

TEST(repair_dry_run_writes_nothing)
{
	const char *db = make_tail();
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(db));
	CHECK_EQ(run("repair", db, NULL), 1);
	CHECK(strstr(out_text, "[apply] wal-tail"));
	CHECK(strstr(out_text, "dry run: nothing written"));
	CHECK_STR(state_of(db), before);
	CHECK(!undo_file_of(db));
	CHECK_EQ(run("repair", "--json", db, NULL), 1);
	CHECK(strstr(out_text, "\"mode\":\"plan\""));
	CHECK(strstr(out_text, "\"exit\":1}"));
	CHECK_STR(state_of(db), before);
}

TEST(repair_wal_tail_copy)
{
	const char *db = make_tail();
	long long n = rows(db);
	CHECK_EQ(n, 65);
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", db, "-o", out, NULL), 0);
	CHECK(strstr(out_text, "integrity_check ok"));
	CHECK_EQ(wal_frames(sib(out, "-wal"), 4096), wal_frames(sib(db, "-wal"), 4096) - 2);
	CHECK_EQ(tl_size(sib(out, "-wal")) % (4096 + 24), 32);
	CHECK(!tl_exists(sib(out, "-shm")));
	CHECK_EQ(rows(out), n);
	/* e2fsck-style: a second run finds nothing to do. */
	CHECK_EQ(run("repair", out, NULL), 0);
	CHECK(strstr(out_text, "no action applies"));
	/* The output is never overwritten without --force, and never an input. */
	CHECK_EQ(run("repair", db, "-o", out, NULL), EXIT_CANTCREAT);
	CHECK_EQ(run("repair", db, "-o", db, "--force", NULL), EXIT_CANTCREAT);
	CHECK_EQ(run("repair", db, "-o", out, "--force", NULL), 0);
}

TEST(repair_wal_tail_in_place_and_undo)
{
	const char *db = make_tail();
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(db));
	/* Not without --yes when nobody can be asked. */
	CHECK_EQ(run("repair", db, "--in-place", NULL), EXIT_USAGE);
	CHECK_STR(state_of(db), before);
	CHECK_EQ(run("repair", db, "--in-place", "--yes", NULL), 0);
	const char *undo = undo_file_of(db);
	CHECK(undo);
	CHECK(strcmp(state_of(db), before));
	CHECK_EQ(rows(db), 65);
	CHECK_EQ(run("repair", db, NULL), 0);
	CHECK_EQ(run("undo", undo, NULL), 0);
	CHECK(strstr(out_text, "restored"));
	CHECK_STR(state_of(db), before);
	CHECK_EQ(run("undo", undo, NULL), 0);
	CHECK(strstr(out_text, "nothing to do"));
	CHECK_STR(state_of(db), before);
}

TEST(repair_undo_refuses_after_new_writes)
{
	const char *db = make_tail();
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(db));
	CHECK_EQ(run("repair", db, "--in-place", "--yes", NULL), 0);
	const char *undo = undo_file_of(db);
	tl_sql_keep_wal(db, "INSERT INTO t(b) VALUES('after the repair');");
	CHECK_EQ(rows(db), 66);
	char changed[256];
	snprintf(changed, sizeof changed, "%s", state_of(db));
	CHECK_EQ(run("undo", undo, NULL), EXIT_ERRORS);
	CHECK(strstr(out_text, "changed since the repair"));
	CHECK_STR(state_of(db), changed);
	/* --force gives up the new commit: the WAL's bytes past the cut are the undo file's. */
	CHECK_EQ(run("undo", "--force", undo, NULL), 0);
	CHECK_EQ(strncmp(state_of(db), before, 33), 0);
}

/* ---- wal-rechain ------------------------------------------------------- */

TEST(repair_rechain_damaged_checksum_field)
{
	const char *db = make_db("db", 1024, 12);
	const char *wal = sib(db, "-wal");
	long long all = rows(db);
	uint32_t n = wal_frames(wal, 1024);
	CHECK(n > 8);
	uint32_t k = n / 2;
	tl_flip(wal, wal_frame_offset(1024, k) + 17, 0x01);   /* frame k's checksum field only */
	CHECK(rows(db) < all);
	struct model m;
	char err[512];
	CHECK_EQ(model_open(&m, db, NULL, NULL, err, sizeof err), 0);
	struct rechain r;
	CHECK_EQ(rechain_scan(&m, &r), 1);
	CHECK_EQ(r.nverified, n);
	CHECK_EQ(r.last_commit, n);
	CHECK_EQ(r.nfield, 1);
	model_close(&m);
	/* Without --salvage: held back, the conservative cut instead. */
	CHECK_EQ(run("repair", db, NULL), 1);
	CHECK(strstr(out_text, "[needs-salvage] wal-rechain"));
	CHECK(strstr(out_text, "[apply] wal-tail"));
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", db, "-o", out, NULL), 1);      /* repaired, but salvage held back */
	CHECK_EQ(rows(out), rows(db));
	const char *out2 = tl_keep("out2.db");
	CHECK_EQ(run("repair", db, "-o", out2, "--salvage", NULL), 0);
	CHECK(strstr(out_text, "[apply] wal-rechain"));
	CHECK(strstr(out_text, "[subsumed] wal-tail"));
	CHECK_EQ(rows(out2), all);
	CHECK_EQ(run("repair", out2, "--salvage", NULL), 0);
}

TEST(repair_rechain_never_vouches_for_damaged_pages)
{
	const char *db = make_db("db", 1024, 12);
	const char *wal = sib(db, "-wal");
	uint32_t n = wal_frames(wal, 1024), k = n / 2;
	tl_flip(wal, wal_frame_offset(1024, k) + WAL_FRAME_HDR_SIZE + 700, 0x40);   /* page data */
	long long seen = rows(db);
	struct model m;
	char err[512];
	CHECK_EQ(model_open(&m, db, NULL, NULL, err, sizeof err), 0);
	struct rechain r;
	rechain_scan(&m, &r);
	CHECK_EQ(r.nverified, k - 1);
	CHECK(strstr(r.stop, "no stored checksum vouches"));
	model_close(&m);
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", db, "-o", out, "--salvage", NULL), 0);
	CHECK(!strstr(out_text, "wal-rechain"));
	CHECK_EQ(rows(out), seen);
	/* A flipped page number is caught the same way. */
	const char *db2 = make_db("db2", 1024, 12);
	tl_flip(sib(db2, "-wal"), wal_frame_offset(1024, k) + 3, 0x02);
	CHECK_EQ(model_open(&m, db2, NULL, NULL, err, sizeof err), 0);
	rechain_scan(&m, &r);
	CHECK(r.nverified < k);
	model_close(&m);
}

TEST(repair_rechain_header)
{
	const char *db = make_db("db", 2048, 6);
	const char *wal = sib(db, "-wal");
	long long all = rows(db);
	tl_flip(wal, 13, 0x08);                 /* checkpoint sequence: the header checksum fails */
	CHECK_EQ(rows(db), 60);                 /* SQLite ignores the whole WAL */
	CHECK_EQ(run("repair", db, NULL), 1);
	CHECK(strstr(out_text, "WAL_HEADER_INVALID"));
	CHECK_EQ(run("repair", db, "--in-place", "--yes", "--salvage", NULL), 0);
	CHECK_EQ(rows(db), all);
	CHECK_EQ(run("repair", db, NULL), 0);
	/* The version field: SQLite refuses the database; putting 3007000 back is a fix, not salvage. */
	const char *db2 = make_db("db2", 4096, 4);
	size_t n;
	uint8_t *w = tl_read(sib(db2, "-wal"), &n);
	wr_be32(w + 4, 3007001);
	wal_header_seal(w);
	/* Re-chain every frame from the new header: only the version is wrong. */
	uint32_t s[2] = { rd_be32(w + 24), rd_be32(w + 28) };
	for (uint64_t f = 1; wal_frame_offset(4096, f + 1) <= n; f++) {
		uint8_t *fr = w + wal_frame_offset(4096, f);
		wal_frame_checksum(rd_be32(w) & 1, fr, 4096, s);
		wr_be32(fr + 16, s[0]);
		wr_be32(fr + 20, s[1]);
	}
	tl_write(sib(db2, "-wal"), w, n);
	free(w);
	CHECK_EQ(run("repair", db2, NULL), 1);
	CHECK(strstr(out_text, "[apply] wal-rechain (fix)"));
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", db2, "-o", out, NULL), 0);
	CHECK_EQ(rows(out), 64);
}

TEST(repair_rechain_leaves_earlier_generations_alone)
{
	/* After a RESTART checkpoint the next writer starts over: old frames follow with other salts. */
	const char *db = make_db("db", 1024, 10);
	tl_sql_keep_wal(db, "PRAGMA wal_checkpoint(RESTART); INSERT INTO t(b) VALUES('new generation');");
	struct model m;
	char err[512];
	CHECK_EQ(model_open(&m, db, NULL, NULL, err, sizeof err), 0);
	CHECK(m.wal.nframes > m.wal.mx_frame);
	struct rechain r;
	rechain_scan(&m, &r);
	CHECK_EQ(r.last_commit, m.wal.mx_frame);
	CHECK(strstr(r.stop, "other salts"));
	model_close(&m);
	CHECK_EQ(run("repair", db, "--salvage", NULL), 0);
	CHECK(strstr(out_text, "no action applies"));
}

/* ---- header-size, header-fields --------------------------------------- */

static const char *make_plain(const char *name)
{
	const char *db = make_db(name, 4096, 0);
	tl_sql(db, "CREATE INDEX tb ON t(b);");
	return db;
}

static void set_u32(const char *path, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	wr_be32(b, v);
	tl_patch(path, off, b, 4);
}

static uint32_t get_u32(const char *path, uint64_t off)
{
	size_t n;
	uint8_t *p = tl_read(path, &n);
	uint32_t v = rd_be32(p + off);
	free(p);
	return v;
}

TEST(repair_header_size_field)
{
	const char *db = make_plain("db");
	uint32_t pages = (uint32_t)(tl_size(db) / 4096);
	/* Too small: pages past it are in use. */
	set_u32(db, 28, pages - 2);
	const char *out = tl_keep("small.db");
	CHECK_EQ(run("repair", db, "-o", out, NULL), 0);
	CHECK(strstr(out_text, "[apply] header-size"));
	CHECK_EQ(get_u32(out, 28), pages);
	CHECK_EQ(rows(out), 60);
	/* Too large: nothing uses the missing pages. */
	set_u32(db, 28, pages + 3);
	out = tl_keep("large.db");
	CHECK_EQ(run("repair", db, "-o", out, NULL), 0);
	CHECK_EQ(get_u32(out, 28), pages);
	CHECK_EQ(tl_size(out), tl_size(db));
	/* Not trusted (change counter != version-valid-for): both fields written. */
	set_u32(db, 28, pages - 5);
	set_u32(db, 92, get_u32(db, 24) - 1);
	out = tl_keep("vvf.db");
	CHECK_EQ(run("repair", db, "-o", out, NULL), 0);
	CHECK_EQ(get_u32(out, 28), pages);
	CHECK_EQ(get_u32(out, 92), get_u32(out, 24));
	CHECK_EQ(run("repair", out, NULL), 0);
}

TEST(repair_header_size_trailing_bytes)
{
	const char *db = make_plain("db");
	uint64_t size = tl_size(db);
	uint8_t junk[777];
	memset(junk, 0xee, sizeof junk);
	tl_patch(db, size, junk, sizeof junk);
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(db));
	CHECK_EQ(run("repair", db, "--in-place", "--yes", NULL), 0);
	CHECK_EQ(tl_size(db), size);
	CHECK(strstr(out_text, "pages as planned"));
	CHECK_EQ(run("undo", undo_file_of(db), NULL), 0);
	CHECK_STR(state_of(db), before);
	CHECK_EQ(tl_size(db), size + sizeof junk);
}

TEST(repair_header_fields)
{
	const char *db = make_plain("db");
	uint8_t bad = 65;
	tl_patch(db, 21, &bad, 1);
	CHECK_EQ(run("repair", db, NULL), 1);
	CHECK(strstr(out_text, "maximum embedded payload fraction 65 -> 64"));
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", db, "-o", out, NULL), 0);
	CHECK_EQ(rows(out), 60);
	size_t n;
	uint8_t *a = tl_read(db, &n), *b = tl_read(out, &n);
	a[21] = 64;
	CHECK_MEM(a, b, n);                  /* exactly that byte */
	free(a);
	free(b);
}

/* ---- shm-reset, wal-detach, checkpoint-offline ------------------------- */

TEST(repair_shm_reset)
{
	const char *db = make_db("db", 4096, 5);
	const char *shm = sib(db, "-shm");
	CHECK(tl_exists(shm));
	tl_flip(shm, 16, 0x01);                 /* mxFrame of copy 0: the copies disagree */
	CHECK_EQ(run("repair", db, NULL), 1);
	CHECK(strstr(out_text, "[apply] shm-reset"));
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(db));
	CHECK_EQ(run("repair", db, "--in-place", "--yes", NULL), 0);
	CHECK(!tl_exists(shm));
	CHECK_EQ(rows(db), 65);
	CHECK_EQ(run("repair", db, NULL), 0);
	CHECK_EQ(run("undo", undo_file_of(db), NULL), 0);
	CHECK_STR(state_of(db), before);
}

TEST(repair_wal_detach_foreign)
{
	const char *db = make_plain("db");
	const char *other = make_db("other", 1024, 4);
	tl_copy(sib(other, "-wal"), sib(db, "-wal"));
	tl_copy(sib(other, "-shm"), sib(db, "-shm"));
	CHECK_EQ(run("repair", db, NULL), 1);
	CHECK(strstr(out_text, "[apply] wal-detach (fix)"));
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", db, "-o", out, NULL), 0);
	CHECK(!tl_exists(sib(out, "-wal")));
	CHECK_EQ(rows(out), 60);
	CHECK_EQ(run("repair", db, "--in-place", "--yes", NULL), 0);
	CHECK(!tl_exists(sib(db, "-wal")));
	CHECK(!tl_exists(sib(db, "-shm")));
}

TEST(repair_checkpoint_offline)
{
	const char *db = make_db("db", 4096, 7);
	CHECK_EQ(run("repair", db, NULL), 0);    /* healthy: nothing, not even the rewrite */
	CHECK(!strstr(out_text, "checkpoint-offline"));
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", db, "-o", out, "--only", "checkpoint-offline", NULL), 0);
	CHECK(!tl_exists(sib(out, "-wal")));
	size_t n;
	uint8_t *p = tl_read(out, &n);
	CHECK_EQ(p[18], 1);
	CHECK_EQ(p[19], 1);
	CHECK_EQ(rd_be32(p + 28), n / 4096);
	free(p);
	CHECK_EQ(rows(out), 67);
	/* Nothing to apply without a commit. */
	const char *plain = make_plain("plain");
	CHECK_EQ(run("repair", plain, "--only", "checkpoint-offline", NULL), 0);
}

/* ---- wal-synth --------------------------------------------------------- */

struct two { uint8_t *data; size_t n; };

static const uint8_t *page_of(void *ctx, uint32_t pgno)
{
	struct two *t = ctx;
	return (uint64_t)pgno * 4096 <= t->n ? t->data + (uint64_t)(pgno - 1) * 4096 : NULL;
}

/* A page set that turns file a into file b: every page of b that differs. */
static const char *set_from(const char *a, const char *b, const char *name)
{
	size_t na, nb;
	uint8_t *pa = tl_read(a, &na);
	struct two t;
	t.data = tl_read(b, &nb);
	t.n = nb;
	uint32_t pg[4096], n = 0;
	for (uint32_t p = 1; (uint64_t)p * 4096 <= nb; p++)
		if ((uint64_t)p * 4096 > na || memcmp(pa + (p - 1) * 4096, t.data + (p - 1) * 4096, 4096))
			pg[n++] = p;
	struct pageset_info in = { .page_size = 4096, .db_pages = (uint32_t)(nb / 4096) };
	const char *path = tl_keep("%s", name);
	char err[512];
	CHECK_EQ(pageset_save(path, &in, pg, n, page_of, &t, false, err, sizeof err), 0);
	free(pa);
	free(t.data);
	return path;
}

TEST(repair_wal_synth_apply_grow_and_shrink)
{
	const char *a = make_plain("a");
	const char *b = tl_keep("b");
	tl_copy(a, b);
	tl_sql(b, "UPDATE t SET b = b || 'x' WHERE a % 3 = 0;"
		  "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40)"
		  " INSERT INTO t(b) SELECT hex(randomblob(300)) FROM s;");
	CHECK(tl_size(b) > tl_size(a));
	const char *set = set_from(a, b, "grow.set");
	/* Without --apply: SQLite applies the synthetic WAL itself at the next open. */
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", a, "--pageset", set, "-o", out, NULL), 0);
	CHECK(tl_exists(sib(out, "-wal")));
	CHECK_EQ(rows(out), 100);
	/* With --apply, in place: the file becomes b, byte for byte. */
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(a));
	CHECK_EQ(run("repair", a, "--pageset", set, "--apply", "--in-place", "--yes", NULL), 0);
	CHECK_STR(fhash(a), fhash(b));
	CHECK(!tl_exists(sib(a, "-wal")));
	const char *undo = undo_file_of(a);
	CHECK_EQ(run("undo", undo, NULL), 0);
	CHECK_STR(state_of(a), before);
	/* Shrinking: b after deletions and VACUUM is smaller than a. */
	const char *c = tl_keep("c");
	tl_copy(a, c);
	tl_sql(c, "DELETE FROM t WHERE a > 10; VACUUM;");
	CHECK(tl_size(c) < tl_size(a));
	const char *set2 = set_from(a, c, "shrink.set");
	CHECK_EQ(run("repair", a, "--pageset", set2, "--apply", "--in-place", "--yes", NULL), 0);
	CHECK_STR(fhash(a), fhash(c));
	CHECK_EQ(rows(a), 10);
}

TEST(repair_wal_synth_refuses_what_it_would_lose)
{
	const char *a = make_plain("a");
	const char *b = tl_keep("b");
	tl_copy(a, b);
	tl_sql(b, "UPDATE t SET b = 'changed' WHERE a = 5;");
	const char *set = set_from(a, b, "s.set");
	/* A WAL with commits not in the database file would be lost. */
	tl_sql_keep_wal(a, "INSERT INTO t(b) VALUES('only in the WAL');");
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(a));
	CHECK_EQ(run("repair", a, "--pageset", set, "--in-place", "--yes", NULL), EXIT_ERRORS);
	CHECK(strstr(out_text, "[refused] wal-synth"));
	CHECK_STR(state_of(a), before);
	/* A damaged set is refused too. */
	const char *a2 = make_plain("a2");
	tl_flip(set, tl_size(set) - 10, 0x01);
	CHECK_EQ(run("repair", a2, "--pageset", set, NULL), EXIT_ERRORS);
	CHECK(strstr(out_text, "[refused] wal-synth"));
}

TEST(repair_wal_synth_replace_wal_through_the_api)
{
	/* What waldo rollback does: the set is the state to go back to, the WAL beside the file goes. */
	const char *a = make_plain("a");
	const char *b = tl_keep("b");
	tl_copy(a, b);
	tl_sql(b, "DELETE FROM t WHERE a > 30;");
	const char *set = set_from(a, b, "s.set");
	tl_sql_keep_wal(a, "INSERT INTO t(b) VALUES('in the WAL only');");
	CHECK_EQ(rows(a), 61);
	struct model m;
	char err[512];
	CHECK_EQ(model_open(&m, a, NULL, NULL, err, sizeof err), 0);
	struct rp_opts o = { .pageset = set, .replace_wal = true };
	struct rp_plan p;
	CHECK_EQ(rp_plan_make(&p, &m, &o), 0);
	CHECK_EQ(rp_count(&p, RP_ST_APPLY), 1);
	CHECK(strstr(p.prop[0].gives_up, "not in the database file"));
	struct rp_outcome out;
	const char *dst = tl_keep("out.db");
	CHECK_EQ(rp_apply_copy(&p, dst, false, &out), 0);
	CHECK(out.v.ok);
	CHECK_EQ(rows(dst), 30);
	rp_plan_free(&p);
	model_close(&m);
	/* Without replace_wal the same plan is refused. */
	CHECK_EQ(model_open(&m, a, NULL, NULL, err, sizeof err), 0);
	o.replace_wal = false;
	CHECK_EQ(rp_plan_make(&p, &m, &o), 0);
	CHECK_EQ(p.prop[0].status, RP_ST_REFUSED);
	CHECK(!rp_changes_anything(&p));
	rp_plan_free(&p);
	model_close(&m);
}

/* ---- safety ------------------------------------------------------------ */

TEST(repair_refused_while_a_reader_holds_the_database)
{
	const char *db = make_tail();
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(db));
	int go[2], done[2];
	CHECK_EQ(pipe(go), 0);
	CHECK_EQ(pipe(done), 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sqlite3 *h = NULL;
		sqlite3_stmt *st = NULL;
		sqlite3_open(db, &h);
		sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
		sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &st, NULL);
		sqlite3_step(st);
		if (write(go[1], "r", 1) != 1)
			_exit(1);
		char c;
		if (read(done[0], &c, 1) != 1)
			_exit(1);
		sqlite3_finalize(st);
		sqlite3_close(h);
		_exit(0);
	}
	char c;
	CHECK(read(go[0], &c, 1) == 1);
	int rc = run("repair", db, "--in-place", "--yes", NULL);
	/* Checked before the reader goes: its close checkpoints the WAL. */
	bool untouched = !strncmp(state_of(db), before, 33);   /* database and WAL */
	bool no_undo = !undo_file_of(db);
	CHECK(write(done[1], "x", 1) == 1);
	int st;
	waitpid(pid, &st, 0);
	CHECK_EQ(rc, EXIT_TEMPFAIL);
	CHECK(untouched);
	CHECK(no_undo);
}

TEST(repair_failed_verification_puts_the_original_back)
{
	/* header-size applies, but a b-tree page no action repairs still fails integrity_check. */
	const char *db = make_plain("db");
	uint64_t size = tl_size(db);
	uint8_t junk[100] = { 1 };
	tl_patch(db, size, junk, sizeof junk);
	uint8_t bad = 0x2d;
	tl_patch(db, 3 * 4096, &bad, 1);        /* a table leaf's page type */
	char before[256];
	snprintf(before, sizeof before, "%s", state_of(db));
	CHECK_EQ(run("repair", db, "--in-place", "--yes", NULL), EXIT_ERRORS);
	CHECK(strstr(out_text, "verification: pages as planned"));
	CHECK(strstr(out_text, "the repaired database fails verification: database disk image is malformed"));
	CHECK(strstr(out_text, "the original files were put back"));
	CHECK_STR(state_of(db), before);
	CHECK(!undo_file_of(db));
	const char *out = tl_keep("out.db");
	CHECK_EQ(run("repair", db, "-o", out, NULL), EXIT_ERRORS);
	CHECK(!tl_exists(out));
	CHECK(!tl_exists(sib(out, "-wal")));
}

/* ---- the table and the policy ----------------------------------------- */

TEST(repair_action_table_matches_the_catalogue)
{
	for (int c = 0; c < WD__NCODES; c++) {
		const char *r = wd_code_repair((enum wd_code)c);
		if (strcmp(r, "-") && !rp_action_find(r))
			tl_fail(__FILE__, __LINE__, "%s names repair '%s', which is not an action",
				wd_code_name((enum wd_code)c), r);
	}
	for (size_t i = 0; i < rp_nactions; i++) {
		bool named = false;
		for (int c = 0; c < WD__NCODES; c++)
			named |= !strcmp(wd_code_repair((enum wd_code)c), rp_actions[i].name);
		if (!named && rp_actions[i].safety != RP_REWRITE)
			tl_fail(__FILE__, __LINE__, "action %s repairs no finding of the catalogue",
				rp_actions[i].name);
	}
	uint32_t mask = 0;
	char bad[64];
	CHECK_EQ(rp_parse_actions("wal-tail,shm-reset", &mask, bad, sizeof bad), 0);
	CHECK_EQ(mask, (1u << rp_action_index(rp_action_find("wal-tail"))) |
			       (1u << rp_action_index(rp_action_find("shm-reset"))));
	CHECK_EQ(rp_parse_actions("wal-tail,nope", &mask, bad, sizeof bad), -1);
	CHECK_STR(bad, "nope");
}

TEST(repair_only_and_skip)
{
	const char *db = make_tail();
	tl_flip(sib(db, "-shm"), 16, 0x01);
	CHECK_EQ(run("repair", db, "--skip", "wal-tail", NULL), 1);
	CHECK(strstr(out_text, "[skipped] wal-tail"));
	CHECK(strstr(out_text, "[apply] shm-reset"));
	CHECK_EQ(run("repair", db, "--only", "wal-tail", NULL), 1);
	CHECK(strstr(out_text, "[apply] wal-tail"));
	CHECK(strstr(out_text, "[skipped] shm-reset"));
	CHECK_EQ(run("repair", db, "--only", "no-such-action", NULL), EXIT_USAGE);
	CHECK_EQ(run("repair", db, "-o", tl_keep("x.db"), "--in-place", NULL), EXIT_USAGE);
	CHECK_EQ(run("repair", db, "--apply", NULL), EXIT_USAGE);
}
