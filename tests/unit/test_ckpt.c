/*
 * waldo checkpoint --save-undo, waldo rollback and waldo backup on files
 * real libsqlite3 made: the database file after checkpoint + rollback is
 * the pre-checkpoint file byte for byte (page sizes 512, 4096, 65536; a
 * checkpoint that grows the file, one that shrinks it); the kept WAL comes
 * back; refusals write nothing; a rollback killed after any write step is
 * finished by the next run; backups equal the state they were taken from.
 *
 * Every waldo command runs in a child process: the crash hook of
 * repair/rio.h reads WALDO_CRASH_AFTER once per process, and getopt and
 * stdout stay the test's own.
 */
#include <dirent.h>
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
#include "inspect/cmd.h"
#include "repair/ckpt_common.h"
#include "repair/pageset.h"

typedef int (*cmd_fn)(int, char **);

/*
 * Run a command in a child: argv NULL-terminated; crash_after > 0 sets
 * WALDO_CRASH_AFTER.  Returns the exit status, or -SIGNAL when killed.
 */
static int run_in_child(cmd_fn fn, long crash_after, char **argv)
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (crash_after > 0) {
			char v[32];
			snprintf(v, sizeof v, "%ld", crash_after);
			setenv("WALDO_CRASH_AFTER", v, 1);
		}
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0 && !getenv("TEST_CKPT_VERBOSE")) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		int argc = 0;
		while (argv[argc])
			argc++;
		exit(fn(argc, argv));      /* exit, not _exit: LeakSanitizer runs at exit */
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		return -WTERMSIG(st);
	return WEXITSTATUS(st);
}

#define RUN(fn, ...) run_in_child(fn, 0, (char *[]){ __VA_ARGS__, NULL })

static bool same_file(const char *a, const char *b)
{
	size_t na, nb;
	uint8_t *pa = tl_read(a, &na), *pb = tl_read(b, &nb);
	bool same = na == nb && !memcmp(pa, pb, na);
	free(pa);
	free(pb);
	return same;
}

/* A WAL database of `ps`-byte pages with `rows` rows of ~ps/2 bytes, checkpointed. */
static const char *make_db(unsigned ps, int rows)
{
	const char *db = tl_path("db");
	tl_make_db(db, ps, true);
	char sql[512];
	snprintf(sql, sizeof sql,
		 "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX tv ON t(length(v));"
		 "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<%d) "
		 "INSERT INTO t(v) SELECT randomblob(%u + i %% 7) FROM s;", rows, ps / 2);
	tl_sql(db, sql);
	return db;
}

/* Copy db, db-wal and db-shm (those present) to PREFIX, PREFIX-wal, PREFIX-shm. */
static void save_trio(const char *db, const char *prefix)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		char s[4096], d[4096];
		snprintf(s, sizeof s, "%s%s", db, sfx[i]);
		snprintf(d, sizeof d, "%s%s", prefix, sfx[i]);
		unlink(d);
		if (tl_exists(s))
			tl_copy(s, d);
	}
}

/* The reverse: db's trio becomes exactly PREFIX's (missing files removed). */
static void restore_trio(const char *prefix, const char *db)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		char s[4096], d[4096];
		snprintf(s, sizeof s, "%s%s", prefix, sfx[i]);
		snprintf(d, sizeof d, "%s%s", db, sfx[i]);
		unlink(d);
		if (tl_exists(s))
			tl_copy(s, d);
	}
}

static int checkpoint_undo(const char *db, const char *set, const char *mode, bool keep)
{
	if (keep)
		return RUN(cmd_checkpoint, "checkpoint", "--mode", (char *)mode, "--save-undo", (char *)set, "--keep-wal",
			   (char *)db);
	return RUN(cmd_checkpoint, "checkpoint", "--mode", (char *)mode, "--save-undo", (char *)set, (char *)db);
}

/* The whole round trip for one page size; `sql` runs in a WAL left behind. */
static void roundtrip(unsigned ps, int rows, const char *sql, const char *mode, int want_growth)
{
	char db[4096], pre[4096], set[4096], wal[4200];
	snprintf(db, sizeof db, "%s", make_db(ps, rows));
	snprintf(pre, sizeof pre, "%s", tl_path("pre.db"));
	snprintf(set, sizeof set, "%s", tl_path("set"));
	snprintf(wal, sizeof wal, "%s-wal", db);
	tl_sql_keep_wal(db, sql);
	CHECK(tl_size(wal) > 32);
	tl_copy(db, pre);
	uint64_t before = tl_size(db);
	CHECK_EQ(checkpoint_undo(db, set, mode, false), 0);
	uint64_t after = tl_size(db);
	if (want_growth > 0)
		CHECK(after > before);
	else if (want_growth < 0)
		CHECK(after < before);
	CHECK(!same_file(db, pre));
	/* The set: FILE_HASH of the pre-checkpoint file, WAL_IDS, page 1, proportional to the WAL. */
	struct pageset s;
	char err[512];
	CHECK_EQ(pageset_open(&s, set, err, sizeof err), 0);
	CHECK(s.info.flags & PAGESET_F_FILE_HASH);
	CHECK(s.info.flags & PAGESET_F_WAL_IDS);
	CHECK_EQ(s.info.file_size, before);
	CHECK_EQ(s.info.db_pages, before / ps);
	CHECK_EQ(s.info.page_size, ps);
	CHECK_EQ(pageset_find(&s, 1), 0);
	uint8_t sha[RIO_SHA];
	uint64_t sz;
	CHECK_EQ(rio_sha256_file(pre, sha, &sz, err, sizeof err), 1);
	CHECK_MEM(sha, s.info.file_sha256, RIO_SHA);
	pageset_close(&s);

	CHECK_EQ(RUN(cmd_rollback, "rollback", db, set), 0);
	CHECK(same_file(db, pre));
	/* SQLite agrees, and a second run has nothing to do. */
	char ok[64];
	tl_query_text(db, "PRAGMA integrity_check", ok, sizeof ok);
	CHECK_STR(ok, "ok");
	CHECK_EQ(RUN(cmd_rollback, "rollback", db, set), 0);
	CHECK(same_file(db, pre));
}

TEST(ckpt_undo_512_grows)
{
	roundtrip(512, 40, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<60) "
		  "INSERT INTO t(v) SELECT randomblob(300) FROM s; UPDATE t SET v=randomblob(20) WHERE id%5=0;",
		  "truncate", 1);
}

TEST(ckpt_undo_4096_updates)
{
	roundtrip(4096, 60, "UPDATE t SET v=randomblob(100) WHERE id%3=0; DELETE FROM t WHERE id%7=0;", "full", 0);
}

TEST(ckpt_undo_65536_grows)
{
	roundtrip(65536, 8, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<12) "
		  "INSERT INTO t(v) SELECT randomblob(40000) FROM s;", "restart", 1);
}

TEST(ckpt_undo_vacuum_shrinks)
{
	/* VACUUM in the WAL: the last commit's size is smaller, the checkpoint cuts the file. */
	roundtrip(4096, 200, "DELETE FROM t WHERE id > 20; VACUUM;", "truncate", -1);
}

TEST(ckpt_undo_passive_default)
{
	roundtrip(1024, 50, "UPDATE t SET v=randomblob(10) WHERE id<20;", "passive", 0);
}

TEST(ckpt_keep_wal_restores_the_pair)
{
	const char *db0 = make_db(1024, 50);
	char db[4096], set[4096], wal[4200], shm[4200];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	snprintf(wal, sizeof wal, "%s-wal", db);
	snprintf(shm, sizeof shm, "%s-shm", db);
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(50) WHERE id%2=0; INSERT INTO t(v) VALUES(randomblob(3000));");
	save_trio(db, tl_path("pre"));
	long long n_before = tl_query_int(db, "SELECT count(*) FROM t WHERE length(v)=50");
	CHECK(n_before > 0);
	CHECK_EQ(checkpoint_undo(db, set, "truncate", true), 0);
	CHECK_EQ(tl_size(wal), 0);
	char kept[4200];
	snprintf(kept, sizeof kept, "%s.wal", set);
	CHECK(same_file(kept, tl_path("pre-wal")));
	CHECK_EQ(RUN(cmd_rollback, "rollback", "--keep-wal", db, set), 0);
	CHECK(same_file(db, tl_path("pre")));
	CHECK(same_file(wal, tl_path("pre-wal")));
	CHECK(!tl_exists(shm));
	CHECK_EQ(tl_query_int(db, "SELECT count(*) FROM t WHERE length(v)=50"), n_before);
	/* A damaged kept WAL is refused before anything is written. */
	tl_flip(kept, 100, 1);
	CHECK_EQ(RUN(cmd_rollback, "rollback", "--keep-wal", db, set), EXIT_DATAERR);
}

TEST(ckpt_rollback_dry_run_writes_nothing)
{
	const char *db0 = make_db(4096, 30);
	char db[4096], set[4096];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(9) WHERE id<10;");
	CHECK_EQ(checkpoint_undo(db, set, "truncate", false), 0);
	save_trio(db, tl_path("post"));
	CHECK_EQ(RUN(cmd_rollback, "rollback", "--dry-run", db, set), EXIT_WARNINGS);
	CHECK(same_file(db, tl_path("post")));
	char wal[4200];
	snprintf(wal, sizeof wal, "%s-wal", db);
	CHECK(same_file(wal, tl_path("post-wal")));
}

/* A child that keeps a read transaction open on db until told (by closing fd). */
static pid_t hold_reader(const char *db, int *release_fd)
{
	int go[2], ready[2];
	CHECK(pipe(go) == 0 && pipe(ready) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		sqlite3 *h = NULL;
		if (sqlite3_open(db, &h) != SQLITE_OK ||
		    sqlite3_exec(h, "BEGIN; SELECT count(*) FROM t;", NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		char c;
		while (read(go[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	*release_fd = go[1];
	return pid;
}

static void release_reader(pid_t pid, int fd)
{
	close(fd);
	int st;
	waitpid(pid, &st, 0);
}

TEST(ckpt_rollback_refuses_while_in_use)
{
	const char *db0 = make_db(4096, 30);
	char db[4096], set[4096];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(9) WHERE id<10;");
	CHECK_EQ(checkpoint_undo(db, set, "truncate", false), 0);
	save_trio(db, tl_path("post"));
	int fd;
	pid_t r = hold_reader(db, &fd);
	CHECK_EQ(RUN(cmd_rollback, "rollback", db, set), EXIT_TEMPFAIL);
	release_reader(r, fd);
	CHECK(same_file(db, tl_path("post")));
}

TEST(ckpt_rollback_refuses_newer_commits)
{
	const char *db0 = make_db(4096, 40);
	char db[4096], set[4096], pre[4096];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	snprintf(pre, sizeof pre, "%s", tl_path("pre.db"));
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(9) WHERE id<10;");
	tl_copy(db, pre);
	CHECK_EQ(checkpoint_undo(db, set, "truncate", false), 0);
	/* A commit after the checkpoint, still in the (new) WAL: a rollback would lose it. */
	tl_sql_keep_wal(db, "INSERT INTO t(v) VALUES(randomblob(5000));");
	save_trio(db, tl_path("post"));
	CHECK_EQ(RUN(cmd_rollback, "rollback", db, set), EXIT_ERRORS);
	CHECK(same_file(db, tl_path("post")));
	/* With --force it goes: the file is the pre-checkpoint file again. */
	CHECK_EQ(RUN(cmd_rollback, "rollback", "--force", db, set), 0);
	CHECK(same_file(db, pre));
}

TEST(ckpt_rollback_refuses_a_file_changed_since)
{
	const char *db0 = make_db(4096, 40);
	char db[4096], set[4096];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(9) WHERE id<10;");
	CHECK_EQ(checkpoint_undo(db, set, "truncate", false), 0);
	/* More commits, checkpointed too: pages outside the set changed. */
	tl_sql(db, "UPDATE t SET v=randomblob(11) WHERE id>30;");
	save_trio(db, tl_path("post"));
	CHECK_EQ(RUN(cmd_rollback, "rollback", db, set), EXIT_ERRORS);
	CHECK(same_file(db, tl_path("post")));
}

TEST(ckpt_rollback_finishes_a_partial_write_back)
{
	/* As if SQLite's checkpoint of the synthetic WAL (or a hand-made rollback) stopped
	 * half-way: every other saved page written back, page 1 not. */
	const char *db0 = make_db(1024, 80);
	char db[4096], set[4096], pre[4096];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	snprintf(pre, sizeof pre, "%s", tl_path("pre.db"));
	tl_sql_keep_wal(db, "DELETE FROM t WHERE id>10; UPDATE t SET v=randomblob(7);");
	tl_copy(db, pre);
	CHECK_EQ(checkpoint_undo(db, set, "truncate", false), 0);
	struct pageset s;
	char err[512];
	CHECK_EQ(pageset_open(&s, set, err, sizeof err), 0);
	CHECK_EQ(pageset_rewind(&s, err, sizeof err), 0);
	uint8_t page[1024];
	uint32_t pg;
	int fd = open(db, O_WRONLY);
	CHECK(fd >= 0);
	for (int i = 0; pageset_next(&s, page, &pg, err, sizeof err) == 1; i++)
		if (pg != 1 && i % 2)
			CHECK(pwrite(fd, page, sizeof page, (off_t)(pg - 1) * 1024) == (ssize_t)sizeof page);
	close(fd);
	pageset_close(&s);
	CHECK(!same_file(db, pre));
	CHECK_EQ(RUN(cmd_rollback, "rollback", db, set), 0);
	CHECK(same_file(db, pre));
}

/*
 * Kill the rollback after each of its write steps in turn; the next run
 * must reach the verified pre-checkpoint state every time.
 */
static void crash_loop(bool keep)
{
	const char *db0 = make_db(1024, 60);
	char db[4096], set[4096], wal[4200], shm[4200], post[4096], pre[4096];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	snprintf(wal, sizeof wal, "%s-wal", db);
	snprintf(shm, sizeof shm, "%s-shm", db);
	snprintf(post, sizeof post, "%s", tl_path("post"));
	snprintf(pre, sizeof pre, "%s", tl_path("pre"));
	tl_sql_keep_wal(db, "DELETE FROM t WHERE id%4=0; UPDATE t SET v=randomblob(33) WHERE id%3=0;");
	save_trio(db, pre);
	CHECK_EQ(checkpoint_undo(db, set, "truncate", keep), 0);
	save_trio(db, post);
	char prewal[4200];
	snprintf(prewal, sizeof prewal, "%s-wal", pre);
	int crashes = 0;
	for (long n = 1; n < 200; n++) {
		restore_trio(post, db);
		int st = run_in_child(cmd_rollback, n, keep ? (char *[]){ "rollback", "--keep-wal", db, set, NULL }
							  : (char *[]){ "rollback", db, set, NULL });
		if (st == -SIGKILL) {
			crashes++;
			st = keep ? RUN(cmd_rollback, "rollback", "--keep-wal", db, set) : RUN(cmd_rollback, "rollback", db, set);
		}
		if (st != 0)
			tl_fail(__FILE__, __LINE__, "crash after step %ld: the next run exits %d", n, st);
		if (!same_file(db, pre))
			tl_fail(__FILE__, __LINE__, "crash after step %ld: the database is not the pre-checkpoint file", n);
		if (keep && (!same_file(wal, prewal) || tl_exists(shm)))
			tl_fail(__FILE__, __LINE__, "crash after step %ld: the WAL is not the kept one", n);
		if (crashes < n)
			break;          /* the run finished before step n: every step was tried */
	}
	CHECK(crashes >= 5);
}

TEST(ckpt_rollback_kill_at_each_step)
{
	crash_loop(false);
}

TEST(ckpt_rollback_kill_at_each_step_keep_wal)
{
	crash_loop(true);
}

TEST(ckpt_checkpoint_with_a_reader_is_incomplete_but_undoable)
{
	const char *db0 = make_db(4096, 30);
	char db[4096], set[4096], pre[4096];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	snprintf(pre, sizeof pre, "%s", tl_path("pre.db"));
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(9) WHERE id<10;");
	int fd;
	pid_t r = hold_reader(db, &fd);      /* reads the state with the WAL: nothing blocks the copy */
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(8) WHERE id>20;");
	tl_copy(db, pre);
	/* The reader's snapshot keeps the last commit's frames from being copied. */
	CHECK_EQ(RUN(cmd_checkpoint, "checkpoint", "--mode", "full", "--timeout", "200", "--save-undo", set, db),
		 EXIT_WARNINGS);
	release_reader(r, fd);
	CHECK_EQ(RUN(cmd_rollback, "rollback", db, set), 0);
	CHECK(same_file(db, pre));
}

TEST(ckpt_checkpoint_refuses_existing_set)
{
	const char *db0 = make_db(4096, 10);
	char db[4096], set[4096];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(set, sizeof set, "%s", tl_path("set"));
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(9);");
	tl_write(set, "x", 1);
	uint64_t wal_size = tl_size(tl_path("db-wal"));
	CHECK_EQ(checkpoint_undo(db, set, "truncate", false), EXIT_CANTCREAT);
	CHECK_EQ(tl_size(set), 1);
	CHECK_EQ(tl_size(tl_path("db-wal")), wal_size);      /* nothing checkpointed */
	CHECK_EQ(RUN(cmd_checkpoint, "checkpoint", "--force", "--save-undo", set, db), 0);
}

/* ---- backup ---- */

TEST(ckpt_backup_raw_api_gzip)
{
	const char *db0 = make_db(4096, 40);
	char db[4096], out[4096], n1[4200], n2[4200], n3[4200];
	snprintf(db, sizeof db, "%s", db0);
	snprintf(out, sizeof out, "%s", tl_path("out"));
	tl_sql_keep_wal(db, "UPDATE t SET v=randomblob(9) WHERE id<10; INSERT INTO t(v) VALUES(randomblob(9000));");
	long long rows = tl_query_int(db, "SELECT count(*) FROM t WHERE length(v)=9");
	CHECK_EQ(RUN(cmd_backup, "backup", db, out), 0);
	snprintf(n1, sizeof n1, "%s/db", out);
	snprintf(n2, sizeof n2, "%s/db-wal", out);
	snprintf(n3, sizeof n3, "%s/db.manifest", out);
	CHECK(tl_exists(n1) && tl_exists(n2) && tl_exists(n3));
	CHECK_EQ(tl_query_int(n1, "SELECT count(*) FROM t WHERE length(v)=9"), rows);
	/* Again: refused without --force, replaced with it. */
	CHECK_EQ(RUN(cmd_backup, "backup", db, out), EXIT_CANTCREAT);
	CHECK_EQ(RUN(cmd_backup, "backup", "--force", "--method", "api", db, out), 0);
	CHECK(!tl_exists(n2));        /* the api copy is one file: the old -wal must not pair with it */
	CHECK_EQ(tl_query_int(n1, "SELECT count(*) FROM t WHERE length(v)=9"), rows);
	CHECK_EQ(RUN(cmd_backup, "backup", "--force", "--gzip", db, out), 0);
	snprintf(n2, sizeof n2, "%s/db-wal.gz", out);
	CHECK(tl_exists(n2) && !tl_exists(n1));
	CHECK_EQ(RUN(cmd_backup, "backup", "--method", "bogus", db, out), EXIT_USAGE);
	/* Nothing of the staging folders is left. */
	DIR *d = opendir(out);
	CHECK(d != NULL);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.' || strlen(e->d_name) > 2)
			n++;
	closedir(d);
	CHECK_EQ(n, 3);       /* db.gz, db-wal.gz, db.manifest */
}

/*
 * A writer child commits continuously while backups are taken; each backup
 * is one of the states it committed (the row count and the sum of the
 * version column identify it: the writer's counter only grows).
 */
TEST(ckpt_backup_during_writes)
{
	const char *db0 = make_db(1024, 20);
	char db[4096];
	snprintf(db, sizeof db, "%s", db0);
	tl_sql(db, "CREATE TABLE c(k INTEGER PRIMARY KEY, n INTEGER, pad BLOB); INSERT INTO c VALUES(1, 0, zeroblob(10));");
	int stop[2];
	CHECK(pipe(stop) == 0);
	fflush(NULL);
	pid_t w = fork();
	CHECK(w >= 0);
	if (w == 0) {
		close(stop[1]);
		fcntl(stop[0], F_SETFL, O_NONBLOCK);
		sqlite3 *h = NULL;
		if (sqlite3_open(db, &h) != SQLITE_OK)
			_exit(1);
		sqlite3_busy_timeout(h, 5000);
		sqlite3_exec(h, "PRAGMA wal_autocheckpoint=30", NULL, NULL, NULL);
		char c;
		for (int i = 1; read(stop[0], &c, 1) < 0; i++) {
			char sql[256];
			/* n counts commits; pad makes pages churn, grow and shrink. */
			snprintf(sql, sizeof sql, "BEGIN; UPDATE c SET n=%d, pad=randomblob(%d); INSERT INTO t(v) "
				 "VALUES(randomblob(%d)); DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY random() "
				 "LIMIT %d); COMMIT;", i, 50 + (i * 37) % 3000, 100 + i % 900, i % 3);
			if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
				_exit(2);
		}
		sqlite3_close(h);
		_exit(0);
	}
	close(stop[0]);
	usleep(100 * 1000);
	static const char *const method[] = { "raw", "api", "raw" };
	long long last = -1;
	for (int i = 0; i < 6; i++) {
		char out[4200], copy[4300];
		snprintf(out, sizeof out, "%s/b%d", tl_tmp(), i);
		CHECK_EQ(RUN(cmd_backup, "backup", "--method", (char *)method[i % 3], db, out), 0);
		snprintf(copy, sizeof copy, "%s/db", out);
		/* A committed state: the counter row exists, integrity is ok, and it never goes back. */
		long long n = tl_query_int(copy, "SELECT n FROM c");
		char ok[64];
		tl_query_text(copy, "PRAGMA integrity_check", ok, sizeof ok);
		CHECK_STR(ok, "ok");
		CHECK(n >= last);
		last = n;
	}
	close(stop[1]);
	int st;
	waitpid(w, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(last > 0);
}
