/*
 * inspect/locks.c: how lock holders are named.  An open-file-description
 * lock (F_OFD_SETLK, what waldo itself takes) has no owning process:
 * /proc/locks and F_GETLK show pid -1, which must never reach a message as
 * "-1".  Real locks, held by real child processes.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "formats/shm.h"
#include "inspect/checks.h"
#include "inspect/locks.h"
#include "inspect/model.h"
#include "repair/ckpt_common.h"

static const char *make_wal_db(void)
{
	const char *db = tl_path("db");
	tl_make_db(db, 4096, true);
	tl_sql(db, "CREATE TABLE t(a);");
	tl_sql_keep_wal(db, "INSERT INTO t VALUES(1);");
	CHECK(tl_exists(tl_path("db-shm")));
	return db;
}

/*
 * A child holding a write lock on byte `byte` of path, as an OFD lock
 * (F_OFD_SETLK) or a POSIX one (F_SETLK), until it is killed.  Returns its pid
 * once the lock is held.
 */
static pid_t hold_lock(const char *path, off_t byte, bool ofd)
{
	int p[2];
	CHECK(pipe(p) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		int fd = open(path, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
		if (fd < 0 || fcntl(fd, ofd ? F_OFD_SETLK : F_SETLK, &fl) != 0)
			_exit(1);
		if (write(p[1], "k", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(locks_ofd_lock_is_named_not_minus_one)
{
	const char *db = make_wal_db();
	pid_t holder = hold_lock(tl_path("db-shm"), SHM_LOCK_OFFSET, true);   /* WRITE */
	struct wf_set s;
	char err[512];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	static struct lock_report r;
	locks_probe(&s, &r);
	CHECK_EQ(r.n, 1);
	CHECK(r.h[0].ofd);
	CHECK_EQ(r.h[0].pid, -1);                          /* what the kernel says */
	CHECK_STR(r.h[0].what, "WRITE");
	char list[512];
	locks_pid_list(&r, list, sizeof list);
	CHECK_STR(list, LOCKS_OFD_NAME);
	CHECK_STR(list, "an open-file-description lock (another waldo?)");
	wf_set_close(&s);
	stop(holder);
}

TEST(locks_ofd_and_posix_holders_in_one_list)
{
	/* two OFD locks collapse into one entry; a POSIX holder keeps its pid */
	const char *db = make_wal_db();
	pid_t a = hold_lock(tl_path("db-shm"), SHM_LOCK_OFFSET + 1, true);      /* CKPT */
	pid_t b = hold_lock(tl_path("db-shm"), SHM_LOCK_OFFSET + 3, true);      /* READ0 */
	pid_t c = hold_lock(tl_path("db-shm"), SHM_LOCK_OFFSET + 4, false);     /* READ1, POSIX */
	struct wf_set s;
	char err[512], want[128];
	CHECK_EQ(wf_set_open(&s, db, NULL, NULL, err, sizeof err), 0);
	static struct lock_report r;
	locks_probe(&s, &r);
	CHECK_EQ(r.n, 3);
	char list[512];
	locks_pid_list(&r, list, sizeof list);
	CHECK(!strstr(list, "-1"));
	const char *ofd = strstr(list, LOCKS_OFD_NAME);
	CHECK(ofd && !strstr(ofd + 1, LOCKS_OFD_NAME));  /* once */
	snprintf(want, sizeof want, "%d (", (int)c);   /* the name: "unit", or valgrind's */
	CHECK(strstr(list, want));
	wf_set_close(&s);
	stop(a);
	stop(b);
	stop(c);
}

TEST(locks_db_in_use_and_exit_75_messages_name_an_ofd_holder)
{
	const char *db = make_wal_db();
	pid_t holder = hold_lock(tl_path("db-shm"), SHM_LOCK_OFFSET + 1, true);
	struct model m;
	char err[512];
	CHECK_EQ(model_open(&m, db, NULL, NULL, err, sizeof err), 0);
	struct check_opts o = { .sqlite = false, .locks = true };
	struct check_result cr;
	checks_run(&m, &o, &cr);
	const char *msg = NULL;
	for (size_t i = 0; i < m.diags.n; i++)
		if (m.diags.v[i].code == WD_DB_IN_USE)
			msg = m.diags.v[i].msg;
	CHECK(msg);
	CHECK_STR(msg, "locks held by: an open-file-description lock (another waldo?)");
	model_close(&m);
	/* what checkpoint and backup append to an exit-75 message */
	int dbfd = open(db, O_RDONLY), shmfd = open(tl_path("db-shm"), O_RDONLY);
	CHECK(dbfd >= 0 && shmfd >= 0);
	char pids[512];
	ckpt_lock_holders(dbfd, shmfd, pids, sizeof pids);
	CHECK_STR(pids, LOCKS_OFD_NAME);
	close(dbfd);
	close(shmfd);
	stop(holder);
}
