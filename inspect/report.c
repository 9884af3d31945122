/* report.c — text and JSON rendering of diagnostics; see report.h. */
#include "report.h"

#include <stdbool.h>
#include <string.h>

#include "cmd.h"

const char *report_path(const struct wf_set *s, enum wd_file f)
{
	if (!s)
		return NULL;
	switch (f) {
	case WD_F_DB: return s->db.path;
	case WD_F_WAL: return s->wal.path;
	case WD_F_SHM: return s->shm.path;
	case WD_F_JOURNAL: return s->journal.path;
	case WD_F_NONE: break;
	}
	return NULL;
}

/* Length of the UTF-8 sequence at p (n bytes left) and its code point; 0 if not UTF-8. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char c = p[0];
	size_t len;
	uint32_t v, min;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; v = c & 0x1f; min = 0x80; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; v = c & 0x0f; min = 0x800; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; v = c & 0x07; min = 0x10000; }
	else return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points a terminal acts on (C1 controls) or that reorder the line (bidi controls). */
static bool cp_unsafe(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

char *report_esc_into(const char *s, size_t len, char *out, size_t outsz, bool escape_space)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	size_t room = outsz > 4 ? outsz - 4 : 0;   /* keep space for "..." and NUL */
	bool cut = false;
	for (size_t i = 0; i < len;) {
		char tmp[16];
		size_t tn = 0, adv = 1;
		uint32_t cp = 0;
		size_t k = p[i] >= 0x80 ? utf8_len(p + i, len - i, &cp) : 0;
		if (k && !cp_unsafe(cp)) {
			memcpy(tmp, p + i, k);
			tn = adv = k;
		} else if (p[i] == '\\') {
			tmp[tn++] = '\\';
			tmp[tn++] = '\\';
		} else if (p[i] < 0x20 || p[i] >= 0x7f || (escape_space && p[i] == ' ')) {
			adv = k ? k : 1;   /* an unsafe code point: each of its bytes */
			for (size_t b = 0; b < adv; b++) {
				tmp[tn++] = '\\';
				tmp[tn++] = 'x';
				tmp[tn++] = hex[p[i + b] >> 4];
				tmp[tn++] = hex[p[i + b] & 15];
			}
		} else {
			tmp[tn++] = (char)p[i];
		}
		if (o + tn > room) {
			cut = true;
			break;
		}
		memcpy(out + o, tmp, tn);
		o += tn;
		i += adv;
	}
	if (cut && outsz >= 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (outsz)
		out[o < outsz ? o : outsz - 1] = '\0';
	return out;
}

const char *report_esc(const char *s)
{
	static char slot[REPORT_ESC_SLOTS][REPORT_ESC_MAX + 4];
	static unsigned next;
	if (!s)
		return "(null)";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i;
	uint32_t cp;
	for (i = 0; i < n; i++) {
		size_t k = p[i] >= 0x80 ? utf8_len(p + i, n - i, &cp) : 0;
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' || (p[i] >= 0x80 && (!k || cp_unsafe(cp))))
			break;
		if (k)
			i += k - 1;
	}
	if (i == n)
		return s;   /* the common case: nothing to escape, no copy */
	return report_esc_into(s, n, slot[next++ % REPORT_ESC_SLOTS], sizeof slot[0], false);
}

void report_text(FILE *out, const struct wd_diags *d, const struct wf_set *s)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct wd_diag *g = &d->v[i];
		const char *path = report_path(s, g->file);
		fprintf(out, "%-7s %s", wd_severity_name(g->sev), wd_code_name(g->code));
		if (path)
			fprintf(out, "  %s", report_esc(path));
		else if (g->file != WD_F_NONE)
			fprintf(out, "  (%s)", wd_file_name(g->file));
		if (g->offset != WD_NONE)
			fprintf(out, " offset %lld", (long long)g->offset);
		if (g->frame != WD_NONE)
			fprintf(out, " frame %lld", (long long)g->frame);
		if (g->page != WD_NONE)
			fprintf(out, " page %lld", (long long)g->page);
		fprintf(out, "\n        %s\n        action: %s\n", report_esc(g->msg), wd_code_action(g->code));
	}
	if (d->dropped)
		fprintf(out, "(%zu more findings not shown)\n", d->dropped);
}

void report_json(struct jw *j, const struct wd_diags *d, const struct wf_set *s)
{
	jw_arr_begin(j, "findings");
	for (size_t i = 0; i < d->n; i++) {
		const struct wd_diag *g = &d->v[i];
		jw_obj_begin(j, NULL);
		jw_str(j, "code", wd_code_name(g->code));
		jw_str(j, "severity", wd_severity_name(g->sev));
		jw_str(j, "file", g->file == WD_F_NONE ? NULL : wd_file_name(g->file));
		jw_str(j, "path", report_path(s, g->file));
		if (g->offset != WD_NONE) jw_int(j, "offset", g->offset); else jw_null(j, "offset");
		if (g->frame != WD_NONE) jw_int(j, "frame", g->frame); else jw_null(j, "frame");
		if (g->page != WD_NONE) jw_int(j, "page", g->page); else jw_null(j, "page");
		jw_str(j, "message", g->msg);
		jw_str(j, "action", wd_code_action(g->code));
		jw_obj_end(j);
	}
	jw_arr_end(j);
	if (d->dropped)
		jw_uint(j, "findings_dropped", d->dropped);
}

int report_exit_status(const struct wd_diags *d, int strict)
{
	int w = wd_worst(d);
	if (w >= WD_ERROR)
		return EXIT_ERRORS;
	if (w == WD_WARNING)
		return strict ? EXIT_ERRORS : EXIT_WARNINGS;
	return EXIT_OK;
}

const char *report_status_name(const struct wd_diags *d)
{
	int w = wd_worst(d);
	return w >= WD_ERROR ? "error" : w == WD_WARNING ? "warning" : "ok";
}

void report_json_db_header(struct jw *j, const char *key, const struct db_header *h)
{
	jw_obj_begin(j, key);
	jw_bool(j, "magic_ok", h->magic_ok);
	jw_uint(j, "page_size", h->page_size);
	jw_uint(j, "page_size_raw", h->page_size_raw);
	jw_uint(j, "write_version", h->write_version);
	jw_uint(j, "read_version", h->read_version);
	jw_uint(j, "reserved_bytes", h->reserved_bytes);
	jw_uint(j, "max_payload_fraction", h->max_payload_frac);
	jw_uint(j, "min_payload_fraction", h->min_payload_frac);
	jw_uint(j, "leaf_payload_fraction", h->leaf_payload_frac);
	jw_uint(j, "change_counter", h->change_counter);
	jw_uint(j, "db_size", h->db_size);
	jw_bool(j, "db_size_valid", h->size_valid);
	jw_uint(j, "freelist_trunk", h->freelist_trunk);
	jw_uint(j, "freelist_count", h->freelist_count);
	jw_uint(j, "schema_cookie", h->schema_cookie);
	jw_uint(j, "schema_format", h->schema_format);
	jw_uint(j, "default_cache_size", h->default_cache_size);
	jw_uint(j, "largest_root", h->largest_root);
	jw_uint(j, "text_encoding", h->text_encoding);
	jw_str(j, "text_encoding_name", dbh_encoding_name(h->text_encoding));
	jw_uint(j, "user_version", h->user_version);
	jw_uint(j, "incremental_vacuum", h->incremental_vacuum);
	jw_uint(j, "application_id", h->application_id);
	jw_bool(j, "reserved_zero", h->reserved_zero);
	jw_uint(j, "version_valid_for", h->version_valid_for);
	jw_uint(j, "sqlite_version", h->sqlite_version);
	jw_uint(j, "usable_size", h->usable_size);
	jw_bool(j, "wal_mode", h->wal_mode);
	jw_bool(j, "auto_vacuum", h->auto_vacuum);
	jw_obj_end(j);
}

static const char *order_name(const struct wal_header *h)
{
	return h->big_endian_cksum ? "be" : "le";
}

static void json_wal(struct jw *j, const struct model *m)
{
	if (!m->has_wal) {
		jw_null(j, "wal");
		return;
	}
	const struct wal_walk *w = &m->wal;
	jw_obj_begin(j, "wal");
	jw_str(j, "path", m->files.wal.path);
	jw_uint(j, "file_size", m->files.wal.size);
	jw_uint(j, "page_size", w->hdr.page_size);
	jw_uint(j, "magic", w->hdr.magic);
	jw_str(j, "checksum_order", w->file_size >= WAL_HDR_SIZE ? order_name(&w->hdr) : NULL);
	jw_uint(j, "format_version", w->hdr.version);
	jw_uint(j, "checkpoint_seq", w->hdr.ckpt_seq);
	jw_uint(j, "salt1", w->hdr.salt1);
	jw_uint(j, "salt2", w->hdr.salt2);
	jw_bool(j, "header_valid", w->hdr.valid);
	jw_uint(j, "frames_total", w->nframes);
	jw_uint(j, "frames_valid", w->nvalid);
	jw_uint(j, "commits", w->ntxn);
	jw_uint(j, "last_commit_frame", w->mx_frame);
	jw_uint(j, "db_size_after_last_commit", w->npage);
	jw_uint(j, "uncommitted_frames", w->nvalid - w->mx_frame);
	jw_uint(j, "partial_bytes", w->partial_bytes);
	jw_str(j, "end", wal_end_name(w->end));
	jw_bool(j, "usable", m->wal_usable);
	jw_obj_end(j);
}

static void json_shm(struct jw *j, const struct model *m)
{
	if (!m->has_shm) {
		jw_null(j, "shm");
		return;
	}
	const struct shm_info *s = &m->shm;
	jw_obj_begin(j, "shm");
	jw_str(j, "path", m->files.shm.path);
	jw_uint(j, "file_size", m->files.shm.size);
	jw_bool(j, "header_present", s->has_header);
	jw_str(j, "byte_order", !s->order_known ? NULL : s->big_endian ? "be" : "le");
	jw_bool(j, "foreign_endian", s->foreign_endian);
	jw_bool(j, "header_ok", s->hdr_ok);
	jw_bool(j, "copies_agree", s->copies_agree);
	jw_uint(j, "mxFrame", s->hdr[0].mx_frame);
	jw_uint(j, "nPage", s->hdr[0].n_page);
	jw_uint(j, "iChange", s->hdr[0].change);
	jw_uint(j, "nBackfill", s->n_backfill);
	jw_uint(j, "nBackfillAttempted", s->n_backfill_attempted);
	jw_arr_begin(j, "read_marks");
	for (int i = 0; i < SHM_NREADER; i++)
		jw_uint(j, NULL, s->read_mark[i]);
	jw_arr_end(j);
	jw_obj_end(j);
}

static void json_locks(struct jw *j, const struct check_result *r)
{
	jw_arr_begin(j, "locks");
	for (int i = 0; i < r->locks.n; i++) {
		const struct lock_holder *h = &r->locks.h[i];
		jw_obj_begin(j, NULL);
		jw_int(j, "pid", h->pid);
		jw_str(j, "comm", h->comm);
		jw_str(j, "file", h->file == 's' ? "shm" : "db");
		jw_str(j, "lock", h->what);
		jw_str(j, "mode", h->exclusive ? "exclusive" : "shared");
		jw_obj_end(j);
	}
	jw_arr_end(j);
}

void report_json_inspect(struct jw *j, const struct model *m, const struct check_result *r)
{
	if (m->has_db && m->db_ok) {
		report_json_db_header(j, "db", &m->dbh);
	} else {
		jw_null(j, "db");
	}
	jw_obj_begin(j, "state");
	jw_uint(j, "page_size", m->page_size);
	jw_uint(j, "db_file_size", m->files.db.size);
	jw_uint(j, "db_file_pages", m->db_pages);
	jw_uint(j, "commit", model_commit(m, MODEL_LAST));
	jw_uint(j, "pages", model_npages(m, MODEL_LAST));
	jw_uint(j, "missing_pages", r->missing_pages);
	if (r->integrity == -2)
		jw_null(j, "integrity");
	else
		jw_str(j, "integrity", r->integrity == 1 ? "ok" : r->integrity_msg);
	jw_obj_end(j);
	json_wal(j, m);
	json_shm(j, m);
	json_locks(j, r);
	report_json(j, &m->diags, &m->files);
	jw_str(j, "status", report_status_name(&m->diags));
}
