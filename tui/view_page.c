/*
 * view_page.c — view 3: one version of one page, decoded (header fields,
 * cells with their rowids and values, freeblocks, overflow links; trunk
 * leaves; pointer-map entries) on the left, the page's bytes on the right
 * with the selected field's bytes highlighted.  `[` and `]` step through
 * the versions the files hold (the database file's copy, then each WAL
 * frame); Enter follows a child, overflow or freelist link.
 */
#include "tui.h"

#include <stdio.h>
#include <string.h>

/* Hex pane: 16 bytes a row from 120 columns, else 8; none when too narrow. */
static void layout(int width, unsigned *bpr, int *hexw, int *leftw)
{
	*bpr = width >= 120 ? 16 : 8;
	*hexw = tm_hex_width(*bpr, true);
	*leftw = width - *hexw - 2;          /* a bar and a blank between the panes */
	if (*leftw < 28) {
		*hexw = 0;
		*leftw = width;
	}
}

void tui_roles_ensure(struct tui *t)
{
	if (t->pg.roles_done)
		return;
	tm_roles_compute(&t->pg.roles, &t->m);
	t->pg.roles_done = true;
}

void tui_page_ensure(struct tui *t, int width)
{
	unsigned bpr;
	int hexw, leftw;
	layout(width, &bpr, &hexw, &leftw);
	if (t->pg.built && t->pg.built_pgno == t->pgno && t->pg.built_frame == t->frame &&
	    t->pg.built_width == leftw)
		return;
	bool same_page = t->pg.built && t->pg.built_pgno == t->pgno && t->pg.built_frame == t->frame;
	uint64_t keep = t->pg.list.cur;
	tm_page_free(&t->pg.page);
	tui_roles_ensure(t);
	if (tm_page_decode(&t->pg.page, &t->m, &t->pg.roles, t->pgno, t->frame, leftw - 1))
		tui_message(t, TM_ERROR, "out of memory decoding page %u", t->pgno);
	t->pg.built = true;
	t->pg.built_pgno = t->pgno;
	t->pg.built_frame = t->frame;
	t->pg.built_width = leftw;
	t->pg.list.n = t->pg.page.nitem;
	if (t->pg.want_offset >= 0) {
		t->pg.list.cur = tm_page_item_at(&t->pg.page, (uint32_t)t->pg.want_offset);
		t->pg.want_offset = -1;
	} else if (!same_page) {
		t->pg.list.cur = 0;
		t->pg.list.top = 0;
	} else {
		t->pg.list.cur = keep;
	}
	t->pg.hex_manual = false;
	tm_list_fix(&t->pg.list);
}

static void pg_open(struct tui *t)
{
	t->pg.built = false;
	t->pg.want_offset = -1;
}

static void pg_close(struct tui *t)
{
	tm_page_free(&t->pg.page);
	t->pg.built = false;
}

static void pg_draw(struct tui *t, struct tm_screen *s, int y, int h)
{
	if (!t->m.page_size) {
		tm_put(s, y, 0, TM_WARNING, "no page size: neither the database header nor the WAL header is usable");
		t->pg.list.height = 1;
		return;
	}
	unsigned bpr;
	int hexw, leftw;
	layout(s->w, &bpr, &hexw, &leftw);
	tui_page_ensure(t, s->w);
	const struct tm_page *p = &t->pg.page;

	/* Title: the version, and where it stands among the versions held. */
	struct tm_versions v;
	tm_versions_init(&v, &t->m, t->pgno);
	uint32_t vi = tm_version_index(&v, t->frame);
	char right[64];
	if (vi != UINT32_MAX)
		snprintf(right, sizeof right, "  version %u/%u [ ]", vi + 1, v.n);
	else
		snprintf(right, sizeof right, "  %u versions [ ]", v.n);
	int rx = s->w - (int)strlen(right);
	tm_putn(s, y, 0, TM_HEAD, p->title, rx > 0 ? rx : s->w);
	if (rx > 0)
		tm_put(s, y, rx, TM_DIM, right);

	struct tm_list *l = &t->pg.list;
	int lh = h - 1;
	tui_list_height(l, lh);
	t->list_y = y + 1;
	for (int i = 0; i < lh; i++) {
		uint64_t row = l->top + (uint64_t)i;
		if (hexw)
			tm_put(s, y + 1 + i, leftw, TM_DIM, "|");
		if (row >= p->nitem)
			continue;
		const struct tm_item *it = &p->item[row];
		tm_putn(s, y + 1 + i, 0, it->style, it->text, leftw);
		if (row == l->cur)
			tm_mark(s, y + 1 + i, 0, leftw, TM_CURSOR);
	}
	if (!hexw || !p->present)
		return;

	const struct tm_item *sel = l->cur < p->nitem ? &p->item[l->cur] : NULL;
	uint32_t hl_off = sel ? sel->off : 0, hl_len = sel ? sel->len : 0;
	uint64_t nrows = (p->page_size + bpr - 1) / bpr;
	if (!t->pg.hex_manual && hl_len) {
		/* Follow the selection: its first row a third down the pane when it is off screen. */
		uint64_t r0 = hl_off / bpr;
		if (r0 < t->pg.hex_top || r0 >= t->pg.hex_top + (uint64_t)lh)
			t->pg.hex_top = r0 > (uint64_t)lh / 3 ? r0 - (uint64_t)lh / 3 : 0;
	}
	if (t->pg.hex_top + (uint64_t)lh > nrows)
		t->pg.hex_top = nrows > (uint64_t)lh ? nrows - (uint64_t)lh : 0;
	for (int i = 0; i < lh; i++) {
		uint64_t r = t->pg.hex_top + (uint64_t)i;
		if (r >= nrows)
			break;
		tm_hex_row(s, y + 1 + i, leftw + 2, p->data, p->page_size, (uint32_t)(r * bpr), bpr, hl_off, hl_len,
			   NULL, true);
	}
}

static void step_version(struct tui *t, int dir)
{
	struct tm_versions v;
	tm_versions_init(&v, &t->m, t->pgno);
	if (!v.n) {
		tui_message(t, TM_WARNING, "no file holds page %u", t->pgno);
		return;
	}
	uint32_t i = tm_version_index(&v, t->frame);
	if (i == UINT32_MAX)
		i = dir > 0 ? 0 : v.n - 1;
	else if (dir < 0 && i == 0) {
		tui_message(t, TM_DIM, "this is the oldest version (1/%u)", v.n);
		return;
	} else if (dir > 0 && i + 1 >= v.n) {
		tui_message(t, TM_DIM, "this is the newest version (%u/%u)", v.n, v.n);
		return;
	} else {
		i = dir > 0 ? i + 1 : i - 1;
	}
	t->frame = tm_version_frame(&v, i);
	uint32_t f = t->frame;
	if (f)
		tui_message(t, TM_DIM, "version %u/%u: frame %u (%s)%s", i + 1, v.n, f,
			    wal_frame_state_name((enum wal_frame_state)t->m.wal.frames[f - 1].state),
			    i == v.reads ? ", the one SQLite reads" : "");
	else
		tui_message(t, TM_DIM, "version %u/%u: the database file%s", i + 1, v.n,
			    i == v.reads ? ", the one SQLite reads" : "");
}

static bool pg_key(struct tui *t, enum tui_action a)
{
	int lh = t->pg.list.height;
	switch (a) {
	case ACT_VERSION_PREV: step_version(t, -1); return true;
	case ACT_VERSION_NEXT: step_version(t, 1); return true;
	case ACT_PANE_DOWN:
		t->pg.hex_manual = true;
		t->pg.hex_top += (uint64_t)(lh > 2 ? lh / 2 : 1);   /* clamped at draw */
		return true;
	case ACT_PANE_UP: {
		uint64_t d = (uint64_t)(lh > 2 ? lh / 2 : 1);
		t->pg.hex_manual = true;
		t->pg.hex_top = t->pg.hex_top > d ? t->pg.hex_top - d : 0;
		return true;
	}
	case ACT_MOVE_DOWN: case ACT_MOVE_UP: case ACT_PAGE_DOWN: case ACT_PAGE_UP: case ACT_FIRST: case ACT_LAST:
		t->pg.hex_manual = false;   /* the hex pane follows the cursor again */
		return false;
	default:
		return false;
	}
}

static void pg_select(struct tui *t)
{
	const struct tm_page *p = &t->pg.page;
	if (t->pg.list.cur >= p->nitem)
		return;
	uint32_t link = p->item[t->pg.list.cur].link;
	if (link)
		tui_open_page(t, link, -1, -1);
	else
		tui_message(t, TM_DIM, "this row links to no page");
}

static void pg_row_text(struct tui *t, uint64_t row, char *buf, size_t n)
{
	snprintf(buf, n, "%s", row < t->pg.page.nitem ? t->pg.page.item[row].text : "");
}

static void pg_go(struct tui *t, uint32_t n)
{
	tui_open_page(t, n, -1, -1);
}

static struct tm_list *pg_list(struct tui *t)
{
	return &t->pg.list;
}

const struct tui_view tui_view_page = {
	.title = "page", .open = pg_open, .draw = pg_draw, .key = pg_key, .select = pg_select,
	.row_text = pg_row_text, .go = pg_go, .list = pg_list, .close = pg_close,
};
