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
#include <zlib.h>

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

/* ---- archive seeds (fuzz_archive.c): tar, tar.gz, gzip, made here ---- */

struct abuf {
	unsigned char *p;
	size_t n, cap;
};

static void ab_put(struct abuf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2;
		unsigned char *q = realloc(b->p, cap);
		if (!q)
			die("out of memory");
		b->p = q;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void ab_zeros(struct abuf *b, size_t n)
{
	static const unsigned char z[512];
	while (n) {
		size_t k = n < sizeof z ? n : sizeof z;
		ab_put(b, z, k);
		n -= k;
	}
}

/* n octal digits of v, then a NUL (a tar numeric field of n + 1 bytes). */
static void tar_octal(unsigned char *f, size_t n, unsigned long long v)
{
	for (size_t i = n; i-- > 0; v >>= 3)
		f[i] = (unsigned char)('0' + (v & 7));
	f[n] = 0;
}

/* One header block: ustar (POSIX "ustar\0" "00") or GNU ("ustar  \0"). */
static void tar_header(struct abuf *b, const char *name, char type, unsigned long long size,
		       const char *link, int gnu)
{
	unsigned char h[512];
	memset(h, 0, sizeof h);
	memcpy(h, name, strnlen(name, 100));
	tar_octal(h + 100, 7, 0644);
	tar_octal(h + 108, 7, 1000);
	tar_octal(h + 116, 7, 1000);
	tar_octal(h + 124, 11, size);
	tar_octal(h + 136, 11, 1700000000);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strnlen(link, 100));
	memcpy(h + 257, gnu ? "ustar  " : "ustar\0" "00", 8);
	memcpy(h + 265, "user", 4);
	memcpy(h + 297, "group", 5);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof h; i++)
		sum += h[i];
	tar_octal(h + 148, 6, sum);
	h[155] = ' ';
	ab_put(b, h, sizeof h);
}

static void tar_data(struct abuf *b, const void *p, size_t n)
{
	ab_put(b, p, n);
	ab_zeros(b, (512 - n % 512) % 512);
}

static void tar_member(struct abuf *b, const char *name, const void *p, size_t n, int gnu)
{
	tar_header(b, name, '0', n, NULL, gnu);
	tar_data(b, p, n);
}

/* A PAX extended header ('x') or global header ('g') with the given records. */
static void tar_pax(struct abuf *b, char type, const char *const *kv, size_t nkv)
{
	struct abuf r = { 0 };
	for (size_t i = 0; i < nkv; i++) {
		size_t body = strlen(kv[i]) + 2;          /* " " ... "\n" */
		size_t len = body + 1;
		while (len != body + (size_t)snprintf(NULL, 0, "%zu", len))
			len = body + (size_t)snprintf(NULL, 0, "%zu", len);
		char rec[1024];
		int k = snprintf(rec, sizeof rec, "%zu %s\n", len, kv[i]);
		if (k < 0 || (size_t)k != len)
			die("bad PAX record");
		ab_put(&r, rec, len);
	}
	tar_header(b, type == 'g' ? "pax_global_header" : "PaxHeaders/x", type, r.n, NULL, 0);
	tar_data(b, r.p, r.n);
	free(r.p);
}

static void gzip_member(struct abuf *out, const unsigned char *p, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2 failed");
	unsigned char tmp[16384];
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	int rc;
	do {
		z.next_out = tmp;
		z.avail_out = sizeof tmp;
		rc = deflate(&z, Z_FINISH);
		ab_put(out, tmp, sizeof tmp - z.avail_out);
	} while (rc == Z_OK);
	if (rc != Z_STREAM_END)
		die("deflate failed");
	deflateEnd(&z);
}

static void put_gz(const char *out, const char *name, const unsigned char *p, size_t n)
{
	struct abuf g = { 0 };
	gzip_member(&g, p, n);
	put(out, "archive", name, g.p, g.n);
	free(g.p);
}

/*
 * Small archives of a real database and WAL (cut to a few pages: the
 * reader looks at the first 512 bytes of a member; the rest only has to
 * be carried): ustar, GNU long names and links, PAX records, a base-256
 * size, directories and links, gzip of one and of two members, trailing
 * bytes.
 */
static void archive_seeds(const char *out, const unsigned char *db, size_t ndb, const unsigned char *wal,
			  size_t nwal)
{
	size_t dn = ndb < 2048 ? ndb : 2048, wn = nwal < 32 + 2 * (24 + 512) ? nwal : 32 + 2 * (24 + 512);
	struct abuf t = { 0 };
	tar_header(&t, "app/", '5', 0, NULL, 0);
	tar_member(&t, "app/db", db, dn, 0);
	tar_member(&t, "app/db-wal", wal, wn, 0);
	tar_member(&t, "app/notes.txt", "not a database\n", 15, 0);
	tar_header(&t, "app/link.db", '2', 0, "db", 0);
	tar_header(&t, "app/hard.db", '1', 0, "app/db", 0);
	ab_zeros(&t, 1024);
	put(out, "archive", "ustar.tar", t.p, t.n);
	put_gz(out, "ustar.tar.gz", t.p, t.n);

	/* GNU: long name and long link records, a base-256 size. */
	struct abuf g = { 0 };
	char longname[400];
	memset(longname, 'n', sizeof longname);
	memcpy(longname, "deep/", 5);
	memcpy(longname + sizeof longname - 8, "/app.db", 8);
	tar_header(&g, "././@LongLink", 'L', strlen(longname) + 1, NULL, 1);
	tar_data(&g, longname, strlen(longname) + 1);
	tar_member(&g, "deep/nnnn", db, dn, 1);
	tar_header(&g, "././@LongLink", 'K', strlen(longname) + 1, NULL, 1);
	tar_data(&g, longname, strlen(longname) + 1);
	tar_header(&g, "deep/sym.db", '2', 0, "x", 1);
	size_t b256 = g.n;
	tar_member(&g, "b256/db-wal", wal, wn, 1);
	g.p[b256 + 124] = 0x80;                          /* the size in base-256 */
	memset(g.p + b256 + 125, 0, 7);
	for (int i = 0; i < 4; i++)
		g.p[b256 + 132 + i] = (unsigned char)(wn >> (24 - 8 * i));
	memset(g.p + b256 + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += g.p[b256 + i];
	tar_octal(g.p + b256 + 148, 6, sum);
	g.p[b256 + 155] = ' ';
	ab_zeros(&g, 1024);
	put(out, "archive", "gnu.tar", g.p, g.n);

	/* PAX: path, linkpath, size; a global header. */
	struct abuf x = { 0 };
	const char *global[] = { "comment=made by mkseeds" };
	tar_pax(&x, 'g', global, 1);
	char path[600];
	snprintf(path, sizeof path, "path=pax/%.300s/app.db", longname);
	const char *ext[] = { path, "mtime=1700000000.5" };
	tar_pax(&x, 'x', ext, 2);
	tar_member(&x, "pax/short.db", db, dn, 0);
	const char *lnk[] = { "linkpath=../../outside/db", "path=pax/ln" };
	tar_pax(&x, 'x', lnk, 2);
	tar_header(&x, "pax/ln", '2', 0, "", 0);
	char size[64];
	snprintf(size, sizeof size, "size=%zu", wn);
	const char *sz[] = { size };
	tar_pax(&x, 'x', sz, 1);
	tar_member(&x, "pax/app.db-wal", wal, wn, 0);
	ab_zeros(&x, 1024);
	put(out, "archive", "pax.tar", x.p, x.n);

	/* gzip of one file, of two members, with trailing bytes. */
	put_gz(out, "db.gz", db, dn);
	struct abuf m = { 0 };
	gzip_member(&m, db, dn / 2);
	gzip_member(&m, db + dn / 2, dn - dn / 2);
	put(out, "archive", "multi.gz", m.p, m.n);
	ab_put(&m, "GARBAGE!", 8);
	put(out, "archive", "trailing.gz", m.p, m.n);

	/* Members over the fuzz target's caps: 1 MiB of zeros (ratio ~1000:1), and a
	 * tar.gz whose WAL member is larger than its per-member cap. */
	unsigned char *zeros = calloc(1, 1u << 20);
	if (!zeros)
		die("out of memory");
	put_gz(out, "zeros.gz", zeros, 1u << 20);
	struct abuf big = { 0 };
	tar_member(&big, "big/db", db, dn, 0);
	tar_member(&big, "big/db-wal", zeros, 512u << 10, 0);
	ab_zeros(&big, 1024);
	put_gz(out, "big.tar.gz", big.p, big.n);
	free(big.p);
	free(zeros);
	free(t.p);
	free(g.p);
	free(x.p);
	free(m.p);
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
	snprintf(db, sizeof db, "%s/w.db", tmp);
	snprintf(path, sizeof path, "%s-wal", db);
	size_t nw;
	unsigned char *w = slurp(path, &nw);
	if ((p = slurp(db, &n)) && w)
		archive_seeds(out, p, n, w, nw);
	free(p);
	free(w);
	snprintf(path, sizeof path, "rm -rf '%s'", tmp);
	if (system(path) != 0)
		die("cleanup failed");
	return 0;
}
