/*
 * gen.c — `bench-gen`: the large WAL-mode databases `make bench` measures.
 *
 *   bench-gen --out DIR [--page-size N] [--db-mb M] [--wal-mb W] [--seed S]
 *   bench-gen --version
 *
 * Writes DIR/db, DIR/db-wal and DIR/db-shm with real libsqlite3, the way a
 * busy application leaves them: a database of about M MiB, checkpointed,
 * then a WAL of about W MiB of committed transactions that no checkpoint
 * has copied back, and the -shm of the connection that wrote them.
 *
 * How, and why that way:
 *  - The table is filled in rollback mode with journal_mode=OFF and
 *    synchronous=OFF (one pass of writes, no journal), then the database is
 *    switched to WAL mode with wal_autocheckpoint=0, so every later commit
 *    appends frames and nothing is copied back.
 *  - The WAL phase is a deterministic mix of transactions: updates of
 *    contiguous row ranges (1 to ~16,000 rows, log-uniform, so commits of
 *    one page to a few thousand), scattered single-row updates that move
 *    index keys, appends, and small deletes (freelist pages).  It stops at
 *    the first commit that brings the WAL to W MiB.
 *  - The writer ends with _exit(0) while its connection is open: SQLite
 *    never gets to checkpoint or delete the WAL, and the -shm stays as a
 *    live writer leaves it.
 *  - Everything random comes from --seed: the rows, the transaction mix, and
 *    SQLite's own randomness (WAL salts), through a shim of the "unix" VFS
 *    whose xRandomness reads our PRNG (the corpus does the same in
 *    corpus/det_vfs.c).  Same parameters, same bytes.
 *  - Row text is words drawn from a 256-word vocabulary: it compresses
 *    about as well as real application data, which the gzip backups need.
 *
 * Prints one line of key=value pairs: pages, frames, commits, sizes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* Bump when the output for the same parameters changes: the bench's stamp
 * files include it, so old data is regenerated. */
#define GEN_VERSION "bench-gen 1"

#define ROW_MIN 200                  /* row text length range, bytes */
#define ROW_MAX 700
#define TXN_BYTES_MAX (8u << 20)     /* largest range update, in row bytes */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench-gen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	_exit(1);
}

/* ---- PRNG: xoshiro256** seeded through splitmix64 ------------------------ */

struct prng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void prng_seed(struct prng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t prng_next(struct prng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in 0..n-1 (n > 0); the modulo bias does not matter here. */
static uint64_t prng_below(struct prng *r, uint64_t n)
{
	return prng_next(r) % n;
}

/* Roughly log-uniform in 1..mx: a power of two chosen uniformly, then a
 * value uniform below the next one; many small values, a few large ones.
 * Integers only, so the same on every machine. */
static uint64_t prng_logu(struct prng *r, uint64_t mx)
{
	int nbits = 0;
	while (nbits < 62 && (2ull << nbits) <= mx)
		nbits++;
	uint64_t lo = 1ull << prng_below(r, (uint64_t)nbits + 1);
	uint64_t v = lo + prng_below(r, lo);
	return v > mx ? mx : v;
}

/* ---- deterministic VFS ---------------------------------------------------- */

static sqlite3_vfs det_vfs;
static struct prng vfs_rng;

static int det_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	for (int i = 0; i < n; i += 8) {
		uint64_t v = prng_next(&vfs_rng);
		for (int k = 0; k < 8 && i + k < n; k++, v >>= 8)
			out[i + k] = (char)(uint8_t)v;
	}
	return n;
}

#define DET_JULIAN_DAY 2460310.5     /* 2024-01-01 00:00 UTC */

static int det_current_time(sqlite3_vfs *vfs, double *t)
{
	(void)vfs;
	*t = DET_JULIAN_DAY;
	return SQLITE_OK;
}

static int det_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	(void)vfs;
	*t = (sqlite3_int64)(DET_JULIAN_DAY * 86400000.0);
	return SQLITE_OK;
}

static void det_vfs_install(uint64_t seed)
{
	if (sqlite3_initialize() != SQLITE_OK)
		die("sqlite3_initialize failed");
	sqlite3_vfs *base = sqlite3_vfs_find("unix");
	if (!base)
		die("libsqlite3 has no \"unix\" VFS");
	det_vfs = *base;
	det_vfs.pNext = NULL;
	det_vfs.zName = "bench-det";
	det_vfs.xRandomness = det_randomness;
	det_vfs.xCurrentTime = det_current_time;
	if (det_vfs.iVersion >= 2)
		det_vfs.xCurrentTimeInt64 = det_current_time64;
	if (sqlite3_vfs_register(&det_vfs, 1) != SQLITE_OK)
		die("cannot register the deterministic VFS");
	prng_seed(&vfs_rng, seed ^ 0x5a17ed5a17ull);
	sqlite3_randomness(0, NULL);     /* next draw reseeds from xRandomness */
}

/* ---- row content ----------------------------------------------------------- */

static char vocab[256][12];

static void vocab_make(uint64_t seed)
{
	struct prng r;
	prng_seed(&r, seed ^ 0x766f636162ull);
	for (int i = 0; i < 256; i++) {
		int len = 2 + (int)prng_below(&r, 9);
		for (int k = 0; k < len; k++)
			vocab[i][k] = (char)('a' + prng_below(&r, 26));
		vocab[i][len] = '\0';
	}
}

static uint64_t g_seed;

/* Row text of (id, generation): words from the vocabulary, length in
 * ROW_MIN..ROW_MAX, a pure function of its arguments and the seed. */
static size_t row_text(int64_t id, int64_t gen, char *out)
{
	struct prng r;
	prng_seed(&r, g_seed ^ ((uint64_t)id * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)gen << 40));
	size_t want = ROW_MIN + prng_below(&r, ROW_MAX - ROW_MIN + 1), n = 0;
	while (n < want) {
		const char *w = vocab[prng_below(&r, 256)];
		size_t l = strlen(w);
		if (n + l + 1 > want)
			l = want - n - 1;
		memcpy(out + n, w, l);
		n += l;
		out[n++] = ' ';
	}
	return n;
}

/* SQL: bench_text(id, gen) */
static void fn_text(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	char buf[ROW_MAX + 16];
	size_t n = row_text(sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1]), buf);
	sqlite3_result_text(ctx, buf, (int)n, SQLITE_TRANSIENT);
}

/* SQL: bench_key(x) — a scrambled key, so that the index is not in rowid order */
static void fn_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	uint64_t x = (uint64_t)sqlite3_value_int64(argv[0]) ^ g_seed;
	sqlite3_result_int64(ctx, (int64_t)(splitmix64(&x) >> 16));
}

/* ---- SQL helpers ------------------------------------------------------------- */

static sqlite3 *db;

static void exec(const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("%s: %s", sql, err ? err : sqlite3_errmsg(db));
}

static sqlite3_stmt *prep(const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		die("prepare %s: %s", sql, sqlite3_errmsg(db));
	return st;
}

static void run(sqlite3_stmt *st, int n, const int64_t *args)
{
	sqlite3_reset(st);
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, args[i]);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		die("step %s: %s", sqlite3_sql(st), sqlite3_errmsg(db));
}

static int64_t query_int(const char *sql)
{
	sqlite3_stmt *st = prep(sql);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

static int64_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* ---- main ------------------------------------------------------------------------ */

static const char usage[] =
	"usage: bench-gen --out DIR [--page-size N] [--db-mb M] [--wal-mb W] [--seed S]\n"
	"       bench-gen --version\n";

int main(int argc, char **argv)
{
	const char *out = NULL;
	long page_size = 4096, db_mb = 150, wal_mb = 800;
	unsigned long long seed = 1;
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "db-mb", required_argument, NULL, 'd' },
		{ "wal-mb", required_argument, NULL, 'w' },
		{ "seed", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': page_size = strtol(optarg, NULL, 10); break;
		case 'd': db_mb = strtol(optarg, NULL, 10); break;
		case 'w': wal_mb = strtol(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'V': puts(GEN_VERSION); return 0;
		default: fputs(usage, stderr); return 64;
		}
	}
	if (!out || optind != argc || page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) ||
	    db_mb < 1 || wal_mb < 1) {
		fputs(usage, stderr);
		return 64;
	}
	g_seed = seed;
	vocab_make(seed);
	det_vfs_install(seed);

	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		die("cannot create '%s': %s", out, strerror(errno));
	char path[4096], wal_path[4200];
	snprintf(path, sizeof path, "%s/db", out);
	snprintf(wal_path, sizeof wal_path, "%s-wal", path);
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		char p[4300];
		snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			die("cannot remove '%s': %s", p, strerror(errno));
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("cannot open '%s': %s", path, sqlite3_errmsg(db));
	sqlite3_create_function(db, "bench_text", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_text, NULL, NULL);
	sqlite3_create_function(db, "bench_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_key, NULL, NULL);
	char sql[256];
	snprintf(sql, sizeof sql, "PRAGMA page_size=%ld; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		 " PRAGMA cache_size=-131072;", page_size);
	exec(sql);
	exec("CREATE TABLE item(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, gen INTEGER NOT NULL, body TEXT);"
	     "CREATE INDEX item_k ON item(k);");

	/* Phase 1: fill to db_mb in rollback mode, checking the size per batch. */
	const int64_t target_db = (int64_t)db_mb << 20, target_wal = (int64_t)wal_mb << 20;
	sqlite3_stmt *ins = prep("INSERT INTO item(id, k, gen, body) VALUES (?1, bench_key(?1), 0, bench_text(?1, 0))");
	int64_t nrows = 0;
	for (;;) {
		exec("BEGIN");
		for (int i = 0; i < 5000; i++) {
			int64_t id = ++nrows;
			run(ins, 1, &id);
		}
		exec("COMMIT");
		if (query_int("PRAGMA page_count") * page_size >= target_db)
			break;
	}
	const int64_t db_pages0 = query_int("PRAGMA page_count");

	/* Phase 2: WAL mode, no automatic checkpoints, a mix of transactions. */
	exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;");
	sqlite3_stmt *upd_range = prep("UPDATE item SET gen = gen + 1, body = bench_text(id, gen + 1) "
				       "WHERE id BETWEEN ?1 AND ?2");
	sqlite3_stmt *upd_key = prep("UPDATE item SET k = bench_key(id + ?2), gen = gen + 1 WHERE id = ?1");
	sqlite3_stmt *del = prep("DELETE FROM item WHERE id BETWEEN ?1 AND ?2");
	struct prng r;
	prng_seed(&r, seed ^ 0x77616cull);
	const uint64_t range_max = TXN_BYTES_MAX / ((ROW_MIN + ROW_MAX) / 2);
	int64_t ncommit = 0, next_id = nrows + 1;
	while (file_size(wal_path) < target_wal) {
		exec("BEGIN");
		uint64_t kind = prng_below(&r, 100);
		if (kind < 70) {                        /* contiguous range update */
			int64_t n = (int64_t)prng_logu(&r, range_max);
			int64_t a = 1 + (int64_t)prng_below(&r, (uint64_t)(next_id > n ? next_id - n : 1));
			int64_t args[2] = { a, a + n - 1 };
			run(upd_range, 2, args);
		} else if (kind < 88) {                 /* scattered key moves */
			int64_t n = 1 + (int64_t)prng_below(&r, 400);
			for (int64_t i = 0; i < n; i++) {
				int64_t args[2] = { 1 + (int64_t)prng_below(&r, (uint64_t)next_id), ncommit };
				run(upd_key, 2, args);
			}
		} else if (kind < 97) {                 /* appends */
			int64_t n = (int64_t)prng_logu(&r, 4000);
			for (int64_t i = 0; i < n; i++) {
				int64_t id = next_id++;
				run(ins, 1, &id);
			}
		} else {                                /* a small delete: freelist pages */
			int64_t n = (int64_t)prng_logu(&r, 600);
			int64_t a = 1 + (int64_t)prng_below(&r, (uint64_t)next_id);
			int64_t args[2] = { a, a + n - 1 };
			run(del, 2, args);
		}
		exec("COMMIT");
		ncommit++;
	}
	const int64_t db_pages = query_int("PRAGMA page_count");
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t wal_size = file_size(wal_path);
	int64_t frames = (wal_size - 32) / (page_size + 24);
	printf("page_size=%ld db_bytes=%" PRId64 " db_pages_file=%" PRId64 " db_pages=%" PRId64
	       " wal_bytes=%" PRId64 " frames=%" PRId64 " commits=%" PRId64 " rows=%" PRId64 " seconds=%.1f\n",
	       page_size, file_size(path), db_pages0, db_pages, wal_size, frames, ncommit, next_id - 1,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	fflush(stdout);
	/* Keep the WAL and -shm as a live writer leaves them: no close, no
	 * checkpoint, no deletion. */
	_exit(0);
}
