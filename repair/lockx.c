/* lockx.c — SQLite's exclusive locks, held by waldo; see lockx.h. */
#include "lockx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../formats/dbheader.h"
#include "../formats/shm.h"
#include "../inspect/locks.h"

#define DB_LOCK_START SQLITE_PENDING_BYTE      /* PENDING, RESERVED, then SHARED */
#define DB_LOCK_LEN (2 + 510)
#define SHM_LOCK_START SHM_LOCK_OFFSET         /* WRITE .. READ4, then DMS */
#define SHM_LOCK_LEN (SHM_DMS_OFFSET - SHM_LOCK_OFFSET + 1)

void lockx_init(struct lockx *l)
{
	memset(l, 0, sizeof *l);
#ifdef F_OFD_SETLK
	l->ofd = true;
#endif
}

/* Write-lock [start, start+len) of fd, without waiting.  0, 1 (held elsewhere) or -1. */
static int lock_range(struct lockx *l, int fd, off_t start, off_t len)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
#ifdef F_OFD_SETLK
	if (l->ofd) {
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno != EINVAL)
			return errno == EAGAIN || errno == EACCES ? 1 : -1;
		l->ofd = false;          /* kernel without OFD locks */
	}
#endif
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? 1 : -1;
}

static int add(struct lockx *l, const char *path, off_t start, off_t len, bool optional,
	       char *err, size_t errlen)
{
	if (l->n == LOCKX_MAX) {
		snprintf(err, errlen, "too many locked files");
		return -1;
	}
	int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open '%s' for writing: %s", path, strerror(errno));
		return -1;
	}
	int rc = lock_range(l, fd, start, len);
	if (rc) {
		if (rc > 0)
			snprintf(err, errlen, "'%s' is locked by another process", path);
		else
			snprintf(err, errlen, "cannot lock '%s': %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	l->fd[l->n++] = fd;
	return 0;
}

int lockx_take(struct lockx *l, const char *db_path, const char *shm_path, char *err, size_t errlen)
{
	int rc = add(l, db_path, DB_LOCK_START, DB_LOCK_LEN, false, err, errlen);
	if (!rc && shm_path)
		rc = add(l, shm_path, SHM_LOCK_START, SHM_LOCK_LEN, true, err, errlen);
	if (rc)
		lockx_release(l);
	return rc;
}

int lockx_add_db(struct lockx *l, const char *path, char *err, size_t errlen)
{
	return add(l, path, DB_LOCK_START, DB_LOCK_LEN, false, err, errlen);
}

void lockx_release(struct lockx *l)
{
	/* Closing the descriptor drops its locks (OFD) or this process's (POSIX). */
	for (int i = 0; i < l->n; i++)
		close(l->fd[i]);
	l->n = 0;
}

int lockx_probe(const char *db_path, char *pids, size_t n, char *err, size_t errlen)
{
	struct wf_set s;
	pids[0] = '\0';
	if (wf_set_open(&s, db_path, NULL, NULL, err, errlen))
		return -1;
	struct lock_report r;
	locks_probe(&s, &r);
	wf_set_close(&s);
	if (r.remote && !locks_remote_allowed()) {
		snprintf(pids, n, "processes on other machines, possibly (it is on a %s file system, whose other "
			 "users' locks cannot be seen from here; set WALDO_ALLOW_REMOTE=1 when nothing else uses it)",
			 r.remote);
		return 1;
	}
	if (!r.n)
		return 0;
	locks_pid_list(&r, pids, n);
	return 1;
}
