/*
 * tuimodel.c — the content of `waldo tui`'s views, formatted from the
 * inspect model; see tuimodel.h.  No ncurses here: everything ends up as
 * text in lines, items, or cells of a tm_screen.
 */
#include "tuimodel.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "../formats/bytes.h"
#include "../formats/dbheader.h"
#include "../formats/shm.h"
#include "../formats/wal.h"

/* --- the screen grid ------------------------------------------------------ */

int tm_screen_resize(struct tm_screen *s, int w, int h)
{
	if (w < 1)
		w = 1;
	if (h < 1)
		h = 1;
	struct tm_cell *c = calloc((size_t)w * (size_t)h, sizeof *c);
	if (!c)
		return -1;
	free(s->cell);
	s->cell = c;
	s->w = w;
	s->h = h;
	tm_clear(s);
	return 0;
}

void tm_screen_free(struct tm_screen *s)
{
	free(s->cell);
	memset(s, 0, sizeof *s);
}

void tm_clear(struct tm_screen *s)
{
	for (size_t i = 0; i < (size_t)s->w * (size_t)s->h; i++) {
		s->cell[i].ch = ' ';
		s->cell[i].style = TM_NORMAL;
	}
}

int tm_putn(struct tm_screen *s, int y, int x, uint8_t style, const char *text, int maxw)
{
	if (y < 0 || y >= s->h)
		return x;
	for (int k = 0; *text && (maxw < 0 || k < maxw); text++, k++, x++) {
		if (x >= s->w)
			break;
		if (x < 0)
			continue;
		unsigned char ch = (unsigned char)*text;
		struct tm_cell *c = &s->cell[(size_t)y * s->w + x];
		c->ch = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		c->style = style;
	}
	return x;
}

int tm_put(struct tm_screen *s, int y, int x, uint8_t style, const char *text)
{
	return tm_putn(s, y, x, style, text, -1);
}

int tm_printf(struct tm_screen *s, int y, int x, uint8_t style, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return tm_put(s, y, x, style, buf);
}

void tm_fill(struct tm_screen *s, int y, int x, int n, uint8_t style, char ch)
{
	if (y < 0 || y >= s->h)
		return;
	for (int i = 0; i < n; i++, x++) {
		if (x < 0)
			continue;
		if (x >= s->w)
			break;
		s->cell[(size_t)y * s->w + x].ch = ch;
		s->cell[(size_t)y * s->w + x].style = style;
	}
}

void tm_mark(struct tm_screen *s, int y, int x, int n, uint8_t flag)
{
	if (y < 0 || y >= s->h)
		return;
	for (int i = 0; i < n; i++, x++)
		if (x >= 0 && x < s->w)
			s->cell[(size_t)y * s->w + x].style |= flag;
}

void tm_row_text(const struct tm_screen *s, int y, char *buf, size_t n)
{
	if (!n)
		return;
	buf[0] = '\0';
	if (y < 0 || y >= s->h)
		return;
	size_t k = 0;
	for (int x = 0; x < s->w && k + 1 < n; x++)
		buf[k++] = s->cell[(size_t)y * s->w + x].ch;
	while (k > 0 && buf[k - 1] == ' ')
		k--;
	buf[k] = '\0';
}

/* --- a scrolling list ----------------------------------------------------- */

void tm_list_fix(struct tm_list *l)
{
	uint64_t h = l->height > 0 ? (uint64_t)l->height : 1;
	if (l->n == 0) {
		l->cur = l->top = 0;
		return;
	}
	if (l->cur >= l->n)
		l->cur = l->n - 1;
	if (l->top > l->cur)
		l->top = l->cur;
	if (l->cur >= l->top + h)
		l->top = l->cur - h + 1;
	/* No blank space below the last row when the list could fill the screen. */
	if (l->n >= h && l->top > l->n - h)
		l->top = l->n - h;
	if (l->n < h)
		l->top = 0;
}

void tm_list_move(struct tm_list *l, int64_t delta)
{
	if (delta < 0 && (uint64_t)-delta > l->cur)
		l->cur = 0;
	else
		l->cur += (uint64_t)delta;
	if (l->n && l->cur >= l->n)
		l->cur = l->n - 1;
	tm_list_fix(l);
}

void tm_list_goto(struct tm_list *l, uint64_t i)
{
	uint64_t h = l->height > 0 ? (uint64_t)l->height : 1;
	l->cur = i;
	if (l->n && l->cur >= l->n)
		l->cur = l->n - 1;
	if (l->cur < l->top || l->cur >= l->top + h)
		l->top = l->cur > h / 3 ? l->cur - h / 3 : 0;
	tm_list_fix(l);
}

void tm_list_scroll(struct tm_list *l, int64_t delta)
{
	uint64_t h = l->height > 0 ? (uint64_t)l->height : 1;
	uint64_t maxtop = l->n > h ? l->n - h : 0;
	if (delta < 0)
		l->top = (uint64_t)-delta > l->top ? 0 : l->top - (uint64_t)-delta;
	else
		l->top = l->top + (uint64_t)delta > maxtop ? maxtop : l->top + (uint64_t)delta;
	if (l->cur < l->top)
		l->cur = l->top;
	if (l->cur >= l->top + h)
		l->cur = l->top + h - 1;
	tm_list_fix(l);
}

/* --- text helpers ----------------------------------------------------------- */

size_t tm_escape(char *out, size_t n, const uint8_t *p, size_t len, char quote)
{
	size_t k = 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char tmp[5];
		size_t t;
		if (quote && p[i] == (uint8_t)quote) {
			tmp[0] = tmp[1] = quote;
			t = 2;
		} else if (p[i] == '\\') {
			tmp[0] = tmp[1] = '\\';
			t = 2;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			tmp[0] = (char)p[i];
			t = 1;
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", p[i]);
			t = 4;
		}
		if (k + t + 1 > n)
			break;
		memcpy(out + k, tmp, t);
		k += t;
	}
	out[k] = '\0';
	return k;
}

bool tm_match(const char *text, const char *pat)
{
	if (!*pat)
		return true;
	for (; *text; text++) {
		size_t i = 0;
		while (pat[i] && text[i] &&
		       tolower((unsigned char)text[i]) == tolower((unsigned char)pat[i]))
			i++;
		if (!pat[i])
			return true;
	}
	return false;
}

#define TEXT_SHOW 48              /* bytes of a text value shown */
#define BLOB_SHOW 16              /* bytes of a blob shown */

void tm_value_text(char *buf, size_t n, const uint8_t *rec, size_t nrec, const struct bt_value *c,
		   uint32_t encoding)
{
	if (!n)
		return;
	if (c->offset > nrec || c->len > nrec - c->offset) {
		snprintf(buf, n, "?");
		return;
	}
	const uint8_t *p = rec + c->offset;
	int64_t iv;
	if (c->serial_type == 0) {
		snprintf(buf, n, "NULL");
	} else if (bt_value_int(p, c->serial_type, &iv)) {
		snprintf(buf, n, "%lld", (long long)iv);
	} else if (c->serial_type == 7) {
		/* Shortest of 15 or 17 digits that reads back as the same double, as SQLite prints. */
		double d = bt_value_float(p);
		snprintf(buf, n, "%.15g", d);
		if (strtod(buf, NULL) != d)
			snprintf(buf, n, "%.17g", d);
	} else if (c->serial_type >= 13 && (c->serial_type & 1)) {
		size_t len = 0;
		char *t = sc_text_utf8(p, (size_t)c->len, encoding, TEXT_SHOW * 2 + 4, &len);
		char esc[TEXT_SHOW * 4 + 8];
		size_t show = t ? (len < TEXT_SHOW ? len : TEXT_SHOW) : 0;
		tm_escape(esc, sizeof esc, (const uint8_t *)(t ? t : ""), show, '\'');
		if (len > show || c->len > TEXT_SHOW * 2 + 4)
			snprintf(buf, n, "'%s'...(%llu bytes)", esc, (unsigned long long)c->len);
		else
			snprintf(buf, n, "'%s'", esc);
		free(t);
	} else if (c->serial_type >= 12) {
		size_t k = (size_t)snprintf(buf, n, "x'");
		for (uint64_t i = 0; i < c->len && i < BLOB_SHOW && k + 3 < n; i++)
			k += (size_t)snprintf(buf + k, n - k, "%02x", p[i]);
		if (k + 2 < n)
			k += (size_t)snprintf(buf + k, n - k, "'");
		if (c->len > BLOB_SHOW && k < n)
			snprintf(buf + k, n - k, "...(%llu bytes)", (unsigned long long)c->len);
	} else {
		snprintf(buf, n, "<serial type %llu>", (unsigned long long)c->serial_type);
	}
}

uint8_t tm_severity_style(enum wd_severity s)
{
	switch (s) {
	case WD_INFO: return TM_INFO;
	case WD_WARNING: return TM_WARNING;
	case WD_ERROR: return TM_ERROR;
	}
	return TM_NORMAL;
}

const char *tm_frame_status(uint8_t state)
{
	switch (state) {
	case WAL_FR_COMMITTED: return "valid";
	case WAL_FR_UNCOMMITTED: return "uncommitted";
	case WAL_FR_CKSUM_BREAK: return "break";
	case WAL_FR_BAD_PGNO: return "bad-pgno";
	case WAL_FR_STALE: return "stale";
	case WAL_FR_AFTER_BREAK: return "after-break";
	}
	return "?";
}

uint32_t tm_txn_of_frame(const struct model *m, uint32_t f)
{
	uint32_t lo = 0, hi = m->has_wal ? m->wal.ntxn : 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->wal.txns[mid].last < f)
			lo = mid + 1;
		else
			hi = mid;
	}
	return m->has_wal && lo < m->wal.ntxn && m->wal.txns[lo].first <= f ? lo + 1 : 0;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static void lines_push(struct tm_lines *l, uint8_t style, int32_t finding, const struct tm_jump *j,
		       const char *text)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct tm_line *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	char *t = xstrdup(text);
	if (!t)
		return;
	struct tm_line *ln = &l->v[l->n++];
	memset(ln, 0, sizeof *ln);
	ln->text = t;
	ln->style = style;
	ln->finding = finding;
	if (j)
		ln->jump = *j;
}

void tm_lines_add(struct tm_lines *l, uint8_t style, const struct tm_jump *j, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	lines_push(l, style, -1, j, buf);
}

void tm_lines_wrap(struct tm_lines *l, int width, int indent, uint8_t style, int32_t finding,
		   const struct tm_jump *j, const char *text)
{
	if (indent < 0)
		indent = 0;
	if (width < indent + 16)
		width = indent + 16;
	char line[1024];
	bool first = true;
	const char *p = text;
	do {
		int avail = first ? width : width - indent;
		size_t k = 0;
		if (!first) {
			memset(line, ' ', (size_t)indent);
			k = (size_t)indent;
		}
		size_t len = strlen(p);
		size_t take = len;
		if ((int)len > avail) {
			/* Break at the last blank that fits; a word longer than the line is cut. */
			take = (size_t)avail;
			while (take > 0 && p[take] != ' ')
				take--;
			if (take == 0)
				take = (size_t)avail;
		}
		if (take > sizeof line - k - 1)
			take = sizeof line - k - 1;
		memcpy(line + k, p, take);
		line[k + take] = '\0';
		lines_push(l, style, finding, j, line);
		p += take;
		while (*p == ' ')
			p++;
		first = false;
	} while (*p);
}

void tm_lines_free(struct tm_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* --- view 1: overview ---------------------------------------------------- */

struct tm_jump tm_finding_jump(const struct model *m, const struct wd_diag *d)
{
	struct tm_jump j = { .kind = TM_T_NONE, .offset = -1 };
	uint32_t ps = m->page_size;
	if (d->frame != WD_NONE && d->frame >= 1 && d->frame <= UINT32_MAX) {
		j.kind = TM_T_FRAME;
		j.frame = (uint32_t)d->frame;
		return j;
	}
	if (d->page != WD_NONE && d->page >= 1 && d->page <= UINT32_MAX) {
		j.kind = TM_T_PAGE;
		j.page = (uint32_t)d->page;
		if (d->file == WD_F_DB && d->offset >= 0 && ps && (uint64_t)d->offset / ps + 1 == j.page)
			j.offset = (int64_t)((uint64_t)d->offset % ps);
		return j;
	}
	switch (d->file) {
	case WD_F_DB:
		if (d->offset >= 0 && ps && (uint64_t)d->offset / ps < UINT32_MAX) {
			j.kind = TM_T_PAGE;
			j.page = (uint32_t)((uint64_t)d->offset / ps + 1);
			j.offset = (int64_t)((uint64_t)d->offset % ps);
		}
		break;
	case WD_F_WAL: {
		uint32_t wps = m->has_wal ? m->wal.page_size : 0;
		if (d->offset >= WAL_HDR_SIZE && wps) {
			uint64_t f = ((uint64_t)d->offset - WAL_HDR_SIZE) / ((uint64_t)wps + WAL_FRAME_HDR_SIZE) + 1;
			if (f <= UINT32_MAX) {
				j.kind = TM_T_FRAME;
				j.frame = (uint32_t)f;
				break;
			}
		}
		j.kind = TM_T_VIEW;
		j.view = 2;
		break;
	}
	case WD_F_SHM:
		j.kind = TM_T_VIEW;
		j.view = 5;
		break;
	case WD_F_JOURNAL:
	case WD_F_NONE:
		break;
	}
	return j;
}

/* PATH quoted for a POSIX shell when it needs it. */
static void shell_quote(const char *s, char *out, size_t n)
{
	if (s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,=:@%") ==
			    strlen(s)) {
		snprintf(out, n, "%s", s);
		return;
	}
	size_t k = 0;
	if (n < 3) {
		if (n)
			out[0] = '\0';
		return;
	}
	out[k++] = '\'';
	for (; *s && k + 5 < n; s++) {
		if (*s == '\'') {
			memcpy(out + k, "'\\''", 4);
			k += 4;
		} else {
			out[k++] = *s;
		}
	}
	out[k++] = '\'';
	out[k] = '\0';
}

static void wrap(struct tm_lines *out, int width, uint8_t style, const struct tm_jump *j, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void wrap(struct tm_lines *out, int width, uint8_t style, const struct tm_jump *j, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	tm_lines_wrap(out, width, 10, style, -1, j, buf);
}

static void overview_files(struct tm_lines *out, const struct model *m, int width)
{
	struct tm_jump to_page1 = { .kind = TM_T_PAGE, .page = 1, .offset = 0 };
	struct tm_jump to_wal = { .kind = TM_T_VIEW, .view = 2 };
	struct tm_jump to_shm = { .kind = TM_T_VIEW, .view = 5 };
	const struct wf_set *f = &m->files;
	if (!f->db.present) {
		wrap(out, width, TM_NORMAL, NULL, "database  (none)");
	} else if (!m->db_ok) {
		wrap(out, width, TM_NORMAL, &to_page1, "database  %s: %llu bytes, no valid SQLite header", f->db.path,
		     (unsigned long long)f->db.size);
	} else {
		const struct db_header *h = &m->dbh;
		wrap(out, width, TM_NORMAL, &to_page1, "database  %s: %llu bytes, %llu pages of %u bytes, %s mode",
		     f->db.path, (unsigned long long)f->db.size, (unsigned long long)m->db_pages, h->page_size,
		     h->wal_mode ? "WAL" : "rollback");
		wrap(out, width, TM_DIM, &to_page1,
		     "          header: size %u pages (%s), change counter %u, version-valid-for %u, freelist %u "
		     "pages from trunk %u, schema cookie %u, schema format %u, text %s, user version %u, "
		     "application id %u, auto-vacuum %s, reserved bytes %u, written by SQLite %u",
		     h->db_size, h->size_valid ? "trusted" : "not trusted", h->change_counter, h->version_valid_for,
		     h->freelist_count, h->freelist_trunk, h->schema_cookie, h->schema_format,
		     dbh_encoding_name(h->text_encoding), h->user_version, h->application_id,
		     h->auto_vacuum ? (h->incremental_vacuum ? "incremental" : "full") : "off", h->reserved_bytes,
		     h->sqlite_version);
	}
	if (!m->has_wal) {
		wrap(out, width, TM_NORMAL, NULL, "wal       (none)");
	} else {
		const struct wal_walk *w = &m->wal;
		char extra[200] = "";
		size_t k = 0;
		if (w->nvalid > w->mx_frame)
			k += (size_t)snprintf(extra + k, sizeof extra - k, ", %u uncommitted", w->nvalid - w->mx_frame);
		if (w->nframes > w->nvalid)
			k += (size_t)snprintf(extra + k, sizeof extra - k, ", %u past the valid end (%s)",
					      w->nframes - w->nvalid, wal_end_name(w->end));
		if (w->partial_bytes)
			snprintf(extra + k, sizeof extra - k, ", %u-byte partial frame", w->partial_bytes);
		wrap(out, width, TM_NORMAL, &to_wal,
		     "wal       %s: %llu bytes, %u frames (%u valid), %u commits, last commit frame %u (%u pages)%s",
		     f->wal.path, (unsigned long long)f->wal.size, w->nframes, w->nvalid, w->ntxn, w->mx_frame,
		     w->npage, extra);
		if (w->file_size >= WAL_HDR_SIZE)
			wrap(out, width, TM_DIM, &to_wal,
			     "          header: magic 0x%08x (%s checksums), version %u, page size %u, checkpoint "
			     "sequence %u, salts %08x %08x, checksum %s; %s",
			     w->hdr.magic, w->hdr.big_endian_cksum ? "big-endian" : "little-endian", w->hdr.version,
			     w->hdr.page_size, w->hdr.ckpt_seq, w->hdr.salt1, w->hdr.salt2,
			     w->hdr.cksum_ok ? "ok" : "BAD",
			     w->hdr.valid ? "SQLite reads the frames" : "SQLite ignores the whole WAL");
	}
	if (m->has_shm) {
		const struct shm_info *s = &m->shm;
		if (s->has_header && s->order_known) {
			char marks[80] = "";
			size_t k = 0;
			for (int i = 0; i < SHM_NREADER; i++)
				k += (size_t)(s->read_mark[i] == SHM_READMARK_NOT_USED
					      ? snprintf(marks + k, sizeof marks - k, " -")
					      : snprintf(marks + k, sizeof marks - k, " %u", s->read_mark[i]));
			uint32_t mx = s->hdr[0].mx_frame;
			wrap(out, width, TM_NORMAL, &to_shm,
			     "shm       %s: mxFrame %u, nBackfill %u (%u%% checkpointed), read marks%s; header %s",
			     f->shm.path, mx, s->n_backfill,
			     mx ? (unsigned)((uint64_t)(s->n_backfill < mx ? s->n_backfill : mx) * 100 / mx) : 100,
			     marks, s->hdr_ok ? "ok" : "not accepted by SQLite");
		} else {
			wrap(out, width, TM_NORMAL, &to_shm, "shm       %s: %llu bytes, no usable header", f->shm.path,
			     (unsigned long long)f->shm.size);
		}
	}
	if (m->has_journal)
		wrap(out, width, TM_NORMAL, NULL, "journal   %s: %llu bytes%s", f->journal.path,
		     (unsigned long long)f->journal.size, m->jrnl.first_byte_nonzero ? " (hot)" : "");
}

void tm_overview_build(struct tm_lines *out, const struct model *m, const struct check_result *r,
		       const char *path, int width)
{
	struct tm_jump to_readers = { .kind = TM_T_VIEW, .view = 6 };
	overview_files(out, m, width);
	uint32_t k = model_commit(m, MODEL_LAST);
	const char *integ = r->integrity == 1 ? "integrity_check ok"
			  : r->integrity == 0 ? "integrity_check FAILS"
			  : r->integrity == -1 ? "SQLite cannot read it"
			  : "integrity_check not run (press I to run it on a copy)";
	if (k)
		wrap(out, width, TM_NORMAL, NULL, "state     SQLite sees commit %u of the WAL: %u pages; %s", k,
		     model_npages(m, MODEL_LAST), integ);
	else
		wrap(out, width, TM_NORMAL, NULL, "state     SQLite sees the database file alone: %u pages; %s",
		     model_npages(m, MODEL_LAST), integ);
	if (r->locks.n) {
		char pids[512];
		locks_pid_list(&r->locks, pids, sizeof pids);
		wrap(out, width, TM_WARNING, &to_readers, "readers   %s", pids);
	} else {
		wrap(out, width, TM_NORMAL, &to_readers, "readers   none");
	}
	size_t nsev[3] = { 0, 0, 0 };
	for (size_t i = 0; i < m->diags.n; i++)
		nsev[m->diags.v[i].sev]++;
	int worst = wd_worst(&m->diags);
	size_t total = m->diags.n + m->diags.dropped;
	wrap(out, width, worst < 0 ? TM_OK : tm_severity_style((enum wd_severity)worst), NULL,
	     "status    %s: %zu finding%s (%zu error%s, %zu warning%s, %zu info)", report_status_name(&m->diags),
	     total, total == 1 ? "" : "s", nsev[WD_ERROR], nsev[WD_ERROR] == 1 ? "" : "s", nsev[WD_WARNING],
	     nsev[WD_WARNING] == 1 ? "" : "s", nsev[WD_INFO]);

	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	tm_lines_add(out, TM_HEAD, NULL, "findings (%zu)%s", m->diags.n + m->diags.dropped,
		     m->diags.n ? "  Enter: go to the frame, page or file a finding names" : "");
	if (!m->diags.n)
		tm_lines_add(out, TM_OK, NULL, "  none");
	for (size_t i = 0; i < m->diags.n; i++) {
		const struct wd_diag *g = &m->diags.v[i];
		struct tm_jump j = tm_finding_jump(m, g);
		char where[160] = "";
		size_t n = 0;
		if (g->file != WD_F_NONE)
			n += (size_t)snprintf(where + n, sizeof where - n, " %s", wd_file_name(g->file));
		if (g->offset != WD_NONE)
			n += (size_t)snprintf(where + n, sizeof where - n, " offset %lld", (long long)g->offset);
		if (g->frame != WD_NONE)
			n += (size_t)snprintf(where + n, sizeof where - n, " frame %lld", (long long)g->frame);
		if (g->page != WD_NONE)
			snprintf(where + n, sizeof where - n, " page %lld", (long long)g->page);
		char head[300];
		snprintf(head, sizeof head, "%-7s  %s %s", wd_severity_name(g->sev), wd_code_name(g->code), where);
		tm_lines_wrap(out, width, 9, tm_severity_style(g->sev), (int32_t)i, &j, head);
		char body[WD_MSG_MAX + 16];
		snprintf(body, sizeof body, "         %s", g->msg);
		tm_lines_wrap(out, width, 9, TM_NORMAL, (int32_t)i, &j, body);
		char act[600];
		snprintf(act, sizeof act, "         action: %s", wd_code_action(g->code));
		tm_lines_wrap(out, width, 9, TM_DIM, (int32_t)i, &j, act);
	}
	if (m->diags.dropped)
		tm_lines_add(out, TM_DIM, NULL, "  (%zu more findings not kept)", m->diags.dropped);

	/* The repairs the findings call for, each named once, as commands to run. */
	const char *seen[WD__NCODES];
	size_t nseen = 0;
	for (size_t i = 0; i < m->diags.n; i++) {
		const char *rep = wd_code_repair(m->diags.v[i].code);
		bool dup = !strcmp(rep, "-");
		for (size_t s = 0; s < nseen && !dup; s++)
			dup = !strcmp(seen[s], rep);
		if (!dup && nseen < WD__NCODES)
			seen[nseen++] = rep;
	}
	if (nseen) {
		char q[1024];
		shell_quote(path, q, sizeof q);
		tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
		tm_lines_add(out, TM_HEAD, NULL, "repairs (run them from a shell: the TUI never writes)");
		tm_lines_add(out, TM_NORMAL, NULL, "  waldo repair %s          (dry run: prints the plan)", q);
		for (size_t s = 0; s < nseen; s++)
			tm_lines_add(out, TM_NORMAL, NULL, "  waldo repair --only %s %s", seen[s], q);
		tm_lines_wrap(out, width, 2, TM_DIM, -1, NULL, "  add -o OUT to write a repaired copy, or --in-place "
			      "(undo file first); `waldo repair --help` explains");
	}
}

/* --- view 2: the WAL --------------------------------------------------------- */

static void marker_add(struct tm_wal_rows *r, uint32_t after, uint8_t style, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void marker_add(struct tm_wal_rows *r, uint32_t after, uint8_t style, const char *fmt, ...)
{
	if (r->nmark >= TM_WAL_MAXMARK)
		return;
	if (after > r->nframes)
		after = r->nframes;
	/* Insertion keeps equal positions in the order they were added. */
	unsigned i = r->nmark++;
	while (i > 0 && r->mark[i - 1].after > after) {
		r->mark[i] = r->mark[i - 1];
		i--;
	}
	struct tm_wal_marker *k = &r->mark[i];
	k->after = after;
	k->style = style;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(k->text, sizeof k->text, fmt, ap);
	va_end(ap);
}

void tm_wal_rows_init(struct tm_wal_rows *r, const struct model *m)
{
	memset(r, 0, sizeof *r);
	r->m = m;
	if (!m->has_wal)
		return;
	const struct wal_walk *w = &m->wal;
	r->nframes = w->nframes;
	if (!w->hdr.valid) {
		marker_add(r, 0, TM_ERROR, "-- the WAL header is invalid: SQLite reads none of these frames --");
	} else if (w->mx_frame) {
		marker_add(r, w->mx_frame, TM_MARKER, "-- mxFrame %u: last commit (%u pages); SQLite reads frames 1..%u --",
			   w->mx_frame, w->npage, w->mx_frame);
	} else if (w->nvalid) {
		marker_add(r, 0, TM_MARKER, "-- no commit in the WAL: SQLite reads none of its frames --");
	}
	const struct shm_info *s = &m->shm;
	if (m->has_shm && s->has_header && s->order_known) {
		uint32_t mx = s->hdr[0].mx_frame;
		if (mx != w->mx_frame)
			marker_add(r, mx, TM_WARNING, "-- -shm mxFrame %u (the WAL's last commit is frame %u): stale -shm --",
				   mx, w->mx_frame);
		if (s->n_backfill)
			marker_add(r, s->n_backfill, TM_MARKER, "-- nBackfill %u: frames 1..%u are checkpointed%s --",
				   s->n_backfill, s->n_backfill, s->n_backfill > w->nframes ? " (past the WAL's end)" : "");
		else
			marker_add(r, 0, TM_MARKER, "-- nBackfill 0: no frame checkpointed yet --");
		for (int i = 1; i < SHM_NREADER; i++)
			if (s->read_mark[i] != SHM_READMARK_NOT_USED)
				marker_add(r, s->read_mark[i], TM_MARKER, "-- aReadMark[%d] = %u%s --", i, s->read_mark[i],
					   s->read_mark[i] > w->nframes ? " (past the WAL's end)" : "");
	}
	switch (w->end) {
	case WAL_END_EOF:
		if (w->nframes)
			marker_add(r, w->nvalid, TM_MARKER, "-- valid end: every frame is valid --");
		break;
	case WAL_END_NO_HEADER:
		break;
	case WAL_END_SALT:
		marker_add(r, w->nvalid, TM_MARKER, "-- valid end: frame %u has other salts (an earlier generation) --",
			   w->nvalid + 1);
		break;
	case WAL_END_PGNO:
		marker_add(r, w->nvalid, TM_ERROR, "-- valid end: frame %u has page number 0 --", w->nvalid + 1);
		break;
	case WAL_END_CKSUM:
		marker_add(r, w->nvalid, TM_ERROR, "-- valid end: checksum break at frame %u; SQLite reads nothing after --",
			   w->nvalid + 1);
		break;
	case WAL_END_LIMIT:
		marker_add(r, w->nvalid, TM_ERROR, "-- waldo's limit of %u frames reached --", WAL_MAX_FRAMES);
		break;
	}
	if (w->partial_bytes)
		marker_add(r, w->nframes, TM_WARNING, "-- %u-byte partial frame after frame %u (torn write) --",
			   w->partial_bytes, w->nframes);
	r->nrows = (uint64_t)r->nframes + r->nmark;
}

uint32_t tm_wal_row_frame(const struct tm_wal_rows *r, uint64_t row, unsigned *mark)
{
	/* Marker j sits on row mark[j].after + j: after its frame and the markers before it. */
	for (unsigned j = 0; j < r->nmark; j++) {
		uint64_t mrow = (uint64_t)r->mark[j].after + j;
		if (row == mrow) {
			if (mark)
				*mark = j;
			return 0;
		}
		if (row < mrow)
			return (uint32_t)(row - j + 1);
	}
	if (row >= r->nrows)
		return 0;
	return (uint32_t)(row - r->nmark + 1);
}

uint64_t tm_wal_frame_row(const struct tm_wal_rows *r, uint32_t f)
{
	if (f == 0)
		return 0;
	if (f > r->nframes)
		return r->nrows ? r->nrows - 1 : 0;
	unsigned before = 0;
	while (before < r->nmark && r->mark[before].after < f)
		before++;
	return (uint64_t)f - 1 + before;
}

#define WAL_WIDE 110   /* from this width the WAL list shows offsets and checksums */

void tm_wal_heading(int width, char *buf, size_t n)
{
	if (width >= WAL_WIDE)
		snprintf(buf, n, "%8s %12s %9s %9s  %-8s %-8s  %-8s %-8s  %-11s %5s  %s", "frame", "offset", "page",
			 "commit", "salt-1", "salt-2", "cksum-1", "cksum-2", "status", "txn", "SQLite reads");
	else
		snprintf(buf, n, "%8s %9s %9s  %-8s %-8s  %-11s %5s", "frame", "page", "commit", "salt-1", "salt-2",
			 "status", "txn");
}

void tm_wal_row_text(const struct tm_wal_rows *r, uint64_t row, int width, char *buf, size_t n,
		     uint8_t *style)
{
	unsigned mk = 0;
	uint32_t f = tm_wal_row_frame(r, row, &mk);
	if (!f) {
		if (row < r->nrows && mk < r->nmark) {
			snprintf(buf, n, "  %s", r->mark[mk].text);
			*style = r->mark[mk].style;
		} else {
			snprintf(buf, n, "%s", "");
			*style = TM_NORMAL;
		}
		return;
	}
	const struct model *m = r->m;
	const struct wal_frame *fr = &m->wal.frames[f - 1];
	char commit[16] = "", txn[16] = "-";
	if (fr->commit_size)
		snprintf(commit, sizeof commit, "%u", fr->commit_size);
	uint32_t t = fr->state == WAL_FR_COMMITTED ? tm_txn_of_frame(m, f) : 0;
	if (t)
		snprintf(txn, sizeof txn, "%u", t);
	const char *status = tm_frame_status(fr->state);
	switch (fr->state) {
	case WAL_FR_COMMITTED: *style = fr->commit_size ? TM_COMMIT : TM_NORMAL; break;
	case WAL_FR_UNCOMMITTED: *style = TM_INFO; break;
	case WAL_FR_STALE: *style = TM_DIM; break;
	case WAL_FR_AFTER_BREAK: *style = TM_WARNING; break;
	default: *style = TM_ERROR; break;
	}
	if (width >= WAL_WIDE) {
		/* Is this the version of its page that SQLite reads now? */
		uint32_t cur = 0;
		bool reads = model_ncommits(m) && fr->pgno <= model_npages(m, MODEL_LAST) &&
			     model_page(m, MODEL_LAST, fr->pgno, &cur) && cur == f;
		snprintf(buf, n, "%8u %12llu %9u %9s  %08x %08x  %08x %08x  %-11s %5s  %s", f,
			 (unsigned long long)wal_frame_offset(m->wal.page_size, f), fr->pgno, commit, fr->salt1,
			 fr->salt2, fr->cksum1, fr->cksum2, status, txn, reads ? "yes" : "");
	} else {
		snprintf(buf, n, "%8u %9u %9s  %08x %08x  %-11s %5s", f, fr->pgno, commit, fr->salt1, fr->salt2,
			 status, txn);
	}
}

/* --- view 3: one page decoded ---------------------------------------------- */

static const uint8_t *state_get(void *ctx, uint32_t pgno)
{
	const struct tm_state_src *s = ctx;
	return model_page(s->m, s->k, pgno, NULL);
}

void tm_roles_compute(struct tm_roles *r, const struct model *m)
{
	memset(r, 0, sizeof *r);
	r->ss.m = m;
	r->ss.k = MODEL_LAST;
	r->npages = model_npages(m, MODEL_LAST);
	uint32_t ps = m->page_size;
	r->usable = ps;
	r->encoding = 1;
	const uint8_t *p1 = ps >= DBH_SIZE ? model_page(m, MODEL_LAST, 1, NULL) : NULL;
	if (p1) {
		struct wd_diags scratch = { 0 };
		dbh_parse(p1, DBH_SIZE, &r->dbh, &scratch);
		wd_diags_free(&scratch);
		r->have_dbh = r->dbh.magic_ok && r->dbh.page_size == ps && r->dbh.usable_size >= 480;
	}
	if (r->have_dbh) {
		r->usable = r->dbh.usable_size;
		if (r->dbh.text_encoding >= 1 && r->dbh.text_encoding <= 3)
			r->encoding = r->dbh.text_encoding;
	}
	r->src.get_page = state_get;
	r->src.ctx = &r->ss;
	r->src.page_size = ps;
	r->src.usable = r->usable;
	r->src.npages = r->npages;
	r->src.encoding = r->encoding;
	/* Never size the accounting from a page count no file could back. */
	if (!r->have_dbh || !r->npages || !model_size_plausible(m, r->npages))
		return;
	sc_read_schema(&r->src, &r->schema, NULL);
	struct wd_diags scratch = { 0 };
	sc_account_pages(&r->src, &r->dbh, &r->schema, &r->acct, &scratch);
	wd_diags_free(&scratch);
	r->ok = r->acct.role != NULL;
}

void tm_roles_free(struct tm_roles *r)
{
	sc_account_free(&r->acct);
	sc_schema_free(&r->schema);
	memset(r, 0, sizeof *r);
}

static void item_push(struct tm_page *p, uint32_t off, uint32_t len, uint8_t style, uint32_t link, const char *text)
{
	if (p->nitem == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct tm_item *v = realloc(p->item, cap * sizeof *v);
		if (!v)
			return;
		p->item = v;
		p->cap = cap;
	}
	char *t = xstrdup(text);
	if (!t)
		return;
	struct tm_item *it = &p->item[p->nitem++];
	it->text = t;
	it->off = off;
	it->len = len;
	it->style = style;
	it->link = link;
}

/* Add a line, wrapped to `width` (continuations indented two blanks, same bytes and link). */
static void item_add(struct tm_page *p, int width, uint32_t off, uint32_t len, uint8_t style, uint32_t link,
		     const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void item_add(struct tm_page *p, int width, uint32_t off, uint32_t len, uint8_t style, uint32_t link,
		     const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	struct tm_lines tmp = { 0 };
	tm_lines_wrap(&tmp, width, 8, style, -1, NULL, buf);
	for (size_t i = 0; i < tmp.n; i++)
		item_push(p, off, len, style, link, tmp.v[i].text);
	tm_lines_free(&tmp);
}

enum page_kind { PK_BTREE, PK_TRUNK, PK_FREELEAF, PK_PTRMAP, PK_OVERFLOW, PK_LOCKBYTE, PK_RAW };

static void decode_dbheader(struct tm_page *p, int width)
{
	struct db_header h;
	struct wd_diags scratch = { 0 };
	dbh_parse(p->data, DBH_SIZE, &h, &scratch);
	wd_diags_free(&scratch);
	item_add(p, width, 0, DBH_SIZE, TM_HEAD, 0, "database header (bytes 0..99)");
	if (!h.magic_ok) {
		item_add(p, width, 0, 16, TM_ERROR, 0, "    0  magic: not 'SQLite format 3'");
		return;
	}
	item_add(p, width, 0, 16, TM_NORMAL, 0, "    0  magic 'SQLite format 3'");
	item_add(p, width, 16, 2, TM_NORMAL, 0, "   16  page size %u", h.page_size);
	item_add(p, width, 18, 2, TM_NORMAL, 0, "   18  write/read version %u/%u (%s)", h.write_version,
		 h.read_version, h.wal_mode ? "WAL" : "rollback");
	item_add(p, width, 20, 1, TM_NORMAL, 0, "   20  reserved bytes %u", h.reserved_bytes);
	item_add(p, width, 21, 3, TM_NORMAL, 0, "   21  payload fractions %u/%u/%u", h.max_payload_frac,
		 h.min_payload_frac, h.leaf_payload_frac);
	item_add(p, width, 24, 4, TM_NORMAL, 0, "   24  change counter %u", h.change_counter);
	item_add(p, width, 28, 4, h.size_valid ? TM_NORMAL : TM_WARNING, 0, "   28  database size %u pages (%s)",
		 h.db_size, h.size_valid ? "trusted" : "not trusted");
	item_add(p, width, 32, 4, TM_NORMAL, h.freelist_trunk, "   32  first freelist trunk %u", h.freelist_trunk);
	item_add(p, width, 36, 4, TM_NORMAL, 0, "   36  freelist pages %u", h.freelist_count);
	item_add(p, width, 40, 4, TM_NORMAL, 0, "   40  schema cookie %u", h.schema_cookie);
	item_add(p, width, 44, 4, TM_NORMAL, 0, "   44  schema format %u", h.schema_format);
	item_add(p, width, 48, 4, TM_NORMAL, 0, "   48  default cache size %u", h.default_cache_size);
	item_add(p, width, 52, 4, TM_NORMAL, 0, "   52  largest root page %u", h.largest_root);
	item_add(p, width, 56, 4, TM_NORMAL, 0, "   56  text encoding %u (%s)", h.text_encoding,
		 dbh_encoding_name(h.text_encoding));
	item_add(p, width, 60, 4, TM_NORMAL, 0, "   60  user version %u", h.user_version);
	item_add(p, width, 64, 4, TM_NORMAL, 0, "   64  incremental vacuum %u", h.incremental_vacuum);
	item_add(p, width, 68, 4, TM_NORMAL, 0, "   68  application id %u", h.application_id);
	item_add(p, width, 72, 20, h.reserved_zero ? TM_NORMAL : TM_WARNING, 0, "   72  reserved (%s)",
		 h.reserved_zero ? "zero" : "NOT zero");
	item_add(p, width, 92, 4, TM_NORMAL, 0, "   92  version-valid-for %u", h.version_valid_for);
	item_add(p, width, 96, 4, TM_NORMAL, 0, "   96  SQLite version %u", h.sqlite_version);
}

#define PAYLOAD_READ (64u * 1024)   /* payload bytes read per cell for its values */
#define MAX_COLS 64                 /* values shown per record */

static void decode_cells(struct tm_page *p, int width, const struct tm_roles *roles, const struct bt_page *pg,
			 uint32_t usable)
{
	uint8_t *rec = malloc(PAYLOAD_READ);
	struct bt_value *cols = malloc(MAX_COLS * sizeof *cols);
	uint32_t room = usable > pg->cellptr_off ? (usable - pg->cellptr_off) / 2 : 0;
	unsigned ncell = pg->ncell < room ? pg->ncell : room;
	for (unsigned i = 0; i < ncell && rec && cols; i++) {
		struct bt_cell c;
		if (bt_parse_cell(p->data, pg, i, &c, NULL) == WD_FATAL) {
			item_add(p, width, pg->cellptr_off + 2 * i, 2, TM_ERROR, 0, "cell %u: pointer %u is invalid", i,
				 bt_cell_ptr(p->data, pg, i));
			continue;
		}
		char head[96], vals[1200] = "";
		uint32_t link = 0;
		size_t k = 0;
		if (!pg->leaf) {
			link = c.left_child;
			k = (size_t)snprintf(head, sizeof head, "cell %u @%u child %u", i, c.offset, c.left_child);
		} else {
			k = (size_t)snprintf(head, sizeof head, "cell %u @%u", i, c.offset);
		}
		if (c.has_rowid && k < sizeof head)
			snprintf(head + k, sizeof head - k, " rowid %lld", (long long)c.rowid);
		if (c.has_payload) {
			size_t want = c.payload_size < PAYLOAD_READ ? (size_t)c.payload_size : PAYLOAD_READ;
			size_t got = roles->src.get_page
					     ? sc_read_payload(&roles->src, p->pgno, p->data, &c, rec, want, NULL)
					     : 0;
			unsigned ncol = 0;
			int rc = bt_parse_record(rec, got, cols, MAX_COLS, &ncol);
			size_t v = 0;
			if (rc == WD_FATAL && got == want) {
				snprintf(vals, sizeof vals, ": record header malformed");
			} else {
				unsigned show = ncol < MAX_COLS ? ncol : MAX_COLS;
				v += (size_t)snprintf(vals, sizeof vals, ":");
				for (unsigned ci = 0; ci < show && v + 8 < sizeof vals; ci++) {
					char one[300];
					tm_value_text(one, sizeof one, rec, got, &cols[ci], roles->encoding);
					v += (size_t)snprintf(vals + v, sizeof vals - v, "%s %s", ci ? "," : "", one);
				}
				if (ncol > show && v < sizeof vals)
					snprintf(vals + v, sizeof vals - v, ", ... (%u columns)", ncol);
			}
		}
		item_add(p, width, c.offset, c.size, TM_NORMAL, link, "%s%s", head, vals);
		if (c.overflow) {
			uint32_t at = c.payload_off + c.local_size;
			item_add(p, width, at, 4, TM_DIM, c.overflow, "  overflow -> page %u (%u of %llu bytes here)",
				 c.overflow, c.local_size, (unsigned long long)c.payload_size);
		}
	}
	free(rec);
	free(cols);
}

static void decode_btree(struct tm_page *p, int width, const struct tm_roles *roles, uint32_t usable)
{
	struct bt_page pg;
	uint32_t o = p->pgno == 1 ? 100 : 0;
	bt_parse_page(p->data, p->page_size, usable, p->pgno, &pg, &p->d);
	item_add(p, width, o, pg.type_ok ? pg.hdr_size : 1, TM_HEAD, 0, "b-tree page header (at %u)", o);
	item_add(p, width, o, 1, pg.type_ok ? TM_NORMAL : TM_ERROR, 0, "%5u  type %u (%s)", o, pg.type,
		 bt_type_name(pg.type));
	if (!pg.type_ok)
		return;
	item_add(p, width, o + 1, 2, TM_NORMAL, 0, "%5u  first freeblock %u", o + 1, pg.first_freeblock);
	item_add(p, width, o + 3, 2, TM_NORMAL, 0, "%5u  cells %u", o + 3, pg.ncell);
	item_add(p, width, o + 5, 2, TM_NORMAL, 0, "%5u  content start %u", o + 5, pg.content_start);
	item_add(p, width, o + 7, 1, TM_NORMAL, 0, "%5u  fragmented bytes %u", o + 7, pg.frag);
	if (!pg.leaf)
		item_add(p, width, o + 8, 4, TM_NORMAL, pg.right_child, "%5u  right child %u", o + 8, pg.right_child);
	uint32_t ptr_end = pg.cellptr_off + 2u * pg.ncell;
	if (ptr_end > p->page_size)
		ptr_end = p->page_size;
	item_add(p, width, pg.cellptr_off, ptr_end - pg.cellptr_off, TM_NORMAL, 0, "%5u  cell pointers (%u)",
		 pg.cellptr_off, pg.ncell);
	item_add(p, width, 0, 0, TM_HEAD, 0, "cells");
	decode_cells(p, width, roles, &pg, usable);
	uint32_t fb = pg.first_freeblock;
	for (uint32_t k = 0; fb && k < pg.nfreeblocks && fb + 4 <= p->page_size; k++) {
		uint32_t next = rd_be16(p->data + fb), size = rd_be16(p->data + fb + 2);
		uint32_t len = fb + size <= p->page_size ? size : p->page_size - fb;
		item_add(p, width, fb, len, TM_DIM, 0, "freeblock @%u: %u bytes, next %u", fb, size, next);
		fb = next;
	}
	if (pg.content_start > ptr_end && pg.content_start <= p->page_size)
		item_add(p, width, ptr_end, pg.content_start - ptr_end, TM_DIM, 0, "unallocated %u..%u (%u bytes)",
			 ptr_end, pg.content_start - 1, pg.content_start - ptr_end);
}

static void decode_trunk(struct tm_page *p, int width, uint32_t usable)
{
	struct bt_trunk t;
	bt_parse_trunk(p->data, usable, p->pgno, &t, &p->d);
	item_add(p, width, 0, 8, TM_HEAD, 0, "freelist trunk page");
	item_add(p, width, 0, 4, TM_NORMAL, t.next, "    0  next trunk %u", t.next);
	item_add(p, width, 4, 4, t.nleaf_ok < t.nleaf ? TM_ERROR : TM_NORMAL, 0, "    4  leaf count %u%s", t.nleaf,
		 t.nleaf_ok < t.nleaf ? " (more than fit)" : "");
	for (uint32_t i = 0; i < t.nleaf_ok; i++) {
		uint32_t leaf = rd_be32(p->data + 8 + 4 * i);
		item_add(p, width, 8 + 4 * i, 4, TM_NORMAL, leaf, "%5u  leaf %u: page %u", 8 + 4 * i, i, leaf);
	}
}

static void decode_ptrmap(struct tm_page *p, int width, uint32_t usable, uint32_t npages)
{
	uint32_t last = p->pgno + usable / 5;
	if (last > npages)
		last = npages;
	item_add(p, width, 0, 0, TM_HEAD, 0, "pointer map: entries for pages %u..%u", p->pgno + 1, last);
	for (uint32_t pg = p->pgno + 1; pg <= last; pg++) {
		uint8_t ty;
		uint32_t parent;
		if (bt_ptrmap_entry(p->data, usable, p->pgno, pg, &ty, &parent) == WD_FATAL)
			break;
		uint32_t off = 5 * (pg - p->pgno - 1);
		item_add(p, width, off, 5, TM_NORMAL, pg, "%5u  page %u: %s, parent %u", off, pg,
			 bt_ptrmap_type_name(ty), parent);
	}
}

int tm_page_decode(struct tm_page *p, const struct model *m, const struct tm_roles *roles,
		   uint32_t pgno, uint32_t frame, int width)
{
	memset(p, 0, sizeof *p);
	p->pgno = pgno;
	p->frame = frame;
	const uint8_t *src = NULL;
	uint64_t src_off = 0;
	const char *src_path = NULL;
	if (frame) {
		src = model_frame_page(m, frame);
		p->page_size = m->wal.page_size;
		src_off = src ? wal_frame_offset(p->page_size, frame) + WAL_FRAME_HDR_SIZE : 0;
		src_path = m->files.wal.path;
	} else if (pgno) {
		src = model_db_page(m, pgno);
		p->page_size = m->page_size;
		src_off = (uint64_t)(pgno - 1) * m->page_size;
		src_path = m->files.db.path;
	}
	uint32_t cur = 0;
	bool in_state = pgno && pgno <= model_npages(m, MODEL_LAST);
	bool reads = in_state && model_page(m, MODEL_LAST, pgno, &cur) && cur == frame;
	if (frame) {
		const struct wal_frame *fr = frame <= m->wal.nframes ? &m->wal.frames[frame - 1] : NULL;
		uint32_t t = fr && fr->state == WAL_FR_COMMITTED ? tm_txn_of_frame(m, frame) : 0;
		char txn[24] = "";
		if (t)
			snprintf(txn, sizeof txn, ", txn %u", t);
		snprintf(p->title, sizeof p->title, "page %u  frame %u (%s%s)%s", pgno, frame,
			 fr ? wal_frame_state_name((enum wal_frame_state)fr->state) : "missing", txn,
			 reads ? "  SQLite reads this version" : "");
	} else {
		snprintf(p->title, sizeof p->title, "page %u  database file%s", pgno,
			 reads ? "  SQLite reads this version" : in_state && cur ? "  (SQLite reads a WAL frame)" : "");
	}
	if (!src || !p->page_size) {
		item_add(p, width, 0, 0, TM_ERROR, 0, "no file holds this version of page %u", pgno);
		return 0;
	}
	p->data = malloc(p->page_size);
	if (!p->data)
		return -1;
	memcpy(p->data, src, p->page_size);
	p->present = true;

	/* Where it comes from and what it is for. */
	if (frame)
		item_add(p, width, 0, 0, TM_NORMAL, 0, "version  WAL frame %u%s", frame,
			 reads ? "; SQLite reads it" : in_state && cur ? "; SQLite reads another version" : "");
	else
		item_add(p, width, 0, 0, TM_NORMAL, 0, "version  database file%s",
			 reads ? "; SQLite reads it" : cur ? "; SQLite reads a newer WAL frame" : "");
	item_add(p, width, 0, 0, TM_DIM, 0, "source   %s offset %llu", src_path ? src_path : "?",
		 (unsigned long long)src_off);
	char role[200] = "";
	bool role_known = roles->ok && pgno <= roles->acct.npages && roles->acct.role;
	enum sc_role r = role_known ? (enum sc_role)roles->acct.role[pgno] : SC_ROLE_UNUSED;
	if (!pgno) {
		snprintf(role, sizeof role, "none: the frame header says page 0");
	} else if (!role_known) {
		snprintf(role, sizeof role, in_state || !model_npages(m, MODEL_LAST) ? "unknown (no page accounting)"
			 : "none: past the end of the current state (%u pages)", model_npages(m, MODEL_LAST));
	} else {
		const struct sc_tree *t = sc_account_tree_of(&roles->acct, pgno);
		if (t && (r == SC_ROLE_BTREE_INTERIOR || r == SC_ROLE_BTREE_LEAF || r == SC_ROLE_BTREE_INVALID ||
			  r == SC_ROLE_OVERFLOW))
			snprintf(role, sizeof role, "%s page of %s '%s' (root %u)", sc_role_name(r), t->type, t->name,
				 t->root);
		else if (r == SC_ROLE_UNUSED)
			snprintf(role, sizeof role, "unused: in no b-tree and not on the freelist");
		else
			snprintf(role, sizeof role, "%s page", sc_role_name(r));
	}
	item_add(p, width, 0, 0, TM_NORMAL, 0, "role     %s%s", role, frame && !reads && role_known
		 ? " (in the current state)" : "");

	uint32_t usable = roles->have_dbh && p->page_size == m->page_size ? roles->usable : p->page_size;
	enum page_kind kind = PK_RAW;
	uint8_t t = p->page_size > 100 ? p->data[pgno == 1 ? 100 : 0] : 0;
	bool looks_btree = t == 2 || t == 5 || t == 10 || t == 13;
	if (p->page_size != m->page_size)
		kind = PK_RAW;
	else if (roles->have_dbh && pgno == dbh_lock_byte_page(p->page_size))
		kind = PK_LOCKBYTE;
	else if (roles->have_dbh && roles->dbh.auto_vacuum && pgno >= 2 && bt_is_ptrmap_page(usable, p->page_size, pgno))
		kind = PK_PTRMAP;
	else if (!role_known)
		kind = pgno && (looks_btree || pgno == 1) ? PK_BTREE : PK_RAW;
	else switch (r) {
	case SC_ROLE_BTREE_INTERIOR:
	case SC_ROLE_BTREE_LEAF:
	case SC_ROLE_BTREE_INVALID: kind = PK_BTREE; break;
	case SC_ROLE_OVERFLOW: kind = PK_OVERFLOW; break;
	case SC_ROLE_FREE_TRUNK: kind = PK_TRUNK; break;
	case SC_ROLE_FREE_LEAF: kind = PK_FREELEAF; break;
	case SC_ROLE_PTRMAP: kind = PK_PTRMAP; break;
	case SC_ROLE_LOCKBYTE: kind = PK_LOCKBYTE; break;
	default: kind = looks_btree ? PK_BTREE : PK_RAW; break;   /* unused, absent, newer roles */
	}
	if (pgno == 1 && p->page_size >= DBH_SIZE)
		decode_dbheader(p, width);
	switch (kind) {
	case PK_BTREE: decode_btree(p, width, roles, usable); break;
	case PK_TRUNK: decode_trunk(p, width, usable); break;
	case PK_PTRMAP: decode_ptrmap(p, width, usable, roles->npages); break;
	case PK_OVERFLOW: {
		uint32_t next = rd_be32(p->data);
		item_add(p, width, 0, 0, TM_HEAD, 0, "overflow page");
		item_add(p, width, 0, 4, TM_NORMAL, next, "    0  next overflow page %u%s", next, next ? "" : " (last)");
		item_add(p, width, 4, usable - 4, TM_DIM, 0, "    4  %u bytes of payload", usable - 4);
		break;
	}
	case PK_FREELEAF:
		item_add(p, width, 0, 0, TM_DIM, 0, "freelist leaf page: its bytes are left over from earlier use");
		break;
	case PK_LOCKBYTE:
		item_add(p, width, 0, 0, TM_DIM, 0, "the lock-byte page: SQLite never reads or writes it");
		break;
	case PK_RAW:
		item_add(p, width, 0, 0, TM_DIM, 0, p->page_size != m->page_size
			 ? "raw bytes: the WAL's page size differs from the database's"
			 : "raw bytes: not a b-tree page and no known role");
		break;
	}
	if (frame)
		bt_diags_relocate(&p->d, 0, p->page_size, pgno, WD_F_WAL, frame, src_off);
	if (p->d.n)
		item_add(p, width, 0, 0, TM_HEAD, 0, "findings on this page (%zu)", p->d.n);
	for (size_t i = 0; i < p->d.n; i++) {
		const struct wd_diag *g = &p->d.v[i];
		uint32_t off = 0, len = 0;
		if (g->offset >= 0 && (uint64_t)g->offset >= src_off && (uint64_t)g->offset < src_off + p->page_size) {
			off = (uint32_t)((uint64_t)g->offset - src_off);
			len = 1;
		}
		item_add(p, width, off, len, tm_severity_style(g->sev), 0, "%s %s: %s", wd_severity_name(g->sev),
			 wd_code_name(g->code), g->msg);
	}
	return 0;
}

void tm_page_free(struct tm_page *p)
{
	for (size_t i = 0; i < p->nitem; i++)
		free(p->item[i].text);
	free(p->item);
	free(p->data);
	wd_diags_free(&p->d);
	memset(p, 0, sizeof *p);
}

size_t tm_page_item_at(const struct tm_page *p, uint32_t off)
{
	size_t best = 0;
	uint32_t best_len = UINT32_MAX;
	for (size_t i = 0; i < p->nitem; i++) {
		const struct tm_item *it = &p->item[i];
		if (it->len && off >= it->off && off - it->off < it->len && it->len < best_len) {
			best = i;
			best_len = it->len;
		}
	}
	return best;
}

/* --- view 4: versions ----------------------------------------------------- */

void tm_versions_init(struct tm_versions *v, const struct model *m, uint32_t pgno)
{
	memset(v, 0, sizeof *v);
	v->m = m;
	v->pgno = pgno;
	v->fv = model_page_frames(m, pgno, &v->nf);
	v->has_db = model_db_page(m, pgno) != NULL;
	v->n = v->nf + (v->has_db ? 1 : 0);
	v->reads = UINT32_MAX;
	uint32_t cur = 0;
	if (pgno && pgno <= model_npages(m, MODEL_LAST) && model_page(m, MODEL_LAST, pgno, &cur))
		v->reads = tm_version_index(v, cur);
}

uint32_t tm_version_frame(const struct tm_versions *v, uint32_t i)
{
	if (i >= v->n || (v->has_db && i == 0))
		return 0;
	return v->fv[i - (v->has_db ? 1 : 0)];
}

uint32_t tm_version_index(const struct tm_versions *v, uint32_t f)
{
	if (f == 0)
		return v->has_db ? 0 : UINT32_MAX;
	uint32_t lo = 0, hi = v->nf;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v->fv[mid] < f)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < v->nf && v->fv[lo] == f)
		return lo + (v->has_db ? 1 : 0);
	return UINT32_MAX;
}

const uint8_t *tm_version_data(const struct tm_versions *v, uint32_t i, uint32_t *size)
{
	if (i >= v->n)
		return NULL;
	uint32_t f = tm_version_frame(v, i);
	*size = f ? v->m->wal.page_size : v->m->page_size;
	return f ? model_frame_page(v->m, f) : model_db_page(v->m, v->pgno);
}

static void sha8(const uint8_t *p, uint32_t n, char out[9])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) || len < 4) {
		snprintf(out, 9, "?");
		return;
	}
	snprintf(out, 9, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

void tm_version_text(const struct tm_versions *v, uint32_t i, char *buf, size_t n)
{
	uint32_t size = 0;
	const uint8_t *p = tm_version_data(v, i, &size);
	uint32_t f = tm_version_frame(v, i);
	char who[24], status[16] = "-", txn[16] = "-", hash[9] = "-", type[32] = "-";
	if (f) {
		const struct wal_frame *fr = &v->m->wal.frames[f - 1];
		uint32_t t = fr->state == WAL_FR_COMMITTED ? tm_txn_of_frame(v->m, f) : 0;
		if (t)
			snprintf(txn, sizeof txn, "%u", t);
		snprintf(who, sizeof who, "frame %u", f);
		snprintf(status, sizeof status, "%s", tm_frame_status(fr->state));
	} else {
		snprintf(who, sizeof who, "database file");
	}
	if (p && size) {
		sha8(p, size, hash);
		uint32_t off = v->pgno == 1 ? 100 : 0;
		if (off < size) {
			uint8_t t = p[off];
			snprintf(type, sizeof type, "%s", t == 2 ? "interior index" : t == 5 ? "interior table"
				 : t == 10 ? "leaf index" : t == 13 ? "leaf table" : "not b-tree");
		}
	}
	snprintf(buf, n, "%-14s %-11s txn %-4s %s  %-14s%s", who, status, txn, hash, type,
		 i == v->reads ? "  <- SQLite reads" : "");
}

uint32_t tm_diff_rows(const uint8_t *a, const uint8_t *b, uint32_t size, unsigned bpr, uint32_t **rows,
		      uint32_t *nbytes)
{
	*rows = NULL;
	*nbytes = 0;
	if (!a || !b || !bpr)
		return 0;
	uint32_t n = 0, cap = 0;
	for (uint32_t off = 0; off < size; off += bpr) {
		bool differ = false;
		for (uint32_t i = off; i < off + bpr && i < size; i++)
			if (a[i] != b[i]) {
				differ = true;
				(*nbytes)++;
			}
		if (!differ)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			uint32_t *v = realloc(*rows, cap * sizeof *v);
			if (!v)
				return n;
			*rows = v;
		}
		(*rows)[n++] = off;
	}
	return n;
}

int tm_hex_width(unsigned bpr, bool ascii)
{
	return 6 + (int)bpr * 3 + (bpr > 8 ? 1 : 0) + (ascii ? (int)bpr + 1 : 0);
}

void tm_hex_row(struct tm_screen *s, int y, int x, const uint8_t *p, uint32_t size, uint32_t off,
		unsigned bpr, uint32_t hl_off, uint32_t hl_len, const uint8_t *other, bool ascii)
{
	x = tm_printf(s, y, x, TM_DIM, "%04x  ", off);
	int ax = x + (int)bpr * 3 + (bpr > 8 ? 1 : 0) + 1;
	for (unsigned i = 0; i < bpr; i++) {
		uint32_t o = off + i;
		if (bpr > 8 && i == 8)
			x++;
		if (o >= size) {
			x += 3;
			continue;
		}
		uint8_t st = TM_NORMAL;
		if (other && other[o] != p[o])
			st = TM_DIFF;
		if (hl_len && o >= hl_off && o - hl_off < hl_len)
			st = TM_HIGHLIGHT;
		tm_printf(s, y, x, st, "%02x", p[o]);
		/* The blank between two highlighted bytes is highlighted too: one field, one bar. */
		if (st == TM_HIGHLIGHT && o + 1 - hl_off < hl_len && i + 1 < bpr && !(bpr > 8 && i == 7))
			tm_fill(s, y, x + 2, 1, st, ' ');
		x += 3;
		if (ascii) {
			char c[2] = { p[o] >= 0x20 && p[o] < 0x7f ? (char)p[o] : '.', 0 };
			tm_put(s, y, ax + (int)i, st == TM_NORMAL ? TM_DIM : st, c);
		}
	}
}

/* --- view 5: the -shm --------------------------------------------------------- */

static void mark_meaning(unsigned i, uint32_t mk, uint32_t mx, char *v, size_t n)
{
	if (mk == SHM_READMARK_NOT_USED)
		snprintf(v, n, "not used");
	else if (i == 0)
		snprintf(v, n, mk ? "should be 0" : "readers of the database file alone");
	else if (mk == mx)
		snprintf(v, n, "= mxFrame");
	else if (mk == 0)
		snprintf(v, n, "< mxFrame: a reader here sees no WAL frame");
	else if (mk < mx)
		snprintf(v, n, "< mxFrame: a reader may need frames up to %u", mk);
	else
		snprintf(v, n, "> mxFrame %u: stale", mx);
}

static void holders_of(const struct lock_report *r, char file, uint64_t byte, char *v, size_t n)
{
	size_t k = 0;
	v[0] = '\0';
	for (int i = 0; r && i < r->n && k < n; i++) {
		const struct lock_holder *h = &r->h[i];
		if (h->file != file || (file == 's' && (h->start > byte || h->end < byte)))
			continue;
		char name[96];
		k += (size_t)snprintf(v + k, n - k, "%s%s%s %s%s%s", k ? ", " : "", h->ofd ? "" : "pid ",
				      locks_holder_name(h, name, sizeof name),
				      h->exclusive ? "exclusive" : "shared", file == 'd' ? " " : "",
				      file == 'd' ? h->what : "");
	}
}

/* One header field of both copies: value text, and whether the raw bytes differ. */
static void shm_field(struct tm_lines *out, const uint8_t *raw, unsigned off, unsigned size, const char *name,
		      const char *v0, const char *v1)
{
	bool differ = memcmp(raw + off, raw + SHM_HDR_COPY_SIZE + off, size) != 0;
	tm_lines_add(out, differ ? TM_ERROR : TM_NORMAL, NULL, "%c %3u  %-12s %-22s %-22s", differ ? '*' : ' ', off,
		     name, v0, v1);
}

void tm_shm_build(struct tm_lines *out, const struct model *m, const struct lock_report *locks)
{
	if (!m->has_shm) {
		tm_lines_add(out, TM_NORMAL, NULL, "no -shm file%s", m->has_wal ? "" : " (and no -wal)");
		return;
	}
	const struct shm_info *s = &m->shm;
	const uint8_t *raw = m->files.shm.data;
	tm_lines_add(out, TM_NORMAL, NULL, "-shm %s: %llu bytes, %s", m->files.shm.path,
		     (unsigned long long)m->files.shm.size,
		     !s->order_known ? "byte order unknown (iVersion matches neither)"
		     : s->foreign_endian ? (s->big_endian ? "big-endian: NOT this host's order" : "little-endian: NOT this host's order")
		     : (s->big_endian ? "big-endian (this host's order)" : "little-endian (this host's order)"));
	if (!s->has_header) {
		tm_lines_add(out, TM_WARNING, NULL, "shorter than the 136-byte header: SQLite rebuilds it from the WAL");
		return;
	}
	tm_lines_add(out, s->hdr_ok ? TM_OK : TM_ERROR, NULL, "header copies %s; SQLite %s this header",
		     s->copies_agree ? "identical" : "DIFFER (* marks the fields)", s->hdr_ok ? "accepts" : "rejects");
	tm_lines_add(out, TM_HEAD, NULL, "  off  %-12s %-22s %-22s", "field", "copy 0", "copy 1");
	char a[2][48];
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%u", s->hdr[c].version);
	shm_field(out, raw, 0, 4, "iVersion", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%u", s->hdr[c].unused);
	shm_field(out, raw, 4, 4, "unused", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%u", s->hdr[c].change);
	shm_field(out, raw, 8, 4, "iChange", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%u", s->hdr[c].is_init);
	shm_field(out, raw, 12, 1, "isInit", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%u", s->hdr[c].big_end_cksum);
	shm_field(out, raw, 13, 1, "bigEndCksum", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%u", s->hdr[c].page_size);
	shm_field(out, raw, 14, 2, "szPage", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%u", s->hdr[c].mx_frame);
	shm_field(out, raw, 16, 4, "mxFrame", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%u", s->hdr[c].n_page);
	shm_field(out, raw, 20, 4, "nPage", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%08x %08x", s->hdr[c].frame_cksum[0], s->hdr[c].frame_cksum[1]);
	shm_field(out, raw, 24, 8, "aFrameCksum", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%08x %08x", s->hdr[c].salt1, s->hdr[c].salt2);
	shm_field(out, raw, 32, 8, "aSalt", a[0], a[1]);
	for (int c = 0; c < 2; c++)
		snprintf(a[c], sizeof a[c], "%08x %08x %s", s->hdr[c].cksum[0], s->hdr[c].cksum[1],
			 s->hdr[c].cksum_ok ? "ok" : "BAD");
	shm_field(out, raw, 40, 8, "aCksum", a[0], a[1]);
	if (m->has_wal && m->wal.hdr.valid) {
		const struct wal_walk *w = &m->wal;
		bool same = s->hdr[0].mx_frame == w->mx_frame && s->hdr[0].salt1 == w->hdr.salt1 &&
			    s->hdr[0].salt2 == w->hdr.salt2;
		tm_lines_add(out, same ? TM_OK : TM_WARNING, NULL, "  WAL on disk: mxFrame %u (%u pages), salts %08x %08x%s",
			     w->mx_frame, w->npage, w->hdr.salt1, w->hdr.salt2, same ? ": agrees" : ": DIFFERS");
	}

	const uint32_t mx = s->hdr[0].mx_frame;
	char v[256];
	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	tm_lines_add(out, TM_HEAD, NULL, "  off  %-18s %-10s  meaning", "checkpoint info", "value");
	if (s->n_backfill)
		snprintf(v, sizeof v, "frames 1..%u copied into the database%s", s->n_backfill,
			 s->n_backfill > mx ? " (past mxFrame!)" : "");
	else
		snprintf(v, sizeof v, "no frame copied yet");
	tm_lines_add(out, s->n_backfill > mx ? TM_ERROR : TM_NORMAL, NULL, "   96  %-18s %-10u  %s", "nBackfill",
		     s->n_backfill, v);
	for (unsigned i = 0; i < SHM_NREADER; i++) {
		char name[16], val[16];
		snprintf(name, sizeof name, "aReadMark[%u]", i);
		if (s->read_mark[i] == SHM_READMARK_NOT_USED)
			snprintf(val, sizeof val, "0xffffffff");
		else
			snprintf(val, sizeof val, "%u", s->read_mark[i]);
		mark_meaning(i, s->read_mark[i], mx, v, sizeof v);
		bool bad = s->read_mark[i] != SHM_READMARK_NOT_USED && (i == 0 ? s->read_mark[i] != 0 : s->read_mark[i] > mx);
		tm_lines_add(out, bad ? TM_WARNING : TM_NORMAL, NULL, "  %3u  %-18s %-10s  %s", 100 + 4 * i, name, val, v);
	}
	tm_lines_add(out, TM_NORMAL, NULL, "  128  %-18s %-10u  %s", "nBackfillAttempted", s->n_backfill_attempted,
		     s->n_backfill_attempted > s->n_backfill ? "the last checkpoint stopped early" : "");

	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	tm_lines_add(out, TM_HEAD, NULL, "  off  lock     holders now (fcntl locks; waldo takes none)");
	for (unsigned i = 0; i <= 8; i++) {
		holders_of(locks, 's', SHM_LOCK_OFFSET + i, v, sizeof v);
		tm_lines_add(out, v[0] ? TM_WARNING : TM_NORMAL, NULL, "  %3u  %-8s %s", SHM_LOCK_OFFSET + i,
			     i < 8 ? shm_lock_name(i) : "DMS", v[0] ? v : "-");
	}

	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	tm_lines_add(out, TM_HEAD, NULL, "hash index: %u block%s of 32768 bytes", s->nblocks, s->nblocks == 1 ? "" : "s");
	const uint64_t len = m->files.shm.size;
	for (uint32_t k = 0; k < s->nblocks && k < 16; k++) {
		uint64_t first = k == 0 ? 1 : SHM_NPAGE_ONE + (uint64_t)(k - 1) * SHM_NPAGE + 1;
		uint64_t last = k == 0 ? SHM_NPAGE_ONE : first + SHM_NPAGE - 1;
		uint32_t used = 0;
		uint64_t hash = (uint64_t)k * SHM_BLOCK_SIZE + SHM_NPAGE * 4;
		for (uint64_t o = hash; o < hash + SHM_NSLOT * 2 && o + 2 <= len; o += 2)
			used += rd_u16(raw + o, s->big_endian) != 0;
		tm_lines_add(out, TM_NORMAL, NULL, "  block %u: frames %llu..%llu, %u of 8192 hash slots used", k,
			     (unsigned long long)first, (unsigned long long)last, used);
	}
	if (s->nblocks > 16)
		tm_lines_add(out, TM_DIM, NULL, "  (%u more blocks)", s->nblocks - 16);
	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	tm_lines_add(out, TM_HEAD, NULL, "page-number array (frames 1..%u; mxFrame %u)", tm_shm_index_rows(m), mx);
	tm_lines_add(out, TM_HEAD, NULL, "  %7s  %9s  %9s", "frame", "-shm page", "WAL page");
}

static uint32_t shm_capacity(uint64_t len)
{
	if (len < SHM_HDR_SIZE + 4)
		return 0;
	if (len < SHM_BLOCK_SIZE)
		return (uint32_t)((len - SHM_HDR_SIZE) / 4);
	uint64_t full = len / SHM_BLOCK_SIZE, rem = (len % SHM_BLOCK_SIZE) / 4;
	uint64_t cap = SHM_NPAGE_ONE + (full - 1) * SHM_NPAGE + (rem < SHM_NPAGE ? rem : SHM_NPAGE);
	return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

uint32_t tm_shm_index_rows(const struct model *m)
{
	if (!m->has_shm || !m->shm.has_header || !m->shm.order_known)
		return 0;
	uint32_t cap = shm_capacity(m->files.shm.size);
	uint32_t want = m->shm.hdr[0].mx_frame;
	if (m->has_wal && m->wal.nvalid > want)
		want = m->wal.nvalid;
	return want < cap ? want : cap;
}

void tm_shm_index_text(const struct model *m, uint32_t f, char *buf, size_t n, uint8_t *style)
{
	const struct shm_info *s = &m->shm;
	uint32_t pg = shm_frame_pgno(m->files.shm.data, m->files.shm.size, s, f);
	uint32_t mx = s->hdr[0].mx_frame;
	bool have = m->has_wal && f <= m->wal.nframes;
	uint32_t wp = have ? m->wal.frames[f - 1].pgno : 0;
	char wv[16] = "-";
	if (have)
		snprintf(wv, sizeof wv, "%u", wp);
	const char *note = "";
	*style = TM_NORMAL;
	if (f > mx) {
		note = "beyond mxFrame";
		*style = TM_DIM;
	} else if (!have || f > m->wal.nvalid) {
		note = "not a valid WAL frame";
		*style = TM_WARNING;
	} else if (wp != pg) {
		note = "DIFFERS from the WAL";
		*style = TM_ERROR;
	}
	snprintf(buf, n, "  %7u  %9u  %9s  %s", f, pg, wv, note);
}

/* --- view 6: readers --------------------------------------------------------- */

void tm_growth_add(struct tm_growth *g, uint64_t size)
{
	if (g->n == TM_SAMPLES) {
		memmove(g->size, g->size + 1, (TM_SAMPLES - 1) * sizeof *g->size);
		g->n--;
	}
	g->size[g->n++] = size;
}

void tm_readers_build(struct tm_lines *out, const struct model *m, const struct lock_report *r,
		      const struct tm_growth *g, int width)
{
	char v[512];
	const struct shm_info *s = &m->shm;
	bool shm_ok = m->has_shm && s->has_header && s->order_known;
	tm_lines_add(out, TM_HEAD, NULL, "%-8s %-10s %s", "lock", "read mark", "holders (refreshed every second)");
	for (unsigned i = 0; i < 8; i++) {
		char mark[16] = "";
		if (i >= 3 && shm_ok) {
			uint32_t mk = s->read_mark[i - 3];
			if (mk == SHM_READMARK_NOT_USED)
				snprintf(mark, sizeof mark, "-");
			else
				snprintf(mark, sizeof mark, "%u", mk);
		}
		holders_of(r, 's', SHM_LOCK_OFFSET + i, v, sizeof v);
		/* A held read mark below mxFrame keeps the checkpointer from copying the frames past it. */
		char pin[64] = "";
		if (i >= 4 && v[0] && shm_ok && s->read_mark[i - 3] < s->hdr[0].mx_frame)
			snprintf(pin, sizeof pin, "; holds back frames %u..%u", s->read_mark[i - 3] + 1,
				 s->hdr[0].mx_frame);
		tm_lines_add(out, v[0] ? TM_WARNING : TM_NORMAL, NULL, "%-8s %-10s %s%s", shm_lock_name(i), mark,
			     v[0] ? v : "-", pin);
	}
	holders_of(r, 's', SHM_DMS_OFFSET, v, sizeof v);
	tm_lines_add(out, v[0] ? TM_WARNING : TM_NORMAL, NULL, "%-8s %-10s %s", "DMS", "", v[0] ? v : "-");
	holders_of(r, 'd', 0, v, sizeof v);
	tm_lines_add(out, v[0] ? TM_WARNING : TM_NORMAL, NULL, "%-8s %-10s %s", "database", "", v[0] ? v : "-");
	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	if (r && r->n) {
		char line[600];
		locks_pid_list(r, v, sizeof v);
		snprintf(line, sizeof line, "processes  %s", v);
		tm_lines_wrap(out, width, 11, TM_WARNING, -1, NULL, line);
	} else {
		tm_lines_add(out, TM_OK, NULL, "processes  none hold a lock on the database or its -shm%s",
			     r && !r->reliable ? " (the probe could not be made)" : "");
	}
	if (shm_ok) {
		uint32_t mx = s->hdr[0].mx_frame, nb = s->n_backfill;
		tm_lines_add(out, TM_NORMAL, NULL, "checkpoint mxFrame %u, nBackfill %u: %u frames not yet copied into the database",
			     mx, nb, mx > nb ? mx - nb : 0);
	}
	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	if (!g || !g->n) {
		tm_lines_add(out, TM_DIM, NULL, "WAL growth: no sample yet");
		return;
	}
	uint64_t now = g->size[g->n - 1], first = g->size[0], lo = UINT64_MAX, hi = 0;
	for (unsigned i = 0; i < g->n; i++) {
		lo = g->size[i] < lo ? g->size[i] : lo;
		hi = g->size[i] > hi ? g->size[i] : hi;
	}
	tm_lines_add(out, TM_NORMAL, NULL, "WAL growth: %llu bytes now, %+lld bytes over the last %u s",
		     (unsigned long long)now, (long long)(now - first), g->n - 1);
	/* One column per sample, its height among the levels between min and max. */
	static const char levels[] = "_.-=*#";
	char spark[TM_SAMPLES + 1];
	for (unsigned i = 0; i < g->n; i++)
		spark[i] = hi == lo ? '_' : levels[(g->size[i] - lo) * 5 / (hi - lo)];
	spark[g->n] = '\0';
	tm_lines_add(out, TM_DIM, NULL, "  [%s]  %llu .. %llu bytes", spark, (unsigned long long)lo,
		     (unsigned long long)hi);
}
