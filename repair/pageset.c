/* pageset.c — the page-set file; layout in pageset.h and docs/pageset.md. */
#include "pageset.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../formats/bytes.h"
#include "../formats/dbheader.h"

enum {
	OFF_MAGIC = 0, OFF_VERSION = 16, OFF_FLAGS = 20, OFF_PAGE_SIZE = 24, OFF_DB_PAGES = 28,
	OFF_N = 32, OFF_CKPT_SEQ = 36, OFF_SALT1 = 40, OFF_SALT2 = 44, OFF_FILE_SIZE = 48,
	OFF_DATA_LEN = 56, OFF_FILE_SHA = 64, OFF_HDR_SHA = 96,
};
#define KNOWN_FLAGS (PAGESET_F_FILE_HASH | PAGESET_F_WAL_IDS)

static bool page_size_ok(uint32_t sz)
{
	return is_pow2_u32(sz) && sz >= 512 && sz <= 65536;
}

/* Read exactly n bytes at off; 0 or -1. */
static int pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t k = pread(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int bad(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "'%s' is not a valid page set: %s", path, msg);
	return -2;
}

int pageset_open(struct pageset *s, const char *path, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->path = strdup(path);
	if (!s->path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (s->fd < 0 || fstat(s->fd, &st)) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", path);
		return -1;
	}
	uint64_t fsize = (uint64_t)st.st_size;
	uint8_t h[PAGESET_HDR_SIZE];
	if (fsize < PAGESET_HDR_SIZE)
		return bad(err, errlen, path, "%llu bytes, shorter than the %u-byte header", (unsigned long long)fsize, PAGESET_HDR_SIZE);
	if (pread_all(s->fd, h, sizeof h, 0)) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if (memcmp(h + OFF_MAGIC, PAGESET_MAGIC, 16))
		return bad(err, errlen, path, "bytes 0..15 are not the magic \"waldo pageset 1\\n\"");
	uint32_t version = rd_be32(h + OFF_VERSION);
	if (version != PAGESET_VERSION)
		return bad(err, errlen, path, "format version %u at offset 16; this waldo reads version %u",
			   version, PAGESET_VERSION);
	struct pageset_info *in = &s->info;
	in->flags = rd_be32(h + OFF_FLAGS);
	if (in->flags & ~KNOWN_FLAGS)
		return bad(err, errlen, path, "unknown flags 0x%x at offset 20", in->flags & ~KNOWN_FLAGS);
	in->page_size = rd_be32(h + OFF_PAGE_SIZE);
	if (!page_size_ok(in->page_size))
		return bad(err, errlen, path, "page size %u at offset 24 is not a power of two in 512..65536",
			   in->page_size);
	in->db_pages = rd_be32(h + OFF_DB_PAGES);
	s->n = rd_be32(h + OFF_N);
	if (in->db_pages == 0 || s->n == 0 || s->n > in->db_pages)
		return bad(err, errlen, path, "%u pages in a set for a database of %u pages (offsets 32, 28)",
			   s->n, in->db_pages);
	in->ckpt_seq = rd_be32(h + OFF_CKPT_SEQ);
	in->salt1 = rd_be32(h + OFF_SALT1);
	in->salt2 = rd_be32(h + OFF_SALT2);
	in->file_size = rd_be64(h + OFF_FILE_SIZE);
	memcpy(in->file_sha256, h + OFF_FILE_SHA, RIO_SHA);
	s->data_len = rd_be64(h + OFF_DATA_LEN);
	uint64_t index_len = (uint64_t)s->n * PAGESET_ENTRY_SIZE;
	s->data_off = PAGESET_HDR_SIZE + index_len;
	if (s->data_off > fsize || fsize - s->data_off != s->data_len)
		return bad(err, errlen, path, "the file is %llu bytes; header, index and data say %llu",
			   (unsigned long long)fsize, (unsigned long long)(s->data_off + s->data_len));

	/* index_len <= fsize: the allocation is bounded by the file itself. */
	uint8_t *idx = malloc((size_t)index_len);
	s->pgno = malloc((size_t)s->n * sizeof *s->pgno);
	s->digest = malloc((size_t)s->n * RIO_SHA);
	if (!idx || !s->pgno || !s->digest) {
		free(idx);
		snprintf(err, errlen, "out of memory reading '%s'", path);
		return -1;
	}
	if (pread_all(s->fd, idx, (size_t)index_len, PAGESET_HDR_SIZE)) {
		free(idx);
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	uint8_t hs[RIO_SHA];
	struct rio_sha sha;
	rio_sha_begin(&sha);
	rio_sha_update(&sha, h, OFF_HDR_SHA);
	rio_sha_update(&sha, idx, (size_t)index_len);
	if (rio_sha_end(&sha, hs)) {
		free(idx);
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	if (memcmp(hs, h + OFF_HDR_SHA, RIO_SHA)) {
		free(idx);
		return bad(err, errlen, path, "the header hash (offset 96) does not match the header and index");
	}
	uint32_t lockpg = dbh_lock_byte_page(in->page_size);
	int rc = 0;
	for (uint32_t i = 0; i < s->n && !rc; i++) {
		const uint8_t *e = idx + (size_t)i * PAGESET_ENTRY_SIZE;
		uint32_t p = rd_be32(e);
		uint64_t off = PAGESET_HDR_SIZE + (uint64_t)i * PAGESET_ENTRY_SIZE;
		if (p == 0 || p > in->db_pages)
			rc = bad(err, errlen, path, "index entry at offset %llu names page %u, outside the database",
				 (unsigned long long)off, p);
		else if (p == lockpg)
			rc = bad(err, errlen, path, "index entry at offset %llu names the lock-byte page %u", (unsigned long long)off, p);
		else if (i && p <= s->pgno[i - 1])
			rc = bad(err, errlen, path, "index entry at offset %llu: page %u is not above the one before",
				 (unsigned long long)off, p);
		s->pgno[i] = p;
		memcpy(s->digest[i], e + 4, RIO_SHA);
	}
	free(idx);
	return rc;
}

void pageset_close(struct pageset *s)
{
	if (s->streaming)
		rio_zin_end(&s->z);
	if (s->fd >= 0)
		close(s->fd);
	free(s->pgno);
	free(s->digest);
	free(s->path);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

int64_t pageset_find(const struct pageset *s, uint32_t pgno)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->pgno[mid] < pgno)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->pgno[lo] == pgno ? (int64_t)lo : -1;
}

int pageset_rewind(struct pageset *s, char *err, size_t errlen)
{
	if (s->streaming)
		rio_zin_end(&s->z);
	s->streaming = false;
	s->next = 0;
	if (lseek(s->fd, (off_t)s->data_off, SEEK_SET) < 0 || rio_zin_begin(&s->z, s->fd, s->data_len)) {
		snprintf(err, errlen, "cannot read '%s': %s", s->path, strerror(errno));
		return -1;
	}
	s->streaming = true;
	return 0;
}

int pageset_next(struct pageset *s, uint8_t *page, uint32_t *pgno, char *err, size_t errlen)
{
	if (!s->streaming && pageset_rewind(s, err, errlen))
		return -1;
	if (s->next == s->n) {
		if (!rio_zin_at_end(&s->z)) {
			snprintf(err, errlen, "'%s': the compressed data does not end after the %u pages", s->path, s->n);
			return -2;
		}
		return 0;
	}
	if (rio_zin_read(&s->z, page, s->info.page_size)) {
		snprintf(err, errlen, "'%s': the compressed data is damaged or ends before page %u (entry %u)",
			 s->path, s->pgno[s->next], s->next);
		return -2;
	}
	uint8_t d[RIO_SHA];
	if (rio_sha256(page, s->info.page_size, d)) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	if (memcmp(d, s->digest[s->next], RIO_SHA)) {
		snprintf(err, errlen, "'%s': page %u (entry %u) does not match its SHA-256 in the index",
			 s->path, s->pgno[s->next], s->next);
		return -2;
	}
	*pgno = s->pgno[s->next++];
	return 1;
}

int pageset_verify(struct pageset *s, char *err, size_t errlen)
{
	uint8_t *page = malloc(s->info.page_size);
	if (!page) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = pageset_rewind(s, err, errlen);
	uint32_t pgno;
	while (!rc && (rc = pageset_next(s, page, &pgno, err, errlen)) == 1)
		rc = 0;
	free(page);
	return rc;
}

int pageset_save(const char *path, const struct pageset_info *info, const uint32_t *pgno, uint32_t n,
		 pageset_get_fn get, void *ctx, bool replace, char *err, size_t errlen)
{
	if (!page_size_ok(info->page_size) || n == 0 || n > info->db_pages) {
		snprintf(err, errlen, "cannot write a page set of %u pages for %u pages of %u bytes", n,
			 info->db_pages, info->page_size);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		if (pgno[i] == 0 || pgno[i] > info->db_pages || (i && pgno[i] <= pgno[i - 1]) ||
		    pgno[i] == dbh_lock_byte_page(info->page_size)) {
			snprintf(err, errlen, "page %u cannot be in the set (ascending, 1..%u, not the lock-byte page)",
				 pgno[i], info->db_pages);
			return -1;
		}
	uint64_t index_len = (uint64_t)n * PAGESET_ENTRY_SIZE;
	uint8_t *idx = malloc((size_t)index_len);
	if (!idx) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = get(ctx, pgno[i]);
		uint8_t *e = idx + (size_t)i * PAGESET_ENTRY_SIZE;
		wr_be32(e, pgno[i]);
		if (!p || rio_sha256(p, info->page_size, e + 4)) {
			free(idx);
			snprintf(err, errlen, "cannot read page %u to save it", pgno[i]);
			return -1;
		}
	}
	uint8_t h[PAGESET_HDR_SIZE];
	memset(h, 0, sizeof h);
	memcpy(h + OFF_MAGIC, PAGESET_MAGIC, 16);
	wr_be32(h + OFF_VERSION, PAGESET_VERSION);
	wr_be32(h + OFF_FLAGS, info->flags & KNOWN_FLAGS);
	wr_be32(h + OFF_PAGE_SIZE, info->page_size);
	wr_be32(h + OFF_DB_PAGES, info->db_pages);
	wr_be32(h + OFF_N, n);
	if (info->flags & PAGESET_F_WAL_IDS) {
		wr_be32(h + OFF_CKPT_SEQ, info->ckpt_seq);
		wr_be32(h + OFF_SALT1, info->salt1);
		wr_be32(h + OFF_SALT2, info->salt2);
	}
	if (info->flags & PAGESET_F_FILE_HASH) {
		rio_put_u64(h + OFF_FILE_SIZE, info->file_size);
		memcpy(h + OFF_FILE_SHA, info->file_sha256, RIO_SHA);
	}

	struct atomic_out a;
	if (atomic_prepare(&a, path, replace, err, errlen) != ATOMIC_OK || atomic_open(&a, err, errlen) < 0) {
		free(idx);
		return -1;
	}
	int rc = 0;
	struct rio_zout z;
	if (rio_write_all(a.fd, h, sizeof h) || rio_write_all(a.fd, idx, (size_t)index_len) ||
	    rio_zout_begin(&z, a.fd)) {
		snprintf(err, errlen, "cannot write '%s': %s", a.tmp, strerror(errno));
		rc = -1;
	}
	for (uint32_t i = 0; i < n && !rc; i++) {
		const uint8_t *p = get(ctx, pgno[i]);
		uint8_t d[RIO_SHA];
		/* The page must not have changed between the two reads. */
		if (!p || rio_sha256(p, info->page_size, d) ||
		    memcmp(d, idx + (size_t)i * PAGESET_ENTRY_SIZE + 4, RIO_SHA)) {
			snprintf(err, errlen, "page %u changed while it was being saved", pgno[i]);
			rc = -1;
			rio_zout_abort(&z);
			break;
		}
		rio_zout_write(&z, p, info->page_size);
	}
	uint8_t zsha[RIO_SHA];
	if (!rc && rio_zout_end(&z, zsha)) {
		snprintf(err, errlen, "cannot write '%s': %s", a.tmp, errno ? strerror(errno) : "zlib failed");
		rc = -1;
	}
	if (!rc) {
		rio_put_u64(h + OFF_DATA_LEN, z.out_bytes);
		struct rio_sha sha;
		rio_sha_begin(&sha);
		rio_sha_update(&sha, h, OFF_HDR_SHA);
		rio_sha_update(&sha, idx, (size_t)index_len);
		if (rio_sha_end(&sha, h + OFF_HDR_SHA) || rio_pwrite_all(a.fd, h, sizeof h, 0)) {
			snprintf(err, errlen, "cannot write '%s': %s", a.tmp, strerror(errno));
			rc = -1;
		}
	}
	free(idx);
	if (!rc && rio_commit(&a, err, errlen) != ATOMIC_OK) {
		rc = -1;
		if (!a.tmp[0])
			unlink(a.path);   /* renamed, its folder not synced: nothing relies on it yet */
	}
	if (rc)
		atomic_abort(&a);
	return rc;
}
