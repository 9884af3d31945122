/*
 * cmd_diff.c — `waldo diff`: two databases, or two states of one, page by
 * page.  For each page that differs: what it is on each side (b-tree root,
 * interior or leaf page of which table or index, overflow, freelist trunk
 * or leaf, pointer map, lock-byte page, unused), and for b-tree leaves
 * which rowids (tables) or keys (indexes) were added, removed or changed.
 *
 * Pages are compared by their SHA-256 (inspect/pagehash.c), so only the
 * pages that differ are ever decoded.  Page roles come from
 * inspect/schema.c's accounting of each state.  Rows are compared per
 * page (both versions of a leaf of the same tree) and per tree: all the
 * rows the differing leaves of a tree held on side A against those on
 * side B.  A row that moved to another page without changing shows in the
 * per-page lists (removed here, added there) but not in the per-tree ones,
 * which are therefore the row-level truth: a row on a page that is equal on
 * both sides is equal on both sides.
 */
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "model.h"
#include "pagehash.h"
#include "report.h"
#include "schema.h"
#include "../formats/btree.h"
#include "../formats/bytes.h"

static const char usage[] =
	"usage: waldo diff [--json] [--state STATE | --commit K]... [-j N] [--max N] A [B]\n"
	"\n"
	"Compare two databases A and B, or two states of one database A, page by\n"
	"page.  Each page that differs is named with its role on each side (root,\n"
	"interior or leaf page of which table or index, overflow, freelist trunk or\n"
	"leaf, pointer map, lock-byte page, unused) and, for b-tree leaves, the\n"
	"rowids (tables) or keys (indexes) added, removed or changed on it; then,\n"
	"per table and index, the rows that changed overall.  Never writes.\n"
	"\n"
	"  --state STATE    db, effective or commit=K; the first given is A's state,\n"
	"                   the second B's.  With A and B: none means both\n"
	"                   effective, one applies to both.  With A alone: none means\n"
	"                   A's database file against its effective state, one means\n"
	"                   that state against the effective one.\n"
	"  --commit K       same as --state commit=K  (diff --commit 3 --commit 7 DB)\n"
	"  -j, --jobs N     hash with N threads (default: the online CPUs)\n"
	"  --max N          list at most N rowids or keys per list in text output\n"
	"                   (default 20; 0: no limit).  JSON lists are complete.\n"
	"  --json           one JSON object: {a, b, identical, page_size_differs,\n"
	"                   pages: [...], trees: [...], findings: [...], status}\n"
	"\n"
	"Exit status: 0 identical, 1 different, 2 a database or WAL changed while\n"
	"it was read (INPUT_CHANGED: no verdict), 64 usage, 66 unreadable input,\n"
	"70 internal error.\n";

#define KEY_TEXT_MAX 64           /* characters of a rendered index key */
#define REC_COLS_MAX 16           /* columns rendered of one key */

struct side {
	char label;                   /* 'A' or 'B' */
	const char *path;
	struct model *m;
	struct ph_state st;
	uint32_t k;
	char state_name[64];
	struct ph_hashes h;
	struct db_header hdr;
	bool hdr_ok;
	struct sc_source src;
	struct sc_schema schema;
	struct sc_account acct;
	bool acct_ok;                 /* page roles are known */
	struct wd_diags changed;      /* INPUT_CHANGED of this side's database and WAL */
};

/* One row (table) or key (index) found on a differing leaf page. */
struct row {
	int64_t rowid;
	uint8_t fp[PH_DIGEST];        /* SHA-256 of the whole payload, overflow included */
	uint32_t pgno;
	uint16_t cell;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* The rows of one tree (matched by name across the sides). */
struct tree_rows {
	char *name, *type;
	bool intkey;                  /* table b-tree: rows keyed by rowid */
	struct rows a, b;
};

struct cmp {                      /* the result of comparing two row sets */
	struct rows added, removed, changed;   /* changed: B's version */
	size_t same;
};

struct page_diff {
	uint32_t pgno;
	int kind;                     /* PD_* */
	size_t a_first, a_n;          /* this page's rows in its tree's a list */
	size_t b_first, b_n;
	int tree_a, tree_b;           /* index into trees, -1 for none */
};
enum { PD_DIFFERS = 0, PD_ONLY_A, PD_ONLY_B };

struct diff {
	struct side a, b;
	struct page_diff *pages;
	size_t npages, cap_pages;
	struct tree_rows *trees;
	size_t ntrees, cap_trees;
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	unsigned max_list;
	bool oom;
	bool input_changed;           /* a file of either side changed while it was read: no verdict */
};

/* ---- small helpers ---- */

static void *grow(void *v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = realloc(v, ncap * elem);
	if (nv)
		*cap = ncap;
	return nv;
}

static bool rows_add(struct diff *d, struct rows *r, const struct row *x)
{
	struct row *nv = grow(r->v, &r->cap, r->n, sizeof *r->v);
	if (!nv) {
		d->oom = true;
		return false;
	}
	r->v = nv;
	r->v[r->n++] = *x;
	return true;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *p = malloc(n + 1);
	if (p)
		memcpy(p, s, n + 1);
	return p;
}

static const uint8_t *side_page(void *ctx, uint32_t pgno)
{
	const struct side *s = ctx;
	return model_page(s->m, s->k, pgno, NULL);
}

/* ---- sides: hashing and page roles ---- */

static int side_hash(struct side *s, unsigned threads)
{
	char err[512];
	s->k = ph_state_k(&s->st);
	ph_state_name(&s->st, s->state_name, sizeof s->state_name);
	if (ph_state_check(&s->st, s->m, err, sizeof err)) {
		cmd_error("%s", err);
		return EXIT_USAGE;
	}
	if (ph_hash_state(s->m, s->k, threads, &s->h, err, sizeof err)) {
		cmd_error("%s", err);
		return s->m->page_size ? EXIT_SOFTWARE : EXIT_NOINPUT;
	}
	s->hdr_ok = ph_state_header(s->m, s->k, &s->hdr);
	return EXIT_OK;
}

/* Read the schema and account for every page; roles stay unknown on failure. */
static void side_roles(struct side *s)
{
	if (!s->hdr_ok || !s->hdr.usable_size || s->hdr.page_size != s->h.page_size)
		return;
	s->src.get_page = side_page;
	s->src.ctx = s;
	s->src.page_size = s->h.page_size;
	s->src.usable = s->hdr.usable_size;
	s->src.npages = s->h.npages;
	s->src.encoding = s->hdr.text_encoding;
	struct wd_diags d = { 0 };    /* the structure's problems are `waldo inspect`'s to report */
	sc_read_schema(&s->src, &s->schema, NULL);
	sc_account_pages(&s->src, &s->hdr, &s->schema, &s->acct, &d);
	wd_diags_free(&d);
	s->acct_ok = s->acct.role && s->acct.tree;
}

static void side_free(struct side *s)
{
	wd_diags_free(&s->changed);
	ph_hashes_free(&s->h);
	sc_schema_free(&s->schema);
	sc_account_free(&s->acct);
}

static enum sc_role side_role(const struct side *s, uint32_t p)
{
	if (!s->acct_ok || p == 0 || p > s->acct.npages)
		return SC_ROLE_UNUSED;
	return (enum sc_role)s->acct.role[p];
}

/* The tree a page belongs to, NULL for none or unknown roles. */
static const struct sc_tree *side_tree(const struct side *s, uint32_t p)
{
	return s->acct_ok ? sc_account_tree_of(&s->acct, p) : NULL;
}

/* "b-tree leaf (root) of table 't'" and the like, into buf. */
static const char *describe(const struct side *s, uint32_t p, char *buf, size_t n)
{
	if (p > s->h.npages) {
		snprintf(buf, n, "not in this state (it has %u pages)", s->h.npages);
		return buf;
	}
	if (!ph_page_digest(&s->h, p)) {
		snprintf(buf, n, "held by no file");
		return buf;
	}
	size_t k = 0;
	if (!s->acct_ok) {
		k += (size_t)snprintf(buf, n, "role unknown (page 1 of this state is not readable)");
	} else {
		enum sc_role r = side_role(s, p);
		const struct sc_tree *t = side_tree(s, p);
		if (t)
			k += (size_t)snprintf(buf, n, "%s%s of %s '%s'", sc_role_name(r),
					      p == t->root ? " (root)" : "", t->type, t->name);
		else if (r == SC_ROLE_UNUSED)
			k += (size_t)snprintf(buf, n, "unused (reached by no tree, not on the freelist)");
		else
			k += (size_t)snprintf(buf, n, "%s", sc_role_name(r));
	}
	uint32_t f = s->h.frame[p - 1];
	if (k < n) {
		if (f)
			snprintf(buf + k, n - k, ", from WAL frame %u", f);
		else
			snprintf(buf + k, n - k, ", from the database file");
	}
	return buf;
}

/* ---- rows of leaf pages ---- */

/*
 * SHA-256 of a cell's whole payload: the local part, then the overflow
 * chain for at most the pages the payload needs (a cycle cannot outlast
 * that), each page read from the side's state.
 */
static void payload_fp(struct diff *d, const struct side *s, const uint8_t *page, const struct bt_cell *c,
		       uint8_t fp[PH_DIGEST])
{
	uint32_t usable = s->src.usable;
	uint8_t size8[8];
	for (int i = 0; i < 8; i++)
		size8[i] = (uint8_t)(c->payload_size >> (56 - 8 * i));
	EVP_DigestInit_ex(d->ctx, d->md, NULL);
	EVP_DigestUpdate(d->ctx, size8, sizeof size8);
	uint64_t local = c->local_size;
	if (c->payload_off >= usable)
		local = 0;
	else if (c->payload_off + local > usable)
		local = usable - c->payload_off;
	if (local > c->payload_size)
		local = c->payload_size;
	EVP_DigestUpdate(d->ctx, page + c->payload_off, (size_t)local);
	uint64_t left = c->payload_size - local;
	if (left && c->overflow && usable > 4) {
		uint32_t need = bt_overflow_pages(usable, c->payload_size, c->local_size);
		uint32_t cur = c->overflow;
		for (uint32_t k = 0; k < need && left && cur && cur <= s->h.npages; k++) {
			const uint8_t *ov = model_page(s->m, s->k, cur, NULL);
			if (!ov)
				break;
			uint64_t take = usable - 4 < left ? usable - 4 : left;
			EVP_DigestUpdate(d->ctx, ov + 4, (size_t)take);
			left -= take;
			cur = rd_be32(ov);
		}
	}
	unsigned len = 0;
	EVP_DigestFinal_ex(d->ctx, fp, &len);
}

/* Index into d->trees of the tree named like t (created on first use), -1 on failure. */
static int tree_slot(struct diff *d, const struct sc_tree *t, bool intkey)
{
	for (size_t i = 0; i < d->ntrees; i++)
		if (!strcmp(d->trees[i].name, t->name) && !strcmp(d->trees[i].type, t->type))
			return (int)i;
	struct tree_rows *nv = grow(d->trees, &d->cap_trees, d->ntrees, sizeof *d->trees);
	if (!nv) {
		d->oom = true;
		return -1;
	}
	d->trees = nv;
	struct tree_rows *r = &d->trees[d->ntrees];
	memset(r, 0, sizeof *r);
	r->name = dup_str(t->name);
	r->type = dup_str(t->type);
	r->intkey = intkey;
	if (!r->name || !r->type) {
		free(r->name);
		free(r->type);
		d->oom = true;
		return -1;
	}
	return (int)d->ntrees++;
}

/*
 * Collect the rows of page p on side s into its tree's list when the page
 * is a b-tree leaf that parses.  Returns the tree index or -1; *first and *n
 * get the page's slice of the list.
 */
static int collect_leaf(struct diff *d, const struct side *s, uint32_t p, size_t *first, size_t *n)
{
	*first = *n = 0;
	if (side_role(s, p) != SC_ROLE_BTREE_LEAF)
		return -1;
	const struct sc_tree *t = side_tree(s, p);
	const uint8_t *page = side_page((void *)s, p);
	if (!t || !page)
		return -1;
	struct bt_page pg;
	if (bt_parse_page(page, s->src.page_size, s->src.usable, p, &pg, NULL) == WD_FATAL || !pg.type_ok ||
	    !pg.leaf)
		return -1;
	int ti = tree_slot(d, t, pg.intkey);
	if (ti < 0)
		return -1;
	struct rows *list = s->label == 'A' ? &d->trees[ti].a : &d->trees[ti].b;
	*first = list->n;
	for (unsigned i = 0; i < pg.ncell; i++) {
		struct bt_cell c;
		if (bt_parse_cell(page, &pg, i, &c, NULL) == WD_FATAL || !c.has_payload)
			continue;
		struct row x = { .rowid = c.has_rowid ? c.rowid : 0, .pgno = p, .cell = (uint16_t)i };
		payload_fp(d, s, page, &c, x.fp);
		if (!rows_add(d, list, &x))
			break;
	}
	*n = list->n - *first;
	return ti;
}

static int row_cmp_rowid(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->rowid != y->rowid)
		return x->rowid < y->rowid ? -1 : 1;
	return memcmp(x->fp, y->fp, PH_DIGEST);
}

static int row_cmp_fp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	return memcmp(x->fp, y->fp, PH_DIGEST);
}

static int row_cmp_place(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->pgno != y->pgno)
		return x->pgno < y->pgno ? -1 : 1;
	return (x->cell > y->cell) - (x->cell < y->cell);
}

/*
 * Compare row sets a and b (both sorted in place): tables by rowid (same
 * rowid, other payload: changed), indexes by whole key (added or removed).
 */
static void compare_rows(struct diff *d, struct row *a, size_t na, struct row *b, size_t nb, bool intkey,
			 struct cmp *out)
{
	memset(out, 0, sizeof *out);
	int (*cmpf)(const void *, const void *) = intkey ? row_cmp_rowid : row_cmp_fp;
	if (na)
		qsort(a, na, sizeof *a, cmpf);
	if (nb)
		qsort(b, nb, sizeof *b, cmpf);
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		int c;
		if (i == na)
			c = 1;
		else if (j == nb)
			c = -1;
		else if (intkey)
			c = a[i].rowid < b[j].rowid ? -1 : a[i].rowid > b[j].rowid;
		else
			c = memcmp(a[i].fp, b[j].fp, PH_DIGEST);
		if (c < 0) {
			rows_add(d, &out->removed, &a[i++]);
		} else if (c > 0) {
			rows_add(d, &out->added, &b[j++]);
		} else {
			if (memcmp(a[i].fp, b[j].fp, PH_DIGEST))
				rows_add(d, &out->changed, &b[j]);
			else
				out->same++;
			i++;
			j++;
		}
	}
	/* Keys are shown in the order the pages hold them (key order), not by hash. */
	if (!intkey) {
		if (out->added.n)
			qsort(out->added.v, out->added.n, sizeof *out->added.v, row_cmp_place);
		if (out->removed.n)
			qsort(out->removed.v, out->removed.n, sizeof *out->removed.v, row_cmp_place);
	}
}

static void cmp_free(struct cmp *c)
{
	free(c->added.v);
	free(c->removed.v);
	free(c->changed.v);
}

/* ---- rendering ---- */

/* A short rendering of an index key: "('abc', 5)" from the local payload. */
static void render_key(const struct side *s, const struct row *r, char *out, size_t n)
{
	snprintf(out, n, "(?)");
	const uint8_t *page = side_page((void *)s, r->pgno);
	struct bt_page pg;
	struct bt_cell c;
	if (!page || bt_parse_page(page, s->src.page_size, s->src.usable, r->pgno, &pg, NULL) == WD_FATAL ||
	    r->cell >= pg.ncell || bt_parse_cell(page, &pg, r->cell, &c, NULL) == WD_FATAL)
		return;
	uint64_t local = c.local_size;
	if (c.payload_off >= s->src.usable)
		return;
	if (c.payload_off + local > s->src.usable)
		local = s->src.usable - c.payload_off;
	const uint8_t *pl = page + c.payload_off;
	struct bt_value cols[REC_COLS_MAX];
	unsigned ncol = 0;
	if (bt_parse_record(pl, (size_t)local, cols, REC_COLS_MAX, &ncol) == WD_FATAL)
		return;
	size_t k = 0;
	k += (size_t)snprintf(out + k, n - k, "(");
	for (unsigned i = 0; i < ncol && i < REC_COLS_MAX && k + 8 < n; i++) {
		const struct bt_value *v = &cols[i];
		const uint8_t *p = pl + v->offset;
		bool in = v->offset + v->len <= local;
		char val[KEY_TEXT_MAX];
		int64_t iv;
		if (i)
			k += (size_t)snprintf(out + k, n - k, ", ");
		if (v->serial_type == 0) {
			snprintf(val, sizeof val, "NULL");
		} else if (!in) {
			snprintf(val, sizeof val, "...");
		} else if (v->serial_type == 7) {
			json_format_double(val, sizeof val, bt_value_float(p));
		} else if (bt_value_int(p, v->serial_type, &iv)) {
			snprintf(val, sizeof val, "%lld", (long long)iv);
		} else if (v->serial_type >= 13 && (v->serial_type & 1)) {
			size_t tl = 0;
			char *t = sc_text_utf8(p, (size_t)v->len, s->src.encoding, 40, &tl);
			snprintf(val, sizeof val, "'%.*s%s'", (int)(tl > 24 ? 24 : tl), t ? t : "",
				 tl > 24 || v->len > 40 ? "..." : "");
			free(t);
		} else if (v->serial_type >= 12) {
			size_t q = 0;
			q += (size_t)snprintf(val, sizeof val, "x'");
			for (uint64_t b = 0; b < v->len && b < 12; b++)
				q += (size_t)snprintf(val + q, sizeof val - q, "%02x", p[b]);
			snprintf(val + q, sizeof val - q, "%s'", v->len > 12 ? "..." : "");
		} else {
			snprintf(val, sizeof val, "?");
		}
		k += (size_t)snprintf(out + k, n - k, "%s", val);
		if (k >= n)
			break;
	}
	if (k + 2 < n)
		snprintf(out + k, n - k, "%s)", ncol > REC_COLS_MAX ? ", ..." : "");
}

/* Print rowids sorted as ranges ("3-7 9 12"), at most max entries (0: all). */
static void print_rowids(const struct rows *r, unsigned max)
{
	size_t shown = 0;
	for (size_t i = 0; i < r->n;) {
		size_t j = i;
		while (j + 1 < r->n && r->v[j + 1].rowid == r->v[j].rowid + 1)
			j++;
		if (max && shown >= max) {
			printf(" ... (%zu more)", r->n - i);
			return;
		}
		if (j > i)
			printf(" %lld-%lld", (long long)r->v[i].rowid, (long long)r->v[j].rowid);
		else
			printf(" %lld", (long long)r->v[i].rowid);
		shown++;
		i = j + 1;
	}
}

static void print_keys(const struct side *s, const struct rows *r, unsigned max)
{
	char key[160];
	for (size_t i = 0; i < r->n; i++) {
		if (max && i >= max) {
			printf(" ... (%zu more)", r->n - i);
			return;
		}
		render_key(s, &r->v[i], key, sizeof key);
		printf(" %s", report_esc(key));
	}
}

/* "added 2 (rowids 4-5); removed 1 (rowid 3); changed ..." for one comparison. */
static void print_cmp_text(const struct diff *d, const struct cmp *c, bool intkey, const char *indent)
{
	const struct rows *l[3] = { &c->added, &c->removed, &c->changed };
	const char *names[3] = { "added", "removed", "changed" };
	const struct side *from[3] = { &d->b, &d->a, &d->b };
	for (int i = 0; i < (intkey ? 3 : 2); i++) {
		if (!l[i]->n)
			continue;
		printf("%s%s %s %zu:", indent, intkey ? "rowids" : "keys", names[i], l[i]->n);
		if (intkey)
			print_rowids(l[i], d->max_list);
		else
			print_keys(from[i], l[i], d->max_list);
		printf("\n");
	}
}

static void json_cmp(struct jw *j, const struct diff *d, const struct cmp *c, bool intkey)
{
	const struct rows *l[3] = { &c->added, &c->removed, &c->changed };
	const char *names[3] = { "added", "removed", "changed" };
	const struct side *from[3] = { &d->b, &d->a, &d->b };
	char key[160];
	for (int i = 0; i < (intkey ? 3 : 2); i++) {
		jw_arr_begin(j, names[i]);
		for (size_t x = 0; x < l[i]->n; x++) {
			if (intkey) {
				jw_int(j, NULL, l[i]->v[x].rowid);
			} else {
				render_key(from[i], &l[i]->v[x], key, sizeof key);
				jw_str(j, NULL, key);
			}
		}
		jw_arr_end(j);
	}
	if (intkey)
		jw_uint(j, "unchanged", c->same);
}

static void json_side_page(struct jw *j, const char *key, const struct side *s, uint32_t p)
{
	char buf[256];
	if (p > s->h.npages || !ph_page_digest(&s->h, p)) {
		jw_null(j, key);
		return;
	}
	jw_obj_begin(j, key);
	enum sc_role r = side_role(s, p);
	const struct sc_tree *t = side_tree(s, p);
	jw_str(j, "role", s->acct_ok ? sc_role_name(r) : NULL);
	jw_str(j, "tree", t ? t->name : NULL);
	jw_str(j, "tree_type", t ? t->type : NULL);
	jw_bool(j, "root", t && t->root == p);
	jw_str(j, "description", describe(s, p, buf, sizeof buf));
	char hex[2 * PH_DIGEST + 1];
	ph_hex(ph_page_digest(&s->h, p), hex);
	jw_str(j, "sha256", hex);
	if (s->h.frame[p - 1])
		jw_uint(j, "frame", s->h.frame[p - 1]);
	else
		jw_null(j, "frame");
	jw_obj_end(j);
}

static void json_side(struct jw *j, const char *key, const struct side *s)
{
	char hex[2 * PH_DIGEST + 1];
	jw_obj_begin(j, key);
	jw_str(j, "path", s->m->files.db.path ? s->m->files.db.path : s->path);
	jw_str(j, "state", s->state_name);
	jw_uint(j, "commit", s->h.commit);
	jw_uint(j, "page_size", s->h.page_size);
	jw_uint(j, "pages", s->h.npages);
	jw_uint(j, "missing", s->h.nmissing);
	ph_hex(s->h.state_hash, hex);
	jw_str(j, "state_hash", hex);
	jw_bool(j, "roles_known", s->acct_ok);
	jw_obj_end(j);
}

/* ---- the comparison ---- */

static int add_page(struct diff *d, uint32_t p, int kind)
{
	struct page_diff *nv = grow(d->pages, &d->cap_pages, d->npages, sizeof *d->pages);
	if (!nv) {
		d->oom = true;
		return -1;
	}
	d->pages = nv;
	struct page_diff *pd = &d->pages[d->npages++];
	memset(pd, 0, sizeof *pd);
	pd->pgno = p;
	pd->kind = kind;
	pd->tree_a = pd->tree_b = -1;
	return 0;
}

/* Differing pages: only pages some side holds are visited. */
static int find_pages(struct diff *d)
{
	uint32_t last = d->a.h.nheld > d->b.h.nheld ? d->a.h.nheld : d->b.h.nheld;
	for (uint64_t p = 1; p <= last; p++) {
		const uint8_t *da = ph_page_digest(&d->a.h, (uint32_t)p);
		const uint8_t *db = ph_page_digest(&d->b.h, (uint32_t)p);
		int kind = -1;
		if (da && db)
			kind = memcmp(da, db, PH_DIGEST) ? PD_DIFFERS : -1;
		else if (da)
			kind = PD_ONLY_A;
		else if (db)
			kind = PD_ONLY_B;
		if (kind >= 0 && add_page(d, (uint32_t)p, kind))
			return -1;
	}
	return 0;
}

static void analyse_pages(struct diff *d)
{
	for (size_t i = 0; i < d->npages && !d->oom; i++) {
		struct page_diff *pd = &d->pages[i];
		pd->tree_a = collect_leaf(d, &d->a, pd->pgno, &pd->a_first, &pd->a_n);
		pd->tree_b = collect_leaf(d, &d->b, pd->pgno, &pd->b_first, &pd->b_n);
	}
}

/* Per-page comparison of one leaf's two versions (same tree on both sides). */
static bool page_cmp(struct diff *d, const struct page_diff *pd, struct cmp *c)
{
	if (pd->tree_a < 0 || pd->tree_a != pd->tree_b)
		return false;
	struct tree_rows *t = &d->trees[pd->tree_a];
	/* Copies: comparing sorts, and the tree lists are compared again later. */
	struct row *a = pd->a_n ? malloc(pd->a_n * sizeof *a) : NULL;
	struct row *b = pd->b_n ? malloc(pd->b_n * sizeof *b) : NULL;
	if ((pd->a_n && !a) || (pd->b_n && !b)) {
		free(a);
		free(b);
		d->oom = true;
		return false;
	}
	if (a)
		memcpy(a, t->a.v + pd->a_first, pd->a_n * sizeof *a);
	if (b)
		memcpy(b, t->b.v + pd->b_first, pd->b_n * sizeof *b);
	compare_rows(d, a, pd->a_n, b, pd->b_n, t->intkey, c);
	free(a);
	free(b);
	return true;
}

static const char *kind_text(int kind)
{
	return kind == PD_DIFFERS ? "differs" : kind == PD_ONLY_A ? "only in A" : "only in B";
}

static const char *kind_json(int kind)
{
	return kind == PD_DIFFERS ? "differs" : kind == PD_ONLY_A ? "only_a" : "only_b";
}

/*
 * After the last read of either side (the listing reads rows as it goes):
 * a database or WAL that changed under us voids the comparison.  `warn`
 * gets the findings when the output has no place for them (text).
 */
static void check_sides(struct diff *d, FILE *warn)
{
	int a = cmd_check_inputs(&d->a.m->files, CMD_IN_DB | CMD_IN_WAL | CMD_IN_STRICT, &d->a.changed, warn);
	int b = d->b.m == d->a.m ? EXIT_OK
	      : cmd_check_inputs(&d->b.m->files, CMD_IN_DB | CMD_IN_WAL | CMD_IN_STRICT, &d->b.changed, warn);
	d->input_changed = a != EXIT_OK || b != EXIT_OK;
}

/* "findings": both sides' INPUT_CHANGED, each with the path of its own files (as report_json writes them). */
static void json_changed(struct jw *j, const struct diff *d)
{
	const struct side *sides[2] = { &d->a, &d->b };
	jw_arr_begin(j, "findings");
	for (int i = 0; i < 2; i++) {
		for (size_t k = 0; k < sides[i]->changed.n; k++) {
			const struct wd_diag *g = &sides[i]->changed.v[k];
			jw_obj_begin(j, NULL);
			jw_str(j, "code", wd_code_name(g->code));
			jw_str(j, "severity", wd_severity_name(g->sev));
			jw_str(j, "file", g->file == WD_F_NONE ? NULL : wd_file_name(g->file));
			jw_str(j, "path", report_path(&sides[i]->m->files, g->file));
			jw_null(j, "offset");
			jw_null(j, "frame");
			jw_null(j, "page");
			jw_str(j, "message", g->msg);
			jw_str(j, "action", wd_code_action(g->code));
			jw_obj_end(j);
		}
	}
	jw_arr_end(j);
}

static void print_text(struct diff *d, bool same, bool ps_differs)
{
	char buf[256], hex[2 * PH_DIGEST + 1];
	const struct side *sides[2] = { &d->a, &d->b };
	for (int i = 0; i < 2; i++) {
		const struct side *s = sides[i];
		printf("%c: %s, state %s (commit %u): %u pages of %u bytes\n", s->label,
		       report_esc(s->m->files.db.path ? s->m->files.db.path : s->path), s->state_name, s->h.commit, s->h.npages,
		       s->h.page_size);
	}
	if (ps_differs) {
		printf("page size differs (A %u, B %u): pages are not comparable\n", d->a.h.page_size, d->b.h.page_size);
		printf("different\n");
		return;
	}
	if (d->a.h.npages != d->b.h.npages)
		printf("page count differs: A %u, B %u\n", d->a.h.npages, d->b.h.npages);
	for (size_t i = 0; i < d->npages; i++) {
		const struct page_diff *pd = &d->pages[i];
		printf("page %u %s\n", pd->pgno, kind_text(pd->kind));
		if (pd->kind != PD_ONLY_B)
			printf("    A: %s\n", report_esc(describe(&d->a, pd->pgno, buf, sizeof buf)));
		if (pd->kind != PD_ONLY_A)
			printf("    B: %s\n", report_esc(describe(&d->b, pd->pgno, buf, sizeof buf)));
		struct cmp c;
		if (page_cmp(d, pd, &c)) {
			print_cmp_text(d, &c, d->trees[pd->tree_a].intkey, "    ");
			cmp_free(&c);
		}
	}
	for (size_t i = 0; i < d->ntrees; i++) {
		struct tree_rows *t = &d->trees[i];
		struct cmp c;
		compare_rows(d, t->a.v, t->a.n, t->b.v, t->b.n, t->intkey, &c);
		if (!c.added.n && !c.removed.n && !c.changed.n) {
			cmp_free(&c);
			continue;
		}
		printf("%s '%s': %zu added, %zu removed", report_esc(t->type), report_esc(t->name), c.added.n, c.removed.n);
		if (t->intkey)
			printf(", %zu changed", c.changed.n);
		printf(" (rows on the differing leaves)\n");
		print_cmp_text(d, &c, t->intkey, "    ");
		cmp_free(&c);
	}
	ph_hex(d->a.h.state_hash, hex);
	if (same)
		printf("identical: %u pages, state_hash %s\n", d->a.h.npages, hex);
	else
		printf("different: %zu page%s\n", d->npages, d->npages == 1 ? "" : "s");
}

static void print_json(struct diff *d, bool same, bool ps_differs)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	json_side(&j, "a", &d->a);
	json_side(&j, "b", &d->b);
	jw_bool(&j, "identical", same);
	jw_bool(&j, "page_size_differs", ps_differs);
	jw_arr_begin(&j, "pages");
	for (size_t i = 0; i < d->npages; i++) {
		const struct page_diff *pd = &d->pages[i];
		jw_obj_begin(&j, NULL);
		jw_uint(&j, "pgno", pd->pgno);
		jw_str(&j, "change", kind_json(pd->kind));
		json_side_page(&j, "a", &d->a, pd->pgno);
		json_side_page(&j, "b", &d->b, pd->pgno);
		struct cmp c;
		if (page_cmp(d, pd, &c)) {
			jw_obj_begin(&j, d->trees[pd->tree_a].intkey ? "rowids" : "keys");
			json_cmp(&j, d, &c, d->trees[pd->tree_a].intkey);
			jw_obj_end(&j);
			cmp_free(&c);
		}
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_arr_begin(&j, "trees");
	for (size_t i = 0; i < d->ntrees; i++) {
		struct tree_rows *t = &d->trees[i];
		struct cmp c;
		compare_rows(d, t->a.v, t->a.n, t->b.v, t->b.n, t->intkey, &c);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "name", t->name);
		jw_str(&j, "type", t->type);
		jw_obj_begin(&j, t->intkey ? "rowids" : "keys");
		json_cmp(&j, d, &c, t->intkey);
		jw_obj_end(&j);
		jw_obj_end(&j);
		cmp_free(&c);
	}
	jw_arr_end(&j);
	check_sides(d, NULL);
	json_changed(&j, d);
	jw_str(&j, "status", d->input_changed ? "input-changed" : same ? "identical" : "different");
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "state", required_argument, NULL, 's' },
		{ "commit", required_argument, NULL, 'c' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "max", required_argument, NULL, 'm' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, c, nstate = 0;
	unsigned threads = ph_default_threads();
	struct ph_state st[2] = { { .kind = PH_STATE_EFFECTIVE }, { .kind = PH_STATE_EFFECTIVE } };
	unsigned long max_list = 20;
	char buf[64];
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = 1;
			break;
		case 's':
		case 'c':
			if (c == 'c')
				snprintf(buf, sizeof buf, "commit=%s", optarg);
			if (nstate >= 2)
				return cmd_usage_error("diff", usage, "at most two states (A's and B's)");
			if (ph_state_parse(c == 'c' ? buf : optarg, &st[nstate++]))
				return cmd_usage_error("diff", usage, "bad state '%s' (db, effective or commit=K)", optarg);
			break;
		case 'j':
			if (ph_threads_parse(optarg, &threads))
				return cmd_usage_error("diff", usage, "bad thread count '%s' (1..%d)", optarg,
						       PH_MAX_THREADS);
			break;
		case 'm': {
			char *end;
			max_list = strtoul(optarg, &end, 10);
			if (*end || end == optarg || optarg[0] == '-' || max_list > 1000000)
				return cmd_usage_error("diff", usage, "bad --max '%s'", optarg);
			break;
		}
		default:
			return cmd_usage_error("diff", usage, "unknown option or missing argument '%s'",
					       argv[optind - 1]);
		}
	}
	int npaths = argc - optind;
	if (npaths < 1 || npaths > 2)
		return cmd_usage_error("diff", usage, "expected A [B]");
	if (npaths == 2 && nstate == 1)
		st[1] = st[0];
	if (npaths == 1 && nstate == 0)
		st[0].kind = PH_STATE_DB;

	struct diff d;
	memset(&d, 0, sizeof d);
	d.max_list = (unsigned)max_list;
	d.a.label = 'A';
	d.b.label = 'B';
	d.a.path = argv[optind];
	d.b.path = argv[optind + npaths - 1];
	d.a.st = st[0];
	d.b.st = st[1];
	struct model ma, mb;
	memset(&mb, 0, sizeof mb);
	char err[1024];
	int status = EXIT_SOFTWARE;
	bool opened_b = false;
	if (model_open(&ma, d.a.path, NULL, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&ma);
		return EXIT_NOINPUT;
	}
	d.a.m = d.b.m = &ma;
	if (npaths == 2) {
		opened_b = true;
		if (model_open(&mb, d.b.path, NULL, NULL, err, sizeof err)) {
			cmd_error("%s", err);
			status = EXIT_NOINPUT;
			goto out;
		}
		d.b.m = &mb;
	}
	if ((status = side_hash(&d.a, threads)) != EXIT_OK || (status = side_hash(&d.b, threads)) != EXIT_OK) {
		if (status == EXIT_USAGE)
			fputs(usage, stderr);
		goto out;
	}
	status = EXIT_SOFTWARE;
	d.md = EVP_MD_fetch(NULL, "SHA256", NULL);
	d.ctx = EVP_MD_CTX_new();
	if (!d.md || !d.ctx) {
		cmd_error("SHA-256 unavailable in OpenSSL");
		goto out;
	}
	bool ps_differs = d.a.h.page_size != d.b.h.page_size && d.a.h.npages && d.b.h.npages;
	if (!ps_differs) {
		if (find_pages(&d))
			goto oom;
		if (d.npages) {
			side_roles(&d.a);
			side_roles(&d.b);
			analyse_pages(&d);
		}
	}
	if (d.oom)
		goto oom;
	bool same = !ps_differs && !d.npages && d.a.h.npages == d.b.h.npages;
	if (same != !memcmp(d.a.h.state_hash, d.b.h.state_hash, PH_DIGEST) && !ps_differs) {
		cmd_error("internal error: page comparison and state hash disagree");
		goto out;
	}
	if (json) {
		print_json(&d, same, ps_differs);
	} else {
		print_text(&d, same, ps_differs);
		check_sides(&d, stderr);
	}
	if (d.oom)
		goto oom;
	status = d.input_changed ? EXIT_ERRORS : same ? EXIT_OK : EXIT_WARNINGS;
	goto out;
oom:
	cmd_error("out of memory comparing '%s' and '%s'", d.a.path, d.b.path);
	status = EXIT_SOFTWARE;
out:
	for (size_t i = 0; i < d.ntrees; i++) {
		free(d.trees[i].name);
		free(d.trees[i].type);
		free(d.trees[i].a.v);
		free(d.trees[i].b.v);
	}
	free(d.trees);
	free(d.pages);
	EVP_MD_CTX_free(d.ctx);
	EVP_MD_free(d.md);
	side_free(&d.a);
	side_free(&d.b);
	if (opened_b)
		model_close(&mb);
	model_close(&ma);
	return status;
}
