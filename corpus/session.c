/*
 * session.c — libsqlite3 sessions in forked children, and the workload.
 *
 * Every session that writes a case's files runs in a child process, for
 * two reasons.  A child can end with _exit() while its connection is still
 * open, which is exactly how a crash leaves the -wal and -shm behind.  And
 * SQLite's unix VFS keeps per-process lock bookkeeping (unixInodeInfo) that
 * a forked child must not inherit from a parent holding connections: the
 * parent of a session therefore never has a connection open on the files
 * the child touches.
 */
#include "corpus.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

sqlite3 *db_open(const char *path)
{
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		die("cannot open '%s': %s", path, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
	return h;
}

void sql(sqlite3 *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *q = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	char *err = NULL;
	if (!q)
		die("out of memory");
	if (sqlite3_exec(h, q, NULL, NULL, &err) != SQLITE_OK)
		die("sql failed: %s (in: %.200s)", err ? err : sqlite3_errmsg(h), q);
	sqlite3_free(q);
}

long long sql_int(sqlite3 *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *q = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	sqlite3_stmt *st = NULL;
	if (!q || sqlite3_prepare_v2(h, q, -1, &st, NULL) != SQLITE_OK)
		die("sql failed: %s (in: %.200s)", sqlite3_errmsg(h), q ? q : "?");
	long long v = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		die("sql failed: %s (in: %.200s)", sqlite3_errmsg(h), q);
	sqlite3_finalize(st);
	sqlite3_free(q);
	return v;
}

void db_create(sqlite3 *h, unsigned page_size, int auto_vacuum, bool wal)
{
	/* Page size and auto-vacuum must be set before the first page is written,
	 * which switching to WAL mode does. */
	sql(h, "PRAGMA page_size=%u; PRAGMA auto_vacuum=%d; PRAGMA journal_mode=%s;",
	    page_size, auto_vacuum, wal ? "WAL" : "DELETE");
	if (sql_int(h, "PRAGMA page_size") != page_size)
		die("page size %u did not take", page_size);
}

static void child_start(struct gen *g, uint64_t s)
{
	cg_in_child = 1;
	prng_seed(&g->rng, s);
	det_vfs_reseed(s);
}

static void child_wait(pid_t pid, const char *what)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("%s child failed (status %d)", what, st);
}

void sess_run(struct gen *g, const char *db, enum sess_end end, sess_fn fn, void *arg)
{
	uint64_t s = prng_next(&g->rng);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		child_start(g, s);
		sqlite3 *h = db_open(db);
		sql(h, "PRAGMA wal_autocheckpoint=0; PRAGMA synchronous=OFF;");
		fn(g, h, arg);
		if (end == SESS_CLOSE && sqlite3_close(h) != SQLITE_OK)
			die("sqlite3_close failed: %s", sqlite3_errmsg(h));
		_exit(0);
	}
	child_wait(pid, "session");
}

void wl_checkpoint(sqlite3 *h, const char *mode)
{
	int m = !strcmp(mode, "PASSIVE") ? SQLITE_CHECKPOINT_PASSIVE
	      : !strcmp(mode, "FULL") ? SQLITE_CHECKPOINT_FULL
	      : !strcmp(mode, "RESTART") ? SQLITE_CHECKPOINT_RESTART
	      : SQLITE_CHECKPOINT_TRUNCATE;
	int nlog = 0, nckpt = 0;
	int rc = sqlite3_wal_checkpoint_v2(h, NULL, m, &nlog, &nckpt);
	if (rc != SQLITE_OK)
		die("checkpoint %s failed: %s", mode, sqlite3_errmsg(h));
}

/* ---- the workload --------------------------------------------------------- */

static const char *const words[] = {
	"anchor", "bolt", "cable", "drill", "easel", "flask", "gear", "hinge",
	"inkwell", "jar", "kettle", "lamp", "magnet", "nail", "oar", "pump",
	"quill", "rope", "saw", "tape", "umbrella", "valve", "wire", "yarn",
};
static const char *const kinds[] = { "sale", "refund", "restock", "audit", "note" };

void wl_schema(sqlite3 *h)
{
	sql(h, "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER,"
	       " price REAL, tag BLOB);"
	       "CREATE INDEX items_name ON items(name);"
	       "CREATE TABLE docs(id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, body TEXT);"
	       "CREATE TABLE events(ts INTEGER, kind TEXT, note TEXT);");
}

static void rand_text(struct prng *r, char *buf, size_t len)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz      ";
	for (size_t i = 0; i < len; i++)
		buf[i] = alpha[prng_below(r, sizeof alpha - 1)];
	buf[len] = '\0';
}

static sqlite3_stmt *prep(sqlite3 *h, const char *q)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, q, -1, &st, NULL) != SQLITE_OK)
		die("prepare failed: %s (in: %s)", sqlite3_errmsg(h), q);
	return st;
}

static void step_done(sqlite3 *h, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die("step failed: %s (in: %s)", sqlite3_errmsg(h), sqlite3_sql(st));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void wl_changes(struct gen *g, sqlite3 *h, int nrows)
{
	struct prng *r = &g->rng;
	sqlite3_stmt *ins = prep(h, "INSERT INTO items(name, qty, price, tag) VALUES(?,?,?,?)");
	bool events = sql_int(h, "SELECT count(*) FROM sqlite_schema WHERE name='events'") > 0;
	sqlite3_stmt *ev = events ? prep(h, "INSERT INTO events(ts, kind, note) VALUES(?,?,?)") : NULL;
	char name[64], note[200];
	uint8_t tag[16];
	for (int i = 0; i < nrows; i++) {
		snprintf(name, sizeof name, "%s-%u", words[prng_below(r, 24)], prng_below(r, 10000));
		size_t ntag = 4 + prng_below(r, 13);
		prng_bytes(r, tag, ntag);
		sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(ins, 2, (int)prng_below(r, 500));
		sqlite3_bind_double(ins, 3, (double)prng_below(r, 100000) / 100.0);
		sqlite3_bind_blob(ins, 4, tag, (int)ntag, SQLITE_TRANSIENT);
		step_done(h, ins);
	}
	rand_text(r, note, 20 + prng_below(r, 100));
	/* The mini schema (65536-byte pages) has only the items table. */
	if (!events)
		goto done;
	sqlite3_bind_int64(ev, 1, 1704067200 + (sqlite3_int64)prng_below(r, 86400 * 30));
	sqlite3_bind_text(ev, 2, kinds[prng_below(r, 5)], -1, SQLITE_STATIC);
	sqlite3_bind_text(ev, 3, note, -1, SQLITE_TRANSIENT);
	step_done(h, ev);
done:
	sqlite3_finalize(ins);
	sqlite3_finalize(ev);
	long long n = sql_int(h, "SELECT max(id) FROM items");
	if (n > 0)
		sql(h, "UPDATE items SET qty = qty + %u WHERE id = %lld",
		    prng_below(r, 9) + 1, 1 + (long long)prng_below(r, (uint32_t)n));
}

void wl_big_doc(struct gen *g, sqlite3 *h)
{
	struct prng *r = &g->rng;
	unsigned ps = (unsigned)sql_int(h, "PRAGMA page_size");
	size_t len = 2 * (size_t)ps + prng_below(r, ps);
	if (len > 20000)
		len = 12000 + prng_below(r, 4000);
	wl_doc(g, h, len);
}

void wl_doc(struct gen *g, sqlite3 *h, size_t len)
{
	struct prng *r = &g->rng;
	char *body = malloc(len + 1);
	char title[40];
	if (!body)
		die("out of memory");
	rand_text(r, body, len);
	rand_text(r, title, 12 + prng_below(r, 20));
	sqlite3_stmt *st = prep(h, "INSERT INTO docs(title, body) VALUES(?,?)");
	sqlite3_bind_text(st, 1, title, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, body, (int)len, SQLITE_TRANSIENT);
	step_done(h, st);
	sqlite3_finalize(st);
	free(body);
}

void wl_commit(struct gen *g, sqlite3 *h)
{
	sql(h, "BEGIN");
	wl_changes(g, h, 1 + (int)prng_below(&g->rng, 4));
	if (prng_below(&g->rng, 5) == 0)
		wl_big_doc(g, h);
	sql(h, "COMMIT");
}

void wl_commits(struct gen *g, sqlite3 *h, int n)
{
	for (int i = 0; i < n; i++)
		wl_commit(g, h);
}

void wl_delete_some(struct gen *g, sqlite3 *h, int pct)
{
	unsigned salt = prng_below(&g->rng, 100);
	sql(h, "DELETE FROM items WHERE (id * 37 + %u) %% 100 < %d;"
	       "DELETE FROM docs WHERE (id * 11 + %u) %% 100 < %d;",
	    salt, pct, salt, pct);
}
