/*
 * btree.c — b-tree pages, cells, records, freelist trunks, pointer-map
 * pages, and a bounded walk over one b-tree.
 *
 * A b-tree page (src/btreeInt.h, "Format of a b-tree page") starts at
 * offset 0, or at offset 100 on page 1 where the database header comes
 * first.  All integers are big-endian:
 *
 *   off size field                      rule (SQLite function mirrored)
 *     0   1  page type                   2 index interior, 5 table interior,
 *                                        10 index leaf, 13 table leaf (decodeFlags)
 *     1   2  first freeblock             0 = none; else >= content start
 *     3   2  number of cells             <= (page_size-8)/6 (btreeInitPage, MX_CELL)
 *     5   2  cell content start          0 means 65536; >= end of the pointer
 *                                        array, <= usable size
 *     7   1  fragmented free bytes       <= 60 in practice (pageFindSlot
 *                                        defragments above 57)
 *     8   4  right-most child            interior pages only
 *   8|12 2n  cell pointer array          each in [content start, usable-4]
 *                                        (checkTreePage)
 *
 * Freeblocks live in the cell content area: 2 bytes offset of the next
 * freeblock (0 ends the chain), 2 bytes size (>= 4).  The chain is ascending
 * with a gap of at least 4 bytes between blocks, and ends inside the usable
 * area (btreeComputeFreeSpace).  Cells, freeblocks and fragments tile the
 * content area exactly; the bytes no cell or freeblock covers are the
 * fragmented bytes of offset 7 (checkTreePage's coverage check).
 *
 * Cells (btreeParseCellPtr*, cellSizePtr*):
 *
 *   type 13 table leaf       varint payload size, varint rowid, payload, [overflow u32]
 *   type  5 table interior   u32 left child, varint rowid
 *   type 10 index leaf       varint payload size, payload, [overflow u32]
 *   type  2 index interior   u32 left child, varint payload size, payload, [overflow u32]
 *
 * With U the usable size, a payload of P bytes is stored whole on the page
 * when P <= X, where X = U-35 on table leaves and ((U-12)*64/255)-23 on
 * index pages.  Otherwise M = ((U-12)*32/255)-23, K = M+((P-M)%(U-4)), and
 * the page holds K bytes when K <= X, else M bytes; the rest lives on a
 * chain of overflow pages, each a u32 next-page number then U-4 bytes of
 * payload (btreeParseCellAdjustSizeForOverflow).  A cell occupies at least
 * 4 bytes.
 *
 * A record (the payload of table leaves and index cells) is a varint header
 * size H (<= 98307, OP_Column), serial-type varints up to byte H, then the
 * values.  Serial types: 0 NULL, 1..6 integers of 1,2,3,4,6,8 bytes, 7
 * float, 8 and 9 the constants 0 and 1, 10 and 11 reserved, N >= 12 even a
 * blob of (N-12)/2 bytes, N >= 13 odd a text of (N-13)/2 bytes.
 *
 * A freelist trunk page: u32 next trunk, u32 leaf count L, then L u32 leaf
 * page numbers; L <= U/4 - 2 (checkList).  In auto-vacuum databases
 * pointer-map pages hold 5-byte entries (type, u32 parent) for the U/5
 * pages that follow them; the first is page 2 and the lock-byte page is
 * skipped (ptrmapPageno).
 *
 * Every read below is bounded by the usable size of the page; nothing is
 * read past the buffer given.  See docs/format-btree.md.
 */
#include "btree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dbheader.h"

enum {
	OFF_TYPE = 0,
	OFF_FIRST_FREEBLOCK = 1,
	OFF_NCELL = 3,
	OFF_CONTENT_START = 5,
	OFF_FRAG = 7,
	OFF_RIGHT_CHILD = 8,
	LEAF_HDR_SIZE = 8,
	INTERIOR_HDR_SIZE = 12,
	PAGE1_HDR_OFF = 100,        /* the database header comes first on page 1 */
	MAX_FRAG = 60,              /* pageFindSlot defragments beyond 57 (+3 per insert) */
	MIN_CELL_SIZE = 4,          /* cellSizePtr never reports less */
	MIN_USABLE = 480,           /* lockBtree's minimum usable size */
	MAX_RECORD_HEADER = 98307,  /* OP_Column: larger header sizes are corrupt */
	FREEBLOCK_HDR = 4,
	CELL_DIAG_CAP = 8,          /* per-page cap on repeated cell diagnostics */
	TRUNK_HDR = 8,
	PTRMAP_ENTRY = 5,
};

/* --- diagnostics ------------------------------------------------------- */

/* Byte offset in the database file of byte `off` of page pgno. */
static int64_t file_off(uint32_t page_size, uint32_t pgno, uint32_t off)
{
	if (!pgno || !page_size)
		return WD_NONE;
	return (int64_t)(pgno - 1) * page_size + off;
}

/*
 * Append a diagnostic about byte `off` of page pgno (NULL d: nothing).  The
 * message starts with "page P offset X: " so that it still says where when
 * the caller relocates the file offset (bt_diags_relocate).
 */
static void __attribute__((format(printf, 7, 8)))
page_diag(struct wd_diags *d, enum wd_code code, enum wd_severity sev, uint32_t page_size,
	  uint32_t pgno, uint32_t off, const char *fmt, ...)
{
	if (!d)
		return;
	char msg[WD_MSG_MAX];
	int k = snprintf(msg, sizeof msg, "page %u offset %u: ", pgno, off);
	va_list ap;
	va_start(ap, fmt);
	if (k > 0 && (size_t)k < sizeof msg)
		vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
	va_end(ap);
	wd_add_sev(d, code, sev, WD_F_DB, file_off(page_size, pgno, off), WD_NONE, pgno, "%s", msg);
}

#define PAGE_ERR(d, pg, off, ...) \
	page_diag((d), WD_BTREE_PAGE_INVALID, WD_ERROR, (pg)->page_size, (pg)->pgno, (off), __VA_ARGS__)

void bt_diags_relocate(struct wd_diags *d, size_t from, uint32_t page_size, uint32_t pgno,
		       enum wd_file file, int64_t frame, uint64_t data_off)
{
	if (!d || !page_size)
		return;
	int64_t base = file_off(page_size, pgno, 0);
	for (size_t i = from; i < d->n; i++) {
		struct wd_diag *g = &d->v[i];
		if (g->file != WD_F_DB || g->page != (int64_t)pgno)
			continue;
		g->file = file;
		g->frame = frame;
		if (g->offset != WD_NONE && g->offset >= base && g->offset < base + page_size)
			g->offset = (int64_t)data_off + (g->offset - base);
		else
			g->offset = (int64_t)data_off;
	}
}

/* --- names and small rules -------------------------------------------- */

const char *bt_type_name(uint8_t type)
{
	switch (type) {
	case BT_INTERIOR_INDEX: return "index interior";
	case BT_INTERIOR_TABLE: return "table interior";
	case BT_LEAF_INDEX: return "index leaf";
	case BT_LEAF_TABLE: return "table leaf";
	}
	return "invalid";
}

/* The four page types decodeFlags accepts. */
static bool bt_type_valid(uint8_t type)
{
	return type == BT_INTERIOR_INDEX || type == BT_INTERIOR_TABLE || type == BT_LEAF_INDEX ||
	       type == BT_LEAF_TABLE;
}

/* MX_CELL: the most cells btreeInitPage accepts on a page of this size. */
static uint32_t bt_max_cells(uint32_t page_size)
{
	return page_size >= 8 ? (page_size - 8) / 6 : 0;
}

/* Page geometry the decoders accept: what lockBtree would. */
static bool geometry_ok(uint32_t page_size, uint32_t usable)
{
	return page_size >= 512 && page_size <= 65536 && is_pow2_u32(page_size) &&
	       usable >= MIN_USABLE && usable <= page_size;
}

/* maxLocal / minLocal of btreeInitPage (via sqlite3BtreeSetPageSize's fractions). */
static int64_t max_local(uint32_t usable, uint8_t type)
{
	if (type == BT_LEAF_TABLE)
		return (int64_t)usable - 35;
	return ((int64_t)usable - 12) * 64 / 255 - 23;
}

static int64_t min_local(uint32_t usable)
{
	return ((int64_t)usable - 12) * 32 / 255 - 23;
}

uint32_t bt_local_payload(uint32_t usable, uint8_t type, uint64_t payload)
{
	int64_t mx = max_local(usable, type), mn = min_local(usable);
	if (usable < MIN_USABLE || mx <= 0 || mn <= 0)
		return 0;
	if (payload <= (uint64_t)mx)
		return (uint32_t)payload;
	uint64_t surplus = (uint64_t)mn + (payload - (uint64_t)mn) % (usable - 4);
	return surplus <= (uint64_t)mx ? (uint32_t)surplus : (uint32_t)mn;
}

uint64_t bt_serial_len(uint64_t st)
{
	static const uint8_t fixed[12] = { 0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0 };
	if (st < 12)
		return fixed[st];
	return (st - 12) / 2;
}

/* Overflow pages a payload of `payload` bytes with `local` on the page needs. */
uint32_t bt_overflow_pages(uint32_t usable, uint64_t payload, uint32_t local)
{
	if (usable <= 4 || payload <= local)
		return 0;
	uint64_t n = (payload - local + usable - 5) / (usable - 4);
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* --- page header ------------------------------------------------------- */

uint32_t bt_cell_ptr(const uint8_t *page, const struct bt_page *pg, unsigned i)
{
	if (i >= pg->ncell)
		return 0;
	uint64_t slot = (uint64_t)pg->cellptr_off + 2ull * i;
	if (slot + 2 > pg->usable)
		return 0;
	return rd_be16(page + slot);
}

/* End of the cell pointer array, as far as it fits in the usable area. */
static uint32_t cellptr_end(const struct bt_page *pg)
{
	uint64_t end = (uint64_t)pg->cellptr_off + 2ull * pg->ncell;
	return end > pg->usable ? pg->usable : (uint32_t)end;
}

/*
 * Size of the cell at pc on this page and the facts bt_parse_cell reports,
 * without diagnostics.  Returns 0 when it decodes inside the usable area, 1
 * when a varint or the child pointer runs past it, 2 when the cell's bytes
 * extend past it (c->size then says how far).
 */
static int decode_cell(const uint8_t *page, const struct bt_page *pg, uint32_t pc,
		       struct bt_cell *c)
{
	memset(c, 0, sizeof *c);
	c->offset = pc;
	if (pc >= pg->usable)
		return 1;
	struct cursor cur = cursor_make(page + pc, pg->usable - pc);
	if (!pg->leaf)
		c->left_child = cursor_be32(&cur);
	if (pg->type != BT_INTERIOR_TABLE) {
		c->has_payload = true;
		c->payload_size = cursor_varint(&cur);
	}
	if (pg->intkey) {
		c->has_rowid = true;
		c->rowid = (int64_t)cursor_varint(&cur);
	}
	if (cur.short_read)
		return 1;
	uint64_t hdr = cur.off;
	uint64_t size = hdr;
	if (c->has_payload) {
		c->payload_off = (uint32_t)(pc + hdr);
		c->local_size = bt_local_payload(pg->usable, pg->type, c->payload_size);
		size += c->local_size;
		if (c->local_size < c->payload_size) {
			uint64_t ptr = (uint64_t)c->payload_off + c->local_size;
			if (ptr + 4 <= pg->usable)
				c->overflow = rd_be32(page + ptr);
			size += 4;
		}
	}
	if (size < MIN_CELL_SIZE)
		size = MIN_CELL_SIZE;
	c->size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	return (uint64_t)pc + size > pg->usable ? 2 : 0;
}

/*
 * The coverage check of checkTreePage: every byte of the content area is
 * in at most one cell or freeblock, and the bytes in none equal the
 * fragment count of offset 7.  Runs only when every cell pointer, cell and
 * freeblock is in range (SQLite skips it otherwise too).
 *
 * The bytes are kept in a bitmap of 64 to a word, so that marking a cell
 * costs a few word operations, not one per byte: the cells are marked as
 * the header check decodes them (each cell is decoded once), the
 * freeblocks after it.  A byte met twice is reported as a byte-by-byte pass
 * in the same order would report it: the lowest already-marked byte of the
 * first cell or freeblock that overlaps.
 */
struct cover {
	uint64_t used[65536 / 64];
	uint32_t covered;          /* bytes marked */
	bool dup;                  /* a cell overlapped: the rest is not marked */
	unsigned dup_cell;
	uint32_t dup_byte;
};

static void cover_init(struct cover *cv, uint32_t usable)
{
	memset(cv->used, 0, ((size_t)usable + 63) / 64 * sizeof cv->used[0]);
	cv->covered = 0;
	cv->dup = false;
}

/*
 * Mark bytes [s, e) (e <= the usable size).  When one of them is already
 * marked, return false with *byte the lowest such one; the bytes before it
 * may be left unmarked, as nothing is marked after an overlap.
 */
static bool cover_mark(struct cover *cv, uint32_t s, uint32_t e, uint32_t *byte)
{
	if (e <= s)
		return true;
	cv->covered += e - s;
	/* The first and last words take part of a mask; the ones between are whole. */
	uint32_t w0 = s >> 6, w1 = (e - 1) >> 6;
	uint64_t first = ~(uint64_t)0 << (s & 63), last = ~(uint64_t)0 >> (63 - ((e - 1) & 63));
	for (uint32_t w = w0; w <= w1; w++) {
		uint64_t mask = (w == w0 ? first : ~(uint64_t)0) & (w == w1 ? last : ~(uint64_t)0);
		uint64_t hit = cv->used[w] & mask;
		if (hit) {
			*byte = (w << 6) + (uint32_t)__builtin_ctzll(hit);
			return false;
		}
		cv->used[w] |= mask;
	}
	return true;
}

/* Cell i of the page decoded at c: mark it unless an overlap was found before. */
static void cover_cell(struct cover *cv, const struct bt_page *pg, unsigned i, const struct bt_cell *c)
{
	if (cv->dup)
		return;
	uint64_t e = (uint64_t)c->offset + c->size;
	if (!cover_mark(cv, c->offset, e < pg->usable ? (uint32_t)e : pg->usable, &cv->dup_byte)) {
		cv->dup = true;
		cv->dup_cell = i;
	}
}

/*
 * The rest of the check, once the cells are marked: the first overlap among
 * the cells, else the freeblocks (the chain as the header check walked it,
 * nfreeblocks long, every block inside the content area), then the count
 * of bytes in neither.  Every marked byte lies in [content start, usable),
 * so the bytes in none are the area's size less the bytes marked.
 */
static bool check_coverage(const uint8_t *page, const struct bt_page *pg, struct cover *cv,
			   struct wd_diags *d)
{
	if (cv->dup) {
		PAGE_ERR(d, pg, cv->dup_byte, "cell %u overlaps another cell (byte %u used twice)", cv->dup_cell,
			 cv->dup_byte);
		return false;
	}
	uint32_t start = pg->content_start;
	uint32_t fb = pg->first_freeblock;
	for (uint32_t k = 0; fb && k < pg->nfreeblocks; k++) {
		uint32_t next = rd_be16(page + fb), size = rd_be16(page + fb + 2);
		uint64_t e = (uint64_t)fb + size;
		uint32_t b;
		if (!cover_mark(cv, fb, e < pg->usable ? (uint32_t)e : pg->usable, &b)) {
			PAGE_ERR(d, pg, b, "freeblock at %u overlaps a cell (byte %u used twice)", fb, b);
			return false;
		}
		fb = next;
	}
	uint32_t nfrag = (pg->usable > start ? pg->usable - start : 0) - cv->covered;
	if (nfrag != pg->frag) {
		PAGE_ERR(d, pg, OFF_FRAG + pg->hdr_off,
			 "%u bytes of the content area are in no cell or freeblock, but the header counts %u fragmented bytes",
			 nfrag, pg->frag);
		return false;
	}
	return true;
}

/* An overflow chain found on a page, walked after it (bt_walk_tree). */
struct chain {
	uint32_t first;
	uint32_t ptr_off;          /* offset of the overflow pointer in the cell's page */
	uint32_t expected;         /* pages the payload needs */
	unsigned cell;
};

/*
 * What the tree walk takes from the cells of a page: the child pointers (and
 * where they are) and the overflow chains, from every cell that
 * bt_parse_cell decodes with a size inside the usable area, in cell order.
 * Arrays of bt_max_cells + 1 entries, filled by parse_page.
 */
struct page_refs {
	uint32_t *kids, *kid_off;
	struct chain *chains;
	unsigned nkids, nchains;
};

/* With NULL arrays only the counts are kept. */
static void refs_add(struct page_refs *rf, const struct bt_page *pg, const struct bt_cell *c, unsigned i)
{
	if (!pg->leaf) {
		if (rf->kids) {
			rf->kids[rf->nkids] = c->left_child;
			rf->kid_off[rf->nkids] = c->offset;
		}
		rf->nkids++;
	}
	if (c->has_payload && c->local_size < c->payload_size) {
		if (rf->chains) {
			struct chain *ch = &rf->chains[rf->nchains];
			ch->first = c->overflow;
			ch->ptr_off = c->payload_off + c->local_size;
			ch->expected = bt_overflow_pages(pg->usable, c->payload_size, c->local_size);
			ch->cell = i;
		}
		rf->nchains++;
	}
}

static int parse_page(const uint8_t *page, uint32_t page_size, uint32_t usable, uint32_t pgno,
		      struct bt_page *pg, struct wd_diags *d, struct page_refs *refs);

/* The header fields of the page (pg->pgno set), read as they are. */
static void decode_header(const uint8_t *page, struct bt_page *pg)
{
	pg->hdr_off = pg->pgno == 1 ? PAGE1_HDR_OFF : 0;
	const uint8_t *h = page + pg->hdr_off;
	pg->type = h[OFF_TYPE];
	pg->type_ok = bt_type_valid(pg->type);
	pg->leaf = (pg->type & 8) != 0;
	pg->intkey = (pg->type & 1) != 0;
	pg->hdr_size = pg->leaf || !pg->type_ok ? LEAF_HDR_SIZE : INTERIOR_HDR_SIZE;
	pg->first_freeblock = rd_be16(h + OFF_FIRST_FREEBLOCK);
	pg->ncell = rd_be16(h + OFF_NCELL);
	uint16_t cs = rd_be16(h + OFF_CONTENT_START);
	pg->content_start = cs ? cs : 65536u;  /* get2byteNotZero */
	pg->frag = h[OFF_FRAG];
	if (pg->type_ok && !pg->leaf)
		pg->right_child = rd_be32(h + OFF_RIGHT_CHILD);
	pg->cellptr_off = pg->hdr_off + pg->hdr_size;
}

bool bt_page_is_clean_leaf(const uint8_t *page, uint32_t page_size, uint32_t usable, uint32_t pgno,
			   struct bt_leaf_summary *sum)
{
	memset(sum, 0, sizeof *sum);
	if (!geometry_ok(page_size, usable))
		return false;
	uint8_t type = page[pgno == 1 ? PAGE1_HDR_OFF : 0];
	if (type != BT_LEAF_TABLE && type != BT_LEAF_INDEX)
		return false;
	struct wd_diags d = { 0 };
	struct bt_page pg;
	struct page_refs rf = { NULL, NULL, NULL, 0, 0 };
	parse_page(page, page_size, usable, pgno, &pg, &d, &rf);
	bool clean = d.n == 0 && d.dropped == 0 && rf.nchains == 0 && pg.free_bytes <= UINT16_MAX &&
		     pg.nfreeblocks <= UINT16_MAX;
	wd_diags_free(&d);
	if (!clean)
		return false;
	sum->type = pg.type;
	sum->frag = pg.frag;
	sum->first_freeblock = pg.first_freeblock;
	sum->ncell = pg.ncell;
	sum->content_raw = (uint16_t)(pg.content_start & 0xffff);   /* 65536 is stored as 0 */
	sum->nfreeblocks = (uint16_t)pg.nfreeblocks;
	sum->free_bytes = (uint16_t)pg.free_bytes;
	return true;
}

/* The struct bt_parse_page gives for the clean leaf a summary describes. */
static void summary_expand(const struct bt_leaf_summary *sum, uint32_t page_size, uint32_t usable,
			   uint32_t pgno, struct bt_page *pg)
{
	memset(pg, 0, sizeof *pg);
	pg->pgno = pgno;
	pg->page_size = page_size;
	pg->usable = usable;
	pg->hdr_off = pgno == 1 ? PAGE1_HDR_OFF : 0;
	pg->type = sum->type;
	pg->type_ok = true;
	pg->leaf = true;
	pg->intkey = (sum->type & 1) != 0;
	pg->first_freeblock = sum->first_freeblock;
	pg->ncell = sum->ncell;
	pg->content_start = sum->content_raw ? sum->content_raw : 65536u;
	pg->frag = sum->frag;
	pg->hdr_size = LEAF_HDR_SIZE;
	pg->cellptr_off = pg->hdr_off + LEAF_HDR_SIZE;
	pg->nfreeblocks = sum->nfreeblocks;
	pg->free_bytes = sum->free_bytes;
}

int bt_parse_page(const uint8_t *page, uint32_t page_size, uint32_t usable, uint32_t pgno,
		  struct bt_page *pg, struct wd_diags *d)
{
	return parse_page(page, page_size, usable, pgno, pg, d, NULL);
}

/*
 * bt_parse_page, and with `refs` also what the walk needs from the cells
 * (struct page_refs): every cell is decoded once for the header check, the
 * coverage check and the walk.
 */
static int parse_page(const uint8_t *page, uint32_t page_size, uint32_t usable, uint32_t pgno,
		      struct bt_page *pg, struct wd_diags *d, struct page_refs *refs)
{
	memset(pg, 0, sizeof *pg);
	pg->pgno = pgno;
	pg->page_size = page_size;
	pg->usable = usable;
	if (!geometry_ok(page_size, usable)) {
		page_diag(d, WD_BTREE_PAGE_INVALID, WD_ERROR, 0, pgno, 0,
			  "page size %u with usable size %u cannot hold a b-tree page", page_size, usable);
		pg->usable = 0;
		return WD_FATAL;
	}
	size_t n0 = d ? d->n : 0;
	bool warn = false;
	decode_header(page, pg);
	if (!pg->type_ok) {
		PAGE_ERR(d, pg, pg->hdr_off + OFF_TYPE,
			 "page type byte is %u, not 2, 5, 10 or 13 (not a b-tree page, or damaged)", pg->type);
		return WD_FATAL;
	}

	/* btreeInitPage: too many cells for any page of this size. */
	uint32_t ptr_end_full = pg->cellptr_off + 2u * pg->ncell;
	bool cells_fit = true;
	if (pg->ncell > bt_max_cells(page_size) || ptr_end_full > usable) {
		PAGE_ERR(d, pg, pg->hdr_off + OFF_NCELL,
			 "%u cells: the pointer array would end at %u; at most %u cells fit a %u-byte page",
			 pg->ncell, ptr_end_full, bt_max_cells(page_size), page_size);
		cells_fit = false;
	}
	uint32_t ptr_end = cellptr_end(pg);

	bool content_ok = true;
	if (pg->content_start > usable) {
		PAGE_ERR(d, pg, pg->hdr_off + OFF_CONTENT_START,
			 "cell content starts at %u, past the usable size %u", pg->content_start, usable);
		content_ok = false;
	} else if (pg->content_start < ptr_end) {
		PAGE_ERR(d, pg, pg->hdr_off + OFF_CONTENT_START,
			 "cell content starts at %u, inside the header and cell pointer array (which end at %u)",
			 pg->content_start, ptr_end);
		content_ok = false;
	}

	/* checkTreePage: each cell pointer in [content start, usable-4]. */
	uint32_t lo = content_ok ? pg->content_start : ptr_end;
	bool ptrs_ok = cells_fit, cells_ok = true;
	unsigned nbad = 0, nbig = 0, nunordered = 0;
	int64_t prev_key = 0;
	unsigned nptr = (ptr_end - pg->cellptr_off) / 2;
	/* The walk takes cells as bt_parse_cell decodes them: from the end of
	 * the pointer array on (not the content start), at most MX_CELL. */
	unsigned nrefs = refs ? (nptr < bt_max_cells(page_size) ? nptr : bt_max_cells(page_size)) : 0;
	struct cover cv;
	cover_init(&cv, usable);
	for (uint32_t off = lo & ~63u; off < usable; off += 64)
		__builtin_prefetch(page + off);
	for (unsigned i = 0; i < nptr; i++) {
		uint32_t pc = bt_cell_ptr(page, pg, i);
		bool in_area = pc >= lo && pc <= usable - MIN_CELL_SIZE;
		if (!in_area) {
			if (nbad++ < CELL_DIAG_CAP)
				PAGE_ERR(d, pg, pg->cellptr_off + 2 * i,
					 "cell %u pointer %u is outside the cell content area %u..%u", i, pc, lo,
					 usable - MIN_CELL_SIZE);
			ptrs_ok = false;
			if (i >= nrefs || pc < ptr_end || pc > usable - MIN_CELL_SIZE)
				continue;
		}
		struct bt_cell c;
		int r = decode_cell(page, pg, pc, &c);
		if (i < nrefs && r == 0)
			refs_add(refs, pg, &c, i);
		if (!in_area)
			continue;
		if (r) {
			if (nbig++ < CELL_DIAG_CAP)
				PAGE_ERR(d, pg, pc, "cell %u %s past the usable size %u", i,
					 r == 1 ? "header runs" : "extends", usable);
			cells_ok = false;
			continue;
		}
		/* checkTreePage: rowids ascend within a table page. */
		if (pg->intkey) {
			if (i > 0 && c.rowid <= prev_key && nunordered++ < CELL_DIAG_CAP)
				PAGE_ERR(d, pg, pc, "cell %u rowid %lld is not above the previous %lld", i,
					 (long long)c.rowid, (long long)prev_key);
			prev_key = c.rowid;
		}
		cover_cell(&cv, pg, i, &c);
	}
	if (nbad > CELL_DIAG_CAP)
		PAGE_ERR(d, pg, pg->cellptr_off, "%u more cell pointers outside the content area",
			 nbad - CELL_DIAG_CAP);
	if (nbig > CELL_DIAG_CAP)
		PAGE_ERR(d, pg, pg->cellptr_off, "%u more cells extending past the usable size",
			 nbig - CELL_DIAG_CAP);

	/* btreeComputeFreeSpace: the freeblock chain. */
	bool free_ok = true;
	uint32_t fb = pg->first_freeblock, prev_end = 0;
	if (fb && fb < lo) {
		PAGE_ERR(d, pg, pg->hdr_off + OFF_FIRST_FREEBLOCK,
			 "first freeblock at %u is before the cell content area (%u)", fb, lo);
		free_ok = false;
		fb = 0;
	}
	/* Each freeblock takes >= 4 bytes and they ascend, so usable/4 bounds the walk.
	 * `from` is where the pointer to fb is stored: fb itself may lie past the page. */
	uint32_t from = pg->hdr_off + OFF_FIRST_FREEBLOCK;
	for (uint32_t k = 0; fb; k++) {
		if (k > usable / FREEBLOCK_HDR) {
			PAGE_ERR(d, pg, from, "freeblock chain does not end (loop)");
			free_ok = false;
			break;
		}
		if (fb > usable - FREEBLOCK_HDR) {
			PAGE_ERR(d, pg, from, "freeblock at %u runs past the usable size %u", fb, usable);
			free_ok = false;
			break;
		}
		uint32_t next = rd_be16(page + fb), size = rd_be16(page + fb + 2);
		if (size < FREEBLOCK_HDR) {
			PAGE_ERR(d, pg, fb + 2, "freeblock at %u has size %u; a freeblock is at least 4 bytes",
				 fb, size);
			free_ok = false;
			break;
		}
		if (fb + size > usable) {
			PAGE_ERR(d, pg, fb + 2, "freeblock at %u of %u bytes ends past the usable size %u", fb,
				 size, usable);
			free_ok = false;
			break;
		}
		pg->nfreeblocks++;
		pg->free_bytes += size;
		prev_end = fb + size;
		if (!next)
			break;
		if (next <= fb) {
			PAGE_ERR(d, pg, fb, "freeblock at %u points back to %u (chain not ascending: a loop)",
				 fb, next);
			free_ok = false;
			break;
		}
		if (next < prev_end + 4) {
			/* btreeComputeFreeSpace: next <= pc+size+3 is corrupt. */
			PAGE_ERR(d, pg, fb, "freeblock at %u (%u bytes) is followed too closely by one at %u",
				 fb, size, next);
			free_ok = false;
			break;
		}
		from = fb;
		fb = next;
	}

	if (pg->frag > MAX_FRAG) {
		page_diag(d, WD_BTREE_PAGE_INVALID, WD_WARNING, page_size, pgno, pg->hdr_off + OFF_FRAG,
			  "%u fragmented bytes; SQLite defragments before 60", pg->frag);
		warn = true;
	}
	/* btreeComputeFreeSpace: free space can never exceed the page. */
	if (content_ok && free_ok) {
		uint64_t nfree = (uint64_t)pg->frag + pg->content_start + pg->free_bytes;
		if (nfree > usable) {
			PAGE_ERR(d, pg, pg->hdr_off + OFF_FRAG,
				 "free space (%u fragmented + %u freeblock bytes) exceeds the content area",
				 pg->frag, pg->free_bytes);
			free_ok = false;
		}
	}
	if (content_ok && ptrs_ok && cells_ok && free_ok)
		check_coverage(page, pg, &cv, d);

	if (d && d->n > n0) {
		for (size_t i = n0; i < d->n; i++)
			if (d->v[i].sev == WD_ERROR)
				return WD_FATAL;
		return WD_WARN;
	}
	return warn ? WD_WARN : WD_OK;
}

/* --- cells and records ------------------------------------------------ */

int bt_parse_cell(const uint8_t *page, const struct bt_page *pg, unsigned i,
		  struct bt_cell *c, struct wd_diags *d)
{
	memset(c, 0, sizeof *c);
	if (!pg->type_ok || !geometry_ok(pg->page_size, pg->usable) || i >= pg->ncell) {
		page_diag(d, WD_BTREE_PAGE_INVALID, WD_ERROR, pg->page_size, pg->pgno, pg->hdr_off,
			  "no cell %u on this page", i);
		return WD_FATAL;
	}
	uint32_t slot = pg->cellptr_off + 2 * i;
	if ((uint64_t)slot + 2 > pg->usable) {
		PAGE_ERR(d, pg, slot, "cell %u pointer lies past the usable size %u", i, pg->usable);
		return WD_FATAL;
	}
	uint32_t pc = bt_cell_ptr(page, pg, i);
	/* btreeCellSizeCheck: a cell starts after the pointer array, 4 bytes before the end. */
	if (pc < cellptr_end(pg) || pc > pg->usable - MIN_CELL_SIZE) {
		PAGE_ERR(d, pg, slot, "cell %u pointer %u is outside %u..%u", i, pc, cellptr_end(pg),
			 pg->usable - MIN_CELL_SIZE);
		c->offset = pc;
		return WD_FATAL;
	}
	int r = decode_cell(page, pg, pc, c);
	if (r == 1) {
		PAGE_ERR(d, pg, pc, "cell %u header runs past the usable size %u", i, pg->usable);
		return WD_FATAL;
	}
	if (r == 2) {
		PAGE_ERR(d, pg, pc, "cell %u (%u bytes) extends past the usable size %u", i, c->size,
			 pg->usable);
		return WD_FATAL;
	}
	if (c->has_payload && c->payload_size > 0x7fffffff) {
		PAGE_ERR(d, pg, pc, "cell %u payload size %llu exceeds SQLite's limit of 2147483647", i,
			 (unsigned long long)c->payload_size);
		return WD_FATAL;
	}
	if (c->local_size < c->payload_size && c->overflow == 0) {
		page_diag(d, WD_OVERFLOW_CHAIN_INVALID, WD_ERROR, pg->page_size, pg->pgno,
			  c->payload_off + c->local_size, "cell %u needs overflow pages but its overflow pointer is 0",
			  i);
		return WD_FATAL;
	}
	return WD_OK;
}

int bt_parse_record(const uint8_t *payload, size_t n, struct bt_value *cols, unsigned max,
		    unsigned *ncol)
{
	*ncol = 0;
	uint64_t hsize;
	size_t k = varint_get(payload, n, &hsize);
	if (!k || hsize < k || hsize > MAX_RECORD_HEADER || hsize > n)
		return WD_FATAL;
	uint64_t body = hsize;
	unsigned i = 0;
	int rc = WD_OK;
	while (k < hsize) {
		uint64_t st;
		size_t m = varint_get(payload + k, (size_t)(hsize - k), &st);
		if (!m || st == 10 || st == 11)
			return WD_FATAL;
		k += m;
		uint64_t len = bt_serial_len(st);
		if (i < max) {
			cols[i].serial_type = st;
			cols[i].offset = body;
			cols[i].len = len;
		}
		i++;
		if (len > UINT64_MAX - body)
			return WD_FATAL;
		body += len;
	}
	*ncol = i;
	if (body > n)
		rc = WD_WARN;
	return rc;
}

bool bt_value_int(const uint8_t *p, uint64_t st, int64_t *v)
{
	if (st == 8 || st == 9) {
		*v = st == 9;
		return true;
	}
	if (st < 1 || st > 6)
		return false;
	unsigned n = (unsigned)bt_serial_len(st);
	/* Big-endian two's complement of n bytes, sign-extended. */
	uint64_t u = p[0] & 0x80 ? UINT64_MAX : 0;
	for (unsigned i = 0; i < n; i++)
		u = (u << 8) | p[i];
	*v = (int64_t)u;
	return true;
}

double bt_value_float(const uint8_t *p)
{
	uint64_t u = rd_be64(p);
	double f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* --- freelist trunks and the pointer map ------------------------------ */

int bt_parse_trunk(const uint8_t *page, uint32_t usable, uint32_t pgno, struct bt_trunk *t,
		   struct wd_diags *d)
{
	memset(t, 0, sizeof *t);
	if (usable < MIN_USABLE) {
		page_diag(d, WD_FREELIST_INVALID, WD_ERROR, 0, pgno, 0,
			  "usable size %u cannot hold a freelist trunk", usable);
		return WD_FATAL;
	}
	t->next = rd_be32(page);
	t->nleaf = rd_be32(page + 4);
	uint32_t mx = usable / 4 - 2;
	t->nleaf_ok = t->nleaf;
	if (t->nleaf > mx) {
		/* checkList: "freelist leaf count too big" */
		page_diag(d, WD_FREELIST_INVALID, WD_ERROR, 0, pgno, 4,
			  "freelist trunk claims %u leaves; at most %u fit", t->nleaf, mx);
		t->nleaf_ok = mx;
		return WD_FATAL;
	}
	return WD_OK;
}

uint32_t bt_ptrmap_pageno(uint32_t usable, uint32_t page_size, uint32_t pgno)
{
	/* ptrmapPageno */
	if (pgno < 2 || usable < 5)
		return 0;
	uint64_t per = usable / PTRMAP_ENTRY + 1;   /* the map page and the pages it covers */
	uint64_t ret = (pgno - 2) / per * per + 2;
	if (ret == dbh_lock_byte_page(page_size))
		ret++;
	return ret > UINT32_MAX ? 0 : (uint32_t)ret;
}

bool bt_is_ptrmap_page(uint32_t usable, uint32_t page_size, uint32_t pgno)
{
	/* PTRMAP_ISPAGE */
	return pgno >= 2 && bt_ptrmap_pageno(usable, page_size, pgno) == pgno;
}

int bt_ptrmap_entry(const uint8_t *ptrmap_page, uint32_t usable, uint32_t ptrmap_pgno,
		    uint32_t pgno, uint8_t *type, uint32_t *parent)
{
	*type = 0;
	*parent = 0;
	/* ptrmapGet: PTRMAP_PTROFFSET(iPtrmap, pgno) = 5*(pgno-iPtrmap-1) */
	if (pgno <= ptrmap_pgno || usable < PTRMAP_ENTRY)
		return WD_FATAL;
	uint64_t off = 5ull * (pgno - ptrmap_pgno - 1);
	if (off + PTRMAP_ENTRY > usable)
		return WD_FATAL;
	*type = ptrmap_page[off];
	*parent = rd_be32(ptrmap_page + off + 1);
	return *type >= PTRMAP_ROOTPAGE && *type <= PTRMAP_BTREE ? WD_OK : WD_WARN;
}

const char *bt_ptrmap_type_name(uint8_t type)
{
	switch (type) {
	case PTRMAP_ROOTPAGE: return "root page";
	case PTRMAP_FREEPAGE: return "free page";
	case PTRMAP_OVERFLOW1: return "first overflow page";
	case PTRMAP_OVERFLOW2: return "later overflow page";
	case PTRMAP_BTREE: return "b-tree page";
	}
	return "invalid";
}

/* --- the tree walk ------------------------------------------------------ */

static bool bit_get(const uint8_t *b, uint32_t i) { return b[i >> 3] & (1u << (i & 7)); }
static void bit_set(uint8_t *b, uint32_t i) { b[i >> 3] |= (uint8_t)(1u << (i & 7)); }

/* A page still to visit: pushed by its parent with where the pointer was. */
struct pending {
	uint32_t pgno;
	uint32_t parent;           /* 0 for the root */
	uint32_t ref_off;          /* offset of the child pointer in the parent */
	uint8_t depth;
	uint8_t family;            /* 1 table, 2 index: what the parent requires */
};

struct walk {
	const struct bt_walk_ops *ops;
	uint32_t root;
	uint8_t *seen;
	const struct bt_leaf_summary *clean;   /* bt_walk_tree_clean's, or NULL */
	struct wd_diags *d;
	uint32_t nvisited;
	int leaf_depth;            /* depth of the first leaf, -1 before */
	struct pending *stack;
	size_t nstack, capstack;
	uint32_t *kids;            /* children of the current page */
	uint32_t *kid_off;
	struct chain *chains;
};

static void visit(struct walk *w, uint32_t pgno, const struct bt_page *pg, bool ovfl,
		  uint32_t parent, uint8_t ptype, unsigned depth)
{
	w->nvisited++;
	if (w->ops->visit)
		w->ops->visit(w->ops->ctx, pgno, pg, ovfl);
	if (w->ops->visit_full) {
		struct bt_visit v = { pgno, pg, ovfl, w->root, parent, ptype, depth };
		w->ops->visit_full(w->ops->ctx, &v);
	}
}

static bool push(struct walk *w, struct pending p)
{
	if (w->nstack == w->capstack) {
		size_t ncap = w->capstack ? w->capstack * 2 : 64;
		struct pending *ns = realloc(w->stack, ncap * sizeof *ns);
		if (!ns)
			return false;
		w->stack = ns;
		w->capstack = ncap;
	}
	w->stack[w->nstack++] = p;
	return true;
}

/*
 * Follow one overflow chain: at most `expected` pages, each in range and
 * not seen before (checkList with isFreeList 0).  Reports
 * OVERFLOW_CHAIN_INVALID at the pointer that goes wrong.
 */
static void walk_chain(struct walk *w, uint32_t pgno, const struct chain *ch, unsigned depth)
{
	const struct bt_walk_ops *o = w->ops;
	uint32_t cur = ch->first, prev = pgno, where_pg = pgno, where_off = ch->ptr_off;
	for (uint32_t k = 0;; k++) {
		if (cur == 0) {
			if (k < ch->expected)
				page_diag(w->d, WD_OVERFLOW_CHAIN_INVALID, WD_ERROR, o->page_size, where_pg,
					  where_off, "overflow chain of cell %u on page %u ends after %u of %u pages",
					  ch->cell, pgno, k, ch->expected);
			return;
		}
		if (k >= ch->expected) {
			page_diag(w->d, WD_OVERFLOW_CHAIN_INVALID, WD_ERROR, o->page_size, where_pg, where_off,
				  "overflow chain of cell %u on page %u continues to page %u after the %u pages its payload needs",
				  ch->cell, pgno, cur, ch->expected);
			return;
		}
		if (cur > o->npages || cur == 1) {
			page_diag(w->d, WD_OVERFLOW_CHAIN_INVALID, WD_ERROR, o->page_size, where_pg, where_off,
				  "overflow chain of cell %u on page %u points to page %u (database has %u pages)",
				  ch->cell, pgno, cur, o->npages);
			return;
		}
		if (bit_get(w->seen, cur)) {
			page_diag(w->d, WD_OVERFLOW_CHAIN_INVALID, WD_ERROR, o->page_size, where_pg, where_off,
				  "overflow chain of cell %u on page %u reaches page %u, which is already in use (cycle or shared page)",
				  ch->cell, pgno, cur);
			return;
		}
		bit_set(w->seen, cur);
		const uint8_t *buf = o->get_page(o->ctx, cur);
		if (!buf) {
			page_diag(w->d, WD_OVERFLOW_CHAIN_INVALID, WD_ERROR, o->page_size, where_pg, where_off,
				  "overflow page %u cannot be read", cur);
			return;
		}
		uint32_t next = rd_be32(buf);
		visit(w, cur, NULL, true, prev, k == 0 ? PTRMAP_OVERFLOW1 : PTRMAP_OVERFLOW2, depth);
		prev = where_pg = cur;
		where_off = 0;
		cur = next;
	}
}

/*
 * Visit one b-tree page: parse it, collect its children and overflow
 * chains while the buffer is valid, then call the visitor (which may fetch
 * pages itself), walk the chains and push the children.
 */
static void walk_page(struct walk *w, const struct pending *p)
{
	const struct bt_walk_ops *o = w->ops;
	struct bt_page pg;
	struct page_refs rf = { w->kids, w->kid_off, w->chains, 0, 0 };
	/* A leaf known to be clean has no finding, child or chain to collect:
	 * its summary is all the walk needs, the page is not read again. */
	if (w->clean && w->clean[p->pgno].type) {
		summary_expand(&w->clean[p->pgno], o->page_size, o->usable, p->pgno, &pg);
	} else {
		const uint8_t *buf = o->get_page(o->ctx, p->pgno);
		if (!buf) {
			/* A child is reported where its parent points to it; a root
			 * has no such byte here (sqlite_schema names it), and its
			 * own offset would lie past the end of the file that lacks
			 * it. */
			if (p->parent)
				page_diag(w->d, WD_BTREE_PAGE_INVALID, WD_ERROR, o->page_size, p->parent,
					  p->ref_off, "b-tree page %u cannot be read", p->pgno);
			else if (w->d)
				wd_add(w->d, WD_BTREE_PAGE_INVALID, WD_F_DB, WD_NONE, WD_NONE, p->pgno,
				       "b-tree root page %u cannot be read: no file holds it", p->pgno);
			return;
		}
		parse_page(buf, o->page_size, o->usable, p->pgno, &pg, w->d, &rf);
	}
	uint8_t ptype = p->parent ? PTRMAP_BTREE : PTRMAP_ROOTPAGE;
	if (!pg.type_ok) {
		visit(w, p->pgno, &pg, false, p->parent, ptype, p->depth);
		return;
	}
	uint8_t family = pg.intkey ? 1 : 2;
	if (p->family && family != p->family) {
		/* moveToChild / getAndInitPage: a child must be of its parent's kind. */
		PAGE_ERR(w->d, &pg, pg.hdr_off, "%s page under a %s interior page %u", bt_type_name(pg.type),
			 p->family == 1 ? "table" : "index", p->parent);
		visit(w, p->pgno, &pg, false, p->parent, ptype, p->depth);
		return;
	}
	if (pg.leaf) {
		if (w->leaf_depth < 0)
			w->leaf_depth = p->depth;
		else if (w->leaf_depth != p->depth)
			PAGE_ERR(w->d, &pg, pg.hdr_off, "leaf at depth %u while other leaves of this tree are at depth %d",
				 p->depth, w->leaf_depth);
	}

	/* parse_page collected the children and chains of the cells. */
	unsigned nkids = rf.nkids, nchains = rf.nchains;
	if (!pg.leaf) {
		w->kids[nkids] = pg.right_child;
		w->kid_off[nkids++] = pg.hdr_off + OFF_RIGHT_CHILD;
	}

	visit(w, p->pgno, &pg, false, p->parent, ptype, p->depth);
	for (unsigned i = 0; i < nchains; i++)
		walk_chain(w, p->pgno, &w->chains[i], p->depth);

	if (nkids && p->depth + 1 >= BT_MAX_DEPTH) {
		PAGE_ERR(w->d, &pg, pg.hdr_off, "b-tree rooted at page %u is deeper than %u levels", w->root,
			 BT_MAX_DEPTH);
		return;
	}
	/* Push in reverse so that children are visited left to right. */
	for (unsigned i = nkids; i-- > 0;) {
		uint32_t kid = w->kids[i];
		if (kid == 0 || kid > o->npages || kid == 1) {
			PAGE_ERR(w->d, &pg, w->kid_off[i], "child pointer %u to page %u %s", i, kid,
				 kid == 0 ? "(page 0 does not exist)"
				 : kid == 1 ? "(page 1 is the schema root)" : "(past the end of the database)");
			continue;
		}
		if (kid == p->pgno) {
			PAGE_ERR(w->d, &pg, w->kid_off[i], "child pointer %u points to the page itself", i);
			continue;
		}
		struct pending q = { kid, p->pgno, w->kid_off[i], (uint8_t)(p->depth + 1), family };
		if (!push(w, q)) {
			page_diag(w->d, WD_LIMIT_EXCEEDED, WD_ERROR, o->page_size, p->pgno, 0,
				  "out of memory walking the b-tree rooted at page %u", w->root);
			return;
		}
	}
}

uint32_t bt_walk_tree(const struct bt_walk_ops *ops, uint32_t root, uint8_t *seen,
		      struct wd_diags *d)
{
	return bt_walk_tree_clean(ops, root, seen, NULL, d);
}

uint32_t bt_walk_tree_clean(const struct bt_walk_ops *ops, uint32_t root, uint8_t *seen,
			    const struct bt_leaf_summary *clean, struct wd_diags *d)
{
	struct walk w = { ops, root, seen, clean, d, 0, -1, NULL, 0, 0, NULL, NULL, NULL };
	if (!geometry_ok(ops->page_size, ops->usable) || !ops->get_page) {
		page_diag(d, WD_BTREE_PAGE_INVALID, WD_ERROR, 0, root, 0,
			  "page size %u / usable size %u: cannot walk the b-tree", ops->page_size, ops->usable);
		return 0;
	}
	if (root == 0 || root > ops->npages) {
		page_diag(d, WD_BTREE_PAGE_INVALID, WD_ERROR, 0, root, 0,
			  "b-tree root page %u is outside the database (1..%u)", root, ops->npages);
		return 0;
	}
	uint8_t *own = NULL;
	if (!seen) {
		own = calloc((size_t)ops->npages / 8 + 1, 1);
		if (!own) {
			page_diag(d, WD_LIMIT_EXCEEDED, WD_ERROR, 0, root, 0, "out of memory for a page bitmap");
			return 0;
		}
		w.seen = own;
	}
	size_t nmax = (size_t)bt_max_cells(ops->page_size) + 1;
	w.kids = malloc(nmax * sizeof *w.kids);
	w.kid_off = malloc(nmax * sizeof *w.kid_off);
	w.chains = malloc(nmax * sizeof *w.chains);
	if (!w.kids || !w.kid_off || !w.chains) {
		page_diag(d, WD_LIMIT_EXCEEDED, WD_ERROR, 0, root, 0, "out of memory walking page %u", root);
		goto out;
	}
	struct pending top = { root, 0, 0, 0, 0 };
	if (!push(&w, top))
		goto out;
	while (w.nstack) {
		struct pending p = w.stack[--w.nstack];
		if (bit_get(w.seen, p.pgno)) {
			/* As in walk_page: a root has no referencing byte here, and the
			 * page itself may lie past the end of the file. */
			if (p.parent)
				page_diag(d, WD_BTREE_PAGE_INVALID, WD_ERROR, ops->page_size, p.parent, p.ref_off,
					  "page %u is already in use (second reference, cycle, or a reserved page)",
					  p.pgno);
			else if (d)
				wd_add(d, WD_BTREE_PAGE_INVALID, WD_F_DB, WD_NONE, WD_NONE, p.pgno,
				       "root page %u is already in use by another b-tree or reserved", p.pgno);
			continue;
		}
		bit_set(w.seen, p.pgno);
		walk_page(&w, &p);
	}
out:
	free(w.stack);
	free(w.kids);
	free(w.kid_off);
	free(w.chains);
	free(own);
	return w.nvisited;
}
