/*
 * cutmap.c — an LD_PRELOAD shim for t1210: cut a file short right after
 * waldo maps it, as a TRUNCATE checkpoint or a WAL reset by another process
 * would, so that every read past the new end happens under the mapping.
 *
 *   WALDO_CUTMAP=NAME:BYTES   the first mmap of a file whose last path
 *                             component is NAME truncates that file to BYTES
 *                             bytes, after the mapping is made
 *
 * Only that one call does anything; every other mmap goes straight to the
 * C library's.  Built by the test itself, never with the sanitizers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

static int done;

static void maybe_cut(int fd)
{
	const char *spec = getenv("WALDO_CUTMAP");
	if (done || fd < 0 || !spec)
		return;
	const char *colon = strrchr(spec, ':');
	if (!colon)
		return;
	char link[64], path[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return;
	path[n] = '\0';
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strlen(base) != (size_t)(colon - spec) || memcmp(base, spec, (size_t)(colon - spec)))
		return;
	done = 1;
	if (truncate(path, (off_t)strtoll(colon + 1, NULL, 10)) != 0)
		perror("cutmap: truncate");
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
	void *p = real(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED)
		maybe_cut(fd);
	return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap(addr, len, prot, flags, fd, (off_t)off);
}
