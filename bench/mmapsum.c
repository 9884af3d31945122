/*
 * mmapsum.c — `bench-mmapsum [-j N] [--pread | --madvise ADVICE] FILE`: the
 * raw read limit.
 *
 * By default maps FILE read-only exactly as waldo does (mmap PROT_READ,
 * MAP_PRIVATE, no MAP_POPULATE, no madvise) and adds up every 64-bit word,
 * so that every page of the file is faulted in and every byte is loaded
 * once.  The sum is printed so that the compiler cannot drop the loop.
 * Nothing can look at every byte of a file faster than this on the same
 * machine; `waldo inspect`'s checksum walk is compared with it (line 3 of
 * `make bench` runs it with no option).
 *
 * The options measure other ways to read the same bytes, for the notes in
 * docs/performance.md; the sum is the same whatever the way:
 *   -j N               N threads, each summing one contiguous part
 *   --pread            no mapping: pread 1 MiB at a time into one reusable
 *                      buffer per thread (no page faults, one copy)
 *   --madvise ADVICE   madvise the mapping first: sequential, willneed,
 *                      hugepage; or populate (MAP_POPULATE)
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_THREADS 64
#define PREAD_CHUNK (1u << 20)

static const char usage[] = "usage: bench-mmapsum [-j N] [--pread | --madvise sequential|willneed|hugepage|populate] FILE\n";

struct part {
	int fd;
	const uint8_t *map;        /* NULL: pread */
	uint64_t first, end;       /* bytes [first, end) of the file */
	uint64_t sum;
	int failed;
};

/* Four independent sums, so the loop is bound by loads, not by one
 * dependency chain; memcpy keeps the loads alignment-safe. */
static uint64_t sum_bytes(const uint8_t *p, size_t n)
{
	uint64_t s[4] = { 0, 0, 0, 0 };
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		uint64_t w[4];
		memcpy(w, p + i, sizeof w);
		s[0] += w[0];
		s[1] += w[1];
		s[2] += w[2];
		s[3] += w[3];
	}
	for (; i < n; i++)
		s[0] += p[i];
	return s[0] + s[1] + s[2] + s[3];
}

static void *run(void *arg)
{
	struct part *pt = arg;
	if (pt->map) {
		pt->sum = sum_bytes(pt->map + pt->first, (size_t)(pt->end - pt->first));
		return NULL;
	}
	uint8_t *buf = malloc(PREAD_CHUNK);
	if (!buf) {
		pt->failed = 1;
		return NULL;
	}
	/* Chunks end on multiples of 32 bytes, so the sum is the mapping's. */
	for (uint64_t off = pt->first; off < pt->end;) {
		size_t want = pt->end - off < PREAD_CHUNK ? (size_t)(pt->end - off) : PREAD_CHUNK;
		ssize_t got = pread(pt->fd, buf, want, (off_t)off);
		if (got <= 0) {
			pt->failed = 1;
			break;
		}
		pt->sum += sum_bytes(buf, (size_t)got);
		off += (uint64_t)got;
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = 1, use_pread = 0, flags = MAP_PRIVATE, advice = -1;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") && i + 1 < argc) {
			nthreads = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--pread")) {
			use_pread = 1;
		} else if (!strcmp(argv[i], "--madvise") && i + 1 < argc) {
			const char *a = argv[++i];
			if (!strcmp(a, "sequential"))
				advice = MADV_SEQUENTIAL;
			else if (!strcmp(a, "willneed"))
				advice = MADV_WILLNEED;
			else if (!strcmp(a, "hugepage"))
				advice = MADV_HUGEPAGE;
			else if (!strcmp(a, "populate"))
				flags |= MAP_POPULATE;
			else {
				fputs(usage, stderr);
				return 64;
			}
		} else if (!path && argv[i][0] != '-') {
			path = argv[i];
		} else {
			fputs(usage, stderr);
			return 64;
		}
	}
	if (!path || nthreads < 1 || nthreads > MAX_THREADS) {
		fputs(usage, stderr);
		return 64;
	}
	int fd = open(path, O_RDONLY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size <= 0) {
		perror(path);
		return 66;
	}
	uint64_t n = (uint64_t)sb.st_size;
	const uint8_t *p = NULL;
	if (!use_pread) {
		p = mmap(NULL, (size_t)n, PROT_READ, flags, fd, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 66;
		}
		if (advice >= 0 && madvise((void *)p, (size_t)n, advice) != 0)
			perror("madvise");
	}
	struct part pt[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	for (int t = 0; t < nthreads; t++) {
		/* Parts start on multiples of 32 bytes, so the sum does not depend on N. */
		uint64_t a = n * (uint64_t)t / (uint64_t)nthreads & ~(uint64_t)31;
		uint64_t b = t + 1 == nthreads ? n : n * (uint64_t)(t + 1) / (uint64_t)nthreads & ~(uint64_t)31;
		pt[t] = (struct part){ fd, p, a, b, 0, 0 };
	}
	for (int t = 1; t < nthreads; t++)
		if (pthread_create(&tid[t], NULL, run, &pt[t]) != 0) {
			perror("pthread_create");
			return 70;
		}
	run(&pt[0]);
	uint64_t s = pt[0].sum;
	int failed = pt[0].failed;
	for (int t = 1; t < nthreads; t++) {
		pthread_join(tid[t], NULL);
		s += pt[t].sum;
		failed |= pt[t].failed;
	}
	if (failed) {
		fprintf(stderr, "%s: read failed\n", path);
		return 74;
	}
	printf("%016llx\n", (unsigned long long)s);
	if (p)
		munmap((void *)p, (size_t)n);
	close(fd);
	return 0;
}
