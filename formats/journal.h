/*
 * journal.h — rollback journal header (`-journal`), enough to tell whether
 * a journal is hot.  Layout: formats/journal.c and docs/format-journal.md.
 */
#ifndef WALDO_JOURNAL_H
#define WALDO_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "diag.h"

#define JRNL_HDR_SIZE 28
extern const uint8_t jrnl_magic[8];

struct jrnl_header {
	bool magic_ok;          /* bytes 0..7 are the journal magic */
	bool zeroed;            /* header all zero (PERSIST mode after commit, or not yet synced) */
	bool first_byte_nonzero;/* SQLite's hasHotJournal test on the journal's first byte */
	uint32_t nrec;          /* 0xffffffff: "compute from file size" */
	uint32_t nonce;
	uint32_t orig_pages;    /* database size in pages before the transaction */
	uint32_t sector_size;
	uint32_t page_size;
	uint64_t nrec_possible; /* records that fit in the file after the first header sector */
};

/*
 * Decode the journal header from `n` bytes.  A zero-length or all-zero
 * journal is not an error (it is what TRUNCATE/PERSIST modes leave).
 * Appends JOURNAL_INVALID when the header is neither zeroed nor valid.
 */
int jrnl_parse_header(const uint8_t *p, size_t n, struct jrnl_header *h, struct wd_diags *d);

#endif
