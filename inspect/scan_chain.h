/*
 * scan_chain.h — series of WAL files that belong to one database, as
 * replication and backup tools keep them (rqlite-style `wal-00`, `wal-01`,
 * …; Litestream-style numbered segments): recognising a series by name and
 * checking that each file continues the one before it.  Pure: headers in,
 * findings out; no I/O.  Rules: the essay in scan_chain.c, docs/scan.md.
 */
#ifndef WALDO_SCAN_CHAIN_H
#define WALDO_SCAN_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../formats/diag.h"
#include "../formats/wal.h"

#define CHAIN_MAX_JUMP 65536u   /* a salt-1 step larger than this is another lineage, not a gap */

struct chain_member {
	const char *path;           /* display path; findings name it (not owned) */
	const char *name;           /* file name within its folder (not owned) */
	uint64_t number;            /* sequence number from the name (chain_split_name) */
	struct wal_header hdr;      /* decoded header (wal_parse_header); may be invalid */
	bool has_header;            /* the file holds at least WAL_HDR_SIZE bytes */
	struct wd_diags *diags;     /* this member's findings: chain_check appends here */
	size_t user;                /* the caller's index, kept through the sort */
};

/*
 * Find the sequence number in a file name: the last run of hexadecimal
 * digits that holds at least one decimal digit ("wal-07" -> "07",
 * "00000a3f.wal" -> "00000a3f").  Returns true with its start and length;
 * false when the name has none.  The series key is the name with the run
 * taken out (prefix + suffix).
 */
bool chain_split_name(const char *name, size_t *start, size_t *len);
/* Parse a run found by chain_split_name, base 16 when `hex`, else base 10 (saturating). */
uint64_t chain_parse_number(const char *digits, size_t len, bool hex);
/* Whether the run holds a-f / A-F (then the whole series is read as hexadecimal). */
bool chain_run_is_hex(const char *digits, size_t len);

/*
 * Sort the n members by sequence number (then name) and check that each
 * continues the last valid one before it: same page size (and the base
 * database's, when base_page_size is not 0), salt-1 one higher per WAL
 * generation, checkpoint sequence not going back.  Appends CHAIN_GAP,
 * CHAIN_ORDER and CHAIN_FOREIGN to the later member's diags, naming both
 * files.  Members without a valid header are left to their own WAL
 * findings and skipped.  Returns the worst severity added, or -1.
 */
int chain_check(struct chain_member *v, size_t n, uint32_t base_page_size, const char *base_path);

#endif
