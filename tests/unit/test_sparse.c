/*
 * WALs whose size is mostly a hole or zeros (HOSTILE W19): the walk stops
 * at the first run of all-zero frame headers past the valid end
 * (formats/wal.c, WAL_ZERO_RUN_*), keeps no record for the frames behind
 * it, and says so with WAL_LIMIT_EXCEEDED; inspect then asks the file
 * system (SEEK_DATA) whether anything but holes lies behind.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "formats/wal.h"
#include "inspect/checks.h"
#include "inspect/files.h"
#include "inspect/model.h"

#define PS 1024u
#define FRAME (PS + WAL_FRAME_HDR_SIZE)

/* A WAL-mode database with 1024-byte pages and `rows` one-page rows in its WAL. */
static const char *make_db(int rows)
{
	const char *db = tl_path("db");
	tl_make_db(db, PS, true);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b);");
	char sql[512];
	snprintf(sql, sizeof sql, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<%d) "
		 "INSERT INTO t(b) SELECT randomblob(700) FROM s;", rows);
	tl_sql_keep_wal(db, sql);
	return db;
}

static const struct wd_diag *find(const struct wd_diags *d, enum wd_code code)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].code == code)
			return &d->v[i];
	return NULL;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

TEST(sparse_wal_of_1tib_stops_at_the_hole)
{
	const char *db = make_db(30);
	const char *wal = tl_path("db-wal");
	uint64_t size0 = tl_size(wal);
	CHECK_EQ((size0 - WAL_HDR_SIZE) % FRAME, 0);
	uint32_t n = (uint32_t)((size0 - WAL_HDR_SIZE) / FRAME);
	tl_truncate(wal, 1ull << 40);                      /* a hole of 1 TiB after the frames */
	struct wf_file f;
	char err[512];
	CHECK_EQ(wf_open(&f, wal, err, sizeof err), 0);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	double t0 = now_s();
	wal_walk(f.data, f.size, 0, &w, &d);
	CHECK(now_s() - t0 < 2.0);                         /* 2^26 records would take a minute */
	CHECK_EQ(w.nwhole, ((1ull << 40) - WAL_HDR_SIZE) / FRAME);
	CHECK_EQ(w.nframes, n);
	CHECK_EQ(w.nvalid, n);
	CHECK_EQ(w.zero_from, n + 1);
	CHECK_EQ(w.end, WAL_END_SALT);                     /* the first hole frame ends SQLite's log */
	const struct wd_diag *g = find(&d, WD_WAL_LIMIT_EXCEEDED);
	CHECK(g);
	CHECK_EQ(g->sev, WD_WARNING);
	CHECK_EQ(g->offset, (int64_t)wal_frame_offset(PS, n + 1));
	CHECK_EQ(g->frame, n + 1);
	CHECK_EQ(wd_count(&d, WD_WAL_STALE_FRAMES), 0);   /* zeros are no earlier generation */
	wal_walk_free(&w);
	wd_diags_free(&d);
	wf_close(&f);

	/* inspect: the file system says the rest is a hole, nothing was left unread */
	struct model m;
	CHECK_EQ(model_open(&m, db, NULL, NULL, err, sizeof err), 0);
	struct check_opts o = { .sqlite = true, .locks = false };
	struct check_result r;
	checks_run(&m, &o, &r);
	g = find(&m.diags, WD_WAL_LIMIT_EXCEEDED);
	CHECK(g);
	CHECK_EQ(g->sev, WD_INFO);
	CHECK(strstr(g->msg, "a hole of the sparse file: nothing there"));
	CHECK_EQ(r.integrity, 1);
	CHECK_EQ(model_ncommits(&m), 1);
	model_close(&m);
}

TEST(sparse_data_after_the_hole_is_named)
{
	const char *db = make_db(20);
	const char *wal = tl_path("db-wal");
	uint64_t size0 = tl_size(wal);
	size_t len;
	uint8_t *orig = tl_read(wal, &len);
	/* 64 MiB of hole, then the first frames again: past a run the walk does not read */
	uint64_t at = size0 + (64ull << 20) / FRAME * FRAME;
	int fd = open(wal, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, orig + WAL_HDR_SIZE, 4 * FRAME, (off_t)at), (ssize_t)(4 * FRAME));
	close(fd);
	free(orig);
	struct model m;
	char err[512];
	CHECK_EQ(model_open(&m, db, NULL, NULL, err, sizeof err), 0);
	struct check_opts o = { .sqlite = false, .locks = false };
	struct check_result r;
	checks_run(&m, &o, &r);
	CHECK_EQ(m.wal.zero_from, (size0 - WAL_HDR_SIZE) / FRAME + 1);
	const struct wd_diag *g = find(&m.diags, WD_WAL_LIMIT_EXCEEDED);
	CHECK(g);
	CHECK_EQ(g->sev, WD_WARNING);
	/* where the file system's data extent starts (a block boundary at or before `at`) */
	const char *k = strstr(g->msg, "data resumes at offset ");
	CHECK(k);
	unsigned long long resume = strtoull(k + strlen("data resumes at offset "), NULL, 10);
	CHECK(resume <= at && resume + 65536 > at);
	model_close(&m);
}

TEST(sparse_short_zero_runs_keep_the_frames_after_them)
{
	/* A few zeroed frames (a zeroed block) before the end: every frame is
	 * still recorded and classified, as before. */
	make_db(120);
	const char *wal = tl_path("db-wal");
	uint64_t size = tl_size(wal);
	uint32_t n = (uint32_t)((size - WAL_HDR_SIZE) / FRAME);
	CHECK(n > 100);
	static uint8_t zero[FRAME * 40];
	tl_patch(wal, wal_frame_offset(PS, 30), zero, sizeof zero);   /* frames 30..69 */
	size_t len;
	uint8_t *p = tl_read(wal, &len);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	wal_walk(p, len, 0, &w, &d);
	CHECK_EQ(w.nvalid, 29);
	CHECK_EQ(w.zero_from, 0);
	CHECK_EQ(w.nframes, n);
	CHECK_EQ(w.frames[n - 1].state, WAL_FR_AFTER_BREAK);          /* salts of this generation */
	CHECK(!find(&d, WD_WAL_LIMIT_EXCEEDED));
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* the same zeros long enough to be a run: the walk stops at them */
	uint32_t run = wal_zero_run_frames(PS);
	CHECK_EQ(run, (4u << 20) / FRAME);
	uint8_t *q = calloc(1, len + (size_t)run * FRAME);
	CHECK(q);
	memcpy(q, p, wal_frame_offset(PS, 30));
	memcpy(q + wal_frame_offset(PS, 30 + run), p + wal_frame_offset(PS, 30), len - wal_frame_offset(PS, 30));
	wal_walk(q, len + (size_t)run * FRAME, 0, &w, &d);
	CHECK_EQ(w.nvalid, 29);
	CHECK_EQ(w.zero_from, 30);
	CHECK_EQ(w.nframes, 29);
	const struct wd_diag *g = find(&d, WD_WAL_LIMIT_EXCEEDED);
	CHECK(g && g->frame == 30 && g->offset == (int64_t)wal_frame_offset(PS, 30));
	wal_walk_free(&w);
	wd_diags_free(&d);
	free(q);
	free(p);
}
