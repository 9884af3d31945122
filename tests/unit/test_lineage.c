/*
 * The database file against the WAL beside it (inspect/checks.c, "lineage"):
 * a WAL of another database with the same page size and encoding is
 * WAL_FOREIGN, and the states real libsqlite3 leaves — WAL restarts within
 * a process, VACUUM, checkpoints that round the file up to a chunk size and
 * keep old pages in the rounding — are not.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "inspect/checks.h"
#include "inspect/cmd.h"
#include "inspect/model.h"

/* WAL_FOREIGN findings of db (no integrity check); the first message into msg. */
static size_t foreign_of(const char *db, char *msg, size_t n)
{
	struct model m;
	char err[512];
	if (model_open(&m, db, NULL, NULL, err, sizeof err))
		tl_fail(__FILE__, __LINE__, "%s", err);
	struct check_opts o = { .sqlite = false, .locks = false };
	struct check_result r;
	checks_run(&m, &o, &r);
	size_t k = wd_count(&m.diags, WD_WAL_FOREIGN);
	if (msg && n) {
		msg[0] = '\0';
		for (size_t i = 0; i < m.diags.n; i++)
			if (m.diags.v[i].code == WD_WAL_FOREIGN) {
				snprintf(msg, n, "%s", m.diags.v[i].msg);
				break;
			}
	}
	model_close(&m);
	return k;
}

/*
 * Run sql in a child that ends with _exit(0) (the -wal and -shm stay), with
 * SQLITE_FCNTL_CHUNK_SIZE set to `chunk` bytes when non-zero.
 */
static void keep_wal_chunk(const char *db, int chunk, const char *sql)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		tl_fail(__FILE__, __LINE__, "fork failed");
	if (pid == 0) {
		sqlite3 *h = NULL;
		char *err = NULL;
		if (sqlite3_open(db, &h) != SQLITE_OK ||
		    sqlite3_exec(h, "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;",
				 NULL, NULL, &err) != SQLITE_OK)
			_exit(1);
		if (chunk && sqlite3_file_control(h, "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk) != SQLITE_OK)
			_exit(2);
		if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
			fprintf(stderr, "# keep_wal_chunk: %s\n", err ? err : "?");
			_exit(3);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		tl_fail(__FILE__, __LINE__, "keep_wal_chunk child failed (%d)", WEXITSTATUS(st));
}

#define FILL(n, w) "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<" #n ") " \
		   "INSERT OR REPLACE INTO t(a, b) SELECT i, randomblob(" #w ") FROM s;"

/* Database A (15+ pages, checkpointed) and database B (small, its WAL kept). */
static void make_pair(const char *a, const char *b)
{
	tl_sql(a, "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; CREATE TABLE t(a INTEGER PRIMARY KEY, b);"
		  FILL(40, 300) "CREATE INDEX tb ON t(b);");
	tl_sql(b, "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; CREATE TABLE o(x, y); CREATE TABLE o2(z);"
		  "INSERT INTO o VALUES('foreign', 1);");
	/* commit 1 rewrites one page and leaves page 1 alone; later commits grow the database */
	keep_wal_chunk(b, 0, "INSERT INTO o VALUES('more', 2); CREATE TABLE o3(w);"
			     "INSERT INTO o2 VALUES(zeroblob(3000));");
}

TEST(lineage_wal_and_shm_of_another_database_are_foreign)
{
	const char *a = tl_path("a.db"), *b = tl_path("b.db");
	make_pair(a, b);
	CHECK_EQ(foreign_of(b, NULL, 0), 0);               /* B with its own files */
	tl_copy(tl_path("b.db-wal"), tl_path("a.db-wal"));
	tl_copy(tl_path("b.db-shm"), tl_path("a.db-shm"));
	char msg[256];
	CHECK_EQ(foreign_of(a, msg, sizeof msg), 1);
	CHECK(strstr(msg, "without writing page 1") && strstr(msg, "-shm says none was checkpointed"));
	CHECK(strstr(msg, "probable mispairing"));
}

TEST(lineage_wal_of_another_database_without_shm_is_foreign)
{
	/* No -shm: nothing says whether a checkpoint ran, but A's pages past
	 * every size B's WAL gives hold data no checkpoint of it could write. */
	const char *a = tl_path("a.db"), *b = tl_path("b.db");
	make_pair(a, b);
	tl_copy(tl_path("b.db-wal"), tl_path("a.db-wal"));
	char msg[256];
	CHECK_EQ(foreign_of(a, msg, sizeof msg), 1);
	CHECK(strstr(msg, "is a b-tree page, but no commit of the WAL makes the database larger than"));
}

TEST(lineage_lower_schema_cookie_is_foreign_heuristic)
{
	/* A pair that is fine by size and extent, with the file's schema cookie
	 * raised above every page 1 in the WAL. */
	const char *db = tl_path("c.db");
	tl_sql(db, "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; CREATE TABLE t(a INTEGER PRIMARY KEY, b);");
	keep_wal_chunk(db, 0, "CREATE TABLE u(x); INSERT INTO u VALUES(1);");
	CHECK_EQ(foreign_of(db, NULL, 0), 0);
	uint8_t be[4];
	wr_be32(be, 1000);
	tl_patch(db, 40, be, 4);
	char msg[256];
	CHECK_EQ(foreign_of(db, msg, sizeof msg), 1);
	CHECK(strstr(msg, "schema cookie") && strstr(msg, "(heuristic)"));
}

TEST(lineage_restart_after_vacuum_with_chunk_size_is_not_foreign)
{
	/*
	 * A checkpoint truncates the file to the last commit's size rounded up
	 * to the chunk (64 KiB here), keeping pages of the larger database in
	 * the rounding; the WAL then restarts inside the process and its first
	 * commit, which leaves page 1 alone, has the size before the restart.
	 */
	const char *db = tl_path("chunk.db");
	keep_wal_chunk(db, 65536,
		       "CREATE TABLE t(a INTEGER PRIMARY KEY, b);" FILL(200, 800)
		       "PRAGMA wal_checkpoint(PASSIVE); DELETE FROM t WHERE a > 5; VACUUM;"
		       "PRAGMA wal_checkpoint(PASSIVE); UPDATE t SET b = randomblob(800) WHERE a = 2;");
	uint64_t size = tl_size(db);
	CHECK_EQ(size % 65536, 0);
	size_t n;
	uint8_t *p = tl_read(db, &n);
	uint32_t hdr_pages = rd_be32(p + 28);
	CHECK(hdr_pages < size / 1024);                    /* old pages kept past the size */
	bool data_past = false;
	for (uint64_t pg = hdr_pages + 1; pg <= size / 1024 && !data_past; pg++)
		for (size_t i = 0; i < 1024; i++)
			if (p[(pg - 1) * 1024 + i]) {
				data_past = true;
				break;
			}
	free(p);
	CHECK(data_past);
	CHECK(tl_size(tl_path("chunk.db-wal")) > 0);
	CHECK_EQ(foreign_of(db, NULL, 0), 0);
	unlink(tl_path("chunk.db-shm"));                   /* and without the -shm */
	CHECK_EQ(foreign_of(db, NULL, 0), 0);
}

TEST(lineage_states_sqlite_leaves_are_not_foreign)
{
	/* VACUUM shrinking the database in the WAL, a restart without a chunk,
	 * incremental vacuum, a database grown and shrunk across commits. */
	static const char *const sql[] = {
		"CREATE TABLE t(a INTEGER PRIMARY KEY, b);" FILL(100, 500) "PRAGMA wal_checkpoint(PASSIVE);"
		"DELETE FROM t WHERE a > 10; VACUUM;",
		"CREATE TABLE t(a INTEGER PRIMARY KEY, b);" FILL(100, 500) "PRAGMA wal_checkpoint(PASSIVE);"
		"DELETE FROM t WHERE a > 10; VACUUM; PRAGMA wal_checkpoint(PASSIVE);"
		"UPDATE t SET b = randomblob(500) WHERE a = 3;",
		"PRAGMA auto_vacuum=INCREMENTAL; CREATE TABLE t(a INTEGER PRIMARY KEY, b);" FILL(100, 500)
		"PRAGMA wal_checkpoint(PASSIVE); DELETE FROM t WHERE a > 10; PRAGMA incremental_vacuum(20);"
		"UPDATE t SET b = randomblob(500) WHERE a = 4;",
		"CREATE TABLE t(a INTEGER PRIMARY KEY, b);" FILL(30, 500) "PRAGMA wal_checkpoint(TRUNCATE);"
		"UPDATE t SET b = randomblob(500) WHERE a = 1;" FILL(60, 700) "DELETE FROM t; VACUUM;",
	};
	for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
		const char *db = tl_path("s%zu.db", i);
		keep_wal_chunk(db, 0, sql[i]);
		char msg[256];
		if (foreign_of(db, msg, sizeof msg))
			tl_fail(__FILE__, __LINE__, "scenario %zu: %s", i, msg);
	}
}

/* `waldo repair ARGS…` in a child; stdout into out (n bytes); returns the exit status. */
static int run_repair(char *out, size_t n, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { "repair", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	const char *path = tl_path("repair-out.txt");
	int st = tl_run_cmd(cmd_repair, argv, path, "/dev/null");
	tl_read_text(path, out, n);
	return st;
}

TEST(lineage_repair_detaches_a_foreign_wal_and_never_replays_it)
{
	const char *a = tl_path("a.db"), *b = tl_path("b.db");
	make_pair(a, b);
	tl_copy(tl_path("b.db-wal"), tl_path("a.db-wal"));
	tl_copy(tl_path("b.db-shm"), tl_path("a.db-shm"));
	static char out[1 << 15];
	CHECK_EQ(run_repair(out, sizeof out, a, NULL, NULL, NULL), 1);
	CHECK(strstr(out, "[apply] wal-detach (fix)"));
	CHECK(strstr(out, "addresses: WAL_FOREIGN"));
	CHECK(!strstr(out, "[apply] checkpoint-offline") && !strstr(out, "[apply] wal-rechain") &&
	      !strstr(out, "[apply] wal-synth"));
	CHECK_EQ(run_repair(out, sizeof out, a, "--in-place", "--yes", NULL), 0);
	CHECK(!tl_exists(tl_path("a.db-wal")) && !tl_exists(tl_path("a.db-shm")));
	CHECK_EQ(tl_query_int(a, "SELECT count(*) FROM t"), 40);     /* A's own rows, none of B's */
	CHECK_EQ(foreign_of(a, NULL, 0), 0);
}
