/*
 * schema.h — what a database's pages are for: the objects of sqlite_schema,
 * and an accounting of every page 1..N (b-tree, overflow, freelist trunk or
 * leaf, pointer map, lock-byte page, or unused).
 *
 * Pages come from a caller's callback, so the same code serves the database
 * file alone, the state as of any WAL commit (inspect/model.h's
 * model_page), or one frame substituted for testing.  Nothing here does
 * I/O; everything is bounded (object count, text lengths, page count).
 */
#ifndef WALDO_SCHEMA_H
#define WALDO_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../formats/btree.h"
#include "../formats/dbheader.h"
#include "../formats/diag.h"

#define SC_MAX_OBJECTS 100000u      /* sqlite_schema rows kept */
#define SC_MAX_TEXT (1u << 20)      /* bytes kept of one schema text column */
#define SC_MAX_PAGES (1u << 25)     /* pages sc_account_pages accounts for (32M) */

/*
 * A source of pages.  get_page returns page_size bytes for pgno, or NULL;
 * the buffer need only stay valid until the next get_page call.
 */
struct sc_source {
	const uint8_t *(*get_page)(void *ctx, uint32_t pgno);
	void *ctx;
	uint32_t page_size, usable, npages;
	uint32_t encoding;          /* 1 utf-8, 2 utf-16le, 3 utf-16be; others read as utf-8 */
};

struct sc_object {
	char *type, *name, *tbl_name, *sql;  /* UTF-8, NUL-terminated, owned, never NULL */
	bool sql_null;              /* the sql column is NULL (automatic indexes) */
	bool truncated;             /* a text column was cut at SC_MAX_TEXT */
	int64_t rowid;
	uint32_t rootpage;          /* 0 for views, triggers, virtual tables */
	uint32_t page;              /* sqlite_schema leaf page holding the row */
};

struct sc_schema {
	struct sc_object *v;
	size_t n;
	size_t nbad;                /* rows that could not be decoded */
	bool truncated;             /* more than SC_MAX_OBJECTS rows */
};

/*
 * Read sqlite_schema (the table b-tree rooted at page 1).  Appends what the
 * walk of that tree finds and BTREE_PAGE_INVALID for rows that are not
 * schema records; d may be NULL.  Returns WD_OK, WD_WARN (some rows could
 * not be read) or WD_FATAL (page 1 unreadable).  Free with sc_schema_free.
 */
int sc_read_schema(const struct sc_source *src, struct sc_schema *s, struct wd_diags *d);
void sc_schema_free(struct sc_schema *s);
/* The object whose b-tree is rooted at `root`, or NULL. */
const struct sc_object *sc_schema_find_root(const struct sc_schema *s, uint32_t root);

/*
 * Copy up to `max` bytes of a cell's payload into out: the local part from
 * `page` (the cell's page, as parsed into c), then the overflow chain
 * through src, at most as many pages as the payload needs.  Appends
 * OVERFLOW_CHAIN_INVALID (d may be NULL) when the chain ends early or
 * leaves the database.  Returns the bytes copied.
 */
size_t sc_read_payload(const struct sc_source *src, uint32_t pgno, const uint8_t *page,
		       const struct bt_cell *c, uint8_t *out, size_t max, struct wd_diags *d);

/*
 * Text of a record value in `encoding` as UTF-8 (UTF-16 converted, bad
 * units become U+FFFD), at most `max` input bytes.  Returns a malloc'd
 * NUL-terminated string (NULL when out of memory); *outlen gets its length.
 */
char *sc_text_utf8(const uint8_t *p, size_t n, uint32_t encoding, size_t max, size_t *outlen);

enum sc_role {
	SC_ROLE_UNUSED = 0,         /* reached by nothing: SQLite's "never used" */
	SC_ROLE_BTREE_INTERIOR,
	SC_ROLE_BTREE_LEAF,
	SC_ROLE_BTREE_INVALID,      /* reached as a b-tree page but not a valid one */
	SC_ROLE_OVERFLOW,
	SC_ROLE_FREE_TRUNK,
	SC_ROLE_FREE_LEAF,
	SC_ROLE_PTRMAP,
	SC_ROLE_LOCKBYTE,
	SC_ROLE_ABSENT,             /* a b-tree points at it, but no file holds it */
};

struct sc_tree {
	uint32_t root;
	char *name;                 /* "sqlite_schema" for page 1; owned */
	char *type;                 /* "table", "index"; owned */
	uint32_t npages;            /* b-tree and overflow pages, like dbstat counts */
	uint32_t ninterior, nleaf, noverflow, ninvalid;
};

struct sc_account {
	uint32_t npages;
	struct sc_tree *trees;      /* page 1's tree first, then schema order */
	size_t ntrees;
	uint32_t nbtree;            /* pages in trees, overflow included */
	uint32_t nfree_trunk, nfree_leaf;
	uint32_t nptrmap, nlockbyte, nunused;
	uint8_t *role;              /* npages+1 entries (enum sc_role), index = page number */
	uint32_t *tree;             /* npages+1 entries: 1 + index into trees, 0 for none */
	bool complete;              /* every page was classified (no limit hit) */
};

/*
 * Account for every page 1..src->npages exactly once: the lock-byte page
 * and (auto-vacuum) the pointer-map pages first, then page 1's tree, the
 * tree of every object of `s`, the freelist from `h`, and what is left is
 * unused (PAGE_UNUSED; pages get_page cannot return are absent, not
 * unused, and left to the caller).  A page claimed twice is reported and counted once.  Checks
 * every pointer-map entry against what the walk implies (PTRMAP_INVALID),
 * the freelist (FREELIST_INVALID, FREELIST_COUNT_MISMATCH), root pages and
 * the auto-vacuum largest-root field.  It walks page 1's tree again, so to
 * hear each problem once call sc_read_schema with d == NULL before it.
 * Returns WD_OK/WD_WARN/WD_FATAL; free with sc_account_free.
 */
int sc_account_pages(const struct sc_source *src, const struct db_header *h,
		     const struct sc_schema *s, struct sc_account *a, struct wd_diags *d);
/*
 * sc_account_pages with the pages checked by `nthreads` threads before the
 * (serial) walk: the same accounting and the same findings in the same
 * order, faster on a large database.  src->get_page must then be safe to
 * call from several threads at once (model_state_page is).  nthreads 0
 * means the online CPUs, 1 is sc_account_pages; at most SC_MAX_THREADS.
 */
#define SC_MAX_THREADS 64u
int sc_account_pages_mt(const struct sc_source *src, const struct db_header *h,
			const struct sc_schema *s, struct sc_account *a, struct wd_diags *d,
			unsigned nthreads);
void sc_account_free(struct sc_account *a);
/* Tree owning page pgno, or NULL. */
const struct sc_tree *sc_account_tree_of(const struct sc_account *a, uint32_t pgno);
/* "b-tree interior", "overflow", "freelist trunk", … */
const char *sc_role_name(enum sc_role r);

#endif
