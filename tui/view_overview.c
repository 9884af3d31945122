/*
 * view_overview.c — view 1: the files' header fields, the summary, the
 * findings (one block each: severity, code, where, message, action) and the
 * repair commands they call for.  Enter follows a finding to the frame, page
 * or file it names.  The lines are wrapped to the screen, so they are built
 * at draw time and again when the width changes.
 */
#include "tui.h"

#include <stdio.h>

static void ov_build(struct tui *t, int width)
{
	if (t->ov.width == width)
		return;
	bool first = t->ov.width == 0 && !t->ov.lines.n;
	int32_t keep = t->ov.list.cur < t->ov.lines.n ? t->ov.lines.v[t->ov.list.cur].finding : -1;
	tm_lines_free(&t->ov.lines);
	tm_overview_build(&t->ov.lines, &t->m, &t->cr, t->path, width - 1);
	t->ov.width = width;
	t->ov.list.n = t->ov.lines.n;
	/* Start on the first finding, so that Enter goes straight to it; after a
	 * resize, stay on the finding that was selected. */
	int32_t want = first ? 0 : keep;
	if (want >= 0) {
		for (size_t i = 0; i < t->ov.lines.n; i++)
			if (t->ov.lines.v[i].finding == want) {
				t->ov.list.cur = i;
				break;
			}
	}
	tm_list_fix(&t->ov.list);
}

static void ov_open(struct tui *t)
{
	tm_lines_free(&t->ov.lines);
	t->ov.width = 0;
	t->ov.list.cur = t->ov.list.top = 0;
}

static void ov_draw(struct tui *t, struct tm_screen *s, int y, int h)
{
	tui_list_height(&t->ov.list, h);   /* before building: the first finding must land on screen */
	ov_build(t, s->w);
	t->list_y = y;
	tui_draw_lines(s, y, h, &t->ov.lines, &t->ov.list, true);
}

static void ov_select(struct tui *t)
{
	if (t->ov.list.cur < t->ov.lines.n)
		tui_follow(t, &t->ov.lines.v[t->ov.list.cur].jump);
}

static void ov_row_text(struct tui *t, uint64_t row, char *buf, size_t n)
{
	snprintf(buf, n, "%s", row < t->ov.lines.n ? t->ov.lines.v[row].text : "");
}

static void ov_go(struct tui *t, uint32_t n)
{
	tui_open_page(t, n, -1, -1);
}

static struct tm_list *ov_list(struct tui *t)
{
	return &t->ov.list;
}

static void ov_close(struct tui *t)
{
	tm_lines_free(&t->ov.lines);
	t->ov.width = 0;
}

const struct tui_view tui_view_overview = {
	.title = "overview", .open = ov_open, .draw = ov_draw, .select = ov_select,
	.row_text = ov_row_text, .go = ov_go, .list = ov_list, .close = ov_close,
};
