/*
 * Nothing replays a WAL of another database (HOSTILE.md W16): `repair
 * --only checkpoint-offline` refuses it like wal-rechain, and `waldo
 * checkpoint` runs the pairing and lineage checks (checks_lineage) before
 * it lets libsqlite3 copy a frame.  The pair is built as test_lineage.c
 * builds it (two databases of 1024-byte pages; A next to B's WAL and -shm);
 * every refusal leaves the three files byte for byte as they were, and a
 * database with its own WAL is checkpointed as before.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "inspect/checks.h"
#include "inspect/cmd.h"
#include "inspect/model.h"

/* Run sql in a child that ends with _exit(0): the -wal and -shm stay. */
static void keep_wal(const char *db, const char *sql)
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		sqlite3 *h = NULL;
		if (sqlite3_open(db, &h) != SQLITE_OK ||
		    sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;", NULL, NULL, NULL) ||
		    sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		_exit(0);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

#define FILL(n, w) "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<" #n ") " \
		   "INSERT OR REPLACE INTO t(a, b) SELECT i, randomblob(" #w ") FROM s;"

/* a.db (checkpointed, 40 rows) next to the WAL and -shm of b.db. */
static const char *make_foreign(void)
{
	const char *a = tl_path("a.db"), *b = tl_path("b.db");
	tl_sql(a, "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; CREATE TABLE t(a INTEGER PRIMARY KEY, b);"
		  FILL(40, 300) "CREATE INDEX tb ON t(b);");
	tl_sql(b, "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; CREATE TABLE o(x, y); CREATE TABLE o2(z);"
		  "INSERT INTO o VALUES('foreign', 1);");
	keep_wal(b, "INSERT INTO o VALUES('more', 2); CREATE TABLE o3(w); INSERT INTO o2 VALUES(zeroblob(3000));");
	tl_copy(tl_path("b.db-wal"), tl_path("a.db-wal"));
	tl_copy(tl_path("b.db-shm"), tl_path("a.db-shm"));
	return a;
}

/* The bytes of db and its -wal and -shm, to compare after a refusal. */
struct snap {
	uint8_t *f[3];
	size_t n[3];
};

static void snap_take(const char *db, struct snap *s)
{
	const char *sfx[3] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		char p[4200];
		snprintf(p, sizeof p, "%s%s", db, sfx[i]);
		s->f[i] = tl_read(p, &s->n[i]);
	}
}

static bool snap_same(const char *db, const struct snap *a)
{
	struct snap b;
	snap_take(db, &b);
	bool same = true;
	for (int i = 0; i < 3; i++) {
		same &= a->n[i] == b.n[i] && !memcmp(a->f[i], b.f[i], a->n[i]);
		free(b.f[i]);
	}
	return same;
}

static void snap_free(struct snap *s)
{
	for (int i = 0; i < 3; i++)
		free(s->f[i]);
}

/* Run cmd_NAME(argv) in a child; its stdout and stderr into *out (NUL-terminated); returns its status. */
static int run_cmd(int (*fn)(int, char **), char **argv, char *out, size_t n)
{
	const char *path = tl_path("cmd-out.txt");
	int st = tl_run_cmd(fn, argv, path, NULL);
	tl_read_text(path, out, n);
	return st;
}

TEST(foreign_lineage_check_alone)
{
	const char *a = make_foreign();
	struct model m;
	char err[512];
	CHECK_EQ(model_open(&m, a, NULL, NULL, err, sizeof err), 0);
	checks_lineage(&m);
	CHECK_EQ(wd_count(&m.diags, WD_WAL_FOREIGN), 1);
	CHECK_EQ(wd_count(&m.diags, WD_SQLITE_INTEGRITY_FAILED), 0);   /* only what was asked */
	model_close(&m);
	CHECK_EQ(model_open(&m, tl_path("b.db"), NULL, NULL, err, sizeof err), 0);
	checks_lineage(&m);
	CHECK_EQ(wd_count(&m.diags, WD_WAL_FOREIGN), 0);               /* B with its own WAL */
	model_close(&m);
}

TEST(foreign_repair_checkpoint_offline_refuses)
{
	const char *a = make_foreign();
	struct snap s;
	snap_take(a, &s);
	static char out[1 << 15];
	char *plan[] = { "repair", "--only", "checkpoint-offline", (char *)a, NULL };
	CHECK_EQ(run_cmd(cmd_repair, plan, out, sizeof out), 2);
	CHECK(strstr(out, "[refused] checkpoint-offline"));
	CHECK(strstr(out, "another database's (WAL_FOREIGN"));
	char *apply[] = { "repair", "--only", "checkpoint-offline", "--in-place", "--yes", (char *)a, NULL };
	CHECK_EQ(run_cmd(cmd_repair, apply, out, sizeof out), 2);
	CHECK(snap_same(a, &s));
	tl_copy(a, tl_path("alone.db"));                                 /* the file itself: A's rows */
	CHECK_EQ(tl_query_int(tl_path("alone.db"), "SELECT count(*) FROM t"), 40);
	snap_free(&s);
}

TEST(foreign_checkpoint_refuses_before_any_connection)
{
	const char *a = make_foreign();
	struct snap s;
	snap_take(a, &s);
	static char out[1 << 15];
	char *argv[] = { "checkpoint", (char *)a, NULL };
	CHECK_EQ(run_cmd(cmd_checkpoint, argv, out, sizeof out), 2);
	CHECK(strstr(out, "refusing to checkpoint"));
	CHECK(strstr(out, "(WAL_FOREIGN: commit 1 sets"));              /* the evidence, named */
	CHECK(strstr(out, "a.db-wal' is probably not the WAL of"));
	char *json[] = { "checkpoint", "--json", "--mode", "truncate", "--save-undo", (char *)tl_path("set"),
			 (char *)a, NULL };
	CHECK_EQ(run_cmd(cmd_checkpoint, json, out, sizeof out), 2);
	CHECK(strstr(out, "\"status\":\"error\""));
	CHECK(strstr(out, "\"exit\":2"));
	CHECK(!tl_exists(tl_path("set")));
	CHECK(snap_same(a, &s));                                         /* not even the -shm */
	snap_free(&s);
}

TEST(foreign_checkpoint_own_wal_still_runs)
{
	make_foreign();
	const char *b = tl_path("b.db");
	static char out[1 << 15];
	char *argv[] = { "checkpoint", "--mode", "truncate", (char *)b, NULL };
	CHECK_EQ(run_cmd(cmd_checkpoint, argv, out, sizeof out), 0);
	CHECK_EQ(tl_size(tl_path("b.db-wal")), 0);
	CHECK_EQ(tl_query_int(b, "SELECT count(*) FROM o"), 2);
}
