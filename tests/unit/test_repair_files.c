/*
 * The files repair writes and reads: page sets (repair/pageset.h), undo
 * files (repair/undo.h), the zlib streams and the crash hook under them
 * (repair/rio.h), and SQLite's locks held by waldo (repair/lockx.h).
 */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "repair/lockx.h"
#include "repair/pageset.h"
#include "repair/rio.h"
#include "repair/undo.h"

#define PS 1024u

/* Pages whose bytes depend on their number, for page-set tests. */
static uint8_t pages[16][PS];

static const uint8_t *get_page(void *ctx, uint32_t pgno)
{
	(void)ctx;
	return pgno < 16 ? pages[pgno] : NULL;
}

static void fill_pages(void)
{
	for (unsigned p = 0; p < 16; p++)
		for (unsigned i = 0; i < PS; i++)
			pages[p][i] = (uint8_t)(p * 31 + i * 7 + (i >> 8));
}

static const char *save_set(const char *name, uint32_t flags)
{
	fill_pages();
	static const uint32_t pg[] = { 1, 3, 4, 9 };
	struct pageset_info in = { .page_size = PS, .db_pages = 12, .flags = flags,
				   .ckpt_seq = 7, .salt1 = 0x11223344, .salt2 = 0x55667788, .file_size = 12 * PS };
	memset(in.file_sha256, 0xab, sizeof in.file_sha256);
	char err[512];
	const char *path = tl_path("%s", name);
	CHECK_EQ(pageset_save(path, &in, pg, 4, get_page, NULL, false, err, sizeof err), 0);
	return path;
}

TEST(repair_pageset_roundtrip)
{
	const char *path = save_set("set", PAGESET_F_WAL_IDS | PAGESET_F_FILE_HASH);
	struct pageset s;
	char err[512];
	CHECK_EQ(pageset_open(&s, path, err, sizeof err), 0);
	CHECK_EQ(s.n, 4);
	CHECK_EQ(s.info.page_size, PS);
	CHECK_EQ(s.info.db_pages, 12);
	CHECK_EQ(s.info.salt1, 0x11223344);
	CHECK_EQ(s.info.salt2, 0x55667788);
	CHECK_EQ(s.info.ckpt_seq, 7);
	CHECK_EQ(s.info.file_size, 12 * PS);
	CHECK_EQ(s.info.file_sha256[31], 0xab);
	CHECK_EQ(pageset_find(&s, 4), 2);
	CHECK_EQ(pageset_find(&s, 5), -1);
	uint8_t buf[PS];
	uint32_t pgno, want[] = { 1, 3, 4, 9 };
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(pageset_next(&s, buf, &pgno, err, sizeof err), 1);
		CHECK_EQ(pgno, want[i]);
		CHECK_MEM(buf, pages[pgno], PS);
	}
	CHECK_EQ(pageset_next(&s, buf, &pgno, err, sizeof err), 0);
	CHECK_EQ(pageset_verify(&s, err, sizeof err), 0);   /* rewinds: readable twice */
	pageset_close(&s);
	/* Never overwritten without `replace`. */
	struct pageset_info in = { .page_size = PS, .db_pages = 2 };
	uint32_t one = 1;
	CHECK(pageset_save(path, &in, &one, 1, get_page, NULL, false, err, sizeof err) != 0);
}

TEST(repair_pageset_rejects_damage)
{
	const char *path = save_set("set", 0);
	size_t n;
	uint8_t *orig = tl_read(path, &n);
	char err[512];
	struct pageset s;
	/* The header hash covers the header and the index. */
	static const uint64_t offsets[] = { 24, 28, 32, 128 + 4, 128 + 36 };
	for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
		tl_write(path, orig, n);
		tl_flip(path, offsets[i], 0x04);
		CHECK_EQ(pageset_open(&s, path, err, sizeof err), -2);
		pageset_close(&s);
	}
	/* A flipped bit in the compressed pages: found while streaming. */
	tl_write(path, orig, n);
	tl_flip(path, n - 20, 0x10);
	CHECK_EQ(pageset_open(&s, path, err, sizeof err), 0);
	CHECK_EQ(pageset_verify(&s, err, sizeof err), -2);
	pageset_close(&s);
	/* Cut or grown files do not match the lengths the header gives. */
	tl_write(path, orig, n - 1);
	CHECK_EQ(pageset_open(&s, path, err, sizeof err), -2);
	pageset_close(&s);
	tl_write(path, orig, n);
	tl_patch(path, n, "x", 1);
	CHECK_EQ(pageset_open(&s, path, err, sizeof err), -2);
	pageset_close(&s);
	tl_write(path, orig, 100);
	CHECK_EQ(pageset_open(&s, path, err, sizeof err), -2);
	CHECK(strstr(err, "shorter than"));
	pageset_close(&s);
	free(orig);
	/* Page numbers: ascending, inside the database, never the lock-byte page. */
	struct pageset_info in = { .page_size = 512, .db_pages = 3000000 };
	uint32_t bad1[] = { 3, 2 }, bad2[] = { 0 }, lockpg = 0x40000000 / 512 + 1;
	CHECK(pageset_save(tl_path("x"), &in, bad1, 2, get_page, NULL, false, err, sizeof err) != 0);
	CHECK(pageset_save(tl_path("y"), &in, bad2, 1, get_page, NULL, false, err, sizeof err) != 0);
	CHECK(pageset_save(tl_path("z"), &in, &lockpg, 1, get_page, NULL, false, err, sizeof err) != 0);
}

TEST(repair_zlib_streams)
{
	const char *path = tl_path("z");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	size_t n = 3 * RIO_CHUNK + 123;
	uint8_t *data = malloc(n), *back = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	struct rio_zout z;
	CHECK_EQ(rio_zout_begin(&z, fd), 0);
	rio_zout_write(&z, data, n);
	uint8_t sha[RIO_SHA];
	CHECK_EQ(rio_zout_end(&z, sha), 0);
	uint64_t clen = z.out_bytes;
	CHECK_EQ(z.in_bytes, n);
	/* Trailing bytes after the stream are noticed. */
	CHECK(write(fd, "junk", 4) == 4);
	struct rio_zin in;
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK_EQ(rio_zin_begin(&in, fd, clen), 0);
	CHECK_EQ(rio_zin_read(&in, back, n), 0);
	CHECK_MEM(back, data, n);
	CHECK_EQ(rio_zin_at_end(&in), 1);
	rio_zin_end(&in);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK_EQ(rio_zin_begin(&in, fd, clen + 4), 0);
	CHECK_EQ(rio_zin_read(&in, back, n), 0);
	CHECK_EQ(rio_zin_at_end(&in), 0);
	rio_zin_end(&in);
	/* Asking for more than the stream holds fails instead of inventing bytes. */
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK_EQ(rio_zin_begin(&in, fd, clen), 0);
	CHECK_EQ(rio_zin_read(&in, back, n), 0);
	CHECK_EQ(rio_zin_read(&in, back, 1), -1);
	rio_zin_end(&in);
	close(fd);
	free(data);
	free(back);
}

/* An undo file for one file `name`, whose original is `orig` and which the
 * "repair" turned into `now`. */
static const char *undo_for(const char *name, const uint8_t *orig, size_t on, const uint8_t *now, size_t nn,
			    const struct undo_region *reg, uint64_t nreg)
{
	struct undo_rec r;
	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "%s", name);
	r.role = 1;
	r.flags = UNDO_ORIG_PRESENT | UNDO_NEW_PRESENT;
	r.mode = 0640;
	r.orig_size = on;
	rio_sha256(orig, on, r.orig_sha);
	r.new_size = nn;
	rio_sha256(now, nn, r.new_sha);
	r.reg = reg;
	r.nreg = nreg;
	r.orig_data = orig;
	const char *path = tl_path("%s.undo", name);
	char err[512];
	CHECK_EQ(undo_write(path, "test note", &r, 1, err, sizeof err), 0);
	return path;
}

TEST(repair_undo_restores_and_is_idempotent)
{
	uint8_t orig[5000], now[3000];
	for (int i = 0; i < 5000; i++)
		orig[i] = (uint8_t)(i * 13);
	memcpy(now, orig, 3000);
	now[100] ^= 0xff;                 /* a patch */
	now[2999] ^= 1;
	/* Regions: the changed bytes, and everything past the new end. */
	struct undo_region reg[] = { { 100, 1 }, { 2999, 1 }, { 3000, 2000 } };
	const char *undo = undo_for("f", orig, 5000, now, 3000, reg, 3);
	const char *f = tl_path("f");
	tl_write(f, now, 3000);
	struct stat st;
	CHECK_EQ(stat(undo, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);

	struct undo_doc u;
	struct undo_result res;
	char err[512];
	CHECK_EQ(undo_open(&u, undo, err, sizeof err), 0);
	CHECK_STR(u.note, "test note");
	CHECK_EQ(u.n, 1);
	enum undo_state s;
	CHECK_EQ(undo_state_of(&u, 0, &s, err, sizeof err), 0);
	CHECK_EQ(s, UNDO_ST_REPAIRED);
	CHECK_EQ(undo_restore(&u, false, NULL, NULL, &res, err, sizeof err), 0);
	CHECK_EQ(res.restored, 1);
	undo_close(&u);
	size_t n;
	uint8_t *back = tl_read(f, &n);
	CHECK_EQ(n, 5000);
	CHECK_MEM(back, orig, 5000);
	free(back);
	CHECK_EQ(stat(f, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0640);
	/* Again: nothing to do. */
	CHECK_EQ(undo_open(&u, undo, err, sizeof err), 0);
	CHECK_EQ(undo_restore(&u, false, NULL, NULL, &res, err, sizeof err), 0);
	CHECK_EQ(res.restored, 0);
	CHECK_EQ(res.already, 1);
	undo_close(&u);
}

TEST(repair_undo_refuses_changed_files)
{
	uint8_t orig[4096], now[4096];
	memset(orig, 7, sizeof orig);
	memcpy(now, orig, sizeof now);
	now[10] = 8;
	struct undo_region reg[] = { { 10, 1 } };
	const char *undo = undo_for("g", orig, 4096, now, 4096, reg, 1);
	const char *f = tl_path("g");
	now[3000] = 9;                    /* changed since the repair, elsewhere */
	tl_write(f, now, 4096);
	struct undo_doc u;
	struct undo_result res;
	char err[512];
	CHECK_EQ(undo_open(&u, undo, err, sizeof err), 0);
	CHECK_EQ(undo_restore(&u, false, NULL, NULL, &res, err, sizeof err), -2);
	CHECK_EQ(res.changed, 1);
	undo_close(&u);
	size_t n;
	uint8_t *back = tl_read(f, &n);
	CHECK_MEM(back, now, 4096);       /* nothing written */
	free(back);
	/* --force cannot make bytes the undo file does not hold: the result would not be the original. */
	CHECK_EQ(undo_open(&u, undo, err, sizeof err), 0);
	CHECK_EQ(undo_restore(&u, true, NULL, NULL, &res, err, sizeof err), -1);
	CHECK(strstr(err, "does not match the original"));
	undo_close(&u);
	back = tl_read(f, &n);
	CHECK_MEM(back, now, 4096);
	free(back);
}

TEST(repair_undo_rejects_damaged_files)
{
	uint8_t orig[100] = { 1 }, now[100] = { 2 };
	struct undo_region reg[] = { { 0, 1 } };
	const char *undo = undo_for("h", orig, 100, now, 100, reg, 1);
	size_t n;
	uint8_t *good = tl_read(undo, &n);
	struct undo_doc u;
	char err[512];
	for (uint64_t off = 0; off < n; off += 7) {
		if (off >= 24 && off < 32)
			continue;                 /* the creation time is not checked */
		if (off >= 48 && off < 64)
			continue;                 /* reserved */
		if (off >= 40 && off < 48)
			continue;                 /* the inflated length is informative */
		tl_write(undo, good, n);
		tl_flip(undo, off, 0x20);
		int rc = undo_open(&u, undo, err, sizeof err);
		undo_close(&u);
		if (rc != -2)
			tl_fail(__FILE__, __LINE__, "flip at %llu accepted (rc %d)", (unsigned long long)off, rc);
	}
	tl_write(undo, good, n - 1);
	CHECK_EQ(undo_open(&u, undo, err, sizeof err), -2);
	undo_close(&u);
	free(good);
}

TEST(repair_crash_hook_kills_at_the_nth_step)
{
	for (int nth = 1; nth <= 3; nth++) {
		const char *path = tl_path("c%d", nth);
		fflush(NULL);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			char v[16];
			snprintf(v, sizeof v, "%d", nth);
			setenv("WALDO_CRASH_AFTER", v, 1);
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			for (int i = 0; i < 5; i++)
				rio_write_all(fd, "x", 1);
			_exit(0);
		}
		int st;
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFSIGNALED(st));
		CHECK_EQ(WTERMSIG(st), SIGKILL);
		CHECK_EQ(tl_size(path), (uint64_t)nth);   /* the Nth write happened, the next did not */
	}
}

/* A child that reads the database through libsqlite3; exit 0 read, 5 busy, 1 other. */
static int child_reads(const char *db)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sqlite3 *h = NULL;
		int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(h, "SELECT count(*) FROM t", NULL, NULL, NULL);
		sqlite3_close(h);
		_exit(rc == SQLITE_OK ? 0 : rc == SQLITE_BUSY ? 5 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(repair_locks_keep_sqlite_out)
{
	const char *db = tl_path("db");
	char shm[4200];
	snprintf(shm, sizeof shm, "%s-shm", db);
	tl_make_db(db, 4096, true);
	tl_sql(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1);");
	CHECK_EQ(child_reads(db), 0);
	struct lockx lk;
	lockx_init(&lk);
	char err[512], pids[256];
	CHECK_EQ(lockx_probe(db, pids, sizeof pids, err, sizeof err), 0);
	CHECK_EQ(lockx_take(&lk, db, shm, err, sizeof err), 0);
	CHECK_EQ(child_reads(db), 5);
	/* Closing another descriptor of the file keeps the locks (they are not plain POSIX locks). */
	int fd = open(db, O_RDONLY);
	close(fd);
	CHECK_EQ(child_reads(db), 5);
	lockx_release(&lk);
	CHECK_EQ(child_reads(db), 0);
}

TEST(repair_locks_refused_while_a_reader_is_open)
{
	const char *db = tl_path("db");
	char shm[4200];
	snprintf(shm, sizeof shm, "%s-shm", db);
	tl_make_db(db, 4096, true);
	tl_sql(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1);");
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
		sqlite3_step(st);                 /* a read transaction is open */
		CHECK(write(go[1], "r", 1) == 1);
		char c;
		CHECK(read(done[0], &c, 1) == 1);
		sqlite3_finalize(st);
		sqlite3_close(h);
		_exit(0);
	}
	char c;
	CHECK(read(go[0], &c, 1) == 1);
	char err[512], pids[256];
	CHECK_EQ(lockx_probe(db, pids, sizeof pids, err, sizeof err), 1);
	char self[32];
	snprintf(self, sizeof self, "%d", (int)pid);
	CHECK(strstr(pids, self));
	struct lockx lk;
	lockx_init(&lk);
	CHECK_EQ(lockx_take(&lk, db, shm, err, sizeof err), 1);
	CHECK(write(done[1], "x", 1) == 1);
	int st;
	waitpid(pid, &st, 0);
	CHECK_EQ(lockx_take(&lk, db, shm, err, sizeof err), 0);
	lockx_release(&lk);
}
