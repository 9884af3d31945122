/*
 * cmd_page.c — `waldo page`: one page of a database, decoded.
 *
 * Which version of the page: by default the one SQLite would read (the
 * newest frame for the page in the committed part of the valid WAL, else
 * the database file), or the database file's (--db), or the copy in one WAL
 * frame (--frame F).  What the page is for comes from an accounting of the
 * whole state (inspect/schema.h): a b-tree page of some table or index, an
 * overflow page, a freelist trunk or leaf, a pointer-map page, the
 * lock-byte page, or unused.  The page is then decoded as what it is:
 * b-tree header fields with offsets, every cell with its record's values,
 * the freeblocks; a trunk's leaves; a pointer map's entries; an overflow
 * page's next pointer — followed by a hex dump.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "model.h"
#include "report.h"
#include "schema.h"
#include "../formats/btree.h"
#include "../formats/bytes.h"
#include "../formats/dbheader.h"
#include "../formats/wal.h"

static const char usage[] =
	"usage: waldo page [--json] [--db | --frame F] [--as KIND] [--no-hex] PATH PGNO\n"
	"\n"
	"Decode page PGNO of the database PATH (or of the database beside the -wal or\n"
	"-shm PATH names).  The version shown is the one SQLite would read: the newest\n"
	"committed WAL frame for the page, else the database file.  The page is\n"
	"decoded as what the database uses it for (b-tree page with its cells and\n"
	"record values, overflow page, freelist trunk, pointer-map page, lock-byte\n"
	"page), then shown as a hex dump.  Never writes.\n"
	"\n"
	"  --json       one JSON object: {path, page, source, page_size, role, type,\n"
	"               header, cells, freeblocks, findings, status}\n"
	"  --db         the page as stored in the database file, ignoring the WAL\n"
	"  --frame F    the page stored in WAL frame F (PGNO may then be omitted;\n"
	"               the frame's state, e.g. stale or uncommitted, is shown)\n"
	"  --as KIND    decode as btree, trunk, ptrmap, overflow or raw whatever\n"
	"               the page's role\n"
	"  --no-hex     leave out the hex dump\n"
	"\n"
	"Exit status: 0 ok, 1 warnings, 2 errors, 64 usage or no such page,\n"
	"66 unreadable input.\n";

enum kind { K_AUTO = 0, K_BTREE, K_TRUNK, K_PTRMAP, K_OVERFLOW, K_RAW, K_LOCKBYTE, K_FREELEAF };

#define PAYLOAD_MAX (1u << 20)     /* payload bytes read per cell for its values */
#define TEXT_SHOW 64               /* text bytes shown per value in text output */
#define TEXT_SHOW_JSON 1024
#define BLOB_SHOW 16
#define BLOB_SHOW_JSON 64
#define MAX_COLS 2000              /* values shown per record */

/* Everything the printers need about the page being shown. */
struct view {
	const char *path;           /* the database path shown to the user */
	uint32_t pgno;
	uint32_t page_size, usable;
	const uint8_t *page;        /* private copy, page_size bytes */
	/* source */
	bool from_wal;
	uint32_t frame;             /* 0 for the database file */
	const char *src_path;
	uint64_t src_off;           /* file offset of the page data */
	const char *frame_state;    /* NULL for the database file */
	uint32_t frame_pgno;        /* page number in the frame header */
	uint32_t newest;            /* newest committed frame of this page, 0 if none */
	char note[200];             /* e.g. "frame 7 holds page 3, not page 2" */
	/* state and role */
	uint32_t state;             /* commit number the role comes from */
	uint32_t npages;
	bool role_known;
	enum sc_role role;
	const struct sc_tree *tree;
	struct sc_source src;
	bool have_dbh;
	struct db_header dbh;       /* page 1 of the state */
	uint32_t encoding;
	enum kind kind;
	struct wd_diags d;
};

/* --- the page source over the model ------------------------------------ */

struct state_src {
	const struct model *m;
	uint32_t k;                 /* commit number; 0 = database file only */
	bool db_only;
};

static const uint8_t *state_get(void *ctx, uint32_t pgno)
{
	const struct state_src *s = ctx;
	if (s->db_only)
		return model_db_page(s->m, pgno);
	return model_page(s->m, s->k, pgno, NULL);
}

/* --- value formatting ------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at p (code point >= 0xa0), else 0. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	size_t k = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	if (k > n)
		return 0;
	uint32_t cp = p[0] & (0x3f >> (k - 1));
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((k == 2 && cp < 0xa0) || (k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
	    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k;
}

/* Print text as an SQL-ish literal: printable and valid UTF-8 as is, the rest \xNN. */
static void put_text(FILE *f, const uint8_t *p, size_t n, uint64_t total)
{
	fputc('\'', f);
	for (size_t i = 0; i < n;) {
		size_t k;
		if (p[i] == '\'') {
			fputs("''", f);
			i++;
		} else if (p[i] == '\\') {
			fputs("\\\\", f);
			i++;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			fputc(p[i++], f);
		} else if ((k = utf8_seq(p + i, n - i))) {
			fwrite(p + i, 1, k, f);
			i += k;
		} else {
			fprintf(f, "\\x%02x", p[i++]);
		}
	}
	fputc('\'', f);
	if (total > n)
		fprintf(f, "...(%llu bytes)", (unsigned long long)total);
}

/* Text of a record value as UTF-8 (UTF-16 databases converted). */
static char *value_text(const struct view *v, const uint8_t *p, size_t n, size_t max, size_t *len)
{
	/* Convert a little more than shown so that a cut never splits a UTF-16 pair. */
	return sc_text_utf8(p, n, v->encoding, max * 2 + 4, len);
}

static void print_value(const struct view *v, const uint8_t *rec, size_t nrec, const struct bt_value *c)
{
	if (c->offset + c->len > nrec) {
		printf("?");
		return;
	}
	const uint8_t *p = rec + c->offset;
	int64_t iv;
	if (c->serial_type == 0)
		printf("NULL");
	else if (bt_value_int(p, c->serial_type, &iv))
		printf("%lld", (long long)iv);
	else if (c->serial_type == 7) {
		char num[40];
		json_format_double(num, sizeof num, bt_value_float(p));
		printf("%s", num);
	} else if (c->serial_type >= 13 && (c->serial_type & 1)) {
		size_t len;
		char *t = value_text(v, p, (size_t)c->len, TEXT_SHOW, &len);
		if (t) {
			size_t show = len < TEXT_SHOW ? len : TEXT_SHOW;
			put_text(stdout, (const uint8_t *)t, show, len > show ? c->len : 0);
			free(t);
		}
	} else if (c->serial_type >= 12) {
		printf("x'");
		for (uint64_t i = 0; i < c->len && i < BLOB_SHOW; i++)
			printf("%02x", p[i]);
		printf("'");
		if (c->len > BLOB_SHOW)
			printf("...(%llu bytes)", (unsigned long long)c->len);
	} else {
		printf("<serial type %llu>", (unsigned long long)c->serial_type);
	}
}

static void json_value(const struct view *v, struct jw *j, const uint8_t *rec, size_t nrec,
		       const struct bt_value *c)
{
	jw_obj_begin(j, NULL);
	jw_uint(j, "serial_type", c->serial_type);
	const uint8_t *p = rec + c->offset;
	int64_t iv;
	if (c->offset + c->len > nrec) {
		jw_str(j, "type", "unavailable");
		jw_uint(j, "size", c->len);
	} else if (c->serial_type == 0) {
		jw_str(j, "type", "null");
	} else if (bt_value_int(p, c->serial_type, &iv)) {
		jw_str(j, "type", "integer");
		jw_int(j, "value", iv);
	} else if (c->serial_type == 7) {
		double f = bt_value_float(p);
		jw_str(j, "type", "real");
		if (f == f && f - f == 0) {
			char num[40];
			json_format_double(num, sizeof num, f);
			jw_double(j, "value", f);
			jw_str(j, "value_text", num);
			jw_obj_end(j);
			return;
		}
		jw_str(j, "value_text", f == f ? (f > 0 ? "Infinity" : "-Infinity") : "NaN");
	} else if (c->serial_type >= 13 && (c->serial_type & 1)) {
		jw_str(j, "type", "text");
		jw_uint(j, "size", c->len);
		size_t len;
		char *t = value_text(v, p, (size_t)c->len, TEXT_SHOW_JSON, &len);
		if (t) {
			size_t show = len < TEXT_SHOW_JSON ? len : TEXT_SHOW_JSON;
			jw_strn(j, "value", t, show);
			jw_bool(j, "truncated", show < len);
			free(t);
		}
	} else if (c->serial_type >= 12) {
		jw_str(j, "type", "blob");
		jw_uint(j, "size", c->len);
		jw_hex(j, "hex", p, (size_t)(c->len < BLOB_SHOW_JSON ? c->len : BLOB_SHOW_JSON));
		jw_bool(j, "truncated", c->len > BLOB_SHOW_JSON);
	} else {
		jw_str(j, "type", "invalid");
	}
	jw_obj_end(j);
}

/* --- decoding ------------------------------------------------------------ */

struct cellrec {
	struct bt_cell c;
	int cell_rc;
	uint8_t *rec;               /* payload bytes read (local + overflow), owned */
	size_t nrec;
	struct bt_value *cols;
	unsigned ncol, nshown;
	int rec_rc;
};

static void cell_free(struct cellrec *r)
{
	free(r->rec);
	free(r->cols);
}

/* Decode cell i with its record; findings go to v->d. */
static void decode_cell(struct view *v, const struct bt_page *pg, unsigned i, struct cellrec *r)
{
	memset(r, 0, sizeof *r);
	r->cell_rc = bt_parse_cell(v->page, pg, i, &r->c, NULL);
	if (r->cell_rc == WD_FATAL || !r->c.has_payload)
		return;
	size_t want = r->c.payload_size < PAYLOAD_MAX ? (size_t)r->c.payload_size : PAYLOAD_MAX;
	r->rec = malloc(want ? want : 1);
	r->cols = malloc(MAX_COLS * sizeof *r->cols);
	if (!r->rec || !r->cols)
		return;
	r->nrec = sc_read_payload(&v->src, v->pgno, v->page, &r->c, r->rec, want, &v->d);
	r->rec_rc = bt_parse_record(r->rec, r->nrec, r->cols, MAX_COLS, &r->ncol);
	r->nshown = r->ncol < MAX_COLS ? r->ncol : MAX_COLS;
	int64_t off = (int64_t)(v->pgno - 1) * v->page_size + r->c.payload_off;
	if (r->rec_rc == WD_FATAL && r->nrec == want)
		wd_add(&v->d, WD_BTREE_PAGE_INVALID, WD_F_DB, off, WD_NONE, v->pgno,
		       "page %u offset %u: cell %u's record header is malformed (bad size, serial type 10/11, or a varint past the header)",
		       v->pgno, r->c.payload_off, i);
	else if (r->rec_rc == WD_WARN && r->nrec == r->c.payload_size)
		wd_add(&v->d, WD_BTREE_PAGE_INVALID, WD_F_DB, off, WD_NONE, v->pgno,
		       "page %u offset %u: cell %u's record values run past its %llu-byte payload", v->pgno,
		       r->c.payload_off, i, (unsigned long long)r->c.payload_size);
}

/* --- text output --------------------------------------------------------------- */

static void hdr_line(const uint8_t *p, unsigned off, unsigned size, const char *value, const char *name)
{
	char raw[40] = "";
	size_t k = 0;
	for (unsigned i = 0; i < size; i++)
		k += (size_t)snprintf(raw + k, sizeof raw - k, "%02x ", p[off + i]);
	printf("  %5u %4u  %-12s %-20s %s\n", off, size, raw, value, name);
}

static void hdr_line_u(const uint8_t *p, unsigned off, unsigned size, uint64_t v, const char *name)
{
	char s[32];
	snprintf(s, sizeof s, "%llu", (unsigned long long)v);
	hdr_line(p, off, size, s, name);
}

static void print_hex(const struct view *v)
{
	printf("\nhex dump (offsets in the page; file offset %llu)\n", (unsigned long long)v->src_off);
	bool starred = false;
	for (uint32_t off = 0; off < v->page_size; off += 16) {
		const uint8_t *p = v->page + off;
		if (off && off + 16 < v->page_size && !memcmp(p, p - 16, 16)) {
			if (!starred)
				printf("  *\n");
			starred = true;
			continue;
		}
		starred = false;
		printf("  %05x  ", off);
		for (int i = 0; i < 16; i++)
			printf("%02x %s", p[i], i == 7 ? " " : "");
		printf(" |");
		for (int i = 0; i < 16; i++)
			putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
		printf("|\n");
	}
}

static const char *role_text(const struct view *v, char *buf, size_t n)
{
	if (!v->role_known) {
		if (v->pgno > v->npages)
			snprintf(buf, n, "none: past the end of the database, which has %u pages in that state",
				 v->npages);
		else
			snprintf(buf, n, "unknown (the page accounting could not run)");
		return buf;
	}
	switch (v->role) {
	case SC_ROLE_BTREE_INTERIOR:
	case SC_ROLE_BTREE_LEAF:
	case SC_ROLE_BTREE_INVALID:
	case SC_ROLE_OVERFLOW:
		snprintf(buf, n, "%s page of %s '%s' (b-tree rooted at page %u)", sc_role_name(v->role),
			 v->tree ? v->tree->type : "?", v->tree ? v->tree->name : "?", v->tree ? v->tree->root : 0);
		return buf;
	case SC_ROLE_UNUSED:
		snprintf(buf, n, "unused: in no b-tree and not on the freelist");
		return buf;
	default:
		snprintf(buf, n, "%s page", sc_role_name(v->role));
		return buf;
	}
}

static void print_source(const struct view *v)
{
	char rb[300];
	printf("page %u of %s\n", v->pgno, report_esc(v->path));
	if (v->from_wal) {
		printf("  version    WAL frame %u (%s%s)\n", v->frame, v->frame_state,
		       v->newest == v->frame ? "; the version SQLite reads"
		       : v->newest ? "; SQLite reads a newer frame" : "");
		printf("  source     %s offset %llu (frame header at %llu)\n", report_esc(v->src_path),
		       (unsigned long long)v->src_off, (unsigned long long)(v->src_off - WAL_FRAME_HDR_SIZE));
	} else {
		printf("  version    database file%s\n",
		       v->newest ? " (the WAL holds a newer committed version: see --frame)" : "");
		printf("  source     %s offset %llu\n", report_esc(v->src_path), (unsigned long long)v->src_off);
	}
	if (v->note[0])
		printf("  note       %s\n", v->note);
	printf("  page size  %u (usable %u)\n", v->page_size, v->usable);
	printf("  role       %s\n", report_esc(role_text(v, rb, sizeof rb)));
}

static void print_dbheader(const struct view *v)
{
	struct db_header h;
	struct wd_diags scratch = { 0 };
	dbh_parse(v->page, v->page_size < DBH_SIZE ? v->page_size : DBH_SIZE, &h, &scratch);
	wd_diags_free(&scratch);
	printf("\ndatabase header (offsets 0..99; `waldo header` shows every field)\n");
	if (!h.magic_ok) {
		printf("  not an SQLite header\n");
		return;
	}
	printf("  page size %u, %u reserved bytes, %s mode, text %s, schema format %u\n", h.page_size,
	       h.reserved_bytes, h.wal_mode ? "WAL" : "rollback", dbh_encoding_name(h.text_encoding),
	       h.schema_format);
	printf("  %u pages (%s), freelist %u pages from trunk %u, schema cookie %u\n", h.db_size,
	       h.size_valid ? "trusted" : "not trusted", h.freelist_count, h.freelist_trunk, h.schema_cookie);
	printf("  change counter %u, auto-vacuum %s, largest root %u\n", h.change_counter,
	       h.auto_vacuum ? (h.incremental_vacuum ? "incremental" : "full") : "off", h.largest_root);
}

static void print_btree_text(struct view *v, const struct bt_page *pg, struct cellrec *cells,
			     unsigned ncell)
{
	const uint8_t *p = v->page;
	unsigned o = pg->hdr_off;
	char s[64];
	printf("\nb-tree page header (offset %u)\n", o);
	printf("    off size  raw bytes    value                field\n");
	snprintf(s, sizeof s, "%u (%s)", pg->type, bt_type_name(pg->type));
	hdr_line(p, o, 1, s, "page type");
	if (!pg->type_ok)
		return;
	hdr_line_u(p, o + 1, 2, pg->first_freeblock, "first freeblock (0: none)");
	hdr_line_u(p, o + 3, 2, pg->ncell, "number of cells");
	snprintf(s, sizeof s, "%u", pg->content_start);
	hdr_line(p, o + 5, 2, s, "cell content start (0 means 65536)");
	hdr_line_u(p, o + 7, 1, pg->frag, "fragmented free bytes");
	if (!pg->leaf)
		hdr_line_u(p, o + 8, 4, pg->right_child, "right-most child page");
	uint32_t ptr_end = pg->cellptr_off + 2u * pg->ncell;
	printf("  cell pointer array at %u..%u; unallocated %u..%u (%d bytes)\n", pg->cellptr_off,
	       ptr_end, ptr_end, pg->content_start, (int)pg->content_start - (int)ptr_end);

	printf("\ncells (%u)\n", pg->ncell);
	printf("   cell   off  size  left-child             rowid    payload  local  overflow\n");
	for (unsigned i = 0; i < ncell; i++) {
		const struct cellrec *r = &cells[i];
		const struct bt_cell *c = &r->c;
		printf("  %5u %5u ", i, c->offset);
		if (r->cell_rc == WD_FATAL && !c->size) {
			printf("  (cannot be decoded: pointer out of range)\n");
			continue;
		}
		printf("%5u  ", c->size);
		if (!pg->leaf)
			printf("%10u", c->left_child);
		else
			printf("%10s", "-");
		if (c->has_rowid)
			printf("  %16lld", (long long)c->rowid);
		else
			printf("  %16s", "-");
		if (c->has_payload)
			printf("  %9llu  %5u", (unsigned long long)c->payload_size, c->local_size);
		else
			printf("  %9s  %5s", "-", "-");
		if (c->overflow)
			printf("  %8u\n", c->overflow);
		else
			printf("  %8s\n", "-");
		if (r->cell_rc == WD_FATAL) {
			printf("         (cell runs past the usable size; values not decoded)\n");
			continue;
		}
		if (!c->has_payload)
			continue;
		if (r->rec_rc == WD_FATAL) {
			printf("         record: malformed header\n");
			continue;
		}
		printf("         (");
		for (unsigned k = 0; k < r->nshown; k++) {
			if (k)
				printf(", ");
			print_value(v, r->rec, r->nrec, &r->cols[k]);
		}
		if (r->ncol > r->nshown)
			printf(", ... %u more columns", r->ncol - r->nshown);
		printf(")\n");
	}
	if (ncell < pg->ncell)
		printf("  ... %u cells beyond what the page can hold are not shown\n", pg->ncell - ncell);

	printf("\nfreeblocks (%u, %u bytes)%s\n", pg->nfreeblocks, pg->free_bytes, pg->nfreeblocks ? "" : ": none");
	uint32_t fb = pg->first_freeblock;
	for (uint32_t k = 0; fb && k < pg->nfreeblocks; k++) {
		uint32_t next = rd_be16(p + fb), size = rd_be16(p + fb + 2);
		printf("  offset %5u size %5u next %u\n", fb, size, next);
		fb = next;
	}
	printf("fragmented bytes: %u\n", pg->frag);
}

/* --- JSON output ---------------------------------------------------------------- */

static void json_source(const struct view *v, struct jw *j)
{
	jw_obj_begin(j, "source");
	jw_str(j, "file", v->from_wal ? "wal" : "db");
	jw_str(j, "path", v->src_path);
	jw_uint(j, "offset", v->src_off);
	if (v->from_wal) {
		jw_uint(j, "frame", v->frame);
		jw_str(j, "frame_state", v->frame_state);
		jw_uint(j, "frame_page", v->frame_pgno);
	} else {
		jw_null(j, "frame");
	}
	jw_bool(j, "sqlite_reads_this", v->from_wal ? v->newest == v->frame : !v->newest);
	if (v->newest)
		jw_uint(j, "newest_committed_frame", v->newest);
	if (v->note[0])
		jw_str(j, "note", v->note);
	jw_obj_end(j);
}

static void json_btree(struct view *v, struct jw *j, const struct bt_page *pg, struct cellrec *cells,
		       unsigned ncell)
{
	jw_uint(j, "type", pg->type);
	jw_str(j, "type_name", bt_type_name(pg->type));
	jw_obj_begin(j, "header");
	jw_uint(j, "offset", pg->hdr_off);
	jw_uint(j, "first_freeblock", pg->first_freeblock);
	jw_uint(j, "ncell", pg->ncell);
	jw_uint(j, "content_start", pg->content_start);
	jw_uint(j, "fragmented_bytes", pg->frag);
	if (pg->type_ok && !pg->leaf)
		jw_uint(j, "right_child", pg->right_child);
	else
		jw_null(j, "right_child");
	jw_uint(j, "cellptr_offset", pg->cellptr_off);
	jw_obj_end(j);
	jw_arr_begin(j, "cells");
	for (unsigned i = 0; i < ncell; i++) {
		const struct cellrec *r = &cells[i];
		const struct bt_cell *c = &r->c;
		jw_obj_begin(j, NULL);
		jw_uint(j, "index", i);
		jw_uint(j, "offset", c->offset);
		jw_uint(j, "size", c->size);
		jw_bool(j, "ok", r->cell_rc != WD_FATAL);
		if (!pg->leaf) jw_uint(j, "left_child", c->left_child); else jw_null(j, "left_child");
		if (c->has_rowid) jw_int(j, "rowid", c->rowid); else jw_null(j, "rowid");
		if (c->has_payload) {
			jw_uint(j, "payload_size", c->payload_size);
			jw_uint(j, "local_size", c->local_size);
			if (c->overflow) jw_uint(j, "overflow", c->overflow); else jw_null(j, "overflow");
		} else {
			jw_null(j, "payload_size");
			jw_null(j, "local_size");
			jw_null(j, "overflow");
		}
		if (c->has_payload && r->cell_rc != WD_FATAL && r->rec_rc != WD_FATAL && r->cols) {
			jw_arr_begin(j, "values");
			for (unsigned k = 0; k < r->nshown; k++)
				json_value(v, j, r->rec, r->nrec, &r->cols[k]);
			jw_arr_end(j);
			jw_uint(j, "ncolumns", r->ncol);
		} else {
			jw_null(j, "values");
		}
		jw_obj_end(j);
	}
	jw_arr_end(j);
	jw_arr_begin(j, "freeblocks");
	uint32_t fb = pg->first_freeblock;
	for (uint32_t k = 0; fb && k < pg->nfreeblocks; k++) {
		uint32_t next = rd_be16(v->page + fb), size = rd_be16(v->page + fb + 2);
		jw_obj_begin(j, NULL);
		jw_uint(j, "offset", fb);
		jw_uint(j, "size", size);
		jw_uint(j, "next", next);
		jw_obj_end(j);
		fb = next;
	}
	jw_arr_end(j);
}

/* --- the other page kinds --------------------------------------------------- */

static void show_trunk(struct view *v, struct jw *j)
{
	struct bt_trunk t;
	size_t n0 = v->d.n;
	bt_parse_trunk(v->page, v->usable, v->pgno, &t, &v->d);
	for (size_t i = n0; i < v->d.n; i++)
		if (v->d.v[i].offset == WD_NONE)
			v->d.v[i].offset = (int64_t)(v->pgno - 1) * v->page_size + 4;
	if (j) {
		jw_obj_begin(j, "trunk");
		jw_uint(j, "next", t.next);
		jw_uint(j, "nleaf", t.nleaf);
		jw_arr_begin(j, "leaves");
		for (uint32_t i = 0; i < t.nleaf_ok; i++)
			jw_uint(j, NULL, rd_be32(v->page + 8 + 4 * i));
		jw_arr_end(j);
		jw_obj_end(j);
		return;
	}
	printf("\nfreelist trunk page\n    off size  raw bytes    value                field\n");
	hdr_line_u(v->page, 0, 4, t.next, "next trunk page (0: last)");
	hdr_line_u(v->page, 4, 4, t.nleaf, "leaf count");
	if (t.nleaf_ok < t.nleaf)
		printf("  only %u leaves fit a trunk; the rest are not listed\n", t.nleaf_ok);
	printf("  leaves:");
	for (uint32_t i = 0; i < t.nleaf_ok; i++)
		printf("%s%u", i % 12 ? " " : "\n    ", rd_be32(v->page + 8 + 4 * i));
	printf("\n");
}

static void show_ptrmap(struct view *v, struct jw *j)
{
	uint32_t last = v->pgno + v->usable / 5;
	if (last > v->npages)
		last = v->npages;
	if (!j)
		printf("\npointer-map page: entries for pages %u..%u\n     page  type                  parent\n",
		       v->pgno + 1, last);
	else
		jw_arr_begin(j, "ptrmap");
	for (uint32_t p = v->pgno + 1; p <= last; p++) {
		uint8_t ty;
		uint32_t parent;
		if (bt_ptrmap_entry(v->page, v->usable, v->pgno, p, &ty, &parent) == WD_FATAL)
			break;
		if (j) {
			jw_obj_begin(j, NULL);
			jw_uint(j, "page", p);
			jw_uint(j, "type", ty);
			jw_str(j, "type_name", bt_ptrmap_type_name(ty));
			jw_uint(j, "parent", parent);
			jw_obj_end(j);
		} else {
			printf("  %7u  %u %-19s %u\n", p, ty, bt_ptrmap_type_name(ty), parent);
		}
	}
	if (j)
		jw_arr_end(j);
}

static void show_overflow(struct view *v, struct jw *j)
{
	uint32_t next = rd_be32(v->page);
	if (j) {
		jw_obj_begin(j, "overflow");
		jw_uint(j, "next", next);
		jw_uint(j, "payload_bytes", v->usable - 4);
		jw_obj_end(j);
		return;
	}
	printf("\noverflow page\n    off size  raw bytes    value                field\n");
	hdr_line_u(v->page, 0, 4, next, "next overflow page (0: last of the chain)");
	printf("  bytes 4..%u: %u bytes of payload\n", v->usable - 1, v->usable - 4);
}

/* --- resolving which page and which version --------------------------------- */

static int parse_u32(const char *s, uint32_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int parse_kind(const char *s, enum kind *k)
{
	static const struct { const char *name; enum kind k; } t[] = {
		{ "btree", K_BTREE }, { "trunk", K_TRUNK }, { "ptrmap", K_PTRMAP },
		{ "overflow", K_OVERFLOW }, { "raw", K_RAW },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		if (!strcmp(s, t[i].name)) {
			*k = t[i].k;
			return 0;
		}
	return -1;
}

/* The commit whose frames include F, or 0. */
static uint32_t commit_of_frame(const struct model *m, uint32_t f)
{
	for (uint32_t k = 1; k <= model_ncommits(m); k++)
		if (m->wal.txns[k - 1].first <= f && f <= m->wal.txns[k - 1].last)
			return k;
	return 0;
}

/* Find what the page is for in the state the view reads. */
static void find_role(struct view *v, const struct model *m, struct state_src *ss,
		      struct sc_schema *s, struct sc_account *a)
{
	v->src.get_page = state_get;
	v->src.ctx = ss;
	v->src.page_size = v->page_size;
	v->src.usable = v->usable;
	v->src.npages = v->npages;
	v->src.encoding = v->encoding;
	memset(s, 0, sizeof *s);
	memset(a, 0, sizeof *a);
	if (v->page_size != m->page_size || !v->have_dbh || v->pgno > v->npages)
		return;
	sc_read_schema(&v->src, s, NULL);
	struct wd_diags scratch = { 0 };
	sc_account_pages(&v->src, &v->dbh, s, a, &scratch);
	wd_diags_free(&scratch);
	if (!a->role)
		return;
	v->role_known = true;
	v->role = (enum sc_role)a->role[v->pgno];
	v->tree = sc_account_tree_of(a, v->pgno);
}

int cmd_page(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "db", no_argument, NULL, 'd' },
		{ "frame", required_argument, NULL, 'f' }, { "no-hex", no_argument, NULL, 'n' },
		{ "as", required_argument, NULL, 'a' }, { 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, db_only = 0, hex = 1, c;
	uint32_t frame = 0;
	enum kind as = K_AUTO;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'd': db_only = 1; break;
		case 'n': hex = 0; break;
		case 'f':
			if (parse_u32(optarg, &frame) || frame == 0)
				return cmd_usage_error("page", usage, "--frame needs a frame number (1, 2, ...), not '%s'", optarg);
			break;
		case 'a':
			if (parse_kind(optarg, &as))
				return cmd_usage_error("page", usage, "--as takes btree, trunk, ptrmap, overflow or raw, not '%s'", optarg);
			break;
		default:
			return cmd_usage_error("page", usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (db_only && frame)
		return cmd_usage_error("page", usage, "--db and --frame exclude each other");
	int nargs = argc - optind;
	if (nargs != 2 && !(frame && nargs == 1))
		return cmd_usage_error("page", usage, "expected PATH and PGNO");
	uint32_t pgno = 0;
	if (nargs == 2 && (parse_u32(argv[optind + 1], &pgno) || pgno == 0))
		return cmd_usage_error("page", usage, "page numbers start at 1; '%s' is not one", argv[optind + 1]);

	struct model m;
	char err[512];
	if (model_open(&m, argv[optind], NULL, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	if (!m.files.db.present && !m.has_wal) {
		cmd_error("no database or WAL for '%s'", argv[optind]);
		model_close(&m);
		return EXIT_NOINPUT;
	}

	struct view v;
	memset(&v, 0, sizeof v);
	v.path = m.files.db.path ? m.files.db.path : argv[optind];
	int status = EXIT_OK;
	const uint8_t *data = NULL;
	struct state_src ss = { &m, MODEL_LAST, false };

	if (frame) {
		if (!m.has_wal || frame > m.wal.nframes) {
			cmd_error("frame %u does not exist: %s holds %u whole frames", frame,
				  m.files.wal.path ? m.files.wal.path : "the WAL", m.has_wal ? m.wal.nframes : 0);
			model_close(&m);
			return EXIT_USAGE;
		}
		const struct wal_frame *fr = &m.wal.frames[frame - 1];
		v.from_wal = true;
		v.frame = frame;
		v.frame_pgno = fr->pgno;
		v.frame_state = wal_frame_state_name((enum wal_frame_state)fr->state);
		v.page_size = m.wal.page_size;
		v.src_path = m.files.wal.path;
		v.src_off = wal_frame_offset(v.page_size, frame) + WAL_FRAME_HDR_SIZE;
		data = model_frame_page(&m, frame);
		if (pgno && pgno != fr->pgno)
			snprintf(v.note, sizeof v.note, "frame %u holds page %u, not page %u; showing page %u",
				 frame, fr->pgno, pgno, fr->pgno);
		pgno = fr->pgno ? fr->pgno : (pgno ? pgno : 2);
		if (!fr->pgno)
			snprintf(v.note, sizeof v.note, "frame %u's header says page 0 (invalid); decoded as page %u",
				 frame, pgno);
		uint32_t k = fr->state == WAL_FR_COMMITTED ? commit_of_frame(&m, frame) : 0;
		ss.k = k ? k : MODEL_LAST;
		v.state = ss.k;
	} else if (db_only) {
		ss.db_only = true;
		ss.k = 0;
		v.page_size = m.page_size;
		if (!m.page_size || !m.has_db || pgno > m.db_pages) {
			cmd_error("page %u is not in the database file %s (it holds %llu whole pages)", pgno,
				  v.path, (unsigned long long)m.db_pages);
			model_close(&m);
			return EXIT_USAGE;
		}
		data = model_db_page(&m, pgno);
		v.src_path = m.files.db.path;
		v.src_off = (uint64_t)(pgno - 1) * v.page_size;
	} else {
		v.page_size = m.page_size;
		uint32_t npages = model_npages(&m, MODEL_LAST);
		if (!m.page_size) {
			cmd_error("cannot tell the page size of '%s': the database header and the WAL header are both unusable",
				  argv[optind]);
			cmd_check_inputs(&m.files, CMD_IN_ALL, &m.diags, NULL);
			if (!json)
				report_text(stderr, &m.diags, &m.files);
			int st = report_exit_status(&m.diags, 0);
			model_close(&m);
			return st == EXIT_OK ? EXIT_ERRORS : st;
		}
		if (pgno > npages) {
			cmd_error("page %u does not exist: the database has %u pages as SQLite would read it",
				  pgno, npages);
			model_close(&m);
			return EXIT_USAGE;
		}
		uint32_t f = 0;
		data = model_page(&m, MODEL_LAST, pgno, &f);
		if (f) {
			v.from_wal = true;
			v.frame = f;
			v.frame_pgno = pgno;
			v.frame_state = wal_frame_state_name((enum wal_frame_state)m.wal.frames[f - 1].state);
			v.src_path = m.files.wal.path;
			v.src_off = wal_frame_offset(m.wal.page_size, f) + WAL_FRAME_HDR_SIZE;
		} else {
			v.src_path = m.files.db.path;
			v.src_off = (uint64_t)(pgno - 1) * v.page_size;
		}
		v.state = MODEL_LAST;
	}
	v.pgno = pgno;
	if (model_ncommits(&m))
		v.newest = model_find_frame(&m, pgno, 0, model_commit_frame(&m, MODEL_LAST));

	if (!data) {
		wd_add(&v.d, WD_DB_FILE_TRUNCATED, WD_F_DB, (int64_t)(pgno - 1) * v.page_size, WD_NONE, pgno,
		       "page %u is inside the database but neither the database file nor the WAL holds it",
		       pgno);
		cmd_check_inputs(&m.files, CMD_IN_DB | CMD_IN_WAL, &v.d, NULL);
		if (json) {
			struct jw j;
			jw_init(&j, stdout);
			jw_obj_begin(&j, NULL);
			jw_str(&j, "path", v.path);
			jw_uint(&j, "page", pgno);
			jw_null(&j, "source");
			report_json(&j, &v.d, &m.files);
			jw_str(&j, "status", report_status_name(&v.d));
			jw_obj_end(&j);
			jw_finish(&j);
		} else {
			printf("page %u of %s: not present in any file\n\nfindings:\n", pgno, report_esc(v.path));
			report_text(stdout, &v.d, &m.files);
		}
		status = report_exit_status(&v.d, 0);
		wd_diags_free(&v.d);
		model_close(&m);
		return status;
	}
	uint8_t *copy = malloc(v.page_size);
	if (!copy) {
		cmd_error("out of memory");
		model_close(&m);
		return EXIT_SOFTWARE;
	}
	memcpy(copy, data, v.page_size);
	v.page = copy;

	/* The state's page 1 gives the usable size, the encoding and the freelist. */
	v.npages = ss.db_only ? model_npages(&m, 0) : model_npages(&m, ss.k);
	const uint8_t *p1 = state_get(&ss, 1);
	if (p1) {
		struct wd_diags scratch = { 0 };
		dbh_parse(p1, v.page_size < DBH_SIZE ? v.page_size : DBH_SIZE, &v.dbh, &scratch);
		wd_diags_free(&scratch);
		v.have_dbh = v.dbh.magic_ok && v.dbh.page_size == v.page_size && v.dbh.usable_size >= 480;
	}
	v.usable = v.have_dbh ? v.dbh.usable_size : v.page_size;
	v.encoding = v.have_dbh && v.dbh.text_encoding >= 1 && v.dbh.text_encoding <= 3 ? v.dbh.text_encoding : 1;

	struct sc_schema schema;
	struct sc_account acct;
	find_role(&v, &m, &ss, &schema, &acct);

	/* What to decode the page as. */
	enum kind kind = as;
	if (kind == K_AUTO) {
		uint8_t t = v.page[pgno == 1 ? 100 : 0];
		bool looks_btree = t == 2 || t == 5 || t == 10 || t == 13;
		if (v.have_dbh && pgno == dbh_lock_byte_page(v.page_size))
			kind = K_LOCKBYTE;
		else if (v.have_dbh && v.dbh.auto_vacuum && bt_is_ptrmap_page(v.usable, v.page_size, pgno))
			kind = K_PTRMAP;
		else if (!v.role_known)
			kind = looks_btree || pgno == 1 ? K_BTREE : K_RAW;
		else switch (v.role) {
		case SC_ROLE_BTREE_INTERIOR:
		case SC_ROLE_BTREE_LEAF:
		case SC_ROLE_BTREE_INVALID: kind = K_BTREE; break;
		case SC_ROLE_OVERFLOW: kind = K_OVERFLOW; break;
		case SC_ROLE_FREE_TRUNK: kind = K_TRUNK; break;
		case SC_ROLE_FREE_LEAF: kind = K_FREELEAF; break;
		case SC_ROLE_PTRMAP: kind = K_PTRMAP; break;
		case SC_ROLE_LOCKBYTE: kind = K_LOCKBYTE; break;
		case SC_ROLE_UNUSED:
		case SC_ROLE_ABSENT: kind = looks_btree ? K_BTREE : K_RAW; break;
		}
	}
	v.kind = kind;

	/* Decode. */
	struct bt_page pg;
	memset(&pg, 0, sizeof pg);
	struct cellrec *cells = NULL;
	unsigned ncell = 0;
	if (pgno == 1) {
		struct db_header h;
		dbh_parse(v.page, v.page_size < DBH_SIZE ? v.page_size : DBH_SIZE, &h, &v.d);
	}
	if (kind == K_BTREE) {
		bt_parse_page(v.page, v.page_size, v.usable, pgno, &pg, &v.d);
		if (pg.type_ok) {
			uint32_t room = (v.usable - pg.cellptr_off) / 2;
			ncell = pg.ncell < room ? pg.ncell : room;
			cells = calloc(ncell ? ncell : 1, sizeof *cells);
			if (!cells)
				ncell = 0;
			for (unsigned i = 0; i < ncell; i++)
				decode_cell(&v, &pg, i, &cells[i]);
		}
	}

	struct jw j;
	if (json) {
		jw_init(&j, stdout);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "path", v.path);
		jw_uint(&j, "page", pgno);
		json_source(&v, &j);
		jw_uint(&j, "page_size", v.page_size);
		jw_uint(&j, "usable_size", v.usable);
		if (v.role_known) {
			jw_str(&j, "role", sc_role_name(v.role));
			if (v.tree) {
				jw_obj_begin(&j, "object");
				jw_str(&j, "name", v.tree->name);
				jw_str(&j, "type", v.tree->type);
				jw_uint(&j, "root", v.tree->root);
				jw_obj_end(&j);
			}
		} else {
			jw_null(&j, "role");
		}
		static const char *const kinds[] = { "auto", "btree", "trunk", "ptrmap", "overflow", "raw",
						      "lock-byte", "freelist-leaf" };
		jw_str(&j, "decoded_as", kinds[kind]);
		if (kind == K_BTREE) {
			json_btree(&v, &j, &pg, cells, ncell);
		} else {
			jw_null(&j, "type");
			if (kind == K_TRUNK)
				show_trunk(&v, &j);
			else if (kind == K_PTRMAP)
				show_ptrmap(&v, &j);
			else if (kind == K_OVERFLOW)
				show_overflow(&v, &j);
		}
		if (v.from_wal)
			bt_diags_relocate(&v.d, 0, v.page_size, pgno, WD_F_WAL, v.frame, v.src_off);
		if (hex)
			jw_hex(&j, "hex", v.page, v.page_size);
		cmd_check_inputs(&m.files, CMD_IN_DB | CMD_IN_WAL, &v.d, NULL);
		report_json(&j, &v.d, &m.files);
		jw_str(&j, "status", report_status_name(&v.d));
		jw_obj_end(&j);
		jw_finish(&j);
	} else {
		print_source(&v);
		if (pgno == 1)
			print_dbheader(&v);
		switch (kind) {
		case K_BTREE: print_btree_text(&v, &pg, cells, ncell); break;
		case K_TRUNK: show_trunk(&v, NULL); break;
		case K_PTRMAP: show_ptrmap(&v, NULL); break;
		case K_OVERFLOW: show_overflow(&v, NULL); break;
		case K_LOCKBYTE:
			printf("\nthe lock-byte page (file bytes %u..%u): SQLite never reads or writes it\n",
			       SQLITE_PENDING_BYTE, SQLITE_PENDING_BYTE + v.page_size - 1);
			break;
		case K_FREELEAF:
			printf("\nfreelist leaf page: its bytes are left over from earlier use (try --as btree)\n");
			break;
		case K_RAW:
		case K_AUTO:
			break;
		}
		if (v.from_wal)
			bt_diags_relocate(&v.d, 0, v.page_size, pgno, WD_F_WAL, v.frame, v.src_off);
		if (hex)
			print_hex(&v);
		cmd_check_inputs(&m.files, CMD_IN_DB | CMD_IN_WAL, &v.d, NULL);
		if (v.d.n) {
			printf("\nfindings:\n");
			report_text(stdout, &v.d, &m.files);
		}
	}
	status = report_exit_status(&v.d, 0);
	for (unsigned i = 0; i < ncell; i++)
		cell_free(&cells[i]);
	free(cells);
	sc_account_free(&acct);
	sc_schema_free(&schema);
	wd_diags_free(&v.d);
	free(copy);
	model_close(&m);
	return status;
}
