/*
 * cmd_check_inputs (inspect/cmd_common.c): the one place where the
 * read-only commands turn a file that changed under them into
 * INPUT_CHANGED.  Real files, really cut short or appended to while mapped
 * (t1210 runs every command with a file cut under its mapping).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "inspect/cmd.h"
#include "inspect/files.h"
#include "formats/diag.h"

static const char *make_wal_db(void)
{
	const char *db = tl_path("db");
	tl_make_db(db, 4096, true);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b);");
	tl_sql_keep_wal(db, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<30) "
			    "INSERT INTO t(b) SELECT randomblob(900) FROM s;");
	CHECK(tl_size(tl_path("db-wal")) > 8 * 4096);
	return db;
}

/* Read every byte of the mapping (past a cut: zeros, and the guard marks it). */
static void touch(const struct wf_file *f)
{
	volatile const uint8_t *p = f->data;
	uint8_t sum = 0;
	for (uint64_t i = 0; i < f->size; i += 512)
		sum += p[i];
	(void)sum;
}

static size_t count(const struct wd_diags *d, enum wd_file file, enum wd_severity sev)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].code == WD_INPUT_CHANGED && d->v[i].file == file && d->v[i].sev == sev;
	return n;
}

static void append(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "grown", 5), 5);
	close(fd);
}

TEST(cmd_inputs_nothing_changed_nothing_reported)
{
	const char *db = make_wal_db();
	struct wf_set s;
	char err[512];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	touch(&s.wal);
	struct wd_diags d = { 0 };
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_ALL | CMD_IN_STRICT, &d, NULL), EXIT_OK);
	CHECK_EQ(d.n, 0);
	wd_diags_free(&d);
	wf_set_close(&s);
}

TEST(cmd_inputs_cut_wal_once_per_file_and_only_the_files_asked)
{
	const char *db = make_wal_db();
	struct wf_set s;
	char err[512];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	tl_truncate(tl_path("db-wal"), 4096);
	touch(&s.wal);                                   /* reads past the cut: zeros */
	struct wd_diags d = { 0 };
	/* a command that reads only the database does not report the WAL */
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_DB, &d, NULL), EXIT_OK);
	CHECK_EQ(d.n, 0);
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_DB | CMD_IN_WAL, &d, NULL), EXIT_ERRORS);
	CHECK_EQ(count(&d, WD_F_WAL, WD_ERROR), 1);
	CHECK(strstr(d.v[0].msg, "cut short"));
	/* called again (text after JSON, a second side): still one */
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_ALL, &d, NULL), EXIT_ERRORS);
	CHECK_EQ(d.n, 1);
	wd_diags_free(&d);
	wf_set_close(&s);
}

TEST(cmd_inputs_warning_becomes_error_when_cut_later)
{
	const char *db = make_wal_db();
	struct wf_set s;
	char err[512];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	append(tl_path("db-wal"));                       /* a writer went on: a warning */
	struct wd_diags d = { 0 };
	wd_add(&d, WD_WAL_UNCOMMITTED_TAIL, WD_F_WAL, 32, 1, WD_NONE, "an earlier finding");
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_WAL, &d, NULL), EXIT_WARNINGS);
	CHECK_EQ(count(&d, WD_F_WAL, WD_WARNING), 1);
	tl_truncate(tl_path("db-wal"), 4096);            /* then cut under a read */
	touch(&s.wal);
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_WAL, &d, NULL), EXIT_ERRORS);
	CHECK_EQ(count(&d, WD_F_WAL, WD_WARNING), 0);
	CHECK_EQ(count(&d, WD_F_WAL, WD_ERROR), 1);
	CHECK_EQ(d.n, 2);
	CHECK_EQ(d.v[0].code, WD_WAL_UNCOMMITTED_TAIL);  /* the others untouched */
	wd_diags_free(&d);
	wf_set_close(&s);
}

TEST(cmd_inputs_strict_and_warn_stream)
{
	/* a hash or a verdict stands on the bytes: any change is an error, and text output without
	 * a findings section gets the finding on the stream it is given */
	const char *db = make_wal_db();
	struct wf_set s;
	char err[512];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	append(db);
	struct wd_diags d = { 0 };
	const char *wp = tl_path("warn.txt");
	FILE *w = fopen(wp, "w");
	CHECK(w);
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_DB | CMD_IN_WAL | CMD_IN_STRICT, &d, w), EXIT_ERRORS);
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_DB | CMD_IN_WAL | CMD_IN_STRICT, &d, w), EXIT_ERRORS);
	fclose(w);
	CHECK_EQ(count(&d, WD_F_DB, WD_ERROR), 1);
	size_t n;
	char *txt = (char *)tl_read(wp, &n);
	txt = realloc(txt, n + 1);
	txt[n] = '\0';
	CHECK(strstr(txt, "error   INPUT_CHANGED  "));
	CHECK(strstr(txt, "grew while it was read"));
	CHECK(strstr(txt, db));                          /* names the file */
	const char *first = strstr(txt, "INPUT_CHANGED");
	CHECK(first && !strstr(first + 1, "INPUT_CHANGED"));                  /* written once */
	free(txt);
	wd_diags_free(&d);
	wf_set_close(&s);
}

TEST(cmd_inputs_survive_a_full_finding_list)
{
	/* a hostile WAL can fill the list (WD_DIAGS_CAP): the change must not be the one dropped */
	const char *db = make_wal_db();
	struct wf_set s;
	char err[512];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	struct wd_diags d = { 0 };
	for (int i = 0; i < WD_DIAGS_CAP + 5; i++)
		wd_add(&d, WD_WAL_FRAME_INVALID, WD_F_WAL, 32, i, WD_NONE, "filler %d", i);
	CHECK_EQ(d.n, WD_DIAGS_CAP);
	tl_truncate(tl_path("db-wal"), 4096);
	touch(&s.wal);
	CHECK_EQ(cmd_check_inputs(&s, CMD_IN_WAL, &d, NULL), EXIT_ERRORS);
	CHECK_EQ(count(&d, WD_F_WAL, WD_ERROR), 1);
	CHECK_EQ(d.n, WD_DIAGS_CAP);
	wd_diags_free(&d);
	wf_set_close(&s);
}
