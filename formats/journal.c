/*
 * journal.c — rollback journal header (src/pager.c writeJournalHdr).
 *
 *   off size field (big-endian)
 *     0   8  magic d9 d5 05 f9 20 a1 63 d7
 *     8   4  nRec: records in this segment; 0xffffffff = "up to end of file"
 *    12   4  checksum nonce
 *    16   4  database size in pages before the transaction
 *    20   4  sector size (header padded to it)
 *    24   4  page size
 *
 * A synced journal has the magic; before the sync (and in PERSIST mode
 * after a commit) the header is zeroed.  SQLite's hasHotJournal() calls a
 * journal hot when its first byte is non-zero and no process holds
 * RESERVED on the database; the lock half is for the caller to check.
 * See docs/format-journal.md.
 */
#include "journal.h"

#include <string.h>

#include "bytes.h"

const uint8_t jrnl_magic[8] = { 0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7 };

int jrnl_parse_header(const uint8_t *p, size_t n, struct jrnl_header *h, struct wd_diags *d)
{
	memset(h, 0, sizeof *h);
	if (n == 0)
		return WD_OK;
	h->first_byte_nonzero = p[0] != 0;
	size_t k = n < JRNL_HDR_SIZE ? n : JRNL_HDR_SIZE;
	h->zeroed = true;
	for (size_t i = 0; i < k; i++)
		if (p[i])
			h->zeroed = false;
	if (h->zeroed)
		return WD_OK;
	if (n < JRNL_HDR_SIZE) {
		wd_add(d, WD_JOURNAL_INVALID, WD_F_JOURNAL, (int64_t)n, WD_NONE, WD_NONE,
		       "journal ends at byte %zu, inside its 28-byte header", n);
		return WD_WARN;
	}
	h->magic_ok = !memcmp(p, jrnl_magic, 8);
	h->nrec = rd_be32(p + 8);
	h->nonce = rd_be32(p + 12);
	h->orig_pages = rd_be32(p + 16);
	h->sector_size = rd_be32(p + 20);
	h->page_size = rd_be32(p + 24);
	if (!h->magic_ok) {
		wd_add(d, WD_JOURNAL_INVALID, WD_F_JOURNAL, 0, WD_NONE, WD_NONE,
		       "journal magic is missing: SQLite ignores this journal");
		return WD_WARN;
	}
	int rc = WD_OK;
	if (h->page_size < 512 || h->page_size > 65536 || !is_pow2_u32(h->page_size)) {
		wd_add(d, WD_JOURNAL_INVALID, WD_F_JOURNAL, 24, WD_NONE, WD_NONE,
		       "journal page size %u is not a power of two in 512..65536", h->page_size);
		rc = WD_WARN;
	}
	if (h->sector_size < 32 || h->sector_size > 65536 || !is_pow2_u32(h->sector_size)) {
		wd_add(d, WD_JOURNAL_INVALID, WD_F_JOURNAL, 20, WD_NONE, WD_NONE,
		       "journal sector size %u is not a power of two in 32..65536", h->sector_size);
		rc = WD_WARN;
	}
	if (rc == WD_OK && n > h->sector_size)
		h->nrec_possible = (n - h->sector_size) / ((uint64_t)h->page_size + 8);
	return rc;
}
