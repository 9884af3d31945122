/*
 * The WAL-reset race detector (inspect/resetrace.c) against files real
 * libsqlite3 wrote.
 *
 * The race itself needs a checkpointer held inside sqlite3WalCheckpoint;
 * the corpus does that (corpus/scen_race.c, tests/e2e/t1100).  Here the
 * checkpointer's part is played by hand, exactly as it ends: a PASSIVE
 * checkpoint copies the restarted generation's frames 1..M (what the held
 * checkpointer copies), then three stores into the live -shm set nBackfill,
 * nBackfillAttempted and aReadMark[1] to the old mxFrame N.  A holder
 * process keeps the -shm alive, so from there on real SQLite writers and
 * readers live with that -shm: they hide, lose and overwrite what the race
 * makes them hide, lose and overwrite.  The driver counts the lost updates
 * through a live connection and compares them with what waldo names.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "formats/wal.h"
#include "inspect/checks.h"
#include "inspect/model.h"
#include "inspect/resetrace.h"

#define NROWS 300
#define N_OLD 40            /* frames of the old generation, all checkpointed */
#define PS 1024
#define SHM_NBACKFILL 96
#define SHM_READMARK1 104
#define SHM_ATTEMPTED 128

/* ---- a connection in a child process, one SQL line at a time ---------------- */

struct conn {
	pid_t pid;
	FILE *cmd, *rep;
};

static void conn_child(const char *db, FILE *in, FILE *out)
{
	sqlite3 *h = NULL;
	char line[512];
	if (sqlite3_open(db, &h) != SQLITE_OK ||
	    sqlite3_exec(h, "PRAGMA wal_autocheckpoint=0; PRAGMA synchronous=OFF", NULL, NULL, NULL) != SQLITE_OK)
		_exit(1);
	while (fgets(line, sizeof line, in)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "X"))
			_exit(0);
		/* A query answers its first column; anything else answers ok/err. */
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int rc = sqlite3_prepare_v2(h, line, -1, &st, &tail);
		if (rc == SQLITE_OK && st && tail && !*tail) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				fprintf(out, "ok %s\n", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
			else if (rc == SQLITE_DONE)
				fprintf(out, "ok\n");
			else
				fprintf(out, "err %s\n", sqlite3_errmsg(h));
			sqlite3_finalize(st);
		} else {
			sqlite3_finalize(st);
			char *err = NULL;
			if (sqlite3_exec(h, line, NULL, NULL, &err) == SQLITE_OK)
				fprintf(out, "ok\n");
			else
				fprintf(out, "err %s\n", err ? err : "?");
			sqlite3_free(err);
		}
		fflush(out);
	}
	_exit(0);
}

static void conn_open(struct conn *c, const char *db)
{
	int a[2], b[2];
	CHECK(pipe(a) == 0 && pipe(b) == 0);
	fflush(NULL);
	c->pid = fork();
	CHECK(c->pid >= 0);
	if (c->pid == 0) {
		close(a[1]);
		close(b[0]);
		conn_child(db, fdopen(a[0], "r"), fdopen(b[1], "w"));
	}
	close(a[0]);
	close(b[1]);
	c->cmd = fdopen(a[1], "w");
	c->rep = fdopen(b[0], "r");
	CHECK(c->cmd && c->rep);
}

/* Run one statement; returns the reply after "ok " (static), fails the test on "err". */
static const char *conn_sql(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *conn_sql(struct conn *c, const char *fmt, ...)
{
	static char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vfprintf(c->cmd, fmt, ap);
	va_end(ap);
	fputc('\n', c->cmd);
	fflush(c->cmd);
	CHECK(fgets(buf, sizeof buf, c->rep) != NULL);
	buf[strcspn(buf, "\n")] = '\0';
	if (strncmp(buf, "ok", 2))
		tl_fail(__FILE__, __LINE__, "sql failed: %s", buf);
	return buf[2] ? buf + 3 : "";
}

static void conn_close(struct conn *c)
{
	fputs("X\n", c->cmd);
	fclose(c->cmd);
	fclose(c->rep);
	int st;
	waitpid(c->pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- the schedule ---------------------------------------------------------- */

enum stage { ST_AFTER, ST_HIDDEN, ST_CAUGHT_UP, ST_WINDOW, ST_WRAPPED };

struct sim {
	const char *db;
	struct conn holder, w;
	unsigned version;
	char committed[NROWS + 1][32];
	unsigned nlost, lost_rows[NROWS];
};

/* One row per page: v names row and version, the pad fills the page. */
static void sim_setup(struct sim *s, const char *db)
{
	memset(s, 0, sizeof *s);
	s->db = db;
	tl_make_db(db, PS, true);
	char sql[512];
	snprintf(sql, sizeof sql,
		 "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL, pad BLOB NOT NULL);"
		 "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<%d)"
		 " INSERT INTO t SELECT i, printf('r%%04d-v%%06d', i, 0), zeroblob(600) FROM s;", NROWS);
	tl_sql(db, sql);
	conn_open(&s->holder, db);
	conn_sql(&s->holder, "SELECT count(*) FROM t");
	conn_open(&s->w, db);
}

static void sim_update(struct sim *s, int id)
{
	snprintf(s->committed[id], sizeof s->committed[id], "r%04d-v%06u", id, ++s->version);
	conn_sql(&s->w, "UPDATE t SET v = '%s' WHERE id = %d", s->committed[id], id);
}

static void sim_update2(struct sim *s, int a, int b)
{
	snprintf(s->committed[a], sizeof s->committed[a], "r%04d-v%06u", a, ++s->version);
	snprintf(s->committed[b], sizeof s->committed[b], "r%04d-v%06u", b, ++s->version);
	conn_sql(&s->w, "BEGIN IMMEDIATE");
	conn_sql(&s->w, "UPDATE t SET v = '%s' WHERE id = %d", s->committed[a], a);
	conn_sql(&s->w, "UPDATE t SET v = '%s' WHERE id = %d", s->committed[b], b);
	conn_sql(&s->w, "COMMIT");
}

/* FILE-SUFFIX for a path (static ring). */
static const char *sfx(const char *path, const char *suffix)
{
	static char ring[8][4200];
	static unsigned k;
	char *p = ring[k++ % 8];
	snprintf(p, sizeof ring[0], "%s%s", path, suffix);
	return p;
}

/* A 32-bit -shm field in this host's byte order, as SQLite stores it. */
static void shm_put(const char *db, unsigned off, uint32_t v)
{
	uint8_t b[4];
	if (host_is_be())
		wr_be32(b, v);
	else
		wr_le32(b, v);
	tl_patch(sfx(db, "-shm"), off, b, 4);
}

static uint32_t shm_get(const char *db, unsigned off)
{
	size_t n;
	uint8_t *p = tl_read(sfx(db, "-shm"), &n);
	CHECK(n >= 136);
	uint32_t v = rd_u32(p + off, host_is_be());
	free(p);
	return v;
}

/*
 * Old generation (N single-page commits, FULL checkpoint), the restart
 * commit (rows 1 and 2), then the checkpointer's part; race == false is the
 * control (the restart commit runs after an ordinary checkpoint).
 */
static void sim_race(struct sim *s, bool race)
{
	for (int i = 1; i <= N_OLD; i++)
		sim_update(s, 61 + i % 40);
	conn_sql(&s->w, "PRAGMA wal_checkpoint(FULL)");
	CHECK_EQ(shm_get(s->db, SHM_NBACKFILL), N_OLD);
	sim_update2(s, 1, 2);
	CHECK_EQ(shm_get(s->db, 16), 2);               /* mxFrame: the WAL restarted */
	if (!race)
		return;
	conn_sql(&s->w, "PRAGMA wal_checkpoint(PASSIVE)");
	shm_put(s->db, SHM_ATTEMPTED, N_OLD);
	shm_put(s->db, SHM_READMARK1, N_OLD);
	shm_put(s->db, SHM_NBACKFILL, N_OLD);
}

static void sim_stage(struct sim *s, enum stage st)
{
	if (st == ST_HIDDEN)
		for (int id = 3; id <= 22; id++)
			sim_update(s, id);
	if (st == ST_CAUGHT_UP || st == ST_WRAPPED)
		for (int id = 3; id <= 40; id++)
			sim_update(s, id);
	if (st == ST_WINDOW) {
		for (int id = 3; id <= 39; id++)
			sim_update(s, id);
		sim_update2(s, 40, 41);                /* across frame N */
		for (int id = 42; id <= 52; id++)
			sim_update(s, id);
	}
	if (st == ST_WRAPPED) {
		conn_sql(&s->w, "PRAGMA wal_checkpoint(FULL)");
		sim_update(s, 55);
		CHECK_EQ(shm_get(s->db, 16), 1);       /* the third generation */
	}
}

/* The driver's count: rows whose committed value a live connection does not see. */
static void sim_count_lost(struct sim *s)
{
	s->nlost = 0;
	for (int id = 1; id <= NROWS; id++)
		if (s->committed[id][0] && strcmp(conn_sql(&s->holder, "SELECT v FROM t WHERE id = %d", id),
						  s->committed[id]))
			s->lost_rows[s->nlost++] = (unsigned)id;
}

/* Copy db, -wal and -shm (while the connections are open) to name/db. */
static const char *snapshot(struct sim *s, const char *name)
{
	mkdir(tl_keep("%s", name), 0700);
	const char *dst = tl_keep("%s/db", name);
	tl_copy(s->db, dst);
	tl_copy(sfx(s->db, "-wal"), sfx(dst, "-wal"));
	tl_copy(sfx(s->db, "-shm"), sfx(dst, "-shm"));
	return dst;
}

static void sim_end(struct sim *s)
{
	conn_close(&s->w);
	conn_close(&s->holder);
}

static void open_model(struct model *m, const char *db)
{
	char err[512];
	if (model_open(m, db, NULL, NULL, err, sizeof err))
		tl_fail(__FILE__, __LINE__, "model_open: %s", err);
}

/* Does the lost list name exactly the driver's lost rows (row r sits on page r + 2)? */
static void check_lost_rows(const struct resetrace *r, const struct sim *s, enum rr_rule rule)
{
	CHECK_EQ(r->nlost, s->nlost);
	for (uint32_t i = 0; i < r->nlost; i++) {
		CHECK_EQ(r->lost[i].rule, rule);
		CHECK_EQ(r->lost[i].pgno, s->lost_rows[i] + 2);
		CHECK(!r->lost[i].beyond_eof);
	}
}

static size_t count_race_findings(const struct model *m, bool pages)
{
	size_t n = 0;
	for (size_t i = 0; i < m->diags.n; i++)
		if (m->diags.v[i].code == WD_WAL_RESET_RACE && (m->diags.v[i].page != WD_NONE) == pages)
			n++;
	return n;
}

static const char *race_summary(const struct model *m)
{
	for (size_t i = 0; i < m->diags.n; i++)
		if (m->diags.v[i].code == WD_WAL_RESET_RACE && m->diags.v[i].page == WD_NONE)
			return m->diags.v[i].msg;
	return "";
}

/* ---- the rules ---------------------------------------------------------------- */

TEST(resetrace_counters_right_after_the_race)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	sim_race(&s, true);
	const char *db = snapshot(&s, "snap");
	sim_count_lost(&s);
	sim_end(&s);
	CHECK_EQ(s.nlost, 0);                          /* frames 1..2 were copied: nothing lost yet */

	struct model m;
	open_model(&m, db);
	struct resetrace r;
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK(r.shm_intact && r.shm_matches && r.pairs);
	CHECK_EQ(r.rules, RR_COUNTERS);
	CHECK_EQ(r.n_backfill, N_OLD);
	CHECK_EQ(r.n_attempted, N_OLD);
	CHECK_EQ(r.read_mark1, N_OLD);
	CHECK_EQ(r.mx_frame, 2);
	CHECK_EQ(r.nlost, 0);
	CHECK_EQ(r.nmatch, 2);                         /* the restart commit's two pages reached the file */
	resetrace_free(&r);
	resetrace_check(&m);
	CHECK_EQ(count_race_findings(&m, false), 1);
	CHECK_EQ(count_race_findings(&m, true), 0);
	CHECK(strstr(race_summary(&m), "rule counters: nBackfill 40 = nBackfillAttempted = aReadMark[1] > mxFrame 2"));
	CHECK(strstr(race_summary(&m), "frames 3-40 of later commits hidden"));
	model_close(&m);
}

TEST(resetrace_counters_name_the_hidden_commits)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	sim_race(&s, true);
	sim_stage(&s, ST_HIDDEN);
	const char *db = snapshot(&s, "snap");
	sim_count_lost(&s);
	sim_end(&s);
	CHECK_EQ(s.nlost, 20);                         /* rows 3..22: every commit after the race */

	struct model m;
	open_model(&m, db);
	struct resetrace r;
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.rules, RR_COUNTERS);
	check_lost_rows(&r, &s, RR_COUNTERS);
	for (uint32_t i = 0; i < r.nlost; i++)
		CHECK_EQ(r.lost[i].frame, i + 3);
	resetrace_free(&r);
	resetrace_check(&m);
	CHECK_EQ(count_race_findings(&m, true), 20);
	CHECK(strstr(race_summary(&m), "20 page versions lost so far, frames 23-40"));
	model_close(&m);
}

TEST(resetrace_hidden_frames_once_the_counters_look_sound)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	sim_race(&s, true);
	sim_stage(&s, ST_WINDOW);
	const char *db = snapshot(&s, "snap");
	sim_count_lost(&s);
	sim_end(&s);
	CHECK_EQ(s.nlost, 38);                         /* rows 3..40; row 41, same commit as 40, is visible */

	struct model m;
	open_model(&m, db);
	CHECK_EQ(m.shm.n_backfill, N_OLD);
	CHECK_EQ(m.wal.mx_frame, 52);
	struct resetrace r;
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.rules, RR_HIDDEN);
	CHECK_EQ(r.cut, 2);
	CHECK(r.backfill_mid_txn);                     /* frame 40 is half of the commit 40+41 */
	check_lost_rows(&r, &s, RR_HIDDEN);
	resetrace_free(&r);
	resetrace_check(&m);
	CHECK(strstr(race_summary(&m), "rule hidden-frames: 38 pages"));
	CHECK(strstr(race_summary(&m), "every page up to frame 2 did, and frame 40 ends no transaction"));
	model_close(&m);
}

TEST(resetrace_hidden_frames_when_caught_up)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	sim_race(&s, true);
	sim_stage(&s, ST_CAUGHT_UP);
	const char *db = snapshot(&s, "snap");
	sim_count_lost(&s);
	sim_end(&s);
	CHECK_EQ(s.nlost, 38);

	struct model m;
	open_model(&m, db);
	CHECK_EQ(m.shm.n_backfill, m.wal.mx_frame);    /* the -shm says: all checkpointed */
	struct resetrace r;
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.rules, RR_HIDDEN);
	CHECK_EQ(r.cut, 2);
	CHECK(!r.backfill_mid_txn);
	check_lost_rows(&r, &s, RR_HIDDEN);
	resetrace_free(&r);
	model_close(&m);
}

TEST(resetrace_wrapped_names_and_recovers_the_lost_versions)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	sim_race(&s, true);
	sim_stage(&s, ST_WRAPPED);
	const char *db = snapshot(&s, "snap");
	sim_count_lost(&s);
	sim_end(&s);
	CHECK_EQ(s.nlost, 38);

	struct model m;
	open_model(&m, db);
	struct resetrace r;
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.rules, RR_WRAPPED);
	CHECK_EQ(r.prev_salt1, m.wal.hdr.salt1 - 1);
	check_lost_rows(&r, &s, RR_WRAPPED);
	for (uint32_t i = 0; i < r.nlost; i++)
		CHECK_EQ(r.lost[i].frame, i + 3);
	CHECK_EQ(r.nunverified, 0);

	/* The recovery state: every committed value, the third generation's too. */
	const char *out = tl_keep("recovered.db");
	uint32_t missing = 9;
	char err[256];
	CHECK_EQ(resetrace_materialize(&m, &r, out, &missing, err, sizeof err), 0);
	CHECK_EQ(missing, 0);
	char v[64];
	for (int id = 1; id <= NROWS; id++) {
		if (!s.committed[id][0])
			continue;
		char q[64];
		snprintf(q, sizeof q, "SELECT v FROM t WHERE id = %d", id);
		tl_query_text(out, q, v, sizeof v);
		CHECK_STR(v, s.committed[id]);
	}
	tl_query_text(out, "PRAGMA integrity_check", v, sizeof v);
	CHECK_STR(v, "ok");
	/* What SQLite shows instead: the old value. */
	tl_query_text(db, "SELECT v FROM t WHERE id = 3", v, sizeof v);
	CHECK_STR(v, "r0003-v000000");
	resetrace_free(&r);
	model_close(&m);
}

TEST(resetrace_lists_at_most_rr_list_max_pages)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	/* A longer old generation, so that the hidden range holds 250 commits. */
	for (int i = 1; i <= 260; i++)
		sim_update(&s, 41 + i % 250);
	conn_sql(&s.w, "PRAGMA wal_checkpoint(FULL)");
	sim_update2(&s, 1, 2);
	conn_sql(&s.w, "PRAGMA wal_checkpoint(PASSIVE)");
	shm_put(s.db, SHM_ATTEMPTED, 260);
	shm_put(s.db, SHM_READMARK1, 260);
	shm_put(s.db, SHM_NBACKFILL, 260);
	for (int id = 41; id <= 290; id++)
		sim_update(&s, id);
	const char *db = snapshot(&s, "snap");
	sim_count_lost(&s);
	sim_end(&s);
	CHECK_EQ(s.nlost, 250);

	struct model m;
	open_model(&m, db);
	resetrace_check(&m);
	CHECK_EQ(count_race_findings(&m, true), RR_LIST_MAX);
	CHECK(strstr(race_summary(&m), "250 page versions lost so far"));
	CHECK(strstr(m.diags.v[m.diags.n - 1].msg, "50 more lost page versions not listed"));
	model_close(&m);
}

/* ---- what must not be called the race -------------------------------------- */

TEST(resetrace_control_runs_are_silent)
{
	static const enum stage stages[] = { ST_AFTER, ST_HIDDEN, ST_CAUGHT_UP, ST_WINDOW, ST_WRAPPED };
	for (size_t i = 0; i < sizeof stages / sizeof *stages; i++) {
		struct sim s;
		sim_setup(&s, tl_keep("app%zu.db", i));
		sim_race(&s, false);
		sim_stage(&s, stages[i]);
		if (stages[i] != ST_WRAPPED)
			conn_sql(&s.w, "PRAGMA wal_checkpoint(PASSIVE)");   /* nBackfill > 0 in this generation */
		char name[32];
		snprintf(name, sizeof name, "snap%zu", i);
		const char *db = snapshot(&s, name);
		sim_count_lost(&s);
		sim_end(&s);
		CHECK_EQ(s.nlost, 0);
		struct model m;
		open_model(&m, db);
		struct resetrace r;
		CHECK_EQ(resetrace_analyze(&m, &r), 0);
		CHECK_EQ(r.rules, 0);
		CHECK_EQ(r.nlost, 0);
		resetrace_free(&r);
		resetrace_check(&m);
		CHECK_EQ(count_race_findings(&m, false) + count_race_findings(&m, true), 0);
		model_close(&m);
	}
}

/* Commits in a WAL, nothing checkpointed, the -shm of a crashed writer. */
static const char *plain_wal(const char *name, int ncommits, bool descending)
{
	mkdir(tl_keep("%s", name), 0700);
	const char *db = tl_keep("%s/db", name);
	tl_make_db(db, PS, true);
	tl_sql(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL, pad BLOB NOT NULL);"
		   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<60)"
		   " INSERT INTO t SELECT i, printf('r%04d-v%06d', i, 0), zeroblob(600) FROM s;");
	char sql[8192];
	size_t k = 0;
	for (int i = 1; i <= ncommits; i++)
		k += (size_t)snprintf(sql + k, sizeof sql - k, "UPDATE t SET v = 'r%04d-v%06d' WHERE id = %d;",
				      descending ? 50 - i : i, i, descending ? 50 - i : i);
	tl_copy(db, tl_keep("%s/pre.db", name));
	tl_sql_keep_wal(db, sql);
	return db;
}

/*
 * No WAL_RESET_RACE; SHM_BACKFILL_INVALID as given; `nmatch` pages whose
 * newest frame is at or below nBackfill are in the file, the newest of them
 * at frame `match_last`.
 */
static void check_silent(const char *db, bool want_backfill_invalid, uint32_t nmatch, uint32_t match_last)
{
	struct model m;
	open_model(&m, db);
	struct resetrace r;
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.rules, 0);
	CHECK_EQ(r.nlost, 0);
	CHECK_EQ(r.nmatch, nmatch);
	CHECK_EQ(r.match_last, match_last);
	resetrace_free(&r);
	/* Everything inspect checks (resetrace_check included), but SQLite and locks. */
	struct check_opts o = { .sqlite = false, .locks = false };
	struct check_result res;
	checks_run(&m, &o, &res);
	CHECK_EQ(count_race_findings(&m, false) + count_race_findings(&m, true), 0);
	CHECK_EQ(wd_count(&m.diags, WD_SHM_BACKFILL_INVALID) > 0, want_backfill_invalid);
	model_close(&m);
}

TEST(resetrace_a_hand_edited_nbackfill_is_not_the_race)
{
	const char *db = plain_wal("a", 8, false);
	shm_put(db, SHM_NBACKFILL, 8 + 7);             /* nBackfillAttempted stays 0 */
	check_silent(db, true, 0, 0);                  /* nBackfill > mxFrame, but no checkpoint's pattern */
}

TEST(resetrace_a_database_rolled_back_behind_its_wal_is_not_the_race)
{
	const char *db = plain_wal("a", 20, false);
	/* A FULL checkpoint (nBackfill = mxFrame), then the old file put back. */
	tl_sql_keep_wal(db, "PRAGMA wal_checkpoint(FULL)");
	tl_copy(tl_keep("a/pre.db"), db);
	check_silent(db, true, 0, 0);                  /* not one page of the WAL in the file */
}

TEST(resetrace_a_copy_taken_during_a_checkpoint_is_not_the_race)
{
	/* Frames in descending page order; the checkpoint writes in ascending
	 * page order, so a copy taken half-way holds the low pages only. */
	const char *db = plain_wal("a", 30, true);
	tl_sql_keep_wal(db, "PRAGMA wal_checkpoint(FULL)");
	size_t n;
	uint8_t *pre = tl_read(tl_keep("a/pre.db"), &n);
	for (uint32_t pg = 36; pg <= 52; pg++)
		tl_patch(db, (uint64_t)(pg - 1) * PS, pre + (size_t)(pg - 1) * PS, PS);
	free(pre);
	/* Pages 22..35 (frames 17..30) reached the file, pages 36..51 (frames
	 * 1..16) did not: a cut in page order, not in frame order. */
	check_silent(db, true, 14, 30);
}

TEST(resetrace_needs_an_intact_matching_shm)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	sim_race(&s, true);
	sim_stage(&s, ST_HIDDEN);
	const char *db = snapshot(&s, "snap");
	sim_end(&s);
	/* A torn header: SQLite would rebuild the -shm, so nBackfill means nothing. */
	tl_flip(tl_keep("snap/db-shm"), 8, 1);
	struct model m;
	open_model(&m, db);
	struct resetrace r;
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK(!r.shm_intact);
	CHECK_EQ(r.rules, 0);
	resetrace_free(&r);
	model_close(&m);
	/* Without any -shm at all, the counters are gone too. */
	unlink(tl_keep("snap/db-shm"));
	open_model(&m, db);
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.rules, 0);
	resetrace_free(&r);
	model_close(&m);
}

TEST(resetrace_wrapped_skips_pages_rewritten_since_and_unverified_frames)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	sim_race(&s, true);
	sim_stage(&s, ST_CAUGHT_UP);
	conn_sql(&s.w, "PRAGMA wal_checkpoint(FULL)");
	sim_update(&s, 10);                            /* the third generation's one frame rewrites row 10 */
	CHECK_EQ(shm_get(s.db, 16), 1);
	const char *db = snapshot(&s, "snap");
	sim_count_lost(&s);
	sim_end(&s);
	CHECK_EQ(s.nlost, 37);                         /* row 10's hidden update is overwritten */

	struct model m;
	open_model(&m, db);
	struct resetrace r;
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.rules, RR_WRAPPED);
	check_lost_rows(&r, &s, RR_WRAPPED);
	resetrace_free(&r);
	model_close(&m);

	/* Damage the page data of frame 20 (row 20): its checksum fails, and so
	 * does frame 21's, which is chained to frame 20's stored checksum only
	 * through frame 20's own bytes: 20 fails, 21 still verifies. */
	tl_flip(tl_keep("snap/db-wal"), wal_frame_offset(PS, 20) + WAL_FRAME_HDR_SIZE + 700, 0x40);
	open_model(&m, db);
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.nlost, 36);
	CHECK_EQ(r.nunverified, 1);
	for (uint32_t i = 0; i < r.nlost; i++)
		CHECK(r.lost[i].frame != 20);
	resetrace_free(&r);
	model_close(&m);

	/* A WAL cut inside a frame of that generation: its end is unknown. */
	tl_truncate(tl_keep("snap/db-wal"), wal_frame_offset(PS, 40) + 100);
	open_model(&m, db);
	CHECK_EQ(resetrace_analyze(&m, &r), 0);
	CHECK_EQ(r.rules, 0);
	resetrace_free(&r);
	model_close(&m);
}

TEST(resetrace_survives_hostile_counters)
{
	struct sim s;
	sim_setup(&s, tl_keep("app.db"));
	sim_race(&s, true);
	sim_stage(&s, ST_WINDOW);
	const char *db = snapshot(&s, "snap");
	sim_end(&s);
	static const uint32_t values[] = { 0, 1, 51, 52, 53, 0x7fffffff, 0xfffffffe, 0xffffffff };
	for (size_t i = 0; i < sizeof values / sizeof *values; i++)
		for (size_t j = 0; j < sizeof values / sizeof *values; j++) {
			shm_put(db, SHM_NBACKFILL, values[i]);
			shm_put(db, SHM_ATTEMPTED, values[j]);
			struct model m;
			open_model(&m, db);
			resetrace_check(&m);
			struct resetrace r;
			CHECK_EQ(resetrace_analyze(&m, &r), 0);
			CHECK(r.nlost <= 52);
			if (values[i] > 52 && values[j] == values[i])
				CHECK_EQ(r.rules, RR_COUNTERS);
			resetrace_free(&r);
			model_close(&m);
		}
}
