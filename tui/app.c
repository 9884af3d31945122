/*
 * app.c — the browser without the terminal: loading, the top bar and the
 * status line, actions common to every view (lists, search, goto, the back
 * stack, views), the prompt, the help screen and mouse events.  Views are
 * in tui/view_*.c; the terminal is tui/display.c.
 */
#include "tui.h"

#include "../inspect/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct tui_action_info tui_actions[ACT__N] = {
#define A(id, name, keys, help) [ACT_##id] = { name, keys, help },
#include "actions.def"
#undef A
};

const struct tui_view *const tui_views[TUI_NVIEWS] = {
	[V_OVERVIEW] = &tui_view_overview, [V_WAL] = &tui_view_wal, [V_PAGE] = &tui_view_page,
	[V_HISTORY] = &tui_view_history, [V_SHM] = &tui_view_shm, [V_READERS] = &tui_view_readers,
};

void tui_message(struct tui *t, uint8_t style, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof t->msg, fmt, ap);
	va_end(ap);
	t->msg_style = style;
}

/* --- loading ----------------------------------------------------------- */

static void close_views(struct tui *t)
{
	for (int v = 0; v < TUI_NVIEWS; v++)
		if (tui_views[v]->close)
			tui_views[v]->close(t);
	if (t->pg.roles_done)
		tm_roles_free(&t->pg.roles);
	t->pg.roles_done = false;
}

uint32_t tui_default_version(const struct tui *t, uint32_t pgno)
{
	const struct model *m = &t->m;
	uint32_t f = 0;
	if (pgno && pgno <= model_npages(m, MODEL_LAST) && model_page(m, MODEL_LAST, pgno, &f))
		return f;
	if (model_db_page(m, pgno))
		return 0;
	uint32_t n;
	const uint32_t *fv = model_page_frames(m, pgno, &n);
	return n ? fv[n - 1] : 0;
}

int tui_load(struct tui *t, char *err, size_t errlen)
{
	struct model nm;
	if (model_open(&nm, t->path, t->wal_path, t->shm_path, err, errlen)) {
		model_close(&nm);
		return -1;
	}
	if (t->loaded) {
		close_views(t);
		model_close(&t->m);
	}
	/* The model holds no pointer into itself, so it may be moved. */
	t->m = nm;
	struct check_opts o = { .sqlite = t->integrity, .locks = t->locks };
	checks_run(&t->m, &o, &t->cr);
	t->integrity = false;
	t->loaded = true;
	if (!t->pgno)
		t->pgno = 1;
	if (t->frame > (t->m.has_wal ? t->m.wal.nframes : 0) ||
	    (t->frame && t->m.wal.frames[t->frame - 1].pgno != t->pgno))
		t->frame = tui_default_version(t, t->pgno);
	else if (!t->frame)
		t->frame = tui_default_version(t, t->pgno);
	for (int v = 0; v < TUI_NVIEWS; v++)
		if (tui_views[v]->open)
			tui_views[v]->open(t);
	return 0;
}

void tui_unload(struct tui *t)
{
	if (!t->loaded)
		return;
	close_views(t);
	model_close(&t->m);
	t->loaded = false;
}

static void reload(struct tui *t)
{
	char err[512];
	struct tm_list keep[TUI_NVIEWS];
	for (int v = 0; v < TUI_NVIEWS; v++)
		keep[v] = *tui_views[v]->list(t);
	bool integ = t->integrity;
	if (tui_load(t, err, sizeof err)) {
		tui_message(t, TM_ERROR, "reload failed: %s", err);
		return;
	}
	/* Stay where we were; lists clamp to what the files hold now. */
	for (int v = 0; v < TUI_NVIEWS; v++) {
		struct tm_list *l = tui_views[v]->list(t);
		if (v == V_PAGE || v == V_OVERVIEW)
			continue;   /* rebuilt lazily at the next draw */
		l->cur = keep[v].cur;
		l->top = keep[v].top;
		tm_list_fix(l);
	}
	tui_message(t, TM_OK, integ ? "reloaded; integrity_check: %s" : "reloaded%s",
		    integ ? (t->cr.integrity == 1 ? "ok" : t->cr.integrity == 0 ? "FAILS (see the findings)"
			     : "SQLite cannot read the state") : "");
}

/* --- navigation --------------------------------------------------------- */

void tui_push(struct tui *t)
{
	if (t->nback == TUI_BACK_MAX) {
		memmove(t->back, t->back + 1, (TUI_BACK_MAX - 1) * sizeof *t->back);
		t->nback--;
	}
	struct tm_list *l = tui_views[t->view]->list(t);
	struct tui_pos *p = &t->back[t->nback++];
	p->view = t->view;
	p->cur = l->cur;
	p->top = l->top;
	p->pgno = t->pgno;
	p->frame = t->frame;
}

static void pop(struct tui *t)
{
	struct tui_pos p = t->back[--t->nback];
	t->view = p.view;
	t->pgno = p.pgno;
	t->frame = p.frame;
	if (p.view == V_PAGE)
		tui_page_ensure(t, t->w);
	struct tm_list *l = tui_views[t->view]->list(t);
	l->cur = p.cur;
	l->top = p.top;
	tm_list_fix(l);
	if (p.view == V_PAGE)
		t->pg.hex_manual = false;
}

void tui_switch(struct tui *t, int view)
{
	if (view == t->view || view < 0 || view >= TUI_NVIEWS)
		return;
	tui_push(t);
	t->view = view;
}

void tui_open_frame(struct tui *t, uint32_t f)
{
	const struct model *m = &t->m;
	uint32_t n = m->has_wal ? m->wal.nframes : 0;
	if (!n) {
		tui_message(t, TM_WARNING, "no WAL frames to go to");
		return;
	}
	if (f == 0 || f > n) {
		if (f == n + 1 && m->wal.partial_bytes) {
			tui_message(t, TM_WARNING, "frame %u is a partial frame (%u bytes): showing the WAL's end", f,
				    m->wal.partial_bytes);
			f = UINT32_MAX;
		} else {
			tui_message(t, TM_WARNING, "no frame %u: the WAL holds %u whole frames", f, n);
			return;
		}
	}
	tui_push(t);
	t->view = V_WAL;
	tm_list_goto(&t->wal.list, tm_wal_frame_row(&t->wal.rows, f));
}

void tui_open_page(struct tui *t, uint32_t pgno, int64_t frame, int64_t offset)
{
	const struct model *m = &t->m;
	if (!m->page_size) {
		tui_message(t, TM_WARNING, "no page size: neither the database header nor the WAL header is usable");
		return;
	}
	if (pgno == 0 && frame <= 0) {
		tui_message(t, TM_WARNING, "pages are numbered from 1");
		return;
	}
	uint32_t nf;
	model_page_frames(m, pgno, &nf);
	if (frame < 0 && !nf && !model_db_page(m, pgno) && pgno > model_npages(m, MODEL_LAST)) {
		tui_message(t, TM_WARNING, "no page %u: the database has %u pages and no file holds page %u", pgno,
			    model_npages(m, MODEL_LAST), pgno);
		return;
	}
	tui_push(t);
	t->pgno = pgno;
	t->frame = frame < 0 ? tui_default_version(t, pgno) : (uint32_t)frame;
	t->pg.want_offset = offset;
	t->view = V_PAGE;
}

void tui_follow(struct tui *t, const struct tm_jump *j)
{
	switch (j->kind) {
	case TM_T_FRAME: tui_open_frame(t, j->frame); break;
	case TM_T_PAGE: tui_open_page(t, j->page, -1, j->offset); break;
	case TM_T_VIEW: tui_switch(t, j->view - 1); break;
	default: tui_message(t, TM_DIM, "this row points to no frame, page or file"); break;
	}
}

void tui_list_height(struct tm_list *l, int h)
{
	l->height = h > 0 ? h : 1;
	tm_list_fix(l);
}

void tui_draw_lines(struct tm_screen *s, int y, int h, const struct tm_lines *lines, struct tm_list *l,
		    bool whole_finding)
{
	tui_list_height(l, h);
	l->n = lines->n;
	tm_list_fix(l);
	int32_t fsel = l->cur < lines->n ? lines->v[l->cur].finding : -1;
	for (int i = 0; i < h; i++) {
		uint64_t row = l->top + (uint64_t)i;
		if (row >= lines->n)
			break;
		const struct tm_line *ln = &lines->v[row];
		tm_putn(s, y + i, 0, ln->style, ln->text, s->w);
		if (row == l->cur || (whole_finding && fsel >= 0 && ln->finding == fsel))
			tm_mark(s, y + i, 0, s->w, TM_CURSOR);
	}
}

/* --- search and goto ----------------------------------------------------- */

static void search(struct tui *t, int dir)
{
	if (!t->pattern[0]) {
		tui_message(t, TM_DIM, "no search yet: press / and type some text");
		return;
	}
	const struct tui_view *v = tui_views[t->view];
	struct tm_list *l = v->list(t);
	if (!l->n) {
		tui_message(t, TM_WARNING, "nothing to search in this view");
		return;
	}
	char buf[1024];
	for (uint64_t k = 1; k <= l->n; k++) {
		uint64_t row = dir > 0 ? (l->cur + k) % l->n : (l->cur + l->n - k % l->n) % l->n;
		v->row_text(t, row, buf, sizeof buf);
		if (tm_match(buf, t->pattern)) {
			bool wrapped = dir > 0 ? row <= l->cur : row >= l->cur;
			tm_list_goto(l, row);
			if (t->view == V_PAGE)
				t->pg.hex_manual = false;
			if (wrapped)
				tui_message(t, TM_DIM, "search wrapped: /%s", t->pattern);
			else
				tui_message(t, TM_DIM, "/%s", t->pattern);
			return;
		}
	}
	tui_message(t, TM_WARNING, "not found: %s", t->pattern);
}

/* ":N", ":fN", ":frame N", ":pN", ":page N". */
static void go(struct tui *t, const char *s)
{
	while (*s == ' ')
		s++;
	char kind = 0;
	if (*s == 'f' || *s == 'p') {
		kind = *s;
		while (*s >= 'a' && *s <= 'z')
			s++;
		while (*s == ' ')
			s++;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	while (*end == ' ')
		end++;
	if (*s < '0' || *s > '9' || *end || errno || n > UINT32_MAX) {
		tui_message(t, TM_WARNING, "goto: give a number, :fN for a frame or :pN for a page");
		return;
	}
	if (kind == 'f')
		tui_open_frame(t, (uint32_t)n);
	else if (kind == 'p')
		tui_open_page(t, (uint32_t)n, -1, -1);
	else
		tui_views[t->view]->go(t, (uint32_t)n);
}

void tui_prompt_key(struct tui *t, int ch)
{
	switch (ch) {
	case TUI_K_ESC:
		t->prompt = 0;
		return;
	case TUI_K_BACKSPACE:
		if (t->ninput)
			t->ninput--;
		else
			t->prompt = 0;
		return;
	case TUI_K_KILL:
		t->ninput = 0;
		return;
	case TUI_K_ENTER: {
		char kind = t->prompt;
		t->prompt = 0;
		t->input[t->ninput] = '\0';
		if (kind == '/') {
			if (t->ninput)
				snprintf(t->pattern, sizeof t->pattern, "%s", t->input);
			search(t, 1);
		} else if (t->ninput) {
			go(t, t->input);
		}
		return;
	}
	default:
		if (ch >= 0x20 && ch < 0x7f && t->ninput + 1 < sizeof t->input)
			t->input[t->ninput++] = (char)ch;
		return;
	}
}

/* --- actions ------------------------------------------------------------- */

static void help_act(struct tui *t, enum tui_action a)
{
	struct tm_list *l = &t->help_list;
	switch (a) {
	case ACT_MOVE_DOWN: tm_list_scroll(l, 1); break;
	case ACT_MOVE_UP: tm_list_scroll(l, -1); break;
	case ACT_PAGE_DOWN: tm_list_scroll(l, l->height - 1); break;
	case ACT_PAGE_UP: tm_list_scroll(l, -(l->height - 1)); break;
	case ACT_FIRST: tm_list_scroll(l, -(int64_t)l->n); break;
	case ACT_LAST: tm_list_scroll(l, (int64_t)l->n); break;
	case ACT_QUIT: t->quit = true; break;
	case ACT_REDRAW: break;
	default:
		t->help = false;
		/* A view key closes the help and acts, so `?` then `2` shows the WAL. */
		if (a != ACT_BACK && a != ACT_HELP && a != ACT_ENTER)
			tui_act(t, a);
		break;
	}
}

void tui_act(struct tui *t, enum tui_action a)
{
	t->msg[0] = '\0';
	if (t->help) {
		help_act(t, a);
		return;
	}
	const struct tui_view *v = tui_views[t->view];
	if (v->key && v->key(t, a))
		return;
	struct tm_list *l = v->list(t);
	int64_t page = l->height > 1 ? l->height - 1 : 1;
	switch (a) {
	case ACT_VIEW_1: case ACT_VIEW_2: case ACT_VIEW_3: case ACT_VIEW_4: case ACT_VIEW_5: case ACT_VIEW_6:
		tui_switch(t, (int)(a - ACT_VIEW_1));
		break;
	case ACT_NEXT_VIEW: tui_switch(t, (t->view + 1) % TUI_NVIEWS); break;
	case ACT_PREV_VIEW: tui_switch(t, (t->view + TUI_NVIEWS - 1) % TUI_NVIEWS); break;
	case ACT_MOVE_DOWN: tm_list_move(l, 1); break;
	case ACT_MOVE_UP: tm_list_move(l, -1); break;
	case ACT_PAGE_DOWN:
		tm_list_move(l, page);
		tm_list_scroll(l, page);
		break;
	case ACT_PAGE_UP:
		tm_list_move(l, -page);
		tm_list_scroll(l, -page);
		break;
	case ACT_FIRST: tm_list_goto(l, 0); break;
	case ACT_LAST: tm_list_goto(l, l->n ? l->n - 1 : 0); break;
	case ACT_ENTER:
		if (l->n)
			v->select(t);
		break;
	case ACT_BACK:
		if (t->nback)
			pop(t);
		else
			t->quit = true;
		break;
	case ACT_QUIT: t->quit = true; break;
	case ACT_SEARCH:
	case ACT_GOTO:
		t->prompt = a == ACT_SEARCH ? '/' : ':';
		t->ninput = 0;
		break;
	case ACT_SEARCH_NEXT: search(t, 1); break;
	case ACT_SEARCH_PREV: search(t, -1); break;
	case ACT_INTEGRITY:
		t->integrity = true;
		reload(t);
		break;
	case ACT_RELOAD: reload(t); break;
	case ACT_HELP:
		t->help = true;
		t->help_list.cur = t->help_list.top = 0;
		break;
	case ACT_REDRAW: break;
	case ACT_VERSION_PREV: case ACT_VERSION_NEXT:
		tui_message(t, TM_DIM, "[ and ] choose a version in the page view (3)");
		break;
	case ACT_MARK:
		tui_message(t, TM_DIM, "m marks a diff base in the history view (4)");
		break;
	case ACT_PANE_DOWN: case ACT_PANE_UP:
		tui_message(t, TM_DIM, "J and K scroll the hex pane (3) and the diff pane (4)");
		break;
	case ACT__N: break;
	}
}

/* --- idle ticks and the mouse ------------------------------------------ */

static uint64_t wal_size_now(const struct tui *t)
{
	char buf[4200];
	const char *p = t->m.files.wal.path;
	if (!p && t->m.files.db.path) {
		snprintf(buf, sizeof buf, "%s-wal", t->m.files.db.path);
		p = buf;
	}
	struct stat st;
	return p && !stat(p, &st) ? (uint64_t)st.st_size : 0;
}

void tui_tick(struct tui *t)
{
	if (!t->loaded)
		return;
	tm_growth_add(&t->rd.growth, wal_size_now(t));
	if (t->view == V_READERS) {
		if (t->locks)
			locks_probe(&t->m.files, &t->rd.locks);
		t->rd.width = 0;   /* rebuild at the next draw */
	}
}

void tui_mouse(struct tui *t, enum tui_mouse ev, int y, int x)
{
	struct tm_list *l = t->help ? &t->help_list : tui_views[t->view]->list(t);
	if (ev == TUI_M_WHEEL_UP || ev == TUI_M_WHEEL_DOWN) {
		tm_list_scroll(l, ev == TUI_M_WHEEL_UP ? -3 : 3);
		return;
	}
	if (y == 0) {
		/* The tabs: " waldo " then " N:title " each. */
		int tx = 7;
		for (int v = 0; v < TUI_NVIEWS; v++) {
			int w = (int)strlen(tui_views[v]->title) + 4;
			if (x >= tx && x < tx + w) {
				t->help = false;
				tui_switch(t, v);
				return;
			}
			tx += w;
		}
		return;
	}
	if (t->help)
		return;
	int ly = t->list_y;
	if (y < ly || y >= ly + l->height)
		return;
	uint64_t row = l->top + (uint64_t)(y - ly);
	if (row >= l->n)
		return;
	l->cur = row;
	tm_list_fix(l);
	if (t->view == V_PAGE)
		t->pg.hex_manual = false;
	if (ev == TUI_M_DOUBLE)
		tui_views[t->view]->select(t);
}

/* --- drawing ---------------------------------------------------------------- */

static void help_lines(struct tm_lines *out)
{
	tm_lines_add(out, TM_HEAD, NULL, "waldo tui: keys (q, Esc or ? closes this help; j/k scroll)");
	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	for (int a = 0; a < ACT__N; a++) {
		char keys[64];
		size_t k = 0;
		for (const char *p = tui_actions[a].keys; *p && k + 3 < sizeof keys; p++) {
			if (*p == ' ') {
				keys[k++] = ',';
				keys[k++] = ' ';
			} else {
				keys[k++] = *p;
			}
		}
		keys[k] = '\0';
		tm_lines_add(out, TM_NORMAL, NULL, "  %-16s %s", keys, tui_actions[a].help);
	}
	tm_lines_add(out, TM_NORMAL, NULL, "  %-16s %s", "mouse", "wheel scrolls; click selects a row or a tab; "
		     "double-click drills down");
	tm_lines_add(out, TM_NORMAL, NULL, "%s", "");
	tm_lines_add(out, TM_DIM, NULL, "The TUI never writes to its inputs; repairs run from the shell (see the overview).");
}

static void draw_help(struct tui *t, struct tm_screen *s, int y, int h)
{
	struct tm_lines lines = { 0 };
	help_lines(&lines);
	struct tm_list *l = &t->help_list;
	l->n = lines.n;
	tui_list_height(l, h);
	for (int i = 0; i < h && l->top + (uint64_t)i < lines.n; i++) {
		const struct tm_line *ln = &lines.v[l->top + (uint64_t)i];
		tm_putn(s, y + i, 0, ln->style, ln->text, s->w);
	}
	tm_lines_free(&lines);
}

static void draw_status(struct tui *t, struct tm_screen *s, int y)
{
	tm_fill(s, y, 0, s->w, TM_BAR, ' ');
	if (t->prompt) {
		char buf[200];
		snprintf(buf, sizeof buf, "%c%.*s_", t->prompt, (int)t->ninput, t->input);
		tm_put(s, y, 0, TM_PROMPT, buf);
		return;
	}
	if (t->msg[0]) {
		tm_putn(s, y, 0, t->msg_style, t->msg, s->w);
		return;
	}
	const char *right = "?:help  q:back";
	int rx = s->w - (int)strlen(right) - 1;
	char pos[64] = "";
	struct tm_list *l = t->help ? &t->help_list : tui_views[t->view]->list(t);
	if (l->n)
		snprintf(pos, sizeof pos, "  %llu/%llu", (unsigned long long)l->cur + 1, (unsigned long long)l->n);
	int room = rx - (int)strlen(pos) - 2;
	const char *path = t->path;
	size_t plen = strlen(path);
	if (room > 4 && (int)plen > room)
		path += plen - (size_t)(room - 3);
	int x = tm_printf(s, y, 0, TM_BAR, " %s%s", path != t->path ? "..." : "", path);
	tm_put(s, y, x, TM_BAR, pos);
	if (rx > x + (int)strlen(pos))
		tm_put(s, y, rx, TM_BAR, right);
}

void tui_render(struct tui *t, struct tm_screen *s)
{
	tm_clear(s);
	t->w = s->w;
	t->h = s->h;
	tm_fill(s, 0, 0, s->w, TM_BAR, ' ');
	int x = tm_put(s, 0, 0, TM_BAR, " waldo ");
	for (int v = 0; v < TUI_NVIEWS; v++) {
		char tab[32];
		snprintf(tab, sizeof tab, " %d:%s ", v + 1, tui_views[v]->title);
		x = tm_put(s, 0, x, v == t->view && !t->help ? TM_TAB_ON : TM_BAR, tab);
	}
	if (x + 10 < s->w) {
		const char *st = report_status_name(&t->m.diags);
		int worst = wd_worst(&t->m.diags);
		tm_put(s, 0, s->w - (int)strlen(st) - 1,
		       worst < 0 ? TM_BAR : tm_severity_style((enum wd_severity)worst), st);
	}
	if (s->h < 3)
		return;
	int body = s->h - 2;
	if (t->help)
		draw_help(t, s, 1, body);
	else
		tui_views[t->view]->draw(t, s, 1, body);
	draw_status(t, s, s->h - 1);
}
