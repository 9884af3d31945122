/*
 * view_history.c — view 4: every version of the current page the files
 * hold (the database file's copy, then each WAL frame holding it, whatever
 * its state), with a short SHA-256, and below them a byte diff of two
 * versions: the one under the cursor (B) against the marked one (A, `m`),
 * or against the version before it when none is marked.
 */
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hist_ensure(struct tui *t)
{
	struct tm_list *l = &t->hist.list;
	if (t->hist.vpgno != t->pgno || t->hist.v.m != &t->m) {
		tm_versions_init(&t->hist.v, &t->m, t->pgno);
		t->hist.vpgno = t->pgno;
		t->hist.base = UINT32_MAX;
		t->hist.diff_top = 0;
		l->n = t->hist.v.n;
		uint32_t i = tm_version_index(&t->hist.v, t->frame);
		l->cur = i == UINT32_MAX ? 0 : i;
		l->top = 0;
		tm_list_fix(l);
	}
}

static void hist_open(struct tui *t)
{
	t->hist.vpgno = 0;
	t->hist.v.m = NULL;
}

static void hist_draw(struct tui *t, struct tm_screen *s, int y, int h)
{
	if (!t->m.page_size) {
		tm_put(s, y, 0, TM_WARNING, "no page size: neither the database header nor the WAL header is usable");
		return;
	}
	hist_ensure(t);
	const struct tm_versions *v = &t->hist.v;
	struct tm_list *l = &t->hist.list;
	char buf[512];
	snprintf(buf, sizeof buf, "page %u: %u version%s  (m: diff base, Enter: open, J/K: scroll the diff)",
		 t->pgno, v->n, v->n == 1 ? "" : "s");
	tm_putn(s, y, 0, TM_HEAD, buf, s->w);
	if (!v->n) {
		tm_put(s, y + 1, 0, TM_WARNING, "no file holds this page");
		return;
	}
	int vh = (h - 2) / 2;
	if (vh < 1)
		vh = 1;
	if ((uint32_t)vh > v->n)
		vh = (int)v->n;
	tui_list_height(l, vh);
	t->list_y = y + 1;
	uint32_t b = (uint32_t)l->cur;
	uint32_t a = t->hist.base != UINT32_MAX && t->hist.base < v->n ? t->hist.base : (b ? b - 1 : UINT32_MAX);
	for (int i = 0; i < vh; i++) {
		uint64_t row = l->top + (uint64_t)i;
		if (row >= v->n)
			break;
		tm_version_text(v, (uint32_t)row, buf, sizeof buf);
		const char *tag = row == b ? "B " : row == a ? "A " : "  ";
		uint8_t st = row == v->reads ? TM_COMMIT : TM_NORMAL;
		int x = tm_put(s, y + 1 + i, 0, TM_HEAD, tag);
		tm_putn(s, y + 1 + i, x, st, buf, s->w - x);
		if (row == l->cur)
			tm_mark(s, y + 1 + i, 0, s->w, TM_CURSOR);
	}
	/* The version under the cursor is the current version of the page view too. */
	t->frame = tm_version_frame(v, b);

	int dy = y + 1 + vh;
	if (a == UINT32_MAX) {
		tm_putn(s, dy, 0, TM_DIM, "B is the oldest version: nothing before it to compare with (m marks a base)", s->w);
		return;
	}
	uint32_t sa = 0, sb = 0;
	const uint8_t *pa = tm_version_data(v, a, &sa), *pb = tm_version_data(v, b, &sb);
	if (!pa || !pb || sa != sb) {
		tm_putn(s, dy, 0, TM_WARNING, "the two versions have different sizes: no byte diff", s->w);
		return;
	}
	unsigned bpr = s->w >= 2 * tm_hex_width(16, false) + 5 ? 16 : 8;
	uint32_t *rows = NULL, nbytes = 0;
	uint32_t nrows = tm_diff_rows(pa, pb, sa, bpr, &rows, &nbytes);
	char na[32], nb[32];
	uint32_t fa = tm_version_frame(v, a), fb = tm_version_frame(v, b);
	if (fa)
		snprintf(na, sizeof na, "frame %u", fa);
	else
		snprintf(na, sizeof na, "database file");
	if (fb)
		snprintf(nb, sizeof nb, "frame %u", fb);
	else
		snprintf(nb, sizeof nb, "database file");
	if (!nrows)
		snprintf(buf, sizeof buf, "A %s and B %s are identical", na, nb);
	else
		snprintf(buf, sizeof buf, "A %s -> B %s: %u byte%s differ in %u row%s of %u", na, nb, nbytes,
			 nbytes == 1 ? "" : "s", nrows, nrows == 1 ? "" : "s", bpr);
	tm_putn(s, dy, 0, TM_HEAD, buf, s->w);
	int dh = y + h - dy - 1;
	if (t->hist.diff_top + (uint64_t)dh > nrows)
		t->hist.diff_top = nrows > (uint64_t)dh ? nrows - (uint64_t)dh : 0;
	int hw = tm_hex_width(bpr, false);
	for (int i = 0; i < dh; i++) {
		uint64_t r = t->hist.diff_top + (uint64_t)i;
		if (r >= nrows)
			break;
		tm_put(s, dy + 1 + i, 0, TM_DIM, "A");
		tm_hex_row(s, dy + 1 + i, 2, pa, sa, rows[r], bpr, 0, 0, pb, false);
		tm_put(s, dy + 1 + i, 3 + hw, TM_DIM, "B");
		tm_hex_row(s, dy + 1 + i, 5 + hw, pb, sb, rows[r], bpr, 0, 0, pa, false);
	}
	free(rows);
}

static bool hist_key(struct tui *t, enum tui_action a)
{
	switch (a) {
	case ACT_MARK:
		hist_ensure(t);
		t->hist.base = (uint32_t)t->hist.list.cur;
		t->hist.diff_top = 0;
		tui_message(t, TM_DIM, "version %u is the diff base (A); move the cursor to choose B",
			    t->hist.base + 1);
		return true;
	case ACT_PANE_DOWN:
		t->hist.diff_top += 4;   /* clamped at draw */
		return true;
	case ACT_PANE_UP:
		t->hist.diff_top = t->hist.diff_top > 4 ? t->hist.diff_top - 4 : 0;
		return true;
	case ACT_MOVE_DOWN: case ACT_MOVE_UP: case ACT_PAGE_DOWN: case ACT_PAGE_UP: case ACT_FIRST: case ACT_LAST:
		t->hist.diff_top = 0;
		return false;
	case ACT_VERSION_PREV:
		tui_act(t, ACT_MOVE_UP);
		return true;
	case ACT_VERSION_NEXT:
		tui_act(t, ACT_MOVE_DOWN);
		return true;
	default:
		return false;
	}
}

static void hist_select(struct tui *t)
{
	hist_ensure(t);
	tui_open_page(t, t->pgno, tm_version_frame(&t->hist.v, (uint32_t)t->hist.list.cur), -1);
}

static void hist_row_text(struct tui *t, uint64_t row, char *buf, size_t n)
{
	hist_ensure(t);
	tm_version_text(&t->hist.v, (uint32_t)row, buf, n);
}

static void hist_go(struct tui *t, uint32_t n)
{
	if (!n) {
		tui_message(t, TM_WARNING, "pages are numbered from 1");
		return;
	}
	tui_push(t);
	t->pgno = n;
	t->frame = tui_default_version(t, n);
}

static struct tm_list *hist_list(struct tui *t)
{
	return &t->hist.list;
}

const struct tui_view tui_view_history = {
	.title = "history", .open = hist_open, .draw = hist_draw, .key = hist_key, .select = hist_select,
	.row_text = hist_row_text, .go = hist_go, .list = hist_list,
};
