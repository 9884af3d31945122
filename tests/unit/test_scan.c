/*
 * waldo scan: the gzip and tar stream readers against bytes built here
 * (zlib for gzip, a small ustar/GNU/PAX writer for tar), the WAL-series
 * checks against series real libsqlite3 wrote (a copy of the WAL before
 * each RESTART checkpoint), and scan_run end to end on folders and
 * archives of real databases, hostile ones included.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "formats/wal.h"
#include "inspect/files.h"
#include "inspect/scan.h"
#include "inspect/scan_archive.h"
#include "inspect/report.h"
#include "inspect/scan_chain.h"

/* ---------------------------------------------------------------- builders */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 1024;
		b->p = realloc(b->p, b->cap);
		CHECK(b->p);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put_zeros(struct buf *b, size_t n)
{
	uint8_t z[512] = { 0 };
	while (n) {
		size_t k = n < sizeof z ? n : sizeof z;
		put(b, z, k);
		n -= k;
	}
}

/* One ustar header block with a correct checksum. */
static void tar_header(uint8_t h[512], const char *name, char type, uint64_t size, const char *link)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	memcpy(h + 136, "00000000000", 11);
	h[156] = (uint8_t)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void tar_add(struct buf *b, const char *name, char type, const void *data, size_t n, const char *link)
{
	uint8_t h[512];
	if (strlen(name) >= 100) {
		/* GNU long name: a 'L' member holding the name, then the real header. */
		tar_header(h, "././@LongLink", 'L', strlen(name) + 1, NULL);
		put(b, h, 512);
		put(b, name, strlen(name) + 1);
		put_zeros(b, (512 - (strlen(name) + 1) % 512) % 512);
	}
	tar_header(h, name, type, type == '0' ? n : 0, link);
	put(b, h, 512);
	if (type == '0') {
		put(b, data, n);
		put_zeros(b, (512 - n % 512) % 512);
	}
}

static void tar_end(struct buf *b)
{
	put_zeros(b, 1024);
}

/* A gzip member of p[0..n) appended to b. */
static void gz_add(struct buf *b, const void *p, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	CHECK(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	size_t cap = deflateBound(&z, (uLong)n) + 64;
	uint8_t *out = malloc(cap);
	CHECK(out);
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
	put(b, out, cap - z.avail_out);
	deflateEnd(&z);
	free(out);
}

static void write_buf(const char *path, const struct buf *b)
{
	tl_write(path, b->p, b->n);
}

/* Create the folder that holds path (one level), if missing. */
static void mkparent(const char *path)
{
	char d[4200];
	snprintf(d, sizeof d, "%s", path);
	char *s = strrchr(d, '/');
	if (s) {
		*s = '\0';
		mkdir(d, 0755);
	}
}

static char *fmt(char *buf, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static char *fmt(char *buf, size_t n, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, n, f, ap);
	va_end(ap);
	return buf;
}

/* A database with a WAL left by a process that never closed it. */
static void make_wal_db(const char *db, unsigned page_size, int rows)
{
	char wal[4200];
	mkparent(db);
	tl_make_db(db, page_size, true);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)");
	char sql[512];
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<%d) "
		 "INSERT INTO t(b) SELECT printf('row %%d %%s', i, hex(randomblob(40))) FROM s;"
		 "INSERT INTO t(b) VALUES('last');", rows);
	tl_sql_keep_wal(db, sql);
	CHECK(tl_exists(fmt(wal, sizeof wal, "%s-wal", db)));
}

/* ---------------------------------------------------------------- running scan */

struct run {
	int status;
	char *out;
	char *err;
};

static char *slurp_file(const char *path)
{
	size_t n;
	uint8_t *p = tl_read(path, &n);
	char *s = malloc(n + 1);
	CHECK(s);
	memcpy(s, p, n);
	s[n] = '\0';
	free(p);
	return s;
}

static struct run scan(const struct scan_opts *o, int n, const char *const *paths)
{
	const char *po = tl_keep("scan.out"), *pe = tl_keep("scan.err");
	FILE *out = fopen(po, "w"), *err = fopen(pe, "w");
	CHECK(out && err);
	struct run r;
	r.status = scan_run(o, n, (char *const *)paths, out, err);
	fclose(out);
	fclose(err);
	r.out = slurp_file(po);
	r.err = slurp_file(pe);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static struct scan_opts opts_json(void)
{
	struct scan_opts o;
	scan_opts_default(&o);
	o.json = true;
	o.progress = 0;
	o.jobs = 2;
	return o;
}

/* The output line whose "path" is exactly path (NULL when none). */
static char *line_for(const char *out, const char *path)
{
	char key[4200];
	snprintf(key, sizeof key, "{\"path\":\"%s\",", path);
	const char *p = strstr(out, key);
	if (!p || (p != out && p[-1] != '\n'))
		return NULL;
	const char *e = strchr(p, '\n');
	size_t n = e ? (size_t)(e - p) : strlen(p);
	char *s = malloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int count_lines(const char *out, const char *needle)
{
	int n = 0;
	for (const char *p = out; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static bool has(const char *line, const char *needle)
{
	return line && strstr(line, needle);
}

/* ---------------------------------------------------------------- tar headers */

TEST(scan_tar_header_fields)
{
	uint8_t h[512];
	struct sa_tar_hdr t;
	tar_header(h, "dir/app.db", '0', 12345, NULL);
	CHECK_EQ(sa_tar_parse_header(h, &t), SA_HDR_OK);
	CHECK_STR(t.name, "dir/app.db");
	CHECK_EQ(t.size, 12345);
	CHECK_EQ(t.typeflag, '0');
	CHECK(t.ustar);
	/* POSIX prefix field */
	memcpy(h + 345, "some/prefix", 11);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	CHECK_EQ(sa_tar_parse_header(h, &t), SA_HDR_OK);
	CHECK_STR(t.name, "some/prefix/dir/app.db");
	/* one flipped byte breaks the checksum */
	h[10] ^= 1;
	CHECK_EQ(sa_tar_parse_header(h, &t), SA_HDR_CKSUM);
	/* zeros are the end marker */
	memset(h, 0, 512);
	CHECK_EQ(sa_tar_parse_header(h, &t), SA_HDR_ZERO);
	CHECK(!sa_tar_is_header(h, 512));
}

TEST(scan_tar_header_base256_and_bad_size)
{
	uint8_t h[512];
	struct sa_tar_hdr t;
	tar_header(h, "big", '0', 0, NULL);
	/* GNU base-256: 0x80 then big-endian bytes: 8 GiB + 5 */
	memset(h + 124, 0, 12);
	h[124] = 0x80;
	h[131] = 0x02;
	h[135] = 0x05;
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	CHECK_EQ(sa_tar_parse_header(h, &t), SA_HDR_OK);
	CHECK_EQ(t.size, (2ull << 32) + 5);
	/* a size field with a non-octal digit */
	tar_header(h, "bad", '0', 10, NULL);
	h[130] = '9';
	memset(h + 148, ' ', 8);
	sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	CHECK_EQ(sa_tar_parse_header(h, &t), SA_HDR_FIELD);
}

TEST(scan_names_unsafe_and_escaped)
{
	CHECK(sa_name_unsafe("/etc/passwd"));
	CHECK(sa_name_unsafe("../x"));
	CHECK(sa_name_unsafe("a/../../x"));
	CHECK(sa_name_unsafe(".."));
	CHECK(!sa_name_unsafe("a/..b/c"));
	CHECK(!sa_name_unsafe("./a/b.db"));
	char out[64];
	CHECK_STR(report_esc_into("a\x1b[31m\n", 7, out, sizeof out, false), "a\\x1b[31m\\x0a");
	CHECK_STR(report_esc_into("a b\\c", 5, out, sizeof out, true), "a\\x20b\\\\c");
	CHECK_STR(report_esc_into("caf\xc3\xa9", 5, out, sizeof out, false), "caf\xc3\xa9");
	/* invalid UTF-8 and a right-to-left override are escaped byte by byte */
	CHECK_STR(report_esc_into("\xff\xe2\x80\xae", 4, out, sizeof out, false), "\\xff\\xe2\\x80\\xae");
	/* cut to fit, with an ellipsis */
	char small[10];
	CHECK_STR(report_esc_into("abcdefghijklmnop", 16, small, sizeof small, false), "abcdef...");
}

/* ---------------------------------------------------------------- streams */

static int open_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	return fd;
}

TEST(scan_gzip_concatenated_members)
{
	struct buf b = { 0 };
	gz_add(&b, "hello ", 6);
	gz_add(&b, "world", 5);
	write_buf(tl_keep("two.gz"), &b);
	struct wd_diags d = { 0 };
	struct sa_stream s;
	int fd = open_file(tl_keep("two.gz"));
	CHECK_EQ(sa_stream_open(&s, fd, "two.gz", 200, &d), 0);
	uint8_t out[64];
	size_t n = sa_stream_read(&s, out, sizeof out);
	CHECK_EQ(n, 11);
	CHECK_MEM(out, "hello world", 11);
	CHECK(s.gzip);
	CHECK_EQ(s.members, 2);
	CHECK(!s.failed);
	CHECK_EQ(d.n, 0);
	sa_stream_close(&s);
	close(fd);
	free(b.p);
}

TEST(scan_gzip_truncated_reports_compressed_offset)
{
	struct buf b = { 0 };
	uint8_t *data = malloc(200000);
	for (size_t i = 0; i < 200000; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	gz_add(&b, data, 200000);
	size_t cut = b.n / 2;
	b.n = cut;
	write_buf(tl_keep("cut.gz"), &b);
	struct wd_diags d = { 0 };
	struct sa_stream s;
	int fd = open_file(tl_keep("cut.gz"));
	sa_stream_open(&s, fd, "cut.gz", 0, &d);
	uint8_t *out = malloc(300000);
	size_t n = sa_stream_read(&s, out, 300000);
	CHECK(n < 200000);
	CHECK(n > 0);
	CHECK_MEM(out, data, n);          /* what inflated is right */
	CHECK(s.failed);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_ARCHIVE_CORRUPT);
	CHECK_EQ(d.v[0].offset, (int64_t)cut);
	CHECK(strstr(d.v[0].msg, "truncated"));
	sa_stream_close(&s);
	close(fd);
	wd_diags_free(&d);
	free(out);
	free(data);
	free(b.p);
}

TEST(scan_gzip_trailing_garbage_and_corrupt_data)
{
	struct buf b = { 0 };
	gz_add(&b, "content", 7);
	put(&b, "JUNKJUNK", 8);
	write_buf(tl_keep("junk.gz"), &b);
	struct wd_diags d = { 0 };
	struct sa_stream s;
	int fd = open_file(tl_keep("junk.gz"));
	sa_stream_open(&s, fd, "junk.gz", 0, &d);
	uint8_t out[64];
	CHECK_EQ(sa_stream_read(&s, out, sizeof out), 7);
	CHECK(!s.failed);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_ARCHIVE_TRAILING_GARBAGE);
	CHECK_EQ(d.v[0].offset, (int64_t)(b.n - 8));
	sa_stream_close(&s);
	close(fd);
	wd_diags_free(&d);

	/* a flipped byte in the deflate data or the CRC: corrupt */
	b.n -= 8;
	b.p[b.n - 6] ^= 0x55;           /* inside the CRC-32 */
	write_buf(tl_keep("bad.gz"), &b);
	fd = open_file(tl_keep("bad.gz"));
	sa_stream_open(&s, fd, "bad.gz", 0, &d);
	sa_stream_read(&s, out, sizeof out);
	CHECK(s.failed);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_ARCHIVE_CORRUPT);
	sa_stream_close(&s);
	close(fd);
	wd_diags_free(&d);
	free(b.p);
}

TEST(scan_gzip_ratio_cap)
{
	/* 80 MiB of zeros compress to about 80 KB: past 200:1 after the 64 MiB floor */
	size_t n = 80u << 20;
	uint8_t *zeros = calloc(1, n);
	struct buf b = { 0 };
	gz_add(&b, zeros, n);
	write_buf(tl_keep("bomb.gz"), &b);
	struct wd_diags d = { 0 };
	struct sa_stream s;
	int fd = open_file(tl_keep("bomb.gz"));
	sa_stream_open(&s, fd, "bomb.gz", 200, &d);
	uint64_t total = 0;
	size_t k;
	while ((k = sa_stream_read(&s, zeros, 1 << 20)) > 0)
		total += k;
	CHECK(s.limited);
	CHECK(total < n);
	CHECK(total >= SA_RATIO_FLOOR);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_ARCHIVE_LIMIT);
	sa_stream_close(&s);
	close(fd);
	wd_diags_free(&d);
	free(zeros);
	free(b.p);
}

/* ---------------------------------------------------------------- tar streams */

TEST(scan_tar_members_long_names_pax_and_links)
{
	struct buf b = { 0 };
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	memcpy(longname, "deep/", 5);
	tar_add(&b, "a.txt", '0', "abc", 3, NULL);
	tar_add(&b, longname, '0', "xyz", 3, NULL);
	tar_add(&b, "sym", '2', NULL, 0, "../../etc/passwd");
	/* PAX: a path record for the next member */
	const char *rec = "30 path=pax/very/long/name.db\n";
	uint8_t h[512];
	tar_header(h, "PaxHeader", 'x', strlen(rec), NULL);
	put(&b, h, 512);
	put(&b, rec, strlen(rec));
	put_zeros(&b, 512 - strlen(rec));
	tar_add(&b, "short", '0', "12345", 5, NULL);
	tar_end(&b);
	write_buf(tl_keep("t.tar"), &b);

	struct wd_diags d = { 0 };
	struct sa_stream s;
	int fd = open_file(tl_keep("t.tar"));
	sa_stream_open(&s, fd, "t.tar", 0, &d);
	struct sa_tar t;
	sa_tar_init(&t, &s, "t.tar", &d);
	struct sa_entry e;
	uint8_t data[16];
	CHECK_EQ(sa_tar_next(&t, &e), 1);
	CHECK_STR(e.name, "a.txt");
	CHECK_EQ(e.size, 3);
	CHECK_EQ(sa_tar_read(&t, data, sizeof data), 3);
	CHECK_MEM(data, "abc", 3);
	CHECK_EQ(sa_tar_next(&t, &e), 1);
	CHECK_STR(e.name, longname);
	CHECK_EQ(e.type, SA_FILE);
	/* data not read: skipped by the next call */
	CHECK_EQ(sa_tar_next(&t, &e), 1);
	CHECK_EQ(e.type, SA_SYMLINK);
	CHECK_STR(e.link, "../../etc/passwd");
	CHECK_EQ(sa_tar_next(&t, &e), 1);
	CHECK_STR(e.name, "pax/very/long/name.db");
	CHECK_EQ(sa_tar_read(&t, data, sizeof data), 5);
	CHECK_MEM(data, "12345", 5);
	CHECK_EQ(sa_tar_next(&t, &e), 0);
	CHECK_EQ(d.n, 0);
	CHECK(!t.truncated);
	sa_stream_close(&s);
	close(fd);
	free(b.p);
}

TEST(scan_tar_corrupt_header_resyncs)
{
	struct buf b = { 0 };
	tar_add(&b, "first", '0', "1111", 4, NULL);
	size_t bad = b.n;
	tar_add(&b, "second", '0', "2222", 4, NULL);
	tar_add(&b, "third", '0', "3333", 4, NULL);
	tar_end(&b);
	b.p[bad + 3] ^= 0x20;             /* the second header's name: checksum fails */
	write_buf(tl_keep("c.tar"), &b);
	struct wd_diags d = { 0 };
	struct sa_stream s;
	int fd = open_file(tl_keep("c.tar"));
	sa_stream_open(&s, fd, "c.tar", 0, &d);
	struct sa_tar t;
	sa_tar_init(&t, &s, "c.tar", &d);
	struct sa_entry e;
	CHECK_EQ(sa_tar_next(&t, &e), 1);
	CHECK_STR(e.name, "first");
	CHECK_EQ(sa_tar_next(&t, &e), 1);
	CHECK_STR(e.name, "third");
	CHECK_EQ(e.offset, (int64_t)bad + 1024);
	CHECK_EQ(sa_tar_next(&t, &e), 0);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_ARCHIVE_CORRUPT);
	CHECK_EQ(d.v[0].offset, (int64_t)bad);
	CHECK(strstr(d.v[0].msg, "skipped 1024 bytes"));
	sa_stream_close(&s);
	close(fd);
	wd_diags_free(&d);
	free(b.p);
}

TEST(scan_tar_truncated_member)
{
	struct buf b = { 0 };
	uint8_t data[3000];
	memset(data, 7, sizeof data);
	tar_add(&b, "whole", '0', data, 100, NULL);
	tar_add(&b, "cut", '0', data, sizeof data, NULL);
	b.n -= 2048;                      /* cut inside the second member's data */
	write_buf(tl_keep("cut.tar"), &b);
	struct wd_diags d = { 0 };
	struct sa_stream s;
	int fd = open_file(tl_keep("cut.tar"));
	sa_stream_open(&s, fd, "cut.tar", 0, &d);
	struct sa_tar t;
	sa_tar_init(&t, &s, "cut.tar", &d);
	struct sa_entry e;
	CHECK_EQ(sa_tar_next(&t, &e), 1);
	CHECK_EQ(sa_tar_next(&t, &e), 1);
	CHECK_STR(e.name, "cut");
	uint8_t out[4096];
	size_t n = sa_tar_read(&t, out, sizeof out);
	CHECK(n < sizeof data);
	CHECK(t.truncated);
	CHECK_EQ(sa_tar_next(&t, &e), 0);
	sa_stream_close(&s);
	close(fd);
	wd_diags_free(&d);
	free(b.p);
}

/* ---------------------------------------------------------------- WAL series */

TEST(scan_chain_names)
{
	size_t st, len;
	CHECK(chain_split_name("wal-07", &st, &len));
	CHECK_EQ(st, 4);
	CHECK_EQ(len, 2);
	CHECK(chain_split_name("00000a3f.wal", &st, &len));
	CHECK_EQ(st, 0);
	CHECK_EQ(len, 8);
	CHECK(chain_run_is_hex("00000a3f", 8));
	CHECK_EQ(chain_parse_number("00000a3f", 8, true), 0xa3f);
	const char *n12 = "db.wal.12";
	CHECK(chain_split_name(n12, &st, &len));
	CHECK_EQ(chain_parse_number(n12 + st, len, false), 12);
	CHECK(!chain_split_name("backup.wal", &st, &len));
}

/*
 * A series as a replication tool collects it: one connection writes, the
 * WAL is copied to DIR/wal-NN, then a RESTART checkpoint lets the next
 * write start a new WAL generation (salt-1 + 1).  DIR/db is the database
 * as it was before the first copy.
 */
static void make_series(const char *dir, int ngen, unsigned page_size)
{
	char live[4200], sql[256], a[4200], b[4200];
	snprintf(live, sizeof live, "%s.live", dir);
	CHECK(mkdir(dir, 0755) == 0);
	sqlite3 *db;
	CHECK(sqlite3_open(live, &db) == SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA page_size=%u; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
		 "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);", page_size);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK);
	tl_copy(live, fmt(a, sizeof a, "%s/db", dir));
	for (int g = 0; g < ngen; g++) {
		snprintf(sql, sizeof sql,
			 "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<%d) "
			 "INSERT INTO t(b) SELECT hex(randomblob(30)) FROM s;", 20 + g * 7);
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
		tl_copy(fmt(a, sizeof a, "%s-wal", live), fmt(b, sizeof b, "%s/wal-%02d", dir, g));
		CHECK(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL) == SQLITE_OK);
	}
	sqlite3_close(db);
}

static uint32_t wal_u32(const char *path, size_t off)
{
	size_t n;
	uint8_t *p = tl_read(path, &n);
	CHECK(n >= 32);
	uint32_t v = rd_be32(p + off);
	free(p);
	return v;
}

TEST(scan_chain_series_is_consecutive)
{
	make_series(tl_keep("s"), 4, 4096);
	/* What SQLite wrote: salt-1 +1 and checkpoint sequence +1 per generation. */
	for (int g = 1; g < 4; g++) {
		CHECK_EQ(wal_u32(tl_keep("s/wal-%02d", g), 16), wal_u32(tl_keep("s/wal-%02d", g - 1), 16) + 1);
		CHECK_EQ(wal_u32(tl_keep("s/wal-%02d", g), 12), wal_u32(tl_keep("s/wal-%02d", g - 1), 12) + 1);
	}
	struct scan_opts o = opts_json();
	const char *paths[] = { tl_keep("s") };
	struct run r = scan(&o, 1, paths);
	char *chain = line_for(r.out, tl_keep("s/wal-*"));
	CHECK(chain);
	CHECK(has(chain, "\"kind\":\"wal-chain\""));
	CHECK(has(chain, "\"status\":\"ok\""));
	CHECK(!has(chain, "CHAIN_"));
	CHECK_EQ(count_lines(chain, "\"checkpoint_seq\""), 4);
	char base[4200];
	snprintf(base, sizeof base, "\"base\":\"%s\"", tl_keep("s/db"));
	CHECK(has(chain, base));
	CHECK_EQ(r.status, 0);
	free(chain);
	run_free(&r);
}

TEST(scan_chain_gap_order_overlap)
{
	make_series(tl_keep("s"), 5, 1024);
	/* gap: generation 2 is missing */
	CHECK(unlink(tl_keep("s/wal-02")) == 0);
	struct scan_opts o = opts_json();
	const char *paths[] = { tl_keep("s") };
	struct run r = scan(&o, 1, paths);
	char *chain = line_for(r.out, tl_keep("s/wal-*"));
	CHECK(has(chain, "\"code\":\"CHAIN_GAP\""));
	CHECK(has(chain, "1 WAL generation is missing between"));
	CHECK(!has(chain, "CHAIN_ORDER"));
	CHECK(!has(chain, "CHAIN_FOREIGN"));
	CHECK_EQ(r.status, 2);
	free(chain);
	run_free(&r);

	/* out of order: wal-03 and wal-04 swapped */
	tl_copy(tl_keep("s/wal-03"), tl_keep("tmp"));
	tl_copy(tl_keep("s/wal-04"), tl_keep("s/wal-03"));
	tl_copy(tl_keep("tmp"), tl_keep("s/wal-04"));
	tl_copy(tl_keep("s/wal-01"), tl_keep("s/wal-02"));   /* and a repeat of generation 1: overlap */
	r = scan(&o, 1, paths);
	chain = line_for(r.out, tl_keep("s/wal-*"));
	CHECK(has(chain, "\"code\":\"CHAIN_ORDER\""));
	CHECK(has(chain, "repeats the WAL generation"));
	CHECK(has(chain, "older than"));
	CHECK_EQ(r.status, 2);
	free(chain);
	run_free(&r);
}

TEST(scan_chain_foreign)
{
	make_series(tl_keep("s"), 3, 4096);
	make_series(tl_keep("other"), 3, 4096);
	make_series(tl_keep("small"), 2, 1024);
	/* another database's generation 1 in place of ours (its salts are unrelated) */
	uint32_t a = wal_u32(tl_keep("s/wal-00"), 16), b = wal_u32(tl_keep("other/wal-01"), 16);
	uint32_t d = b - a - 1;
	if (d < 2 * CHAIN_MAX_JUMP || d > UINT32_MAX - 2 * CHAIN_MAX_JUMP) {
		/* salts drawn within 65536 of each other: astronomically rare, nothing to test */
		return;
	}
	tl_copy(tl_keep("other/wal-01"), tl_keep("s/wal-01"));
	tl_copy(tl_keep("small/wal-01"), tl_keep("s/wal-03"));     /* and one of another page size */
	struct scan_opts o = opts_json();
	const char *paths[] = { tl_keep("s") };
	struct run r = scan(&o, 1, paths);
	char *chain = line_for(r.out, tl_keep("s/wal-*"));
	CHECK(chain);
	CHECK_EQ(count_lines(chain, "\"code\":\"CHAIN_FOREIGN\""), 2);
	CHECK(has(chain, "1024-byte pages"));
	/* wal-02 follows wal-00 directly once the foreign file is set aside */
	CHECK(has(chain, "\"code\":\"CHAIN_GAP\""));
	free(chain);
	run_free(&r);
}

TEST(scan_chain_in_archive)
{
	make_series(tl_keep("s"), 3, 4096);
	struct buf b = { 0 };
	size_t n;
	uint8_t *p = tl_read(tl_keep("s/db"), &n);
	tar_add(&b, "node1/db", '0', p, n, NULL);
	free(p);
	for (int g = 2; g >= 0; g--) {        /* stored out of name order: scan sorts by number */
		if (g == 1)
			continue;             /* a gap */
		p = tl_read(tl_keep("s/wal-%02d", g), &n);
		char name[64];
		snprintf(name, sizeof name, "node1/wal-%02d", g);
		tar_add(&b, name, '0', p, n, NULL);
		free(p);
	}
	tar_end(&b);
	struct buf z = { 0 };
	gz_add(&z, b.p, b.n);
	write_buf(tl_keep("backup.tar.gz"), &z);
	struct scan_opts o = opts_json();
	const char *paths[] = { tl_keep("backup.tar.gz") };
	struct run r = scan(&o, 1, paths);
	char pat[4200];
	snprintf(pat, sizeof pat, "%s:node1/wal-*", tl_keep("backup.tar.gz"));
	char *chain = line_for(r.out, pat);
	CHECK(chain);
	CHECK(has(chain, "\"code\":\"CHAIN_GAP\""));
	CHECK(has(chain, ":node1/db\""));        /* the base */
	CHECK_EQ(r.status, 2);
	free(chain);
	free(b.p);
	free(z.p);
	run_free(&r);
}

/* ---------------------------------------------------------------- scan_run */

TEST(scan_folder_pairs_by_content_and_name)
{
	CHECK(mkdir(tl_keep("d"), 0755) == 0);
	CHECK(mkdir(tl_keep("d/sub"), 0755) == 0);
	make_wal_db(tl_keep("d/app.sqlite"), 4096, 200);
	make_wal_db(tl_keep("d/sub/other"), 1024, 50);
	tl_write(tl_keep("d/notes.txt"), "SQLite is nice\n", 15);
	struct scan_opts o = opts_json();
	const char *paths[] = { tl_keep("d") };
	struct run r = scan(&o, 1, paths);
	/* without --recursive: the top folder only */
	CHECK_EQ(count_lines(r.out, "\"kind\":\"database\""), 1);
	char *l = line_for(r.out, tl_keep("d/app.sqlite"));
	CHECK(l);
	CHECK(has(l, "\"frames_total\":"));
	CHECK(has(l, "\"integrity\":\"ok\""));
	CHECK(has(l, "\"archive\":null"));
	char shm[4200];
	snprintf(shm, sizeof shm, "\"path\":\"%s-shm\"", tl_keep("d/app.sqlite"));
	CHECK(has(l, shm));
	CHECK(strstr(r.err, "scan: 1 database: 1 ok"));
	free(l);
	run_free(&r);
	o.recursive = true;
	r = scan(&o, 1, paths);
	CHECK_EQ(count_lines(r.out, "\"kind\":\"database\""), 2);
	/* sorted by path: d/app.sqlite before d/sub/other */
	CHECK(strstr(r.out, "app.sqlite") < strstr(r.out, "sub/other"));
	CHECK_EQ(r.status, 0);
	run_free(&r);
}

TEST(scan_matches_inspect_codes_in_tar)
{
	/* A damaged WAL: the same findings whether read from disk or from a tar.gz. */
	make_wal_db(tl_keep("x/db"), 4096, 300);
	tl_flip(tl_keep("x/db-wal"), 32 + 24 + 4096 + 24 + 100, 0x10);   /* page data of frame 2 */
	struct scan_opts o = opts_json();
	o.jobs = 1;
	const char *p1[] = { tl_keep("x/db") };
	struct run disk = scan(&o, 1, p1);
	char *dl = line_for(disk.out, tl_keep("x/db"));
	CHECK(has(dl, "WAL_CHECKSUM_MISMATCH"));
	struct buf b = { 0 };
	const char *names[] = { "db", "db-wal", "db-shm" };
	for (int i = 0; i < 3; i++) {
		size_t n;
		uint8_t *p = tl_read(tl_keep("x/%s", names[i]), &n);
		char name[64];
		snprintf(name, sizeof name, "x/%s", names[i]);
		tar_add(&b, name, '0', p, n, NULL);
		free(p);
	}
	tar_end(&b);
	write_buf(tl_keep("x.tar"), &b);
	const char *p2[] = { tl_keep("x.tar") };
	struct run ar = scan(&o, 1, p2);
	char path[4200];
	snprintf(path, sizeof path, "%s:x/db", tl_keep("x.tar"));
	char *al = line_for(ar.out, path);
	CHECK(al);
	CHECK(has(al, "\"member\":\"x/db\""));
	/* the findings' codes in the same order */
	const char *a = strstr(dl, "\"findings\""), *c = strstr(al, "\"findings\"");
	CHECK(a && c);
	for (;;) {
		a = strstr(a + 1, "\"code\":\"");
		c = strstr(c + 1, "\"code\":\"");
		CHECK((a == NULL) == (c == NULL));
		if (!a)
			break;
		CHECK(!strncmp(a, c, strcspn(a + 8, "\"") + 8));
	}
	CHECK_EQ(disk.status, ar.status);
	free(dl);
	free(al);
	free(b.p);
	run_free(&disk);
	run_free(&ar);
}

TEST(scan_hostile_tar_members)
{
	make_wal_db(tl_keep("x/db"), 4096, 100);
	size_t n;
	uint8_t *db = tl_read(tl_keep("x/db"), &n);
	struct buf b = { 0 };
	tar_add(&b, "../../escape.db", '0', db, n, NULL);
	tar_add(&b, "/abs.db", '0', db, n, NULL);
	tar_add(&b, "link.db", '2', NULL, 0, "/etc/passwd");
	tar_add(&b, "hard.db", '1', NULL, 0, "inner.db");
	tar_add(&b, "ctl\x1b[2J\n.db", '0', db, n, NULL);
	tar_add(&b, "inner.db", '0', db, n, NULL);
	tar_end(&b);
	write_buf(tl_keep("evil.tar"), &b);
	struct scan_opts o = opts_json();
	o.json = false;
	o.verbose = true;
	const char *paths[] = { tl_keep("evil.tar") };
	struct run r = scan(&o, 1, paths);
	/* every member is reported; nothing is written next to the archive */
	CHECK(strstr(r.out, "evil.tar:../../escape.db pages="));
	CHECK(strstr(r.out, "evil.tar:/abs.db pages="));
	CHECK_EQ(count_lines(r.out, "ARCHIVE_UNSAFE_NAME"), 2 * 2 + 2);   /* line + detail, and the link */
	CHECK(strstr(r.out, "evil.tar:link.db pages=- frames=- ARCHIVE_UNSAFE_NAME"));
	CHECK(strstr(r.out, "evil.tar:hard.db pages=- frames=- ARCHIVE_LINK"));
	/* no raw escape or newline from a member name reaches the output */
	CHECK(strstr(r.out, "ctl\\x1b[2J\\x0a.db"));
	CHECK(!strchr(r.out, '\x1b'));
	CHECK(!tl_exists(tl_keep("../../escape.db")) && !tl_exists(tl_keep("escape.db")));
	CHECK_EQ(r.status, 1);
	free(db);
	free(b.p);
	run_free(&r);
}

TEST(scan_member_cap_and_truncated_gzip)
{
	make_wal_db(tl_keep("x/db"), 4096, 400);
	struct buf b = { 0 };
	const char *names[] = { "db", "db-wal" };
	for (int i = 0; i < 2; i++) {
		size_t n;
		uint8_t *p = tl_read(tl_keep("x/%s", names[i]), &n);
		char name[64];
		snprintf(name, sizeof name, "x/%s", names[i]);
		tar_add(&b, name, '0', p, n, NULL);
		free(p);
	}
	tar_end(&b);
	struct buf z = { 0 };
	gz_add(&z, b.p, b.n);
	write_buf(tl_keep("ok.tgz"), &z);
	uint64_t wal_size = tl_size(tl_keep("x/db-wal"));

	/* a cap below the WAL's size: the WAL is reported, the database still analysed */
	struct scan_opts o = opts_json();
	o.max_member = wal_size - 1;
	const char *paths[] = { tl_keep("ok.tgz") };
	struct run r = scan(&o, 1, paths);
	char path[4200];
	snprintf(path, sizeof path, "%s:x/db", tl_keep("ok.tgz"));
	char *l = line_for(r.out, path);
	CHECK(has(l, "\"code\":\"ARCHIVE_LIMIT\""));
	CHECK(has(l, "\"wal\":null"));
	free(l);
	run_free(&r);

	/* the gzip cut in the middle of the WAL: the cut member and the gzip error, scan goes on */
	z.n = z.n * 3 / 4;
	write_buf(tl_keep("cut.tgz"), &z);
	write_buf(tl_keep("zz-after.tgz"), &z);
	o.max_member = SCAN_MAX_MEMBER_DEFAULT;
	const char *two[] = { tl_keep("cut.tgz"), tl_keep("zz-after.tgz") };
	r = scan(&o, 2, two);
	l = line_for(r.out, tl_keep("cut.tgz"));
	CHECK(has(l, "\"kind\":\"archive\""));
	CHECK(has(l, "\"code\":\"ARCHIVE_CORRUPT\""));
	CHECK(has(l, "truncated at compressed offset"));
	free(l);
	snprintf(path, sizeof path, "%s:x/db", tl_keep("zz-after.tgz"));
	l = line_for(r.out, path);
	CHECK(has(l, "member 'x/db-wal' is cut short"));
	free(l);
	CHECK_EQ(r.status, 2);
	free(b.p);
	free(z.p);
	run_free(&r);
}

TEST(scan_gz_files_pair_by_name)
{
	make_wal_db(tl_keep("x/db"), 4096, 100);
	const char *names[] = { "db", "db-wal", "db-shm" };
	CHECK(mkdir(tl_keep("g"), 0755) == 0);
	for (int i = 0; i < 3; i++) {
		size_t n;
		uint8_t *p = tl_read(tl_keep("x/%s", names[i]), &n);
		struct buf z = { 0 };
		gz_add(&z, p, n);
		write_buf(tl_keep("g/%s.gz", names[i]), &z);
		free(z.p);
		free(p);
	}
	struct scan_opts o = opts_json();
	const char *paths[] = { tl_keep("g") };
	struct run r = scan(&o, 1, paths);
	CHECK_EQ(count_lines(r.out, "\"kind\":\"database\""), 1);
	char *l = line_for(r.out, tl_keep("g/db.gz"));
	CHECK(l);
	char wal[4200];
	snprintf(wal, sizeof wal, "\"wal\":{\"path\":\"%s\"", tl_keep("g/db-wal.gz"));
	CHECK(has(l, wal));
	CHECK(has(l, "\"integrity\":\"ok\""));
	CHECK_EQ(r.status, 0);
	free(l);
	run_free(&r);
}

TEST(scan_shards_partition_the_inputs)
{
	CHECK(mkdir(tl_keep("d"), 0755) == 0);
	for (int i = 0; i < 8; i++) {
		tl_make_db(tl_keep("d/db%d", i), 1024, false);
		tl_sql(tl_keep("d/db%d", i), "CREATE TABLE t(a)");
	}
	struct scan_opts o = opts_json();
	o.sqlite = false;
	const char *paths[] = { tl_keep("d") };
	int total = 0;
	char *seen = calloc(1, 1);
	for (unsigned s = 1; s <= 3; s++) {
		o.shard_i = s;
		o.shard_n = 3;
		struct run r = scan(&o, 1, paths);
		total += count_lines(r.out, "\"kind\":\"database\"");
		for (int i = 0; i < 8; i++) {
			char *l = line_for(r.out, tl_keep("d/db%d", i));
			if (l) {
				size_t k = strlen(seen);
				seen = realloc(seen, k + 2);
				seen[k] = (char)('0' + i);
				seen[k + 1] = '\0';
			}
			free(l);
		}
		run_free(&r);
	}
	CHECK_EQ(total, 8);
	CHECK_EQ(strlen(seen), 8);        /* each database in exactly one shard */
	unsigned i, n;
	CHECK(scan_parse_shard("2/5", &i, &n) == 0 && i == 2 && n == 5);
	CHECK(scan_parse_shard("0/5", &i, &n) < 0);
	CHECK(scan_parse_shard("6/5", &i, &n) < 0);
	CHECK(scan_parse_shard("1/", &i, &n) < 0);
	uint64_t v;
	CHECK(scan_parse_size("64K", &v) == 0 && v == 65536);
	CHECK(scan_parse_size("1GiB", &v) == 0 && v == 1ull << 30);
	CHECK(scan_parse_size("12x", &v) < 0);
	free(seen);
}

TEST(scan_unreadable_input_exits_66)
{
	make_wal_db(tl_keep("x/db"), 4096, 50);
	struct scan_opts o = opts_json();
	const char *paths[] = { tl_keep("x/db"), tl_keep("missing.db") };
	struct run r = scan(&o, 2, paths);
	CHECK_EQ(r.status, 66);
	char *l = line_for(r.out, tl_keep("missing.db"));
	CHECK(has(l, "SCAN_INPUT_UNREADABLE"));
	free(l);
	l = line_for(r.out, tl_keep("x/db"));
	CHECK(has(l, "\"status\":\"ok\""));      /* the rest is still scanned */
	free(l);
	run_free(&r);
}

static void truncate_it(const char *path)
{
	tl_truncate(path, 0);
}

static void append_it(const char *path)
{
	char wal[4200];
	snprintf(wal, sizeof wal, "%s-wal", path);
	int fd = open(wal, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK(write(fd, "more", 4) == 4);
	close(fd);
}

TEST(scan_file_changing_while_read)
{
	make_wal_db(tl_keep("x/db"), 4096, 300);
	mkparent(tl_keep("y/db"));
	tl_copy(tl_keep("x/db"), tl_keep("y/db"));
	tl_copy(tl_keep("x/db-wal"), tl_keep("y/db-wal"));
	struct scan_opts o = opts_json();
	o.jobs = 1;
	/* cut to nothing under the mapping: SIGBUS is caught, the database reported */
	scan_test_after_map = truncate_it;
	const char *p1[] = { tl_keep("x/db") };
	struct run r = scan(&o, 1, p1);
	scan_test_after_map = NULL;
	char *l = line_for(r.out, tl_keep("x/db"));
	CHECK(has(l, "\"code\":\"SCAN_INPUT_CHANGED\",\"severity\":\"error\",\"file\":\"db\""));
	CHECK(has(l, "was cut short while it was read"));
	CHECK(has(l, "\"kind\":\"database\""));      /* the analysis went on over the zeros */
	CHECK_EQ(r.status, 2);
	free(l);
	run_free(&r);
	/* grown while read: analysed, and the change reported */
	scan_test_after_map = append_it;
	const char *p2[] = { tl_keep("y/db") };
	r = scan(&o, 1, p2);
	scan_test_after_map = NULL;
	l = line_for(r.out, tl_keep("y/db"));
	CHECK(has(l, "\"code\":\"SCAN_INPUT_CHANGED\""));
	CHECK(has(l, "\"integrity\":\"ok\""));
	CHECK_EQ(r.status, 1);
	free(l);
	run_free(&r);
}

/* The WAL cut to its header and one frame under the mapping (a TRUNCATE checkpoint by someone else). */
static void cut_wal(const char *path)
{
	char wal[4200];
	snprintf(wal, sizeof wal, "%s-wal", path);
	tl_truncate(wal, 32 + 24 + 4096);
}

TEST(scan_wal_cut_under_the_mapping_keeps_the_analysis)
{
	/* files.c's guard, not a longjmp: the model, the checks and the report read the zeros, the
	 * record names the WAL, and nothing is left over (an ASan build checks the leaks) */
	make_wal_db(tl_keep("x/db"), 4096, 300);
	struct scan_opts o = opts_json();
	o.jobs = 1;
	scan_test_after_map = cut_wal;
	const char *p1[] = { tl_keep("x/db") };
	struct run r = scan(&o, 1, p1);
	scan_test_after_map = NULL;
	char *l = line_for(r.out, tl_keep("x/db"));
	CHECK(has(l, "\"code\":\"SCAN_INPUT_CHANGED\",\"severity\":\"error\",\"file\":\"wal\""));
	CHECK(has(l, "was cut short while it was read"));
	CHECK(!has(l, "\"code\":\"SCAN_INPUT_CHANGED\",\"severity\":\"error\",\"file\":\"db\""));
	CHECK(has(l, "\"integrity\":"));
	CHECK_EQ(count_lines(l, "\"code\":\"SCAN_INPUT_CHANGED\""), 1);   /* one finding per file */
	CHECK_EQ(r.status, 2);
	free(l);
	run_free(&r);
}

/* Cut the second member of a series at its first page boundary: its frame's last bytes go
 * (a cut inside the first page would read as zeros without a fault). */
static void cut_member(const char *path)
{
	size_t n = strlen(path);
	if (n > 6 && !strcmp(path + n - 6, "wal-01"))
		tl_truncate(path, 4096);
}

TEST(scan_chain_member_cut_under_the_mapping)
{
	make_series(tl_keep("s"), 3, 4096);
	struct scan_opts o = opts_json();
	o.jobs = 1;
	scan_test_after_map = cut_member;
	const char *paths[] = { tl_keep("s") };
	struct run r = scan(&o, 1, paths);
	scan_test_after_map = NULL;
	char *chain = line_for(r.out, tl_keep("s/wal-*"));
	CHECK(chain);
	CHECK(has(chain, "\"code\":\"SCAN_INPUT_CHANGED\",\"severity\":\"error\""));
	CHECK(has(chain, "wal-01' was cut short while it was read"));
	CHECK(!has(chain, "wal-00' was cut short"));
	CHECK_EQ(r.status, 2);
	free(chain);
	run_free(&r);
}

TEST(scan_many_workers_share_the_guard_slots)
{
	/* 40 workers, 3 mapped files per database: more mappings than the guard has slots, so
	 * workers wait for tokens; every one is given back (all 64 slots free afterwards) */
	make_wal_db(tl_keep("d00/db"), 1024, 20);
	char all[4200];
	snprintf(all, sizeof all, "%s", tl_keep("all"));     /* P's pool turns over in the loop */
	const char *paths[1] = { all };
	CHECK(mkdir(all, 0755) == 0);
	for (int i = 0; i < 30; i++) {
		CHECK(mkdir(tl_keep("all/d%02d", i), 0755) == 0);
		tl_copy(tl_keep("d00/db"), tl_keep("all/d%02d/db", i));
		tl_copy(tl_keep("d00/db-wal"), tl_keep("all/d%02d/db-wal", i));
		tl_copy(tl_keep("d00/db-shm"), tl_keep("all/d%02d/db-shm", i));
	}
	struct scan_opts o = opts_json();
	o.jobs = 40;
	o.sqlite = false;
	o.recursive = true;
	struct run r = scan(&o, 1, paths);
	CHECK_EQ(count_lines(r.out, "\"kind\":\"database\""), 30);
	CHECK_EQ(count_lines(r.out, "SCAN_INPUT_CHANGED"), 0);
	CHECK_EQ(r.status, 0);
	run_free(&r);
	static uint8_t area[64];
	int slots[64], n = 0;
	for (int i = 0; i < 64; i++)
		if ((slots[n] = wf_guard_add(area + i, 1, -1)) > 0)
			n++;
	CHECK_EQ(n, 64);
	for (int i = 0; i < n; i++)
		wf_guard_remove(slots[i]);
}

TEST(scan_files_from_and_text_output)
{
	make_wal_db(tl_keep("x/db"), 4096, 50);
	char list[8200];
	int k = snprintf(list, sizeof list, "%s\n\n%s\n", tl_keep("x/db"), tl_keep("x/db"));
	tl_write(tl_keep("list"), list, (size_t)k);
	struct scan_opts o;
	scan_opts_default(&o);
	o.progress = 0;
	o.files_from = tl_keep("list");
	struct run r = scan(&o, 0, NULL);
	/* named twice: one line */
	char want[4200];
	snprintf(want, sizeof want, "ok      %s pages=", tl_keep("x/db"));
	CHECK(strstr(r.out, want));
	CHECK_EQ(count_lines(r.out, "\n"), 1);
	CHECK(strstr(r.out, " -\n"));
	CHECK(strstr(r.err, "scan: 1 database: 1 ok, 0 warning, 0 error"));
	CHECK_EQ(r.status, 0);
	run_free(&r);
	o.files_from = tl_keep("no-such-list");
	r = scan(&o, 0, NULL);
	CHECK_EQ(r.status, 66);
	run_free(&r);
}
