/*
 * btree.h — b-tree pages, cells and records, freelist trunks, pointer-map
 * pages and the lock-byte page.  Pure decoders over one page buffer; the
 * tree walker takes a page-fetch callback so it never does I/O itself.
 * Layout and rules: formats/btree.c and docs/format-btree.md.
 */
#ifndef WALDO_BTREE_H
#define WALDO_BTREE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "diag.h"

enum bt_type {
	BT_INTERIOR_INDEX = 2,
	BT_INTERIOR_TABLE = 5,
	BT_LEAF_INDEX = 10,
	BT_LEAF_TABLE = 13,
};

#define BT_MAX_DEPTH 20        /* SQLite's BTCURSOR_MAX_DEPTH */

struct bt_page {
	uint32_t pgno;
	uint32_t page_size, usable;
	uint32_t hdr_off;          /* 100 on page 1, else 0 */
	uint8_t type;              /* raw type byte */
	bool type_ok, leaf, intkey;
	uint16_t first_freeblock;
	uint16_t ncell;
	uint32_t content_start;    /* 0 on disk means 65536 */
	uint8_t frag;
	uint32_t right_child;      /* interior pages only */
	uint32_t hdr_size;         /* 8 or 12 */
	uint32_t cellptr_off;      /* offset of the cell pointer array in the page */
	uint32_t nfreeblocks;      /* freeblocks on the chain (walk bounded) */
	uint32_t free_bytes;       /* bytes in freeblocks */
};

struct bt_cell {
	uint32_t offset;           /* of the cell within the page */
	uint32_t size;             /* bytes the cell occupies on this page */
	uint32_t left_child;       /* interior cells */
	int64_t rowid;             /* table cells */
	bool has_rowid;
	bool has_payload;
	uint64_t payload_size;     /* total payload bytes (local + overflow) */
	uint32_t local_size;       /* payload bytes on this page */
	uint32_t payload_off;      /* offset of the local payload in the page */
	uint32_t overflow;         /* first overflow page, 0 if none */
};

/* One column of a record. */
struct bt_value {
	uint64_t serial_type;
	uint64_t offset;           /* of the value within the payload */
	uint64_t len;
};

/*
 * Decode the header of a b-tree page and check it: type, cell count against
 * the space for the pointer array, content start, cell pointers in range,
 * freeblock chain (ascending, in range, bounded), fragmented bytes.
 * `page` holds `page_size` bytes.  Appends BTREE_PAGE_INVALID (file WD_F_DB,
 * page pgno, offset within the page in the message).
 */
int bt_parse_page(const uint8_t *page, uint32_t page_size, uint32_t usable, uint32_t pgno,
		  struct bt_page *pg, struct wd_diags *d);

/* Offset of cell i's content, read from the pointer array (0 when out of range). */
uint32_t bt_cell_ptr(const uint8_t *page, const struct bt_page *pg, unsigned i);

/* Decode cell i; every read bounded by the usable size.  Appends BTREE_PAGE_INVALID. */
int bt_parse_cell(const uint8_t *page, const struct bt_page *pg, unsigned i,
		  struct bt_cell *c, struct wd_diags *d);

/* Local payload bytes for a payload of `payload` bytes on a page of this type. */
uint32_t bt_local_payload(uint32_t usable, uint8_t type, uint64_t payload);

/* Bytes a value of this serial type takes in the record body. */
uint64_t bt_serial_len(uint64_t serial_type);

/*
 * Decode a record header from `n` bytes of payload (may be only the local
 * part).  Fills up to `max` columns; *ncol gets the number of columns the
 * header declares (may exceed max).  Returns WD_FATAL on a malformed header.
 */
int bt_parse_record(const uint8_t *payload, size_t n, struct bt_value *cols, unsigned max,
		    unsigned *ncol);

struct bt_trunk {
	uint32_t next;             /* next trunk page, 0 at the end */
	uint32_t nleaf;            /* leaf count as stored */
	uint32_t nleaf_ok;         /* leaves that fit (≤ usable/4 - 2) */
};
/* Decode a freelist trunk page; leaf i is rd_be32(page + 8 + 4*i) for i < nleaf_ok. */
int bt_parse_trunk(const uint8_t *page, uint32_t usable, uint32_t pgno, struct bt_trunk *t,
		   struct wd_diags *d);

/* Pointer map (auto-vacuum databases). */
enum bt_ptrmap_type { PTRMAP_ROOTPAGE = 1, PTRMAP_FREEPAGE, PTRMAP_OVERFLOW1, PTRMAP_OVERFLOW2, PTRMAP_BTREE };
/* The pointer-map page that holds the entry for pgno (SQLite's ptrmapPageno). */
uint32_t bt_ptrmap_pageno(uint32_t usable, uint32_t page_size, uint32_t pgno);
bool bt_is_ptrmap_page(uint32_t usable, uint32_t page_size, uint32_t pgno);
/* Read the entry for pgno from its pointer-map page; WD_FATAL if out of range. */
int bt_ptrmap_entry(const uint8_t *ptrmap_page, uint32_t usable, uint32_t ptrmap_pgno,
		    uint32_t pgno, uint8_t *type, uint32_t *parent);

/*
 * Walk the b-tree rooted at `root` without recursion (explicit stack, depth
 * ≤ BT_MAX_DEPTH), calling `visit` for every page reached.  `get_page`
 * returns a page_size buffer for a page number or NULL when it cannot.
 * `seen` is a caller-owned bitmap of (npages+1) bits shared across trees:
 * a page reached twice is reported (BTREE_PAGE_INVALID) and not descended.
 * Overflow chains are followed (bounded by the payload size) and reported to
 * `visit` with is_overflow set.  Returns the number of pages visited.
 */
struct bt_visit;
struct bt_walk_ops {
	const uint8_t *(*get_page)(void *ctx, uint32_t pgno);
	void (*visit)(void *ctx, uint32_t pgno, const struct bt_page *pg, bool is_overflow);
	void *ctx;
	uint32_t page_size, usable, npages;
	/* Optional (may be NULL): called after `visit` with where the page hangs. */
	void (*visit_full)(void *ctx, const struct bt_visit *v);
};
uint32_t bt_walk_tree(const struct bt_walk_ops *ops, uint32_t root, uint8_t *seen,
		      struct wd_diags *d);

const char *bt_type_name(uint8_t type);

/*
 * Additions beyond the lead's interface (docs/format-btree.md):
 *
 * Diagnostics: every function above accepts d == NULL (nothing is reported).
 * bt_parse_page already reports every cell problem of the page (pointers,
 * cells past the end, overlaps, rowid order), so callers that go on to
 * bt_parse_cell for each cell pass NULL there to avoid duplicates.
 * bt_parse_page, bt_parse_cell and bt_walk_tree set the diagnostic offset to
 * the byte's offset in the database file, (pgno-1)*page_size + offset in the
 * page; bt_parse_trunk cannot (it has no page size) and leaves WD_NONE.
 *
 * bt_walk_tree: the buffer get_page returns need only stay valid until the
 * next get_page call; the walker finishes with a page before calling the
 * visitors, so they may call get_page themselves.  For overflow pages `pg`
 * is NULL.  `seen` may be NULL (the walker then uses its own bitmap).
 * Beyond the checks listed above it reports a child of the wrong kind
 * (table page under an index page and vice versa), leaves at different
 * depths, and a child pointer to the page itself.
 */

/*
 * A b-tree leaf on which bt_parse_page reports nothing and no cell needs
 * overflow pages holds nothing bt_walk_tree needs beyond its header: that
 * header, with the freeblock totals, in 12 bytes.  type 0: not such a leaf.
 */
struct bt_leaf_summary {
	uint8_t type;              /* BT_LEAF_TABLE or BT_LEAF_INDEX, 0 for none */
	uint8_t frag;
	uint16_t first_freeblock;
	uint16_t ncell;
	uint16_t content_raw;      /* content start as stored (0 means 65536) */
	uint16_t nfreeblocks;
	uint16_t free_bytes;
};
/*
 * Is the page such a leaf?  Then true and *sum filled, else false and
 * sum->type 0.  Pure, like bt_parse_page: the same bytes give the same
 * answer, so it may run on many pages at once (in parallel).
 */
bool bt_page_is_clean_leaf(const uint8_t *page, uint32_t page_size, uint32_t usable, uint32_t pgno,
			   struct bt_leaf_summary *sum);

/*
 * bt_walk_tree with pages checked beforehand: `clean` (may be NULL) has
 * ops->npages+1 entries, and clean[pgno].type != 0 only where
 * bt_page_is_clean_leaf gave that summary for the bytes get_page returns
 * for pgno.  The walk takes such a page from its summary and does not call
 * get_page for it; visits and findings are those of bt_walk_tree.  Lets a
 * caller check the pages in parallel and keep the walk itself serial.
 */
uint32_t bt_walk_tree_clean(const struct bt_walk_ops *ops, uint32_t root, uint8_t *seen,
			    const struct bt_leaf_summary *clean, struct wd_diags *d);

/* What bt_walk_tree knows about a page it reaches. */
struct bt_visit {
	uint32_t pgno;
	const struct bt_page *pg;  /* NULL for overflow pages */
	bool is_overflow;
	uint32_t root;             /* root of the tree being walked */
	uint32_t parent;           /* page holding the pointer to this one; 0 for the root */
	uint8_t ptrmap_type;       /* the pointer-map entry SQLite keeps for it (PTRMAP_*) */
	unsigned depth;            /* 0 at the root; an overflow page has its cell's page depth */
};

/*
 * Move diagnostics d->v[from..] about page pgno that were located in the
 * database file to where the page really came from (e.g. WD_F_WAL, frame
 * F, data_off = file offset of the frame's page data).
 */
void bt_diags_relocate(struct wd_diags *d, size_t from, uint32_t page_size, uint32_t pgno,
		       enum wd_file file, int64_t frame, uint64_t data_off);

/* Overflow pages needed for `payload` bytes of which `local` are on the page. */
uint32_t bt_overflow_pages(uint32_t usable, uint64_t payload, uint32_t local);

/* "root page", "free page", "first overflow page", … or "invalid". */
const char *bt_ptrmap_type_name(uint8_t type);

/*
 * Decode an integer value (serial types 1..6, 8, 9) from p, which holds
 * bt_serial_len(st) bytes.  Returns false for other serial types.
 */
bool bt_value_int(const uint8_t *p, uint64_t st, int64_t *v);
/* Decode a float value (serial type 7) from the 8 bytes at p. */
double bt_value_float(const uint8_t *p);

#endif
