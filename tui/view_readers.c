/*
 * view_readers.c — view 6: who holds SQLite's locks on the database and
 * its -shm right now (from /proc/locks; no lock is ever taken), refreshed
 * every second while the view is shown, with the read marks, checkpoint
 * progress and the WAL's size over the last minute.
 */
#include "tui.h"

#include <stdio.h>

static void rd_open(struct tui *t)
{
	t->rd.locks = t->cr.locks;
	t->rd.width = 0;
}

static void rd_close(struct tui *t)
{
	tm_lines_free(&t->rd.lines);
	t->rd.width = 0;
}

static void rd_draw(struct tui *t, struct tm_screen *s, int y, int h)
{
	if (t->rd.width != s->w) {
		tm_lines_free(&t->rd.lines);
		tm_readers_build(&t->rd.lines, &t->m, &t->rd.locks, &t->rd.growth, s->w - 1);
		t->rd.width = s->w;
	}
	t->list_y = y;
	tui_draw_lines(s, y, h, &t->rd.lines, &t->rd.list, false);
}

static void rd_select(struct tui *t)
{
	tui_message(t, TM_DIM, "locks are read from /proc/locks every second; r reloads the files");
}

static void rd_row_text(struct tui *t, uint64_t row, char *buf, size_t n)
{
	snprintf(buf, n, "%s", row < t->rd.lines.n ? t->rd.lines.v[row].text : "");
}

static void rd_go(struct tui *t, uint32_t n)
{
	tui_open_page(t, n, -1, -1);
}

static struct tm_list *rd_list(struct tui *t)
{
	return &t->rd.list;
}

const struct tui_view tui_view_readers = {
	.title = "readers", .open = rd_open, .draw = rd_draw, .select = rd_select,
	.row_text = rd_row_text, .go = rd_go, .list = rd_list, .close = rd_close,
};
