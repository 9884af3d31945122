/*
 * btree.h — b-tree pages, cells and records, freelist trunks, pointer-map
 * pages and the lock-byte page.  Pure decoders over one page buffer; the
 * tree walker takes a page-fetch callback so it never does I/O itself.
 * Layout and rules: formats/btree.c and docs/format.md §5.
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
struct bt_walk_ops {
	const uint8_t *(*get_page)(void *ctx, uint32_t pgno);
	void (*visit)(void *ctx, uint32_t pgno, const struct bt_page *pg, bool is_overflow);
	void *ctx;
	uint32_t page_size, usable, npages;
};
uint32_t bt_walk_tree(const struct bt_walk_ops *ops, uint32_t root, uint8_t *seen,
		      struct wd_diags *d);

const char *bt_type_name(uint8_t type);

#endif
