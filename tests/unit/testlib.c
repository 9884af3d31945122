/* testlib.c — fixtures for unit tests; see testlib.h. */
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

extern char tl_tmp_dir[4096];

const char *tl_tmp(void) { return tl_tmp_dir; }

/* tl_tmp() + "/" + the formatted name into p (4096 bytes). */
static const char *vpath(char *p, const char *fmt, va_list ap)
{
	int n = snprintf(p, 4096, "%s/", tl_tmp_dir);
	vsnprintf(p + n, 4096 - (size_t)n, fmt, ap);
	return p;
}

const char *tl_path(const char *fmt, ...)
{
	static char ring[16][4096];
	static unsigned k;
	va_list ap;
	va_start(ap, fmt);
	const char *p = vpath(ring[k++ % 16], fmt, ap);
	va_end(ap);
	return p;
}

const char *tl_keep(const char *fmt, ...)
{
	static char pool[64][4096];
	static unsigned k;
	va_list ap;
	va_start(ap, fmt);
	const char *p = vpath(pool[k++ % 64], fmt, ap);
	va_end(ap);
	return p;
}

const char *tl_shared(void)
{
	const char *s = getenv("WALDO_SHARED");
	return s && *s ? s : "../shared";
}

uint8_t *tl_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		tl_fail(__FILE__, __LINE__, "cannot open '%s': %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(sz > 0 ? (size_t)sz : 1);
	if (!p || (sz > 0 && fread(p, 1, (size_t)sz, f) != (size_t)sz))
		tl_fail(__FILE__, __LINE__, "cannot read '%s'", path);
	fclose(f);
	*n = (size_t)sz;
	return p;
}

void tl_write(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
		tl_fail(__FILE__, __LINE__, "cannot write '%s'", path);
}

void tl_copy(const char *src, const char *dst)
{
	size_t n;
	uint8_t *p = tl_read(src, &n);
	tl_write(dst, p, n);
	free(p);
}

bool tl_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

uint64_t tl_size(const char *path)
{
	struct stat st;
	if (stat(path, &st))
		tl_fail(__FILE__, __LINE__, "cannot stat '%s'", path);
	return (uint64_t)st.st_size;
}

void tl_truncate(const char *path, uint64_t size)
{
	if (truncate(path, (off_t)size))
		tl_fail(__FILE__, __LINE__, "cannot truncate '%s'", path);
}

void tl_patch(const char *path, uint64_t off, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, p, n, (off_t)off) != (ssize_t)n || close(fd))
		tl_fail(__FILE__, __LINE__, "cannot patch '%s' at %llu", path, (unsigned long long)off);
}

void tl_flip(const char *path, uint64_t off, uint8_t mask)
{
	int fd = open(path, O_RDWR);
	uint8_t b;
	if (fd < 0 || pread(fd, &b, 1, (off_t)off) != 1)
		tl_fail(__FILE__, __LINE__, "cannot read '%s' at %llu", path, (unsigned long long)off);
	b ^= mask;
	if (pwrite(fd, &b, 1, (off_t)off) != 1 || close(fd))
		tl_fail(__FILE__, __LINE__, "cannot write '%s'", path);
}

static sqlite3 *open_db(const char *db)
{
	sqlite3 *h = NULL;
	if (sqlite3_open(db, &h) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "sqlite3_open '%s': %s", db, h ? sqlite3_errmsg(h) : "?");
	return h;
}

static void exec(sqlite3 *h, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "sql failed: %s\n# in: %.300s", err ? err : "?", sql);
}

void tl_make_db(const char *db, unsigned page_size, bool wal)
{
	char sql[200];
	sqlite3 *h = open_db(db);
	snprintf(sql, sizeof sql, "PRAGMA page_size=%u; PRAGMA journal_mode=%s; VACUUM;",
		 page_size, wal ? "WAL" : "DELETE");
	exec(h, sql);
	sqlite3_close(h);
}

void tl_sql(const char *db, const char *sql)
{
	sqlite3 *h = open_db(db);
	exec(h, sql);
	if (sqlite3_close(h) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "sqlite3_close failed");
}

void tl_sql_keep_wal(const char *db, const char *sql)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		tl_fail(__FILE__, __LINE__, "fork failed");
	if (pid == 0) {
		sqlite3 *h = NULL;
		char *err = NULL;
		if (sqlite3_open(db, &h) != SQLITE_OK ||
		    sqlite3_exec(h, "PRAGMA wal_autocheckpoint=0;", NULL, NULL, &err) != SQLITE_OK ||
		    sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
			fprintf(stderr, "# tl_sql_keep_wal: %s\n", err ? err : h ? sqlite3_errmsg(h) : "?");
			_exit(1);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		tl_fail(__FILE__, __LINE__, "tl_sql_keep_wal child failed");
}

/* Copy db (+ -wal when present) into a fresh folder; returns the copy's path. */
static const char *copy_for_query(const char *db)
{
	static unsigned k;
	const char *dir = tl_path("query-%u", k++);
	mkdir(dir, 0700);
	const char *dst = tl_path("query-%u/db", k - 1);
	tl_copy(db, dst);
	char src_wal[4096], dst_wal[4096];
	snprintf(src_wal, sizeof src_wal, "%s-wal", db);
	snprintf(dst_wal, sizeof dst_wal, "%s-wal", dst);
	if (tl_exists(src_wal))
		tl_copy(src_wal, dst_wal);
	return dst;
}

long long tl_query_int(const char *db, const char *sql)
{
	const char *copy = copy_for_query(db);
	sqlite3 *h = open_db(copy);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "prepare '%s': %s", sql, sqlite3_errmsg(h));
	long long v = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		tl_fail(__FILE__, __LINE__, "step '%s': %s", sql, sqlite3_errmsg(h));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

void tl_query_text(const char *db, const char *sql, char *buf, size_t n)
{
	const char *copy = copy_for_query(db);
	sqlite3 *h = open_db(copy);
	sqlite3_stmt *st = NULL;
	buf[0] = '\0';
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		tl_fail(__FILE__, __LINE__, "prepare '%s': %s", sql, sqlite3_errmsg(h));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		tl_fail(__FILE__, __LINE__, "step '%s': %s", sql, sqlite3_errmsg(h));
	sqlite3_finalize(st);
	sqlite3_close(h);
}

void tl_img_load(struct tl_img *m, const char *db)
{
	m->p = tl_read(db, &m->n);
	struct wd_diags d = { 0 };
	dbh_parse(m->p, m->n, &m->h, &d);
	wd_diags_free(&d);
	CHECK(m->h.page_size_ok);
	m->page_size = m->h.page_size;
	m->usable = m->h.usable_size;
	m->npages = (uint32_t)(m->n / m->page_size);
}

const uint8_t *tl_img_get(void *ctx, uint32_t pgno)
{
	const struct tl_img *m = ctx;
	if (pgno == 0 || pgno > m->npages)
		return NULL;
	return m->p + (size_t)(pgno - 1) * m->page_size;
}

uint8_t *tl_img_page(const struct tl_img *m, uint32_t pgno)
{
	CHECK(pgno >= 1 && pgno <= m->npages);
	return m->p + (size_t)(pgno - 1) * m->page_size;
}

void tl_read_text(const char *path, char *buf, size_t n)
{
	size_t k;
	uint8_t *t = tl_read(path, &k);
	if (k >= n)
		k = n - 1;
	memcpy(buf, t, k);
	buf[k] = '\0';
	free(t);
}

int tl_run_cmd(int (*fn)(int, char **), char **argv, const char *out, const char *err)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (!freopen(out, "w", stdout) ||
		    (err ? !freopen(err, "w", stderr) : dup2(fileno(stdout), 2) < 0))
			_exit(99);
		exit(fn(argc, argv));
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	return WEXITSTATUS(st);
}
