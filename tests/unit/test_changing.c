/*
 * Inputs that change while they are read (inspect/files.c): a file cut
 * short under its mapping reads as zeros past the new end instead of
 * killing the process with SIGBUS, and the change becomes an INPUT_CHANGED
 * finding; a SIGBUS that is not about our mappings still does what it did.
 * Every test really truncates (or rewrites) a mapped file.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "inspect/checks.h"
#include "inspect/files.h"
#include "inspect/model.h"

/* A WAL-mode database with a WAL of several frames beside it. */
static const char *make_wal_db(void)
{
	const char *db = tl_path("db");
	tl_make_db(db, 4096, true);
	tl_sql(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b);");
	tl_sql_keep_wal(db, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<40) "
			    "INSERT INTO t(b) SELECT randomblob(900) FROM s;");
	CHECK(tl_size(tl_path("db-wal")) > 8 * 4096);
	return db;
}

/* Every byte of the mapping, read; the sum of those past `from`. */
static uint64_t touch(const struct wf_file *f, uint64_t from)
{
	volatile const uint8_t *p = f->data;
	uint64_t sum = 0;
	for (uint64_t i = 0; i < f->size; i++) {
		uint8_t b = p[i];
		if (i >= from)
			sum += b;
	}
	return sum;
}

static size_t count(const struct wd_diags *d, enum wd_code code, enum wd_file file, enum wd_severity sev)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].code == code && d->v[i].file == file && d->v[i].sev == sev;
	return n;
}

TEST(changing_wal_cut_short_under_the_mapping_reads_zeros)
{
	const char *db = make_wal_db();
	struct wf_set s;
	char err[512];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	CHECK(s.wal.present && s.wal.size > 8 * 4096);
	bool cut;
	CHECK(!wf_changed(&s.wal, &cut, NULL, 0));
	CHECK(touch(&s.wal, 4096) > 0);                   /* the frames are there */
	tl_truncate(tl_path("db-wal"), 16);               /* a TRUNCATE checkpoint by someone else */
	CHECK_EQ(touch(&s.wal, 4096), 0);                 /* SIGBUS caught: zeros past the new end */
	char why[64];
	CHECK(wf_changed(&s.wal, &cut, why, sizeof why));
	CHECK(cut);
	CHECK_STR(why, "was cut short while it was read");
	CHECK(!wf_changed(&s.db, &cut, NULL, 0));
	struct wd_diags d = { 0 };
	wf_set_check_changed(&s, &d);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(count(&d, WD_INPUT_CHANGED, WD_F_WAL, WD_ERROR), 1);
	CHECK(strstr(d.v[0].msg, "inconsistent snapshot"));
	wd_diags_free(&d);
	wf_set_close(&s);
}

TEST(changing_wal_cut_before_the_walk_gives_a_finding_not_a_crash)
{
	/* The model is built on the mappings after the cut: every command that
	 * reads the WAL (log, hash, extract, ...) goes through here. */
	const char *db = make_wal_db();
	struct wf_set s;
	char err[512];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	tl_truncate(tl_path("db-wal"), 0);
	tl_truncate(tl_path("db-shm"), 0);
	struct model m;
	CHECK_EQ(model_open_set(&m, &s, err, sizeof err), 0);
	struct check_opts o = { .sqlite = true, .locks = false };
	struct check_result r;
	checks_run(&m, &o, &r);
	CHECK_EQ(count(&m.diags, WD_INPUT_CHANGED, WD_F_WAL, WD_ERROR), 1);
	CHECK_EQ(count(&m.diags, WD_INPUT_CHANGED, WD_F_SHM, WD_ERROR), 1);
	CHECK_EQ(count(&m.diags, WD_INPUT_CHANGED, WD_F_DB, WD_WARNING) +
		 count(&m.diags, WD_INPUT_CHANGED, WD_F_DB, WD_ERROR), 0);
	CHECK_EQ(wd_count(&m.diags, WD_WAL_HEADER_INVALID), 1);   /* the walk read zeros */
	model_close(&m);
}

TEST(changing_file_written_or_replaced_is_reported)
{
	const char *db = make_wal_db();
	struct wf_set s;
	char err[512];
	bool cut;
	char why[64];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	/* appended to: a writer that went on */
	int fd = open(tl_path("db-wal"), O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "xxxxxxxx", 8), 8);
	close(fd);
	CHECK(wf_changed(&s.wal, &cut, why, sizeof why));
	CHECK(!cut);
	CHECK_STR(why, "grew while it was read");
	/* another file renamed over the database's name */
	tl_copy(db, tl_path("db.new"));
	CHECK_EQ(rename(tl_path("db.new"), db), 0);
	CHECK(wf_changed(&s.db, &cut, why, sizeof why));
	CHECK_STR(why, "was replaced by another file while it was read");
	struct wd_diags d = { 0 };
	wf_set_check_changed(&s, &d);
	CHECK_EQ(count(&d, WD_INPUT_CHANGED, WD_F_WAL, WD_WARNING), 1);
	CHECK_EQ(count(&d, WD_INPUT_CHANGED, WD_F_DB, WD_WARNING), 1);
	CHECK_EQ(d.n, 2);
	wd_diags_free(&d);
	wf_set_close(&s);
}

/* A mapping that is not ours, cut short: read it all (the child dies or returns). */
static void touch_foreign(const char *path)
{
	tl_write(path, "0123456789", 10);
	tl_truncate(path, 3 * 4096);
	int fd = open(path, O_RDONLY);
	volatile const uint8_t *p = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		_exit(3);
	tl_truncate(path, 10);
	uint8_t sum = 0;
	for (size_t i = 0; i < 3 * 4096; i++)
		sum += p[i];
	(void)sum;
}

TEST(changing_sigbus_of_another_mapping_is_not_swallowed)
{
	const char *db = make_wal_db();
	const char *other = tl_path("other");
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* no handler before ours (a sanitizer would otherwise have one) */
		signal(SIGBUS, SIG_DFL);
		struct wf_set s;
		char err[512];
		if (wf_set_open(&s, db, NULL, NULL, err, sizeof err))
			_exit(2);
		touch_foreign(other);
		_exit(0);                               /* must not get here */
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st));
	CHECK_EQ(WTERMSIG(st), SIGBUS);
}

static sigjmp_buf prev_jmp;

static void prev_handler(int sig)
{
	(void)sig;
	siglongjmp(prev_jmp, 1);
}

TEST(changing_sigbus_of_another_mapping_reaches_the_previous_handler)
{
	const char *db = make_wal_db();
	const char *other = tl_path("other");
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = prev_handler;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_NODEFER;
		sigaction(SIGBUS, &sa, NULL);
		struct wf_set s;
		char err[512];
		if (wf_set_open(&s, db, NULL, NULL, err, sizeof err))
			_exit(2);
		if (sigsetjmp(prev_jmp, 1))
			_exit(42);                      /* the handler from before ours ran */
		touch_foreign(other);
		_exit(0);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 42);
}

TEST(changing_guard_of_a_mapping_made_elsewhere)
{
	/* scan maps archive members and files itself: wf_guard_add covers those */
	const char *path = tl_path("mapped");
	tl_write(path, "0123456789", 10);
	tl_truncate(path, 4 * 4096);
	tl_patch(path, 3 * 4096, "tail", 4);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	const uint8_t *p = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED);
	int slot = wf_guard_add(p, 4 * 4096, fd);
	CHECK(slot > 0);
	CHECK(!wf_guard_cut(slot));
	tl_truncate(path, 10);
	volatile const uint8_t *v = p;
	CHECK_EQ(v[3 * 4096], 0);                          /* was 't': now a zero page, no SIGBUS */
	CHECK_EQ(v[5], '5');                               /* the page still in the file is untouched */
	CHECK(wf_guard_cut(slot));
	wf_guard_remove(slot);
	munmap((void *)p, 4 * 4096);
	close(fd);
}
