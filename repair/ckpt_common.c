/* ckpt_common.c — shared by checkpoint, rollback and backup; see ckpt_common.h. */
#include "ckpt_common.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../formats/bytes.h"
#include "../formats/dbheader.h"
#include "../inspect/atomic.h"
#include "../inspect/locks.h"

void ckpt_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

void ckpt_lock_holders(int dbfd, int shmfd, char *buf, size_t n)
{
	buf[0] = '\0';
	struct wf_set s;
	memset(&s, 0, sizeof s);
	s.db.fd = dbfd;
	s.shm.fd = shmfd;
	s.db.present = dbfd >= 0 && !fstat(dbfd, &s.db.st);
	s.shm.present = shmfd >= 0 && !fstat(shmfd, &s.shm.st);
	struct lock_report *r = malloc(sizeof *r);
	if (!r)
		return;
	locks_probe(&s, r);
	locks_pid_list(r, buf, n);
	free(r);
}

uint64_t ckpt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ckpt_backoff(unsigned attempt)
{
	unsigned ms = attempt < 6 ? 1u << attempt : 50u;
	if (ms > 50)
		ms = 50;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

ssize_t ckpt_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

int ckpt_sha_fd(int fd, const char *name, uint8_t sha[RIO_SHA], uint64_t *size, char *err, size_t errlen)
{
	uint8_t *buf = malloc(RIO_CHUNK);
	struct rio_sha s;
	if (!buf || rio_sha_begin(&s)) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint64_t off = 0;
	for (;;) {
		ssize_t k = ckpt_pread_full(fd, buf, RIO_CHUNK, off);
		if (k < 0) {
			snprintf(err, errlen, "cannot read '%s' at offset %llu: %s", name, (unsigned long long)off,
				 strerror(errno));
			free(buf);
			rio_sha_end(&s, sha);
			return -1;
		}
		rio_sha_update(&s, buf, (size_t)k);
		off += (uint64_t)k;
		if ((size_t)k < RIO_CHUNK)
			break;
	}
	free(buf);
	*size = off;
	if (rio_sha_end(&s, sha)) {
		snprintf(err, errlen, "SHA-256 of '%s' failed", name);
		return -1;
	}
	return 0;
}

void ckpt_pred_free(struct ckpt_pred *pr)
{
	free(pr->changed);
	pr->changed = NULL;
	pr->nchanged = 0;
}

int ckpt_predict(int fd, uint64_t fsize, struct pageset *set, struct ckpt_pred *pr, char *err, size_t errlen)
{
	memset(pr, 0, sizeof *pr);
	const uint32_t ps = set->info.page_size, npages = set->info.db_pages;
	const uint32_t lockpg = dbh_lock_byte_page(ps);
	pr->file_pages = fsize / ps;
	pr->size = (uint64_t)npages * ps;
	pr->ncut = pr->file_pages > npages ? pr->file_pages - npages : 0;
	if ((uint64_t)npages > pr->file_pages + set->n + 1) {
		/*
		 * More pages than the file and the set hold together: the result would
		 * have a hole of zeros, which no checkpoint leaves.  Say so without
		 * hashing a size the set's header may have made up.
		 */
		pr->nhole = (uint32_t)(npages - pr->file_pages - set->n);
		return 0;
	}
	/* RIO_CHUNK is a multiple of every page size: a chunk holds whole pages. */
	const uint32_t per_chunk = RIO_CHUNK / ps;
	uint8_t *chunk = malloc(RIO_CHUNK), *setpage = malloc(ps), *own = calloc(1, ps);
	pr->changed = malloc(((size_t)set->n + 1) * sizeof *pr->changed);
	struct rio_sha s;
	int rc = 0;
	if (!chunk || !setpage || !own || !pr->changed || rio_sha_begin(&s)) {
		snprintf(err, errlen, "out of memory");
		free(chunk);
		free(setpage);
		free(own);
		ckpt_pred_free(pr);
		return -1;
	}
	rc = pageset_rewind(set, err, errlen);
	uint64_t chunk_first = 0, chunk_n = 0;   /* pages chunk_first .. chunk_first+chunk_n-1 are in chunk */
	uint32_t next = 0;                        /* page number of setpage; 0 none read, UINT32_MAX no more */
	for (uint64_t pg = 1; pg <= npages && !rc; pg++) {
		const uint8_t *filepg = NULL;
		if (pg <= pr->file_pages) {
			if (!chunk_n || pg >= chunk_first + chunk_n) {
				uint64_t n = pr->file_pages - pg + 1 < per_chunk ? pr->file_pages - pg + 1 : per_chunk;
				ssize_t k = ckpt_pread_full(fd, chunk, (size_t)(n * ps), (pg - 1) * ps);
				if (k < 0 || (uint64_t)k != n * ps) {
					snprintf(err, errlen, "cannot read page %llu of the database file: %s",
						 (unsigned long long)pg, k < 0 ? strerror(errno) : "the file is shorter now");
					rc = -1;
					break;
				}
				chunk_first = pg;
				chunk_n = n;
			}
			filepg = chunk + (size_t)(pg - chunk_first) * ps;
		}
		if (next < pg) {
			int k = pageset_next(set, setpage, &next, err, errlen);
			if (k < 0) {
				rc = k;
				break;
			}
			if (k == 0)
				next = UINT32_MAX;
		}
		const uint8_t *src;
		if (next == pg) {
			src = setpage;
			if (!filepg) {
				pr->npast++;
				pr->changed[pr->nchanged++] = (uint32_t)pg;
			} else if (memcmp(filepg, setpage, ps)) {
				pr->ndiff++;
				pr->changed[pr->nchanged++] = (uint32_t)pg;
			} else {
				pr->nsame++;
			}
		} else if (filepg && pg == 1) {
			/* As wal-synth writes page 1 when the set lacks it. */
			memcpy(own, filepg, ps);
			wr_be32(own + 28, npages);
			memcpy(own + 92, own + 24, 4);
			src = own;
		} else if (filepg) {
			src = filepg;
		} else {
			if (pg != lockpg)
				pr->nhole++;
			memset(own, 0, ps);
			src = own;
		}
		rio_sha_update(&s, src, ps);
	}
	if (rio_sha_end(&s, pr->sha) && !rc) {
		snprintf(err, errlen, "SHA-256 failed");
		rc = -1;
	}
	free(chunk);
	free(setpage);
	free(own);
	if (rc) {
		ckpt_pred_free(pr);
		return rc;
	}
	pr->matches = (set->info.flags & PAGESET_F_FILE_HASH) && pr->size == set->info.file_size &&
		      !memcmp(pr->sha, set->info.file_sha256, RIO_SHA);
	return 0;
}

int ckpt_ofd_lock(int fd, off_t byte, bool lock, int timeout_ms)
{
#ifdef F_OFD_SETLK
	uint64_t start = ckpt_now_ms();
	for (unsigned attempt = 0;; attempt++) {
		struct flock fl;
		memset(&fl, 0, sizeof fl);        /* l_pid must be 0 for OFD locks */
		fl.l_type = lock ? F_WRLCK : F_UNLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = byte;
		fl.l_len = 1;
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno == EINVAL)
			return -2;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		if (ckpt_now_ms() - start >= (uint64_t)timeout_ms)
			return 1;
		ckpt_backoff(attempt);
	}
#else
	(void)fd;
	(void)byte;
	(void)lock;
	(void)timeout_ms;
	return -2;
#endif
}

void ckpt_walcopy_paths(const char *set, char *wal, size_t n, char *sum, size_t m)
{
	snprintf(wal, n, "%s.wal", set);
	snprintf(sum, m, "%s.wal.sha256", set);
}

int ckpt_write_file(const char *path, const uint8_t *data, uint64_t size, bool replace, char *err,
			size_t errlen)
{
	struct atomic_out a;
	int rc = atomic_prepare(&a, path, replace, err, errlen);
	if (rc == ATOMIC_EXISTS)
		return 1;
	if (rc != ATOMIC_OK || atomic_open(&a, err, errlen) < 0)
		return -1;
	for (uint64_t off = 0; off < size;) {
		size_t part = size - off > RIO_CHUNK ? RIO_CHUNK : (size_t)(size - off);
		if (rio_write_all(a.fd, data + off, part)) {
			snprintf(err, errlen, "cannot write '%s': %s", a.tmp, strerror(errno));
			atomic_abort(&a);
			return -1;
		}
		off += part;
	}
	rc = rio_commit(&a, err, errlen);
	if (rc != ATOMIC_OK) {
		atomic_abort(&a);
		return rc == ATOMIC_EXISTS ? 1 : -1;
	}
	return 0;
}

int ckpt_walcopy_write(const char *set, const uint8_t *data, uint64_t size, bool replace,
		       uint8_t sha[RIO_SHA], char *err, size_t errlen)
{
	char wal[4200], sum[4200];
	ckpt_walcopy_paths(set, wal, sizeof wal, sum, sizeof sum);
	if (rio_sha256(data, (size_t)size, sha)) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	int rc = ckpt_write_file(wal, data, size, replace, err, errlen);
	if (rc)
		return rc;
	char hex[2 * RIO_SHA + 1], line[4400];
	rio_hex(sha, hex);
	int k = snprintf(line, sizeof line, "%s  %s\n", hex, rio_basename(wal));
	return ckpt_write_file(sum, (const uint8_t *)line, (uint64_t)k, replace, err, errlen);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ckpt_walcopy_check(const char *set, uint64_t *size, uint8_t sha[RIO_SHA], char *err, size_t errlen)
{
	char wal[4200], sum[4200];
	ckpt_walcopy_paths(set, wal, sizeof wal, sum, sizeof sum);
	FILE *f = fopen(sum, "re");
	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s (was the checkpoint run with --keep-wal?)", sum,
			 strerror(errno));
		return -1;
	}
	char line[4400];
	bool got = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	size_t len = got ? strlen(line) : 0;
	const char *name = rio_basename(wal);
	bool ok = len == 2 * RIO_SHA + 2 + strlen(name) + 1 && line[len - 1] == '\n' && line[2 * RIO_SHA] == ' ' &&
		  line[2 * RIO_SHA + 1] == ' ' && !strncmp(line + 2 * RIO_SHA + 2, name, strlen(name));
	uint8_t want[RIO_SHA];
	for (int i = 0; ok && i < RIO_SHA; i++) {
		int hi = hexval((unsigned char)line[2 * i]), lo = hexval((unsigned char)line[2 * i + 1]);
		ok = hi >= 0 && lo >= 0;
		want[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!ok) {
		snprintf(err, errlen, "'%s' is not one line \"SHA256  %s\"", sum, name);
		return -2;
	}
	int rc = rio_sha256_file(wal, sha, size, err, errlen);
	if (rc == 0) {
		snprintf(err, errlen, "the kept WAL '%s' is missing", wal);
		return -1;
	}
	if (rc < 0)
		return -1;
	if (memcmp(sha, want, RIO_SHA)) {
		snprintf(err, errlen, "the kept WAL '%s' does not match its SHA-256 in '%s'", wal, sum);
		return -2;
	}
	return 0;
}
