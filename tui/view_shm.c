/*
 * view_shm.c — view 5: the -shm: both header copies side by side with the
 * fields that differ marked, the checkpoint info with what each read mark
 * means against mxFrame, the lock bytes and who holds them, the hash
 * blocks, then the page-number array one frame a row (formatted only when
 * drawn) checked against the WAL.  Enter on a frame row opens that frame in
 * the WAL view.
 */
#include "tui.h"

#include <stdio.h>

static uint64_t shm_rows(const struct tui *t)
{
	return t->shm.lines.n + tm_shm_index_rows(&t->m);
}

static void shm_open(struct tui *t)
{
	tm_lines_free(&t->shm.lines);
	tm_shm_build(&t->shm.lines, &t->m, &t->cr.locks);
	t->shm.list.n = shm_rows(t);
	tm_list_fix(&t->shm.list);
}

static void shm_close(struct tui *t)
{
	tm_lines_free(&t->shm.lines);
}

static void shm_row(struct tui *t, uint64_t row, char *buf, size_t n, uint8_t *st)
{
	if (row < t->shm.lines.n) {
		snprintf(buf, n, "%s", t->shm.lines.v[row].text);
		*st = t->shm.lines.v[row].style;
	} else {
		tm_shm_index_text(&t->m, (uint32_t)(row - t->shm.lines.n + 1), buf, n, st);
	}
}

static void shm_draw(struct tui *t, struct tm_screen *s, int y, int h)
{
	struct tm_list *l = &t->shm.list;
	l->n = shm_rows(t);
	tui_list_height(l, h);
	t->list_y = y;
	char buf[512];
	for (int i = 0; i < h; i++) {
		uint64_t row = l->top + (uint64_t)i;
		if (row >= l->n)
			break;
		uint8_t st;
		shm_row(t, row, buf, sizeof buf, &st);
		tm_putn(s, y + i, 0, st, buf, s->w);
		if (row == l->cur)
			tm_mark(s, y + i, 0, s->w, TM_CURSOR);
	}
}

static void shm_select(struct tui *t)
{
	uint64_t row = t->shm.list.cur;
	if (row < t->shm.lines.n) {
		tui_message(t, TM_DIM, "Enter on a row of the page-number array opens that frame");
		return;
	}
	tui_open_frame(t, (uint32_t)(row - t->shm.lines.n + 1));
}

static void shm_row_text(struct tui *t, uint64_t row, char *buf, size_t n)
{
	uint8_t st;
	shm_row(t, row, buf, n, &st);
}

static void shm_go(struct tui *t, uint32_t n)
{
	uint32_t nidx = tm_shm_index_rows(&t->m);
	if (!n || n > nidx) {
		tui_message(t, TM_WARNING, "the page-number array lists frames 1..%u", nidx);
		return;
	}
	tui_push(t);
	tm_list_goto(&t->shm.list, t->shm.lines.n + n - 1);
}

static struct tm_list *shm_list(struct tui *t)
{
	return &t->shm.list;
}

const struct tui_view tui_view_shm = {
	.title = "shm", .open = shm_open, .draw = shm_draw, .select = shm_select,
	.row_text = shm_row_text, .go = shm_go, .list = shm_list, .close = shm_close,
};
