/*
 * mkseeds.c — seed inputs for the libFuzzer targets, made by real
 * libsqlite3: `mkseeds DIR` writes DIR/{dbheader,wal,shm,btree,journal}/.
 * Small page sizes keep the seeds small.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repair/pageset.h"
#include "repair/undo.h"

static void die(const char *what)
{
	fprintf(stderr, "mkseeds: %s\n", what);
	exit(1);
}

static void exec_sql(sqlite3 *h, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "mkseeds: %s\n", err ? err : "?");
		exit(1);
	}
}

/* Run sql on db in a child that ends with _exit: the -wal/-journal stay. */
static void crash_after(const char *db, const char *sql)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		sqlite3 *h;
		if (sqlite3_open(db, &h) != SQLITE_OK)
			_exit(1);
		exec_sql(h, "PRAGMA wal_autocheckpoint=0;");
		exec_sql(h, sql);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("child failed");
}

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *p = malloc(sz > 0 ? (size_t)sz : 1);
	if (!p || (sz > 0 && fread(p, 1, (size_t)sz, f) != (size_t)sz))
		die("read failed");
	fclose(f);
	*n = (size_t)sz;
	return p;
}

static void put(const char *dir, const char *sub, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
		die("write failed");
}

static const uint8_t *seed_page(void *ctx, uint32_t pgno)
{
	const unsigned char *db = ctx;
	return db + (size_t)(pgno - 1) * 512;
}

/* A page set and an undo file made by waldo's own writers, one byte of
 * reader selection in front (see fuzz_pageset.c). */
static void pageset_seeds(const char *out, const char *tmp, const unsigned char *db, size_t n)
{
	char path[4200], err[256];
	struct pageset_info info = { .page_size = 512, .db_pages = (uint32_t)(n / 512) };
	uint32_t pg[3] = { 1, 2, 3 };
	snprintf(path, sizeof path, "%s/set", tmp);
	if (n < 3 * 512 || pageset_save(path, &info, pg, 3, seed_page, (void *)db, false, err, sizeof err))
		die("pageset_save failed");
	size_t len;
	unsigned char *p = slurp(path, &len);
	unsigned char *q = malloc(len + 1);
	if (!p || !q)
		die("no page set");
	q[0] = 1;
	memcpy(q + 1, p, len);
	put(out, "pageset", "pageset", q, len + 1);
	free(p);
	free(q);

	struct undo_region reg = { 0, 100 };
	struct undo_rec r;
	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "w.db");
	r.mode = 0644;
	r.orig_size = r.new_size = n;
	r.nreg = 1;
	r.reg = &reg;
	r.orig_data = db;
	snprintf(path, sizeof path, "%s/undo", tmp);
	if (undo_write(path, "seed", &r, 1, err, sizeof err))
		die("undo_write failed");
	p = slurp(path, &len);
	q = malloc(len + 1);
	if (!p || !q)
		die("no undo file");
	q[0] = 0;
	memcpy(q + 1, p, len);
	put(out, "pageset", "undo", q, len + 1);
	free(p);
	free(q);
}

static const char fill[] =
	"CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB, d REAL);"
	"CREATE INDEX ti ON t(b);"
	"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<60)"
	" INSERT INTO t SELECT i, 'row ' || i, zeroblob(i * 40), i / 3.0 FROM s;"
	"INSERT INTO t VALUES(1000, NULL, randomblob(3000), -1);"
	"DELETE FROM t WHERE a % 7 = 0;";

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: mkseeds DIR");
	const char *out = argv[1];
	char tmp[] = "/tmp/waldo-seeds-XXXXXX";
	if (!mkdtemp(tmp))
		die("mkdtemp failed");
	mkdir(out, 0755);
	char db[4200], path[4300];
	snprintf(db, sizeof db, "%s/w.db", tmp);

	sqlite3 *h;
	if (sqlite3_open(db, &h) != SQLITE_OK)
		die("open failed");
	exec_sql(h, "PRAGMA page_size=512; PRAGMA auto_vacuum=FULL; PRAGMA journal_mode=WAL;");
	exec_sql(h, fill);
	sqlite3_close(h);
	crash_after(db, "UPDATE t SET b = b || 'x' WHERE a < 20; INSERT INTO t VALUES(2000, 'y', zeroblob(900), 2);"
			"BEGIN; DELETE FROM t WHERE a > 30;");

	size_t n;
	unsigned char *p = slurp(db, &n);
	if (!p || n < 512)
		die("no database");
	put(out, "dbheader", "header", p, 100);
	put(out, "dbheader", "db", p, n);
	for (size_t off = 0, i = 1; off + 512 <= n; off += 512, i++) {
		char name[32];
		snprintf(name, sizeof name, "page%zu", i);
		put(out, "btree", name, p + off, 512);
	}
	pageset_seeds(out, tmp, p, n);
	free(p);
	snprintf(path, sizeof path, "%s-wal", db);
	if ((p = slurp(path, &n))) {
		put(out, "wal", "wal", p, n);
		put(out, "wal", "header-only", p, n < 32 ? n : 32);
		free(p);
	}
	snprintf(path, sizeof path, "%s-shm", db);
	if ((p = slurp(path, &n))) {
		put(out, "shm", "shm", p, n < 32768 ? n : 32768);
		put(out, "shm", "header", p, n < 136 ? n : 136);
		free(p);
	}

	snprintf(db, sizeof db, "%s/j.db", tmp);
	if (sqlite3_open(db, &h) != SQLITE_OK)
		die("open failed");
	exec_sql(h, "PRAGMA page_size=512;");
	exec_sql(h, fill);
	sqlite3_close(h);
	crash_after(db, "PRAGMA cache_size=1; BEGIN; UPDATE t SET c = zeroblob(600);");
	snprintf(path, sizeof path, "%s-journal", db);
	if ((p = slurp(path, &n))) {
		put(out, "journal", "journal", p, n < 8192 ? n : 8192);
		free(p);
	}
	snprintf(path, sizeof path, "rm -rf '%s'", tmp);
	if (system(path) != 0)
		die("cleanup failed");
	return 0;
}
