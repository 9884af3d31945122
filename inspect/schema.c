/*
 * schema.c — sqlite_schema and the page accounting; see schema.h.
 *
 * sqlite_schema is the table b-tree rooted at page 1.  Each row is a record
 * of five columns: type, name, tbl_name, rootpage, sql.  rootpage is 0 (or
 * NULL) for objects without a b-tree.  Text is in the database's encoding
 * (header offset 56).
 *
 * The accounting mirrors sqlite3BtreeIntegrityCheck's bookkeeping: the
 * lock-byte page is marked first, then (auto-vacuum) every pointer-map
 * page, then every tree from its root, then the freelist; a page reached a
 * second time is an error ("2nd reference to page"), and a page reached by
 * nothing is "never used".  Pointer-map entries are checked as
 * checkPtrmap does: a root page is (ROOTPAGE, 0), a child (BTREE, parent),
 * the first overflow page (OVERFLOW1, the cell's page), the next ones
 * (OVERFLOW2, the previous overflow page), a freelist page (FREEPAGE, 0).
 */
#include "schema.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../formats/bytes.h"

enum {
	SCHEMA_COLS = 5,
	PTRMAP_DIAG_CAP = 50,       /* individual pointer-map diagnostics, then a summary */
	FREE_DIAG_CAP = 50,
	UNUSED_LIST = 8,            /* unused pages named in the summary */
	OFF_FREELIST_TRUNK = 32,    /* in the database header */
	OFF_LARGEST_ROOT = 52,
};

static int64_t file_off(uint32_t page_size, uint32_t pgno, uint32_t off)
{
	return pgno && page_size ? (int64_t)(pgno - 1) * page_size + off : WD_NONE;
}

/* --- text ------------------------------------------------------------- */

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

char *sc_text_utf8(const uint8_t *p, size_t n, uint32_t encoding, size_t max, size_t *outlen)
{
	if (n > max)
		n = max;
	bool u16 = encoding == 2 || encoding == 3;
	/* UTF-16 → UTF-8 grows at most 3/2 (a BMP unit of 2 bytes becomes 3). */
	size_t cap = u16 ? n / 2 * 3 + 4 : n + 1;
	char *o = malloc(cap);
	if (!o)
		return NULL;
	size_t k = 0;
	if (!u16) {
		memcpy(o, p, n);
		k = n;
	} else {
		bool be = encoding == 3;
		for (size_t i = 0; i + 1 < n; i += 2) {
			uint32_t u = be ? rd_be16(p + i) : rd_le16(p + i);
			if (u >= 0xd800 && u < 0xdc00 && i + 3 < n) {
				uint32_t u2 = be ? rd_be16(p + i + 2) : rd_le16(p + i + 2);
				if (u2 >= 0xdc00 && u2 < 0xe000) {
					k += put_utf8(o + k, 0x10000 + ((u - 0xd800) << 10) + (u2 - 0xdc00));
					i += 2;
					continue;
				}
			}
			if (u >= 0xd800 && u < 0xe000)
				u = 0xfffd;
			k += put_utf8(o + k, u);
		}
	}
	o[k] = '\0';
	if (outlen)
		*outlen = k;
	return o;
}

/* --- payloads ----------------------------------------------------------- */

size_t sc_read_payload(const struct sc_source *src, uint32_t pgno, const uint8_t *page,
		       const struct bt_cell *c, uint8_t *out, size_t max, struct wd_diags *d)
{
	if (!c->has_payload || src->usable <= 4)
		return 0;
	uint64_t want = c->payload_size < max ? c->payload_size : max;
	uint64_t local = c->local_size;
	if ((uint64_t)c->payload_off + local > src->usable)
		local = c->payload_off < src->usable ? src->usable - c->payload_off : 0;
	if (local > want)
		local = want;
	memcpy(out, page + c->payload_off, (size_t)local);
	uint64_t got = local;
	if (got >= want || c->local_size >= c->payload_size)
		return (size_t)got;
	/* The chain: at most the pages the payload needs; a cycle cannot outlast that. */
	uint32_t need = bt_overflow_pages(src->usable, c->payload_size, c->local_size);
	uint32_t cur = c->overflow, prev = pgno;
	for (uint32_t k = 0; k < need && got < want; k++) {
		if (cur == 0 || cur == 1 || cur > src->npages) {
			if (d)
				wd_add(d, WD_OVERFLOW_CHAIN_INVALID, WD_F_DB,
				       k ? file_off(src->page_size, prev, 0) : WD_NONE, WD_NONE, prev,
				       "page %u: overflow chain of the cell at offset %u on page %u leads to page %u after %u of %u pages",
				       prev, c->offset, pgno, cur, k, need);
			break;
		}
		const uint8_t *ov = src->get_page(src->ctx, cur);
		if (!ov) {
			if (d)
				wd_add(d, WD_OVERFLOW_CHAIN_INVALID, WD_F_DB, WD_NONE, WD_NONE, cur,
				       "page %u: overflow page cannot be read", cur);
			break;
		}
		uint64_t take = src->usable - 4;
		if (take > want - got)
			take = want - got;
		memcpy(out + got, ov + 4, (size_t)take);
		got += take;
		prev = cur;
		cur = rd_be32(ov);
	}
	return (size_t)got;
}

/* --- sqlite_schema ------------------------------------------------------- */

struct reader {
	const struct sc_source *src;
	struct sc_schema *s;
	struct wd_diags *d;
	uint8_t *page;              /* private copy of the leaf being read */
	uint8_t *payload;
	size_t payload_cap;
	bool oom;
};

static char *column_text(const struct reader *r, const uint8_t *rec, size_t n,
			 const struct bt_value *v, bool *is_null, bool *truncated)
{
	*is_null = v->serial_type == 0;
	if (v->serial_type < 13 || !(v->serial_type & 1) || v->offset > n)
		return strdup("");
	uint64_t len = v->len;
	if (len > n - v->offset)
		len = n - v->offset;
	if (len > SC_MAX_TEXT) {
		len = SC_MAX_TEXT;
		*truncated = true;
	}
	if (len < v->len)
		*truncated = true;
	return sc_text_utf8(rec + v->offset, (size_t)len, r->src->encoding, SC_MAX_TEXT, NULL);
}

static void row_bad(struct reader *r, uint32_t pgno, uint32_t off, unsigned cell, const char *why)
{
	r->s->nbad++;
	if (r->d)
		wd_add(r->d, WD_BTREE_PAGE_INVALID, WD_F_DB, file_off(r->src->page_size, pgno, off),
		       WD_NONE, pgno, "page %u offset %u: sqlite_schema row in cell %u is not a schema record: %s",
		       pgno, off, cell, why);
}

static void read_row(struct reader *r, uint32_t pgno, const struct bt_page *pg, unsigned i)
{
	struct bt_cell c;
	if (bt_parse_cell(r->page, pg, i, &c, NULL) != WD_OK)
		return;   /* the walk has reported the cell */
	/* Grow the buffer to what this row needs, up to two schema texts' worth. */
	size_t want = c.payload_size < SC_MAX_TEXT * 2 ? (size_t)c.payload_size : SC_MAX_TEXT * 2;
	if (want > r->payload_cap) {
		uint8_t *np = realloc(r->payload, want);
		if (!np) {
			r->oom = true;
			return;
		}
		r->payload = np;
		r->payload_cap = want;
	}
	size_t n = sc_read_payload(r->src, pgno, r->page, &c, r->payload, r->payload_cap, NULL);
	struct bt_value v[SCHEMA_COLS];
	unsigned ncol;
	int rc = bt_parse_record(r->payload, n, v, SCHEMA_COLS, &ncol);
	if (rc == WD_FATAL) {
		row_bad(r, pgno, c.offset, i, "malformed record header");
		return;
	}
	if (ncol < SCHEMA_COLS) {
		row_bad(r, pgno, c.offset, i, "fewer than 5 columns");
		return;
	}
	int64_t root = 0;
	if (v[3].serial_type != 0) {
		if (v[3].offset + v[3].len > n || !bt_value_int(r->payload + v[3].offset, v[3].serial_type, &root)) {
			row_bad(r, pgno, c.offset, i, "rootpage is not an integer");
			return;
		}
	}
	if (root < 0 || root > UINT32_MAX) {
		row_bad(r, pgno, c.offset, i, "rootpage is not a page number");
		return;
	}
	if (r->s->n >= SC_MAX_OBJECTS) {
		r->s->truncated = true;
		return;
	}
	if (r->s->n % 64 == 0) {
		struct sc_object *nv = realloc(r->s->v, (r->s->n + 64) * sizeof *nv);
		if (!nv) {
			r->oom = true;
			return;
		}
		r->s->v = nv;
	}
	struct sc_object *o = &r->s->v[r->s->n];
	memset(o, 0, sizeof *o);
	bool null;
	o->type = column_text(r, r->payload, n, &v[0], &null, &o->truncated);
	o->name = column_text(r, r->payload, n, &v[1], &null, &o->truncated);
	o->tbl_name = column_text(r, r->payload, n, &v[2], &null, &o->truncated);
	o->sql = column_text(r, r->payload, n, &v[4], &o->sql_null, &o->truncated);
	if (!o->type || !o->name || !o->tbl_name || !o->sql) {
		free(o->type);
		free(o->name);
		free(o->tbl_name);
		free(o->sql);
		r->oom = true;
		return;
	}
	o->rowid = c.rowid;
	o->rootpage = (uint32_t)root;
	o->page = pgno;
	r->s->n++;
}

static void schema_visit(void *ctx, uint32_t pgno, const struct bt_page *pg, bool is_overflow)
{
	struct reader *r = ctx;
	if (is_overflow || !pg || pg->type != BT_LEAF_TABLE || r->oom)
		return;
	const uint8_t *p = r->src->get_page(r->src->ctx, pgno);
	if (!p)
		return;
	/* Overflow pages are fetched while rows are read: keep our own copy. */
	memcpy(r->page, p, r->src->page_size);
	for (unsigned i = 0; i < pg->ncell && !r->oom && !r->s->truncated; i++)
		read_row(r, pgno, pg, i);
}

static const uint8_t *reader_get(void *ctx, uint32_t pgno)
{
	const struct reader *r = ctx;
	return r->src->get_page(r->src->ctx, pgno);
}

int sc_read_schema(const struct sc_source *src, struct sc_schema *s, struct wd_diags *d)
{
	memset(s, 0, sizeof *s);
	struct reader r = { src, s, d, NULL, NULL, 4096, false };
	r.page = malloc(src->page_size ? src->page_size : 1);
	r.payload = malloc(r.payload_cap);
	if (!r.page || !r.payload) {
		free(r.page);
		free(r.payload);
		if (d)
			wd_add(d, WD_LIMIT_EXCEEDED, WD_F_DB, WD_NONE, WD_NONE, 1, "out of memory reading sqlite_schema");
		return WD_FATAL;
	}
	const uint8_t *p1 = src->npages ? src->get_page(src->ctx, 1) : NULL;
	int rc = WD_OK;
	if (!p1) {
		if (d)
			wd_add(d, WD_BTREE_PAGE_INVALID, WD_F_DB, WD_NONE, WD_NONE, 1,
			       "page 1 (the sqlite_schema root) cannot be read");
		rc = WD_FATAL;
	} else {
		struct bt_walk_ops ops = { reader_get, schema_visit, &r, src->page_size, src->usable,
					   src->npages, NULL };
		bt_walk_tree(&ops, 1, NULL, d);
		if (s->nbad || s->truncated || r.oom)
			rc = WD_WARN;
		if (r.oom && d)
			wd_add(d, WD_LIMIT_EXCEEDED, WD_F_DB, WD_NONE, WD_NONE, 1, "out of memory reading sqlite_schema");
		if (s->truncated && d)
			wd_add(d, WD_LIMIT_EXCEEDED, WD_F_DB, WD_NONE, WD_NONE, 1,
			       "sqlite_schema has more than %u rows; the rest are ignored", SC_MAX_OBJECTS);
	}
	free(r.page);
	free(r.payload);
	return rc;
}

void sc_schema_free(struct sc_schema *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].type);
		free(s->v[i].name);
		free(s->v[i].tbl_name);
		free(s->v[i].sql);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

const struct sc_object *sc_schema_find_root(const struct sc_schema *s, uint32_t root)
{
	for (size_t i = 0; root && i < s->n; i++)
		if (s->v[i].rootpage == root)
			return &s->v[i];
	return NULL;
}

/*
 * Does the object need a b-tree of its own?  An index always; a table unless
 * it is virtual (dbhash and SQLite's own shell tell them apart by the sql
 * text: sql LIKE 'CREATE VIRTUAL%').  Views and triggers never.
 */
static bool object_needs_root(const struct sc_object *o)
{
	if (!strcmp(o->type, "index"))
		return true;
	if (strcmp(o->type, "table"))
		return false;
	const char *q = o->sql;
	while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
		q++;
	return strncasecmp(q, "CREATE VIRTUAL", 14) != 0;
}

/* --- accounting ------------------------------------------------------------ */

const char *sc_role_name(enum sc_role r)
{
	switch (r) {
	case SC_ROLE_UNUSED: return "unused";
	case SC_ROLE_BTREE_INTERIOR: return "b-tree interior";
	case SC_ROLE_BTREE_LEAF: return "b-tree leaf";
	case SC_ROLE_BTREE_INVALID: return "invalid b-tree page";
	case SC_ROLE_OVERFLOW: return "overflow";
	case SC_ROLE_FREE_TRUNK: return "freelist trunk";
	case SC_ROLE_FREE_LEAF: return "freelist leaf";
	case SC_ROLE_PTRMAP: return "pointer map";
	case SC_ROLE_LOCKBYTE: return "lock-byte page";
	case SC_ROLE_ABSENT: return "absent (referenced, in no file)";
	}
	return "unknown";
}

struct acct {
	const struct sc_source *src;
	struct sc_account *a;
	struct wd_diags *d;
	uint8_t *seen;
	bool autovac;
	uint32_t cur_tree;          /* index into a->trees of the tree being walked */
	unsigned nptrmap_bad;
};

static void claim(struct acct *x, uint32_t pgno, enum sc_role role, uint32_t tree)
{
	x->a->role[pgno] = (uint8_t)role;
	x->a->tree[pgno] = tree;
}

/* checkPtrmap: the pointer-map entry for pgno should say (type, parent). */
static void check_ptrmap(struct acct *x, uint32_t pgno, uint8_t type, uint32_t parent)
{
	const struct sc_source *src = x->src;
	if (!x->autovac || pgno < 2)
		return;
	uint32_t mp = bt_ptrmap_pageno(src->usable, src->page_size, pgno);
	if (!mp || mp >= pgno || mp > src->npages)
		return;
	const uint8_t *p = src->get_page(src->ctx, mp);
	uint8_t et;
	uint32_t ep;
	if (!p || bt_ptrmap_entry(p, src->usable, mp, pgno, &et, &ep) == WD_FATAL)
		return;
	if (et == type && ep == parent)
		return;
	if (x->nptrmap_bad++ >= PTRMAP_DIAG_CAP)
		return;
	uint32_t off = 5 * (pgno - mp - 1);
	wd_add(x->d, WD_PTRMAP_INVALID, WD_F_DB, file_off(src->page_size, mp, off), WD_NONE, mp,
	       "page %u offset %u: pointer-map entry for page %u says %s (%u) parent %u; the database implies %s (%u) parent %u",
	       mp, off, pgno, bt_ptrmap_type_name(et), et, ep, bt_ptrmap_type_name(type), type, parent);
}

static void acct_visit(void *ctx, const struct bt_visit *v)
{
	struct acct *x = ctx;
	struct sc_tree *t = &x->a->trees[x->cur_tree];
	enum sc_role role;
	if (v->is_overflow) {
		role = SC_ROLE_OVERFLOW;
		t->noverflow++;
	} else if (!v->pg || !v->pg->type_ok) {
		role = SC_ROLE_BTREE_INVALID;
		t->ninvalid++;
	} else if (v->pg->leaf) {
		role = SC_ROLE_BTREE_LEAF;
		t->nleaf++;
	} else {
		role = SC_ROLE_BTREE_INTERIOR;
		t->ninterior++;
	}
	t->npages++;
	x->a->nbtree++;
	claim(x, v->pgno, role, x->cur_tree + 1);
	check_ptrmap(x, v->pgno, v->ptrmap_type, v->ptrmap_type == PTRMAP_ROOTPAGE ? 0 : v->parent);
}

static const uint8_t *acct_get(void *ctx, uint32_t pgno)
{
	struct acct *x = ctx;
	const uint8_t *p = x->src->get_page(x->src->ctx, pgno);
	/* Referenced but in no file: remembered so the caller can tell truncation from a bad size field. */
	if (!p && pgno && pgno <= x->src->npages && x->a->role[pgno] == SC_ROLE_UNUSED)
		claim(x, pgno, SC_ROLE_ABSENT, x->cur_tree + 1);
	return p;
}

static bool add_tree(struct sc_account *a, uint32_t root, const char *name, const char *type)
{
	if (a->ntrees % 64 == 0) {
		struct sc_tree *nv = realloc(a->trees, (a->ntrees + 64) * sizeof *nv);
		if (!nv)
			return false;
		a->trees = nv;
	}
	struct sc_tree *t = &a->trees[a->ntrees];
	memset(t, 0, sizeof *t);
	t->root = root;
	t->name = strdup(name);
	t->type = strdup(type);
	if (!t->name || !t->type) {
		free(t->name);
		free(t->type);
		return false;
	}
	a->ntrees++;
	return true;
}

/* checkList with isFreeList: trunks and their leaves, each page once. */
static void walk_freelist(struct acct *x, const struct db_header *h)
{
	const struct sc_source *src = x->src;
	struct wd_diags *d = x->d;
	uint32_t trunk = h->freelist_trunk, from = 1, from_off = OFF_FREELIST_TRUNK;
	uint32_t ntrunk = 0, nleaf = 0;
	unsigned nbad = 0;
	bool broken = false;
	while (trunk) {
		if (trunk == 1 || trunk > src->npages) {
			wd_add(d, WD_FREELIST_INVALID, WD_F_DB, file_off(src->page_size, from, from_off), WD_NONE,
			       from, "page %u offset %u: freelist trunk pointer to page %u is outside 2..%u",
			       from, from_off, trunk, src->npages);
			broken = true;
			break;
		}
		if (x->seen[trunk >> 3] & (1u << (trunk & 7))) {
			wd_add(d, WD_FREELIST_INVALID, WD_F_DB, file_off(src->page_size, from, from_off), WD_NONE,
			       from, "page %u offset %u: freelist trunk page %u is already in use (cycle, or a page of a b-tree)",
			       from, from_off, trunk);
			broken = true;
			break;
		}
		x->seen[trunk >> 3] |= (uint8_t)(1u << (trunk & 7));
		const uint8_t *p = src->get_page(src->ctx, trunk);
		if (!p) {
			wd_add(d, WD_FREELIST_INVALID, WD_F_DB, WD_NONE, WD_NONE, trunk,
			       "freelist trunk page %u cannot be read", trunk);
			broken = true;
			break;
		}
		ntrunk++;
		x->a->nfree_trunk++;
		claim(x, trunk, SC_ROLE_FREE_TRUNK, 0);
		check_ptrmap(x, trunk, PTRMAP_FREEPAGE, 0);
		struct bt_trunk t;
		size_t n0 = d->n;
		if (bt_parse_trunk(p, src->usable, trunk, &t, d) == WD_FATAL) {
			/* checkList: a trunk with too many leaves contributes none. */
			t.nleaf_ok = 0;
			broken = true;
		}
		for (size_t i = n0; i < d->n; i++)
			if (d->v[i].offset == WD_NONE && d->v[i].page == (int64_t)trunk)
				d->v[i].offset = file_off(src->page_size, trunk, 4);
		/* Copy the leaf numbers first: check_ptrmap fetches other pages. */
		uint32_t nl = t.nleaf_ok;
		uint32_t *leaves = malloc((size_t)(nl ? nl : 1) * sizeof *leaves);
		if (!leaves) {
			wd_add(d, WD_LIMIT_EXCEEDED, WD_F_DB, WD_NONE, WD_NONE, trunk, "out of memory walking the freelist");
			broken = true;
			break;
		}
		for (uint32_t i = 0; i < nl; i++)
			leaves[i] = rd_be32(p + 8 + 4 * i);
		uint32_t next = t.next;
		for (uint32_t i = 0; i < nl; i++) {
			uint32_t lf = leaves[i];
			uint32_t off = 8 + 4 * i;
			if (lf < 2 || lf > src->npages) {
				if (nbad++ < FREE_DIAG_CAP)
					wd_add(d, WD_FREELIST_INVALID, WD_F_DB, file_off(src->page_size, trunk, off),
					       WD_NONE, trunk, "page %u offset %u: freelist leaf %u is outside 2..%u",
					       trunk, off, lf, src->npages);
				broken = true;
				continue;
			}
			if (x->seen[lf >> 3] & (1u << (lf & 7))) {
				if (nbad++ < FREE_DIAG_CAP)
					wd_add(d, WD_FREELIST_INVALID, WD_F_DB, file_off(src->page_size, trunk, off),
					       WD_NONE, trunk,
					       "page %u offset %u: freelist leaf %u is already in use (listed twice, or a page of a b-tree)",
					       trunk, off, lf);
				broken = true;
				continue;
			}
			x->seen[lf >> 3] |= (uint8_t)(1u << (lf & 7));
			nleaf++;
			x->a->nfree_leaf++;
			claim(x, lf, SC_ROLE_FREE_LEAF, 0);
			check_ptrmap(x, lf, PTRMAP_FREEPAGE, 0);
		}
		free(leaves);
		from = trunk;
		from_off = 0;
		trunk = next;
	}
	if (nbad > FREE_DIAG_CAP)
		wd_add(d, WD_FREELIST_INVALID, WD_F_DB, WD_NONE, WD_NONE, WD_NONE,
		       "%u more bad freelist leaf entries", nbad - FREE_DIAG_CAP);
	if (ntrunk + nleaf != h->freelist_count)
		wd_add_sev(d, WD_FREELIST_COUNT_MISMATCH, broken ? WD_ERROR : WD_WARNING, WD_F_DB, 36,
			   WD_NONE, 1, "header says %u freelist pages; the freelist%s holds %u (%u trunks, %u leaves)",
			   h->freelist_count, broken ? " as far as it could be followed" : "", ntrunk + nleaf,
			   ntrunk, nleaf);
}

/*
 * The parallel check of the pages before the walk: the threads take chunks
 * of PREPASS_CHUNK page numbers from an atomic counter (a thread on a busy
 * core leaves its share to the others) and mark the clean leaves
 * (bt_page_is_clean_leaf) with a 12-byte summary, from which the serial
 * walk takes them without reading them again.  Page order within a chunk,
 * the next page fetched ahead, so that the reads overlap: the work is
 * bound by memory, not by arithmetic.
 */
/* Below this many pages a thread costs more than it saves.  Build with
 * -DSC_PREPASS_MIN_PAGES=0 to send every database through the prepass. */
#ifndef SC_PREPASS_MIN_PAGES
#define SC_PREPASS_MIN_PAGES 1024u
#endif
static const uint32_t prepass_min_pages = SC_PREPASS_MIN_PAGES;
/* The summaries take 12 bytes a page: above this many pages (48 MiB of
 * them) the walk checks every page itself, as with one thread. */
#define SC_PREPASS_MAX_PAGES (1u << 22)
#define PREPASS_CHUNK 256u
#define PREFETCH_BYTES 8192u        /* of the next page */

struct prepass {
	const struct sc_source *src;
	struct bt_leaf_summary *clean;
	uint32_t nchunks;
	atomic_uint next;           /* next chunk to take */
};

struct prepass_thread {
	struct prepass *pp;
	pthread_t tid;
	bool started;
};

static void *prepass_run(void *arg)
{
	struct prepass *pp = ((struct prepass_thread *)arg)->pp;
	const struct sc_source *src = pp->src;
	for (;;) {
		unsigned c = atomic_fetch_add(&pp->next, 1u);
		if (c >= pp->nchunks)
			break;
		uint32_t first = c * PREPASS_CHUNK + 1;
		uint32_t last = src->npages - first < PREPASS_CHUNK ? src->npages : first + PREPASS_CHUNK - 1;
		const uint8_t *next = src->get_page(src->ctx, first);
		for (uint32_t p = first; p <= last; p++) {
			const uint8_t *cur = next;
			next = p < last ? src->get_page(src->ctx, p + 1) : NULL;
			/* The next page's bytes are on their way while this one is checked. */
			for (uint32_t o = 0; next && o < src->page_size && o < PREFETCH_BYTES; o += 64)
				__builtin_prefetch(next + o);
			if (cur)
				bt_page_is_clean_leaf(cur, src->page_size, src->usable, p, &pp->clean[p]);
		}
	}
	return NULL;
}

/* clean[] for pages 1..npages from nthreads threads, or NULL (then the walk checks every page). */
static struct bt_leaf_summary *prepass_clean(const struct sc_source *src, unsigned nthreads)
{
	if (nthreads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = n > 0 ? (unsigned)(n < SC_MAX_THREADS ? n : SC_MAX_THREADS) : 1;
	}
	if (nthreads < 2 || src->npages < prepass_min_pages || src->npages > SC_PREPASS_MAX_PAGES)
		return NULL;
	if (nthreads > SC_MAX_THREADS)
		nthreads = SC_MAX_THREADS;
	struct bt_leaf_summary *clean = calloc((size_t)src->npages + 1, sizeof *clean);
	if (!clean)
		return NULL;
	struct prepass pp = { src, clean, (uint32_t)(((uint64_t)src->npages + PREPASS_CHUNK - 1) / PREPASS_CHUNK), 0 };
	struct prepass_thread th[SC_MAX_THREADS];
	for (unsigned t = 0; t < nthreads; t++) {
		th[t].pp = &pp;
		th[t].started = false;
	}
	/* This thread takes chunks too; one that cannot start leaves them to the others. */
	for (unsigned t = 1; t < nthreads; t++)
		th[t].started = pthread_create(&th[t].tid, NULL, prepass_run, &th[t]) == 0;
	prepass_run(&th[0]);
	for (unsigned t = 1; t < nthreads; t++)
		if (th[t].started)
			pthread_join(th[t].tid, NULL);
	return clean;
}

int sc_account_pages(const struct sc_source *src, const struct db_header *h,
		     const struct sc_schema *s, struct sc_account *a, struct wd_diags *d)
{
	return sc_account_pages_mt(src, h, s, a, d, 1);
}

int sc_account_pages_mt(const struct sc_source *src, const struct db_header *h,
			const struct sc_schema *s, struct sc_account *a, struct wd_diags *d,
			unsigned nthreads)
{
	memset(a, 0, sizeof *a);
	a->npages = src->npages;
	struct wd_diags scratch = { 0 };
	if (!d)
		d = &scratch;
	size_t n0 = d->n;
	if (src->npages > SC_MAX_PAGES) {
		wd_add(d, WD_LIMIT_EXCEEDED, WD_F_DB, WD_NONE, WD_NONE, WD_NONE,
		       "database has %u pages; waldo accounts for at most %u", src->npages, SC_MAX_PAGES);
		wd_diags_free(&scratch);
		return WD_FATAL;
	}
	size_t np = (size_t)src->npages + 1;
	struct acct x = { src, a, d, NULL, h->auto_vacuum, 0, 0 };
	x.seen = calloc(np / 8 + 1, 1);
	a->role = calloc(np, 1);
	a->tree = calloc(np, sizeof *a->tree);
	if (!x.seen || !a->role || !a->tree || !add_tree(a, 1, "sqlite_schema", "table")) {
		free(x.seen);
		wd_add(d, WD_LIMIT_EXCEEDED, WD_F_DB, WD_NONE, WD_NONE, WD_NONE, "out of memory accounting for pages");
		wd_diags_free(&scratch);
		return WD_FATAL;
	}
	a->complete = true;

	/* sqlite3BtreeIntegrityCheck marks the lock-byte page before anything else. */
	uint32_t lb = dbh_lock_byte_page(src->page_size);
	if (lb && lb <= src->npages) {
		x.seen[lb >> 3] |= (uint8_t)(1u << (lb & 7));
		claim(&x, lb, SC_ROLE_LOCKBYTE, 0);
		a->nlockbyte = 1;
	}
	if (x.autovac) {
		uint32_t per = src->usable / 5 + 1;
		for (uint64_t base = 2; base <= src->npages; base += per) {
			uint32_t mp = bt_ptrmap_pageno(src->usable, src->page_size, (uint32_t)base);
			if (!mp || mp > src->npages || !bt_is_ptrmap_page(src->usable, src->page_size, mp))
				continue;
			x.seen[mp >> 3] |= (uint8_t)(1u << (mp & 7));
			claim(&x, mp, SC_ROLE_PTRMAP, 0);
			a->nptrmap++;
		}
	}

	struct bt_walk_ops ops = { acct_get, NULL, &x, src->page_size, src->usable, src->npages, acct_visit };
	struct bt_leaf_summary *clean = prepass_clean(src, nthreads);
	x.cur_tree = 0;
	bt_walk_tree_clean(&ops, 1, x.seen, clean, d);

	uint32_t max_root = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct sc_object *o = &s->v[i];
		if (!o->rootpage) {
			/* Views, triggers and virtual tables have none; a table or an
			 * index without one cannot be read (sqlite3InitCallback takes
			 * an index root below 2 as "invalid rootpage"). */
			if (object_needs_root(o))
				wd_add(d, WD_BTREE_PAGE_INVALID, WD_F_DB, WD_NONE, WD_NONE, o->page,
				       "page %u: sqlite_schema says %s '%.60s' has root page 0: SQLite cannot "
				       "read it", o->page, o->type, o->name);
			continue;
		}
		if (o->rootpage > max_root)
			max_root = o->rootpage;
		if (o->rootpage == 1 || o->rootpage > src->npages) {
			wd_add(d, WD_BTREE_PAGE_INVALID, WD_F_DB, WD_NONE, WD_NONE, o->page,
			       "page %u: sqlite_schema says %s '%.60s' is rooted at page %u, outside 2..%u", o->page,
			       o->type, o->name, o->rootpage, src->npages);
			continue;
		}
		const struct sc_object *first = sc_schema_find_root(s, o->rootpage);
		if (first != o) {
			wd_add(d, WD_BTREE_PAGE_INVALID, WD_F_DB, WD_NONE, WD_NONE, o->page,
			       "page %u: %s '%.60s' and %s '%.60s' share root page %u", o->page, first->type,
			       first->name, o->type, o->name, o->rootpage);
			continue;
		}
		if (!add_tree(a, o->rootpage, o->name, o->type)) {
			wd_add(d, WD_LIMIT_EXCEEDED, WD_F_DB, WD_NONE, WD_NONE, WD_NONE, "out of memory accounting for pages");
			a->complete = false;
			break;
		}
		x.cur_tree = (uint32_t)a->ntrees - 1;
		bt_walk_tree_clean(&ops, o->rootpage, x.seen, clean, d);
	}
	if (s->nbad || s->truncated)
		a->complete = false;
	if (x.autovac && max_root != h->largest_root && !s->nbad && !s->truncated)
		/* sqlite3BtreeIntegrityCheck: "max rootpage (%d) disagrees with header (%d)" */
		wd_add(d, WD_DB_HEADER_INVALID, WD_F_DB, OFF_LARGEST_ROOT, WD_NONE, 1,
		       "largest root page field is %u but the largest root in sqlite_schema is %u",
		       h->largest_root, max_root);

	free(clean);
	walk_freelist(&x, h);
	if (x.nptrmap_bad > PTRMAP_DIAG_CAP)
		wd_add(d, WD_PTRMAP_INVALID, WD_F_DB, WD_NONE, WD_NONE, WD_NONE,
		       "%u more wrong pointer-map entries", x.nptrmap_bad - PTRMAP_DIAG_CAP);

	/* What nothing reached: SQLite's "Page %d is never used". */
	char list[UNUSED_LIST * 12 + 8] = "";
	size_t k = 0;
	for (uint32_t p = 1; p <= src->npages; p++) {
		if (x.seen[p >> 3] & (1u << (p & 7)))
			continue;
		if (!src->get_page(src->ctx, p))
			continue;   /* absent from every file: the caller reports truncation */
		if (a->nunused < UNUSED_LIST)
			k += (size_t)snprintf(list + k, sizeof list - k, "%s%u", a->nunused ? ", " : "", p);
		a->nunused++;
	}
	if (a->nunused)
		wd_add(d, WD_PAGE_UNUSED, WD_F_DB, WD_NONE, WD_NONE, WD_NONE,
			   "%u page%s in no b-tree, not on the freelist and not a pointer-map page (%s%s)%s",
			   a->nunused, a->nunused == 1 ? " is" : "s are", list, a->nunused > UNUSED_LIST ? ", ..." : "",
			   a->complete ? "" : "; sqlite_schema could not be read completely");
	free(x.seen);

	int rc = d->n > n0 ? WD_WARN : WD_OK;
	for (size_t i = n0; i < d->n; i++)
		if (d->v[i].sev == WD_ERROR)
			rc = WD_FATAL;
	wd_diags_free(&scratch);
	return rc;
}

void sc_account_free(struct sc_account *a)
{
	for (size_t i = 0; i < a->ntrees; i++) {
		free(a->trees[i].name);
		free(a->trees[i].type);
	}
	free(a->trees);
	free(a->role);
	free(a->tree);
	memset(a, 0, sizeof *a);
}

const struct sc_tree *sc_account_tree_of(const struct sc_account *a, uint32_t pgno)
{
	if (!a->tree || pgno == 0 || pgno > a->npages || !a->tree[pgno])
		return NULL;
	return &a->trees[a->tree[pgno] - 1];
}
