/*
 * view_wal.c — view 2: one row per WAL frame (number, page, commit size,
 * salts, status, transaction), with marker rows for mxFrame, the -shm's
 * nBackfill and read marks, and the valid end.  Rows are formatted only
 * when drawn or searched, straight from m->wal.frames.  Enter opens the
 * frame's page, that version, in the page view.
 */
#include "tui.h"

#include <stdio.h>

static void wal_open(struct tui *t)
{
	tm_wal_rows_init(&t->wal.rows, &t->m);
	t->wal.list.n = t->wal.rows.nrows;
	tm_list_fix(&t->wal.list);
}

static void wal_draw(struct tui *t, struct tm_screen *s, int y, int h)
{
	const struct model *m = &t->m;
	char buf[512];
	if (!m->has_wal) {
		tm_put(s, y, 0, TM_NORMAL, "no WAL file");
		t->wal.list.height = 1;
		return;
	}
	const struct wal_walk *w = &m->wal;
	snprintf(buf, sizeof buf, "%s: %u frames (%u valid), %u commits, %u-byte pages; end: %s%s",
		 m->files.wal.path, w->nframes, w->nvalid, w->ntxn, w->page_size, wal_end_name(w->end),
		 w->hdr.valid ? "" : "; header invalid: SQLite ignores the WAL");
	tm_putn(s, y, 0, w->hdr.valid ? TM_NORMAL : TM_ERROR, buf, s->w);
	tm_wal_heading(s->w, buf, sizeof buf);
	tm_putn(s, y + 1, 0, TM_HEAD, buf, s->w);
	struct tm_list *l = &t->wal.list;
	tui_list_height(l, h - 2);
	t->list_y = y + 2;
	for (int i = 0; i < h - 2; i++) {
		uint64_t row = l->top + (uint64_t)i;
		if (row >= l->n)
			break;
		uint8_t st;
		tm_wal_row_text(&t->wal.rows, row, s->w, buf, sizeof buf, &st);
		tm_putn(s, y + 2 + i, 0, st, buf, s->w);
		if (row == l->cur)
			tm_mark(s, y + 2 + i, 0, s->w, TM_CURSOR);
	}
}

static void wal_select(struct tui *t)
{
	uint32_t f = tm_wal_row_frame(&t->wal.rows, t->wal.list.cur, NULL);
	if (!f) {
		tui_message(t, TM_DIM, "a marker: Enter on a frame opens its page");
		return;
	}
	tui_open_page(t, t->m.wal.frames[f - 1].pgno, f, -1);
}

static void wal_row_text(struct tui *t, uint64_t row, char *buf, size_t n)
{
	uint8_t st;
	tm_wal_row_text(&t->wal.rows, row, t->w, buf, n, &st);
}

static void wal_go(struct tui *t, uint32_t n)
{
	tui_open_frame(t, n);
}

static struct tm_list *wal_list(struct tui *t)
{
	return &t->wal.list;
}

const struct tui_view tui_view_wal = {
	.title = "wal", .open = wal_open, .draw = wal_draw, .select = wal_select,
	.row_text = wal_row_text, .go = wal_go, .list = wal_list,
};
