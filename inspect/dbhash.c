/*
 * dbhash.c — SQLite's dbhash algorithm over libsqlite3; see dbhash.h and
 * docs/dbhash.md.
 *
 * What is hashed, in order, into one SHA-1 (facts taken from SQLite's
 * tool/dbhash.c; every value of every row of every query goes in):
 *
 *   1. unless --schema-only: for each name of
 *        SELECT name FROM sqlite_schema WHERE type='table'
 *          AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE 'sqlite_%'
 *          AND name LIKE <pattern> ORDER BY name COLLATE nocase
 *      every row of  SELECT * FROM "<name>"  (rows in the order SQLite
 *      returns them: rowid / primary-key order);
 *   2. unless --without-schema: every row of
 *        SELECT type, name, tbl_name, sql FROM sqlite_schema
 *          WHERE tbl_name LIKE <pattern> ORDER BY name COLLATE nocase
 *
 * The state hashed is SQLite's own view of a private copy of the files:
 * the database file, and for the effective state the whole -wal and any
 * -journal (SQLite runs its WAL recovery and hot-journal rollback on the
 * copy, exactly as dbhash would on the originals); for commit=K the -wal
 * cut after the commit frame of K; for the file alone no -wal.  The -shm
 * is never copied: SQLite rebuilds it, as it does when no process has the
 * database open.
 *
 * Each value, by its storage class in the result row:
 *
 *   NULL     the byte '0'
 *   INTEGER  the byte '1', then the 64-bit two's complement value, big-endian
 *   REAL     the byte '2', then the 64 bits of the IEEE double, big-endian
 *   TEXT     the byte '3', then the UTF-8 bytes (no terminator, no length)
 *   BLOB     the byte '4', then the bytes (no length)
 *
 * Nothing separates rows, columns or queries.  The hash is printed as 40
 * lowercase hex digits.
 *
 * dbhash reads rows with `while (sqlite3_step(...) == SQLITE_ROW)`, so a
 * table SQLite cannot read to the end contributes the rows before the error
 * and the hash goes on; we do the same (so the digest matches what dbhash
 * prints for the same file) but report the error: DBHASH_PARTIAL.
 */
#include "dbhash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "materialize.h"

struct hasher {
	sqlite3 *db;
	EVP_MD_CTX *ctx;
	int bad;                   /* an EVP call failed */
	int partial;               /* a query ended with an error */
	char *err;
	size_t errlen;
};

static void feed(struct hasher *h, const void *p, size_t n)
{
	if (n && !h->bad && EVP_DigestUpdate(h->ctx, p, n) != 1)
		h->bad = 1;
}

/* '1' or '2' then 8 bytes, most significant first. */
static void feed_u64(struct hasher *h, char tag, uint64_t u)
{
	uint8_t x[9];
	x[0] = (uint8_t)tag;
	for (int i = 8; i >= 1; i--) {
		x[i] = (uint8_t)(u & 0xff);
		u >>= 8;
	}
	feed(h, x, sizeof x);
}

/*
 * Hash every value of every row of `sql`.  Returns 0 (also when the query
 * stopped early: h->partial and err are set), or -1 when it cannot be
 * prepared.
 */
static int hash_query(struct hasher *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(h->err, h->errlen, "SQL statement error: %s: \"%s\"", sqlite3_errmsg(h->db), sql);
		sqlite3_finalize(st);
		return -1;
	}
	int ncol = sqlite3_column_count(st), rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL:
				feed(h, "0", 1);
				break;
			case SQLITE_INTEGER:
				feed_u64(h, '1', (uint64_t)sqlite3_column_int64(st, i));
				break;
			case SQLITE_FLOAT: {
				double r = sqlite3_column_double(st, i);
				uint64_t u;
				memcpy(&u, &r, sizeof u);
				feed_u64(h, '2', u);
				break;
			}
			case SQLITE_TEXT: {
				const unsigned char *z = sqlite3_column_text(st, i);
				int n = sqlite3_column_bytes(st, i);
				feed(h, "3", 1);
				if (z && n > 0)
					feed(h, z, (size_t)n);
				break;
			}
			case SQLITE_BLOB: {
				const void *z = sqlite3_column_blob(st, i);
				int n = sqlite3_column_bytes(st, i);
				feed(h, "4", 1);
				if (z && n > 0)
					feed(h, z, (size_t)n);
				break;
			}
			}
		}
	}
	if (rc != SQLITE_DONE && !h->partial) {
		h->partial = 1;
		snprintf(h->err, h->errlen, "%s (while reading \"%s\"; dbhash hashes the rows before the error too)",
			 sqlite3_errmsg(h->db), sql);
	}
	sqlite3_finalize(st);
	return 0;
}

/* Hash the rows of every ordinary table whose name is LIKE the pattern. */
static int hash_content(struct hasher *h, const char *like)
{
	char *sql = sqlite3_mprintf("SELECT name FROM sqlite_schema"
				    " WHERE type='table' AND sql NOT LIKE 'CREATE VIRTUAL%%'"
				    " AND name NOT LIKE 'sqlite_%%' AND name LIKE '%q'"
				    " ORDER BY name COLLATE nocase", like);
	sqlite3_stmt *st = NULL;
	if (!sql) {
		snprintf(h->err, h->errlen, "out of memory");
		return -1;
	}
	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(h->err, h->errlen, "SQL statement error: %s", sqlite3_errmsg(h->db));
		sqlite3_free(sql);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_free(sql);
	int rc = 0, step;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char *q = sqlite3_mprintf("SELECT * FROM \"%w\"", name ? name : "");
		if (!q) {
			snprintf(h->err, h->errlen, "out of memory");
			rc = -1;
			break;
		}
		rc = hash_query(h, q);
		sqlite3_free(q);
	}
	if (!rc && step != SQLITE_DONE && !h->partial) {
		h->partial = 1;
		snprintf(h->err, h->errlen, "%s (while listing the tables)", sqlite3_errmsg(h->db));
	}
	sqlite3_finalize(st);
	return rc;
}

int dbhash_file(const char *path, const struct dbhash_opts *o, uint8_t out[DBHASH_DIGEST],
		char *err, size_t errlen)
{
	const char *like = o->like ? o->like : "%";
	struct hasher h = { .err = err, .errlen = errlen };
	err[0] = '\0';
	/* Read-write, as dbhash opens: SQLite may need to recover a WAL or roll
	 * back a hot journal first.  `path` is always a private copy. */
	if (sqlite3_open_v2(path, &h.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database file '%s': %s", path,
			 h.db ? sqlite3_errmsg(h.db) : "out of memory");
		sqlite3_close(h.db);
		return DBHASH_NOT_DB;
	}
	/* The copy is ours, but its schema is not: never let it run anything unsafe. */
	sqlite3_db_config(h.db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(h.db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	/* dbhash's own validity test: the schema must be readable. */
	char *emsg = NULL;
	if (sqlite3_exec(h.db, "SELECT * FROM sqlite_schema", NULL, NULL, &emsg) != SQLITE_OK || emsg) {
		snprintf(err, errlen, "not a valid SQLite database: %s", emsg ? emsg : sqlite3_errmsg(h.db));
		sqlite3_free(emsg);
		sqlite3_close(h.db);
		return DBHASH_NOT_DB;
	}
	int rc = 0;
	EVP_MD *md = NULL;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	md = EVP_MD_fetch(NULL, "SHA1", NULL);
#else
	md = (EVP_MD *)EVP_sha1();
#endif
	h.ctx = EVP_MD_CTX_new();
	if (!md || !h.ctx || EVP_DigestInit_ex(h.ctx, md, NULL) != 1)
		h.bad = 1;
	if (!h.bad && o->mode != DBHASH_SCHEMA_ONLY)
		rc = hash_content(&h, like);
	if (!rc && !h.bad && o->mode != DBHASH_WITHOUT_SCHEMA) {
		char *sql = sqlite3_mprintf("SELECT type, name, tbl_name, sql FROM sqlite_schema"
					    " WHERE tbl_name LIKE '%q' ORDER BY name COLLATE nocase", like);
		if (!sql) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		} else {
			rc = hash_query(&h, sql);
			sqlite3_free(sql);
		}
	}
	unsigned len = 0;
	if (!rc && !h.bad && (EVP_DigestFinal_ex(h.ctx, out, &len) != 1 || len != DBHASH_DIGEST))
		h.bad = 1;
	if (h.bad) {
		snprintf(err, errlen, "SHA-1 failed in OpenSSL");
		rc = -1;
	}
	EVP_MD_CTX_free(h.ctx);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MD_free(md);
#endif
	sqlite3_close(h.db);
	if (rc)
		return DBHASH_FAILED;
	return h.partial ? DBHASH_PARTIAL : DBHASH_OK;
}

/*
 * Write the first n bytes of p, the mapping of the file open on src_fd (-1
 * when p is not a file), to a new file `path`.  The holes of a sparse
 * source stay holes (SEEK_DATA/SEEK_HOLE): a WAL extended to a terabyte by
 * a hole costs what its data costs, not a terabyte of zeros on the
 * temporary disk.  The copy reads the same bytes either way.  0, or -1
 * with err set.
 */
static int write_copy(const char *path, const uint8_t *p, uint64_t n, int src_fd, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	uint64_t off = 0;
	int rc = 0;
	while (off < n && !rc) {
		uint64_t start = off, end = n;
		if (src_fd >= 0) {
			off_t d = lseek(src_fd, (off_t)off, SEEK_DATA);
			if (d < 0 && errno == ENXIO)
				break;                  /* nothing but a hole up to the end */
			if (d >= 0) {
				start = (uint64_t)d;
				off_t h = lseek(src_fd, d, SEEK_HOLE);
				if (h >= 0 && (uint64_t)h < n)
					end = (uint64_t)h;
			}                               /* else: no SEEK_DATA here, copy it all */
		}
		if (start >= n)
			break;
		if (end <= start)
			end = n;
		rc = atomic_write_all(fd, p + start, (size_t)(end - start), start);
		off = end;
	}
	if (!rc && ftruncate(fd, (off_t)n))
		rc = -1;
	if (rc) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd)) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int dbhash_state(const struct model *m, uint32_t k, const struct dbhash_opts *o,
		 uint8_t out[DBHASH_DIGEST], char *err, size_t errlen)
{
	char dir[512], path[600], side[620];
	if (tmpdir_make(dir, sizeof dir, err, errlen))
		return DBHASH_FAILED;
	snprintf(path, sizeof path, "%s/db", dir);
	const struct wf_file *db = &m->files.db, *wal = &m->files.wal, *jr = &m->files.journal;
	int rc = write_copy(path, db->present ? db->data : NULL, db->present ? db->size : 0,
			    db->present ? db->fd : -1, err, errlen);
	/*
	 * The WAL as SQLite would find it: all of it for the effective state
	 * (SQLite's own recovery picks the valid prefix), the frames up to the
	 * commit frame of K for commit=K (recovery then stops there), none for
	 * the database file alone.
	 */
	uint64_t wal_bytes = 0;
	if (k == MODEL_LAST)
		wal_bytes = wal->present ? wal->size : 0;
	else if (k > 0)
		wal_bytes = wal_frame_offset(m->wal.page_size, (uint64_t)model_commit_frame(m, k) + 1);
	if (!rc && wal->present && wal_bytes) {
		if (wal_bytes > wal->size)
			wal_bytes = wal->size;
		snprintf(side, sizeof side, "%s-wal", path);
		rc = write_copy(side, wal->data, wal_bytes, wal->fd, err, errlen);
	}
	/* dbhash rolls a hot journal back before reading; so does the copy. */
	if (!rc && k == MODEL_LAST && jr->present) {
		snprintf(side, sizeof side, "%s-journal", path);
		rc = write_copy(side, jr->data, jr->size, jr->fd, err, errlen);
	}
	rc = rc ? DBHASH_FAILED : dbhash_file(path, o, out, err, errlen);
	tmpdir_remove(dir);
	return rc;
}

void dbhash_hex(const uint8_t d[DBHASH_DIGEST], char out[2 * DBHASH_DIGEST + 1])
{
	static const char hx[] = "0123456789abcdef";
	for (unsigned i = 0; i < DBHASH_DIGEST; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * DBHASH_DIGEST] = '\0';
}
