/*
 * powercut.c — an LD_PRELOAD shim that records what a power cut would leave
 * of one folder, for tests/e2e/t1420-powercut.sh (model: docs/repair.md,
 * "Power cuts").
 *
 * The model: after a power cut, a file holds exactly the bytes it had at its
 * last fsync/fdatasync (its bytes when the process started, if it was never
 * synced; nothing, if it was created and never synced), and the folder holds
 * exactly the entries it had at its last fsync (its entries at the start, if
 * never synced).  Every write, truncation, creation, rename and unlink after
 * those points is lost.  Torn or reordered sector writes, partial loss of the
 * writes since the last sync, and a disk that lies about fsync are not
 * modelled.
 *
 * Environment:
 *   WALDO_POWERCUT_DIR=DIR  the folder watched (only files directly in it);
 *                           unset: the shim does nothing
 *   WALDO_POWERCUT_LOG=LOG  a folder the shim writes its journal (LOG/log)
 *                           and its snapshots (LOG/sN) into; created
 *   WALDO_POWERCUT=N        SIGKILL the process right after its Nth
 *                           write-type call on the watched files (0 or
 *                           unset: record only)
 *
 * Write-type calls on files in DIR (and on DIR itself): write, pwrite,
 * writev, pwritev, ftruncate, truncate, fsync, fdatasync, open/openat/creat
 * creating or truncating a file, rename/renameat/renameat2, unlink/unlinkat,
 * link/linkat.  Each is counted once it has been carried out; a fsync of a
 * file first copies the file into LOG/sN, a fsync of DIR first records its
 * entries.  The shim interposes on the dynamic symbols, so libsqlite3's own
 * writes are seen as well as waldo's; calls inside libc (stdio's writes,
 * mmap'ed stores such as SQLite's -shm) are not.
 *
 * The journal, one line per event (names are plain file names in DIR):
 *   I <ino> <snap> <name>   at start: a file, its inode and its content
 *   N <ino>                 a new file was created with this inode
 *   S <ino> <snap>          fsync: the inode's content is now LOG/s<snap>
 *   D <n>                   fsync of DIR: the next n lines are its entries
 *   E <ino> <name>
 *   W <step> <what> <name>  write-type call number <step>, carried out
 * tests/tools/powercut.py replays it up to any step.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static char watch[PATH_MAX];       /* realpath of DIR, "" when inactive */
static char logdir[PATH_MAX];
static int logfd = -1;
static unsigned long long kill_at, nsteps, nsnaps;
static pthread_mutex_t mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/* ---- the shim's own I/O: raw system calls, never through the interposed names ---- */

static int sys_open(const char *p, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, AT_FDCWD, p, flags | O_CLOEXEC, mode);
}

static void sys_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		long k = syscall(SYS_write, fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[PATH_MAX + 128];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (k > 0 && logfd >= 0)
		sys_write_all(logfd, line, (size_t)k < sizeof line ? (size_t)k : sizeof line - 1);
}

/* Copy the content of fd (from offset 0) into LOG/s<N>; returns N. */
static unsigned long long snapshot_fd(int fd)
{
	unsigned long long id = ++nsnaps;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/s%llu", logdir, id);
	int out = sys_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	/* fd may be open for writing only: read the file through a descriptor of its own. */
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	int rfd = sys_open(self, O_RDONLY, 0);
	char buf[65536];
	for (off_t off = 0;;) {
		long k = syscall(SYS_pread64, rfd >= 0 ? rfd : fd, buf, sizeof buf, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		sys_write_all(out, buf, (size_t)k);
		off += k;
	}
	if (out >= 0)
		syscall(SYS_close, out);
	if (rfd >= 0)
		syscall(SYS_close, rfd);
	return id;
}

/* ---- which files are watched ---- */

/* Is `path` (absolute, resolved folder) a file directly in DIR?  name gets its last component. */
static bool in_watch(const char *path, const char **name)
{
	size_t w = strlen(watch);
	if (!watch[0] || strncmp(path, watch, w) || path[w] != '/')
		return false;
	const char *base = path + w + 1;
	if (!*base || strchr(base, '/') || !strcmp(base, ".") || !strcmp(base, ".."))
		return false;
	*name = base;
	return true;
}

/* The absolute path a (dirfd, path) pair names, its folder resolved; false when it cannot be. */
static bool resolve(int dirfd, const char *path, char *out, size_t n)
{
	char full[PATH_MAX * 2 + 2], base[PATH_MAX];
	if (!path)
		return false;
	if (path[0] == '/') {
		snprintf(full, sizeof full, "%s", path);
	} else {
		if (dirfd == AT_FDCWD) {
			if (!getcwd(base, sizeof base))
				return false;
		} else {
			char l[64];
			snprintf(l, sizeof l, "/proc/self/fd/%d", dirfd);
			ssize_t k = readlink(l, base, sizeof base - 1);
			if (k <= 0)
				return false;
			base[k] = '\0';
		}
		snprintf(full, sizeof full, "%s/%s", base, path);
	}
	char *slash = strrchr(full, '/');
	const char *last = slash + 1;
	char dir[PATH_MAX];
	*slash = '\0';
	if (!realpath(full[0] ? full : "/", dir))
		return false;
	snprintf(out, n, "%s/%s", dir, last);
	return true;
}

/* 2: fd is DIR itself; 1: a file in DIR (name set); 0: neither. */
static int fd_kind(int fd, char *name, size_t n)
{
	if (!watch[0] || fd < 0 || fd == logfd)
		return 0;
	char l[64], p[PATH_MAX];
	snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
	ssize_t k = readlink(l, p, sizeof p - 1);
	if (k <= 0)
		return 0;
	p[k] = '\0';
	if (!strcmp(p, watch))
		return 2;
	const char *b;
	if (!in_watch(p, &b))
		return 0;
	snprintf(name, n, "%s", b);
	return 1;
}

static bool path_watched(int dirfd, const char *path, char *name, size_t n)
{
	char full[PATH_MAX * 2];
	const char *b;
	if (!watch[0] || !resolve(dirfd, path, full, sizeof full) || !in_watch(full, &b))
		return false;
	snprintf(name, n, "%s", b);
	return true;
}

/* ---- events ---- */

static void step(const char *what, const char *name)
{
	nsteps++;
	logf_("W %llu %s %s\n", nsteps, what, name && *name ? name : "-");
	if (kill_at && nsteps == kill_at) {
		kill(getpid(), SIGKILL);
		for (;;)
			pause();
	}
}

/* Record DIR's entries (regular files only). */
static void log_dir(void)
{
	DIR *d = opendir(watch);
	if (!d)
		return;
	char (*names)[256] = NULL;
	unsigned long long *inos = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof *names);
			inos = realloc(inos, cap * sizeof *inos);
			if (!names || !inos)
				abort();
		}
		snprintf(names[n], sizeof names[n], "%s", e->d_name);
		inos[n++] = (unsigned long long)st.st_ino;
	}
	closedir(d);
	logf_("D %zu\n", n);
	for (size_t i = 0; i < n; i++)
		logf_("E %llu %s\n", inos[i], names[i]);
	free(names);
	free(inos);
}

__attribute__((constructor)) static void powercut_init(void)
{
	const char *w = getenv("WALDO_POWERCUT_DIR"), *l = getenv("WALDO_POWERCUT_LOG"), *k = getenv("WALDO_POWERCUT");
	if (!w || !*w || !l || !*l || !realpath(w, watch)) {
		watch[0] = '\0';
		return;
	}
	kill_at = k ? strtoull(k, NULL, 10) : 0;
	mkdir(l, 0700);
	if (!realpath(l, logdir)) {
		watch[0] = '\0';
		return;
	}
	char p[PATH_MAX + 8];
	snprintf(p, sizeof p, "%s/log", logdir);
	/* The first process records the start; any other (none expected) only appends. */
	logfd = sys_open(p, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
	if (logfd < 0) {
		logfd = sys_open(p, O_WRONLY | O_APPEND, 0600);
		nsnaps = 1000000ull * (unsigned long long)getpid();
		return;
	}
	DIR *d = opendir(watch);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char f[PATH_MAX + 256];
		snprintf(f, sizeof f, "%s/%s", watch, e->d_name);
		struct stat st;
		if (lstat(f, &st) || !S_ISREG(st.st_mode))
			continue;
		int fd = sys_open(f, O_RDONLY, 0);
		if (fd < 0)
			continue;
		unsigned long long id = snapshot_fd(fd);
		syscall(SYS_close, fd);
		logf_("I %llu %llu %s\n", (unsigned long long)st.st_ino, id, e->d_name);
	}
	if (d)
		closedir(d);
}

/* ---- the interposed calls ---- */

#define REAL(ret, name, ...)                                              \
	static ret (*real_##name)(__VA_ARGS__);                            \
	if (!real_##name)                                                  \
		real_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

static void after_fd_write(int fd, long rc, const char *what)
{
	char name[256];
	if (rc < 0 || fd_kind(fd, name, sizeof name) != 1)
		return;
	pthread_mutex_lock(&mu);
	step(what, name);
	pthread_mutex_unlock(&mu);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, int, const void *, size_t);
	ssize_t rc = real_write(fd, buf, n);
	int e = errno;
	after_fd_write(fd, rc, "write");
	errno = e;
	return rc;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
	ssize_t rc = real_pwrite(fd, buf, n, off);
	int e = errno;
	after_fd_write(fd, rc, "pwrite");
	errno = e;
	return rc;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite64, int, const void *, size_t, off_t);
	ssize_t rc = real_pwrite64(fd, buf, n, off);
	int e = errno;
	after_fd_write(fd, rc, "pwrite");
	errno = e;
	return rc;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(ssize_t, writev, int, const struct iovec *, int);
	ssize_t rc = real_writev(fd, iov, cnt);
	int e = errno;
	after_fd_write(fd, rc, "writev");
	errno = e;
	return rc;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	REAL(ssize_t, pwritev, int, const struct iovec *, int, off_t);
	ssize_t rc = real_pwritev(fd, iov, cnt, off);
	int e = errno;
	after_fd_write(fd, rc, "pwritev");
	errno = e;
	return rc;
}

int ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, int, off_t);
	int rc = real_ftruncate(fd, len);
	int e = errno;
	after_fd_write(fd, rc, "ftruncate");
	errno = e;
	return rc;
}

int ftruncate64(int fd, off_t len)
{
	REAL(int, ftruncate64, int, off_t);
	int rc = real_ftruncate64(fd, len);
	int e = errno;
	after_fd_write(fd, rc, "ftruncate");
	errno = e;
	return rc;
}

static void after_sync(int fd, int rc, const char *what)
{
	char name[256];
	int kind = rc ? 0 : fd_kind(fd, name, sizeof name);
	if (!kind)
		return;
	pthread_mutex_lock(&mu);
	if (kind == 2) {
		log_dir();
		step(what, ".");
	} else {
		struct stat st;
		if (!fstat(fd, &st))
			logf_("S %llu %llu\n", (unsigned long long)st.st_ino, snapshot_fd(fd));
		step(what, name);
	}
	pthread_mutex_unlock(&mu);
}

int fsync(int fd)
{
	REAL(int, fsync, int);
	int rc = real_fsync(fd);
	int e = errno;
	after_sync(fd, rc, "fsync");
	errno = e;
	return rc;
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	int rc = real_fdatasync(fd);
	int e = errno;
	after_sync(fd, rc, "fdatasync");
	errno = e;
	return rc;
}

/* A path-based call: count it when its path (or either path) is in DIR. */
static void after_path(int rc, const char *what, int d1, const char *p1, int d2, const char *p2)
{
	char name[256];
	if (rc)
		return;
	bool w = (p1 && path_watched(d1, p1, name, sizeof name)) || (p2 && path_watched(d2, p2, name, sizeof name));
	if (!w)
		return;
	pthread_mutex_lock(&mu);
	step(what, name);
	pthread_mutex_unlock(&mu);
}

int truncate(const char *p, off_t len)
{
	REAL(int, truncate, const char *, off_t);
	int rc = real_truncate(p, len);
	int e = errno;
	after_path(rc, "truncate", AT_FDCWD, p, 0, NULL);
	errno = e;
	return rc;
}

int rename(const char *a, const char *b)
{
	REAL(int, rename, const char *, const char *);
	int rc = real_rename(a, b);
	int e = errno;
	after_path(rc, "rename", AT_FDCWD, a, AT_FDCWD, b);
	errno = e;
	return rc;
}

int renameat(int da, const char *a, int db, const char *b)
{
	REAL(int, renameat, int, const char *, int, const char *);
	int rc = real_renameat(da, a, db, b);
	int e = errno;
	after_path(rc, "rename", da, a, db, b);
	errno = e;
	return rc;
}

int renameat2(int da, const char *a, int db, const char *b, unsigned flags)
{
	REAL(int, renameat2, int, const char *, int, const char *, unsigned);
	int rc = real_renameat2(da, a, db, b, flags);
	int e = errno;
	after_path(rc, "rename", da, a, db, b);
	errno = e;
	return rc;
}

int unlink(const char *p)
{
	REAL(int, unlink, const char *);
	int rc = real_unlink(p);
	int e = errno;
	after_path(rc, "unlink", AT_FDCWD, p, 0, NULL);
	errno = e;
	return rc;
}

int unlinkat(int d, const char *p, int flags)
{
	REAL(int, unlinkat, int, const char *, int);
	int rc = real_unlinkat(d, p, flags);
	int e = errno;
	after_path(rc, "unlink", d, p, 0, NULL);
	errno = e;
	return rc;
}

int link(const char *a, const char *b)
{
	REAL(int, link, const char *, const char *);
	int rc = real_link(a, b);
	int e = errno;
	after_path(rc, "link", AT_FDCWD, a, AT_FDCWD, b);
	errno = e;
	return rc;
}

int linkat(int da, const char *a, int db, const char *b, int flags)
{
	REAL(int, linkat, int, const char *, int, const char *, int);
	int rc = real_linkat(da, a, db, b, flags);
	int e = errno;
	after_path(rc, "link", da, a, db, b);
	errno = e;
	return rc;
}

/*
 * open with O_CREAT or O_TRUNC: a new file is a new object in the journal
 * (its inode number may be one a removed file had); truncating an existing
 * one is a write.  Either counts as a step.
 */
static int opened(int fd, int d, const char *p, int flags, bool existed)
{
	if (fd < 0 || !(flags & (O_CREAT | O_TRUNC)))
		return fd;
	int e = errno;
	char name[256];
	if (fd_kind(fd, name, sizeof name) == 1) {
		struct stat st;
		pthread_mutex_lock(&mu);
		if (!existed && !fstat(fd, &st))
			logf_("N %llu\n", (unsigned long long)st.st_ino);
		if (!existed || (flags & O_TRUNC))
			step(existed ? "truncate" : "create", name);
		pthread_mutex_unlock(&mu);
	}
	(void)d;
	(void)p;
	errno = e;
	return fd;
}

static bool exists_at(int d, const char *p)
{
	struct stat st;
	return fstatat(d, p, &st, 0) == 0;
}

#define OPEN_MODE(flags, mode)                                            \
	do {                                                              \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                   \
			va_list ap;                                        \
			va_start(ap, flags);                               \
			mode = (mode_t)va_arg(ap, int);                    \
			va_end(ap);                                        \
		}                                                         \
	} while (0)

int open(const char *p, int flags, ...)
{
	REAL(int, open, const char *, int, ...);
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	bool existed = (flags & (O_CREAT | O_TRUNC)) && watch[0] ? exists_at(AT_FDCWD, p) : true;
	return opened(real_open(p, flags, mode), AT_FDCWD, p, flags, existed);
}

int open64(const char *p, int flags, ...)
{
	REAL(int, open64, const char *, int, ...);
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	bool existed = (flags & (O_CREAT | O_TRUNC)) && watch[0] ? exists_at(AT_FDCWD, p) : true;
	return opened(real_open64(p, flags, mode), AT_FDCWD, p, flags, existed);
}

int openat(int d, const char *p, int flags, ...)
{
	REAL(int, openat, int, const char *, int, ...);
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	bool existed = (flags & (O_CREAT | O_TRUNC)) && watch[0] ? exists_at(d, p) : true;
	return opened(real_openat(d, p, flags, mode), d, p, flags, existed);
}

int openat64(int d, const char *p, int flags, ...)
{
	REAL(int, openat64, int, const char *, int, ...);
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	bool existed = (flags & (O_CREAT | O_TRUNC)) && watch[0] ? exists_at(d, p) : true;
	return opened(real_openat64(d, p, flags, mode), d, p, flags, existed);
}

int creat(const char *p, mode_t mode)
{
	return open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
}
