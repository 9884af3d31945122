/*
 * fsutil.c — the file operations scenarios are made of.  Each one dies with
 * a message on failure: a generator that cannot write its output has
 * nothing better to do.
 */
#include "corpus.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cg_in_child;
static const char *die_case;

void die_set_case(const char *name) { die_case = name; }

void die(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "corpus-gen: ");
	if (die_case)
		fprintf(stderr, "%s: ", die_case);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	if (cg_in_child)
		_exit(1);
	static int dying;
	if (!dying++)
		tmp_cleanup();
	exit(1);
}

char *pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, CG_PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= CG_PATH_MAX)
		die("path too long");
	return buf;
}

uint8_t *file_read_opt(const char *path, size_t *n)
{
	*n = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			return NULL;
		die("cannot open '%s': %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st))
		die("cannot stat '%s': %s", path, strerror(errno));
	size_t sz = (size_t)st.st_size;
	uint8_t *p = malloc(sz ? sz : 1);
	if (!p)
		die("out of memory reading '%s'", path);
	size_t got = 0;
	while (got < sz) {
		ssize_t k = read(fd, p + got, sz - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("cannot read '%s': %s", path, k ? strerror(errno) : "short read");
		got += (size_t)k;
	}
	close(fd);
	*n = sz;
	return p;
}

uint8_t *file_read(const char *path, size_t *n)
{
	uint8_t *p = file_read_opt(path, n);
	if (!p)
		die("cannot open '%s': no such file", path);
	return p;
}

void file_write(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("cannot create '%s': %s", path, strerror(errno));
	const uint8_t *b = p;
	size_t done = 0;
	while (done < n) {
		ssize_t k = write(fd, b + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("cannot write '%s': %s", path, strerror(errno));
		done += (size_t)k;
	}
	if (close(fd))
		die("cannot close '%s': %s", path, strerror(errno));
}

void file_copy(const char *src, const char *dst)
{
	size_t n;
	uint8_t *p = file_read(src, &n);
	file_write(dst, p, n);
	free(p);
}

bool file_copy_opt(const char *src, const char *dst)
{
	size_t n;
	uint8_t *p = file_read_opt(src, &n);
	if (!p)
		return false;
	file_write(dst, p, n);
	free(p);
	return true;
}

bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

uint64_t file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st))
		die("cannot stat '%s': %s", path, strerror(errno));
	return (uint64_t)st.st_size;
}

void file_truncate(const char *path, uint64_t size)
{
	if (truncate(path, (off_t)size))
		die("cannot truncate '%s': %s", path, strerror(errno));
}

void file_remove(const char *path)
{
	if (unlink(path) && errno != ENOENT)
		die("cannot remove '%s': %s", path, strerror(errno));
}

void file_patch(const char *path, uint64_t off, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, p, n, (off_t)off) != (ssize_t)n || close(fd))
		die("cannot patch '%s' at %llu: %s", path, (unsigned long long)off, strerror(errno));
}

void file_pread(const char *path, uint64_t off, void *p, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, p, n, (off_t)off) != (ssize_t)n)
		die("cannot read %zu bytes of '%s' at %llu", n, path, (unsigned long long)off);
	close(fd);
}

void file_flip(const char *path, uint64_t off, uint8_t mask)
{
	uint8_t b;
	file_pread(path, off, &b, 1);
	b ^= mask;
	file_patch(path, off, &b, 1);
}

void file_append(const char *path, const void *p, size_t n)
{
	file_patch(path, file_size(path), p, n);
}

void dir_make(const char *path)
{
	char buf[CG_PATH_MAX];
	pathf(buf, "%s", path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			die("cannot create '%s': %s", buf, strerror(errno));
		*s = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		die("cannot create '%s': %s", buf, strerror(errno));
}

/* Depth is bounded by what we create ourselves (two levels). */
void dir_remove(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return;
		if (errno == ENOTDIR) {
			file_remove(path);
			return;
		}
		die("cannot open '%s': %s", path, strerror(errno));
	}
	struct dirent *e;
	char sub[CG_PATH_MAX];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		pathf(sub, "%s/%s", path, e->d_name);
		struct stat st;
		if (lstat(sub, &st))
			die("cannot stat '%s': %s", sub, strerror(errno));
		if (S_ISDIR(st.st_mode))
			dir_remove(sub);
		else
			file_remove(sub);
	}
	closedir(d);
	if (rmdir(path) && errno != ENOENT)
		die("cannot remove '%s': %s", path, strerror(errno));
}

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

int dir_list(const char *dir, char names[][64], int cap, bool dirs)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	char sub[CG_PATH_MAX];
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		pathf(sub, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(sub, &st))
			continue;
		if (dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
			continue;
		size_t len = strlen(e->d_name);
		if (len >= 64)
			continue;
		if (n == cap)
			die("more than %d entries in '%s'", cap, dir);
		memcpy(names[n++], e->d_name, len + 1);
	}
	closedir(d);
	qsort(names, (size_t)n, 64, cmp_name);
	return n;
}

void dir_copy(const char *src, const char *dst)
{
	char names[32][64];
	char a[CG_PATH_MAX], b[CG_PATH_MAX];
	int n = dir_list(src, names, 32, false);
	if (n < 0)
		die("cannot list '%s'", src);
	dir_make(dst);
	for (int i = 0; i < n; i++)
		file_copy(pathf(a, "%s/%s", src, names[i]), pathf(b, "%s/%s", dst, names[i]));
}

static char tmp_dir[CG_PATH_MAX];
static pid_t tmp_owner;

const char *tmp_root(void)
{
	if (!tmp_dir[0]) {
		const char *base = getenv("TMPDIR");
		if (!base || !*base)
			base = "/tmp";
		pathf(tmp_dir, "%s/corpus-gen.XXXXXX", base);
		if (!mkdtemp(tmp_dir))
			die("cannot create a temporary folder under '%s': %s", base, strerror(errno));
		tmp_owner = getpid();
	}
	return tmp_dir;
}

void tmp_cleanup(void)
{
	/* Only the process that made it removes it: forked children share the name. */
	if (tmp_dir[0] && getpid() == tmp_owner) {
		dir_remove(tmp_dir);
		tmp_dir[0] = '\0';
	}
}
