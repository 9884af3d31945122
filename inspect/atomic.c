/* atomic.c — crash-safe creation of an output file; see atomic.h. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Split path into folder and base name; "." when there is no slash. */
static int split(const char *path, char *dir, size_t dn, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, dn, ".");
		*base = path;
		return 0;
	}
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1;                              /* "/name": the folder is "/" */
	if (n >= dn)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	*base = slash + 1;
	return 0;
}

int atomic_prepare(struct atomic_out *a, const char *path, bool replace, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	a->fd = -1;
	a->replace = replace;
	const char *base;
	if (strlen(path) >= sizeof a->path || split(path, a->dir, sizeof a->dir, &base)) {
		snprintf(err, errlen, "output path '%s' is too long", path);
		return ATOMIC_ERR;
	}
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		snprintf(err, errlen, "output path '%s' names a folder, not a file", path);
		return ATOMIC_ERR;
	}
	snprintf(a->path, sizeof a->path, "%s", path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "'%s' exists and is not a regular file", path);
			return ATOMIC_ERR;
		}
		if (!replace) {
			snprintf(err, errlen, "'%s' exists; refusing to overwrite it (use --force)", path);
			return ATOMIC_EXISTS;
		}
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
		return ATOMIC_ERR;
	}
	if (stat(a->dir, &st)) {
		snprintf(err, errlen, "cannot write into '%s': %s", a->dir, strerror(errno));
		return ATOMIC_ERR;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot write into '%s': not a folder", a->dir);
		return ATOMIC_ERR;
	}
	/* Pre-flight: a read-only folder or file system (EACCES, EROFS) is refused
	 * here, before any caller has written anything anywhere. */
	if (faccessat(AT_FDCWD, a->dir, W_OK | X_OK, AT_EACCESS)) {
		snprintf(err, errlen, "cannot write into the folder '%s': %s", a->dir, strerror(errno));
		return ATOMIC_ERR;
	}
	/* A name nobody else picks: pid, time and a counter; the writer
	 * creates it with O_EXCL, so a collision fails instead of clobbering. */
	static unsigned counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(a->tmp, sizeof a->tmp, "%s/.%s.waldo-%ld-%lx%u.tmp", a->dir, base, (long)getpid(),
			 (unsigned long)ts.tv_nsec, counter++);
	if (n < 0 || (size_t)n >= sizeof a->tmp) {
		snprintf(err, errlen, "output path '%s' is too long", path);
		return ATOMIC_ERR;
	}
	return ATOMIC_OK;
}

int atomic_open(struct atomic_out *a, char *err, size_t errlen)
{
	a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (a->fd < 0)
		snprintf(err, errlen, "cannot create '%s': %s", a->tmp, strerror(errno));
	return a->fd;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	/* Some file systems refuse fsync on a folder (EINVAL): nothing more
	 * can be done there, and the rename itself has happened. */
	if (rc && errno == EINVAL && (flags & O_DIRECTORY))
		rc = 0;
	if (close(fd))
		rc = -1;
	return rc;
}

/* rename without replacing: renameat2(RENAME_NOREPLACE), else link+unlink. */
static int rename_noreplace(const char *from, const char *to)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -1;
#endif
	if (link(from, to))
		return -1;
	return unlink(from) ? -1 : 0;
}

int atomic_commit(struct atomic_out *a, char *err, size_t errlen)
{
	if (a->fd >= 0) {
		int rc = fsync(a->fd);
		int rc2 = close(a->fd);
		a->fd = -1;
		if (rc || rc2) {
			snprintf(err, errlen, "cannot write '%s': %s", a->tmp, strerror(errno));
			return ATOMIC_ERR;
		}
	} else if (fsync_path(a->tmp, O_RDONLY)) {
		snprintf(err, errlen, "cannot sync '%s': %s", a->tmp, strerror(errno));
		return ATOMIC_ERR;
	}
	if (a->replace ? rename(a->tmp, a->path) : rename_noreplace(a->tmp, a->path)) {
		int e = errno;
		snprintf(err, errlen, e == EEXIST ? "'%s' exists; refusing to overwrite it (use --force)"
						  : "cannot rename '%s' to '%s': %s",
			 e == EEXIST ? a->path : a->tmp, a->path, strerror(e));
		return e == EEXIST ? ATOMIC_EXISTS : ATOMIC_ERR;
	}
	a->tmp[0] = '\0';
	if (fsync_path(a->dir, O_RDONLY | O_DIRECTORY)) {
		/* The new name is there but may not survive a power cut. */
		snprintf(err, errlen, "cannot sync folder '%s': %s: durability of '%s' unknown", a->dir,
			 strerror(errno), a->path);
		return ATOMIC_ERR;
	}
	return ATOMIC_OK;
}

void atomic_abort(struct atomic_out *a)
{
	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
	if (a->tmp[0]) {
		unlink(a->tmp);
		a->tmp[0] = '\0';
	}
}

bool atomic_same_file(const char *path, const char *other)
{
	struct stat a, b;
	if (!path || !other)
		return false;
	if (stat(path, &a) == 0 && stat(other, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return true;
	/* Maybe not created yet: compare canonical names, the folder resolved. */
	char dir[ATOMIC_PATH_MAX];
	const char *base;
	if (split(path, dir, sizeof dir, &base))
		return false;
	char *rdir = realpath(dir, NULL), *rother = realpath(other, NULL);
	bool same = false;
	if (rdir && rother) {
		static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
		char cand[ATOMIC_PATH_MAX * 2 + 2], sib[ATOMIC_PATH_MAX + 16];
		snprintf(cand, sizeof cand, "%s/%s", strcmp(rdir, "/") ? rdir : "", base);
		for (size_t i = 0; i < sizeof suffix / sizeof *suffix && !same; i++) {
			snprintf(sib, sizeof sib, "%s%s", rother, suffix[i]);
			same = !strcmp(cand, sib);
		}
	}
	free(rdir);
	free(rother);
	return same;
}

int atomic_write_all(int fd, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t k = off == ATOMIC_APPEND ? write(fd, p, n) : pwrite(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
		if (off != ATOMIC_APPEND)
			off += (uint64_t)k;
	}
	return 0;
}
