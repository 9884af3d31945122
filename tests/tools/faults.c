/*
 * faults.c — an LD_PRELOAD shim that makes one write-type call on one
 * folder's files fail the way a full or failing disk makes it fail, for
 * tests/e2e/t1430-write-faults.sh (docs/repair.md, "Environment faults").
 * Same approach as powercut.c: it interposes on the dynamic symbols, so
 * libsqlite3's own writes are seen as well as waldo's; calls inside libc
 * (stdio's writes, mmap'ed stores) are not.
 *
 * Environment:
 *   WALDO_FAULT_DIR=DIR   the folder watched (the files in it and in its
 *                         folders, and the folders themselves for a folder
 *                         fsync); unset: do nothing
 *   WALDO_FAULT=KIND:N    the Nth call of that kind on the watched files fails:
 *     enospc:N     write, pwrite, pwrite64, writev, pwritev, ftruncate: -1 ENOSPC
 *                  (nothing written)
 *     edquot:N     the same with EDQUOT
 *     eio-fsync:N  fsync, fdatasync (of a file in DIR or of DIR): -1 EIO, no sync
 *     short:N      write, pwrite, pwrite64, writev, pwritev: only the first half
 *                  of the bytes is written and that count returned (a short
 *                  write, as POSIX allows on a nearly full disk)
 *   Calls are counted per kind from 1.  When the Nth call is failed the shim
 *   writes "waldo-fault: KIND N injected (FILE) by OBJECT" on file descriptor 2
 *   (OBJECT: the binary or library that made the call, e.g. libsqlite3.so.0;
 *   FILE "." for the folder itself), so a test
 *   loops N = 1, 2, ... until a run no longer prints it: then every call of
 *   that kind the command makes has been failed once.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind { K_NONE, K_WRITE, K_SYNC, K_SHORT };

static char watch[PATH_MAX];       /* realpath of DIR, "" when inactive */
static enum kind fault_kind;
static int fault_errno;
static char fault_name[32];
static unsigned long long fault_at, ncalls;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void faults_init(void)
{
	const char *d = getenv("WALDO_FAULT_DIR"), *f = getenv("WALDO_FAULT");
	if (!d || !*d || !f || !*f || !realpath(d, watch)) {
		watch[0] = '\0';
		return;
	}
	const char *colon = strchr(f, ':');
	size_t k = colon ? (size_t)(colon - f) : 0;
	if (!colon || k >= sizeof fault_name) {
		watch[0] = '\0';
		return;
	}
	memcpy(fault_name, f, k);
	fault_name[k] = '\0';
	fault_at = strtoull(colon + 1, NULL, 10);
	if (!strcmp(fault_name, "enospc")) {
		fault_kind = K_WRITE;
		fault_errno = ENOSPC;
	} else if (!strcmp(fault_name, "edquot")) {
		fault_kind = K_WRITE;
		fault_errno = EDQUOT;
	} else if (!strcmp(fault_name, "short")) {
		fault_kind = K_SHORT;
	} else if (!strcmp(fault_name, "eio-fsync")) {
		fault_kind = K_SYNC;
		fault_errno = EIO;
	} else {
		watch[0] = '\0';
	}
}

/* Is fd a file in DIR or below (or DIR or a folder below it, when dir_too)?  name gets its path from DIR. */
static bool watched(int fd, bool dir_too, char *name, size_t n)
{
	char l[64], p[PATH_MAX];
	snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
	ssize_t k = readlink(l, p, sizeof p - 1);
	if (k <= 0)
		return false;
	p[k] = '\0';
	size_t w = strlen(watch);
	if (!strcmp(p, watch)) {
		snprintf(name, n, "%s", dir_too ? "." : "");
		return dir_too;
	}
	if (strncmp(p, watch, w) || p[w] != '/')
		return false;
	struct stat st;
	if (!dir_too && (fstat(fd, &st) || !S_ISREG(st.st_mode)))
		return false;
	snprintf(name, n, "%s", p + w + 1);
	return true;
}

/* Count a call of kind k on fd; true (errno set, message written) when it is the one to fail. */
static bool fail_now(int fd, enum kind k, void *caller)
{
	char name[256];
	if (!watch[0] || k != fault_kind || fd < 0 || !watched(fd, k == K_SYNC, name, sizeof name))
		return false;
	pthread_mutex_lock(&mu);
	bool hit = ++ncalls == fault_at;
	pthread_mutex_unlock(&mu);
	if (!hit)
		return false;
	/* Who made the call: waldo itself or a library (libsqlite3 has its own error policy). */
	Dl_info info;
	const char *by = "?";
	if (dladdr(caller, &info) && info.dli_fname) {
		by = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
	}
	char msg[PATH_MAX + 128];
	int m = snprintf(msg, sizeof msg, "waldo-fault: %s %llu injected (%s) by %s\n", fault_name, fault_at, name, by);
	if (m > 0)
		syscall(SYS_write, 2, msg, (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1);
	errno = fault_errno;
	return true;
}

#define REAL(ret, name, ...)                                              \
	static ret (*real_##name)(__VA_ARGS__);                            \
	if (!real_##name)                                                  \
		real_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

/* The bytes a short write keeps of n: half, at least one. */
static size_t half(size_t n)
{
	return n > 1 ? n / 2 : n;
}

/* The first `keep` bytes of iov[0..cnt) into out[] (at most cnt entries); the entries used. */
static int iov_cut(const struct iovec *iov, int cnt, size_t keep, struct iovec *out)
{
	int k = 0;
	for (int i = 0; i < cnt && keep; i++, k++) {
		out[k] = iov[i];
		if (out[k].iov_len > keep)
			out[k].iov_len = keep;
		keep -= out[k].iov_len;
	}
	return k;
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t t = 0;
	for (int i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

/* A data write of *n bytes: true when it is to fail (ENOSPC, EDQUOT); *n halved when it is to be short. */
static bool data_fails(int fd, size_t *n, void *caller)
{
	if (fail_now(fd, K_WRITE, caller))
		return true;
	if (fail_now(fd, K_SHORT, caller))
		*n = half(*n);
	return false;
}

#define MAX_IOV 1024

/* The same for writev/pwritev: NULL when it is to fail, else the vector to write (*cnt entries). */
static const struct iovec *vec_fault(int fd, const struct iovec *iov, int *cnt, struct iovec cut[MAX_IOV],
				     void *caller)
{
	size_t want = iov_total(iov, *cnt), n = want;
	if (data_fails(fd, &n, caller))
		return NULL;
	if (n == want || *cnt <= 0 || *cnt > MAX_IOV)
		return iov;
	*cnt = iov_cut(iov, *cnt, n, cut);
	return cut;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, int, const void *, size_t);
	return data_fails(fd, &n, __builtin_return_address(0)) ? -1 : real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
	return data_fails(fd, &n, __builtin_return_address(0)) ? -1 : real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite64, int, const void *, size_t, off_t);
	return data_fails(fd, &n, __builtin_return_address(0)) ? -1 : real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(ssize_t, writev, int, const struct iovec *, int);
	struct iovec cut[MAX_IOV];
	const struct iovec *v = vec_fault(fd, iov, &cnt, cut, __builtin_return_address(0));
	return v ? real_writev(fd, v, cnt) : -1;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	REAL(ssize_t, pwritev, int, const struct iovec *, int, off_t);
	struct iovec cut[MAX_IOV];
	const struct iovec *v = vec_fault(fd, iov, &cnt, cut, __builtin_return_address(0));
	return v ? real_pwritev(fd, v, cnt, off) : -1;
}

int ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, int, off_t);
	return fail_now(fd, K_WRITE, __builtin_return_address(0)) ? -1 : real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len)
{
	REAL(int, ftruncate64, int, off_t);
	return fail_now(fd, K_WRITE, __builtin_return_address(0)) ? -1 : real_ftruncate64(fd, len);
}

int fsync(int fd)
{
	REAL(int, fsync, int);
	return fail_now(fd, K_SYNC, __builtin_return_address(0)) ? -1 : real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	return fail_now(fd, K_SYNC, __builtin_return_address(0)) ? -1 : real_fdatasync(fd);
}
