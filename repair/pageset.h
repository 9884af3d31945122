/*
 * pageset.h — a page set: database pages saved to be written back later,
 * with everything needed to write them back safely (docs/pageset.md).
 *
 *   off  size  field (integers big-endian)
 *     0    16  magic "waldo pageset 1\n"
 *    16     4  format version (1)
 *    20     4  flags: 1 FILE_HASH (bytes 48..95 describe the whole file the
 *              pages were saved from), 2 WAL_IDS (bytes 36..47 are the
 *              checkpoint sequence and salts the synthetic WAL must use)
 *    24     4  page size (a power of two, 512..65536)
 *    28     4  database size in pages once the set is applied
 *    32     4  n, pages in the set (1..database size)
 *    36     4  WAL checkpoint sequence to use (WAL_IDS)
 *    40     4  WAL salt-1 to use (WAL_IDS)
 *    44     4  WAL salt-2 to use (WAL_IDS)
 *    48     8  size in bytes of the whole saved-from file (FILE_HASH)
 *    56     8  c, bytes of compressed page data after the index
 *    64    32  SHA-256 of the whole saved-from file (FILE_HASH), else zero
 *    96    32  SHA-256 of bytes 0..95 followed by the whole index
 *   128   36n  index: n × (u32 page number, 32-byte SHA-256 of the page),
 *              page numbers strictly ascending, never the lock-byte page
 * 128+36n   c  one zlib stream: the n pages, page-size bytes each, in index order
 *
 * The file is exactly 128 + 36n + c bytes.  A reader checks the header
 * hash before using anything, and every page's SHA-256 as it inflates it.
 */
#ifndef WALDO_PAGESET_H
#define WALDO_PAGESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rio.h"

#define PAGESET_MAGIC "waldo pageset 1\n"
#define PAGESET_VERSION 1u
#define PAGESET_HDR_SIZE 128u
#define PAGESET_ENTRY_SIZE 36u
#define PAGESET_F_FILE_HASH 1u
#define PAGESET_F_WAL_IDS 2u

struct pageset_info {
	uint32_t page_size;
	uint32_t db_pages;           /* database size in pages after the set is applied */
	uint32_t flags;
	uint32_t ckpt_seq, salt1, salt2;   /* WAL_IDS */
	uint64_t file_size;          /* FILE_HASH */
	uint8_t file_sha256[RIO_SHA];
};

struct pageset {
	struct pageset_info info;
	uint32_t n;
	uint32_t *pgno;              /* owned, n ascending page numbers */
	uint8_t (*digest)[RIO_SHA];  /* owned, n digests */
	char *path;                  /* owned */
	/* streaming state */
	int fd;
	uint64_t data_off, data_len;
	uint32_t next;               /* index of the next page pageset_next returns */
	bool streaming;
	struct rio_zin z;
};

/*
 * Open a page-set file: read and check the header and the index (magic,
 * version, flags, page size, counts, exact file length, ascending page
 * numbers within 1..db_pages and not the lock-byte page, header hash).
 * Page data is not read yet.  Returns 0, -1 when the file cannot be read
 * (err set), -2 when it is not a valid page set (err says where).  Always
 * call pageset_close.
 */
int pageset_open(struct pageset *s, const char *path, char *err, size_t errlen);
void pageset_close(struct pageset *s);
/* Index of pgno in the set, or -1 (binary search). */
int64_t pageset_find(const struct pageset *s, uint32_t pgno);
/*
 * Stream the pages in index order: (re)start with pageset_rewind, then
 * pageset_next fills `page` (page_size bytes) and *pgno, checking the
 * page's SHA-256.  pageset_next returns 1 for a page, 0 after the last one
 * (when the compressed stream also ends exactly there), -2 when the data is
 * damaged (err set), -1 on an I/O error.
 */
int pageset_rewind(struct pageset *s, char *err, size_t errlen);
int pageset_next(struct pageset *s, uint8_t *page, uint32_t *pgno, char *err, size_t errlen);
/* Inflate every page and check it; 0, or -1/-2 as pageset_next. */
int pageset_verify(struct pageset *s, char *err, size_t errlen);

/*
 * Write a page set to `path` (temporary file + fsync + rename + folder
 * fsync; an existing file only when `replace`).  `get` returns page_size
 * bytes for each page number of pgno[0..n-1] (ascending); it is called
 * twice per page (hashing, then compressing).  Returns 0, or -1 with err.
 */
typedef const uint8_t *(*pageset_get_fn)(void *ctx, uint32_t pgno);
int pageset_save(const char *path, const struct pageset_info *info, const uint32_t *pgno, uint32_t n,
		 pageset_get_fn get, void *ctx, bool replace, char *err, size_t errlen);

#endif
