/*
 * mmapsum.c — `bench-mmapsum FILE`: the raw read limit.
 *
 * Maps FILE read-only exactly as waldo does (mmap PROT_READ, MAP_PRIVATE,
 * no MAP_POPULATE, no madvise) and adds up every 64-bit word, so that every
 * page of the file is faulted in and every byte is loaded once.  The sum is
 * printed so that the compiler cannot drop the loop.  Nothing can look at
 * every byte of a file faster than this on the same machine; `waldo
 * inspect`'s checksum walk is compared with it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: bench-mmapsum FILE\n", stderr);
		return 64;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size <= 0) {
		perror(argv[1]);
		return 66;
	}
	size_t n = (size_t)sb.st_size;
	const uint8_t *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 66;
	}
	/* Four independent sums, so the loop is bound by loads, not by one
	 * dependency chain; memcpy keeps the loads alignment-safe. */
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
	printf("%016llx\n", (unsigned long long)(s[0] + s[1] + s[2] + s[3]));
	munmap((void *)p, n);
	close(fd);
	return 0;
}
