/*
 * display.c — the terminal: ncurses set-up, styles (colour, or bold /
 * reverse / underline on monochrome terminals and under NO_COLOR), copying
 * the tm_screen grid to the screen, and the input loop.  KEY_RESIZE is
 * handled here and nowhere else: the grid is resized and every view draws
 * itself again at the new size.
 */
#include <curses.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "tui.h"

static attr_t style_attr[TM__NSTYLES];
static volatile sig_atomic_t hangup;   /* SIGHUP or SIGTERM: leave the loop, restore the terminal */

static void on_hangup(int sig)
{
	(void)sig;
	hangup = 1;
}

/*
 * getch returns ERR both when the one-second timeout passes and when the
 * terminal is gone.  A terminal that hung up reports POLLHUP or POLLERR, or
 * keeps answering at once: then stop rather than spin.
 */
static bool input_gone(unsigned *fast)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
		return true;
	return ++*fast > 50;
}

enum { P_OK = 1, P_INFO, P_WARNING, P_ERROR, P_MARKER, P_HIGHLIGHT, P_DIFF, P_BAR, P_TAB, P_HEAD };

static void styles_init(bool color)
{
	/* Monochrome first: every style must be told apart without colour. */
	style_attr[TM_NORMAL] = A_NORMAL;
	style_attr[TM_BAR] = A_REVERSE;
	style_attr[TM_TAB_ON] = A_BOLD;
	style_attr[TM_HEAD] = A_BOLD;
	style_attr[TM_DIM] = A_DIM;
	style_attr[TM_OK] = A_NORMAL;
	style_attr[TM_INFO] = A_NORMAL;
	style_attr[TM_WARNING] = A_BOLD;
	style_attr[TM_ERROR] = A_BOLD | A_UNDERLINE;
	style_attr[TM_MARKER] = A_UNDERLINE;
	style_attr[TM_COMMIT] = A_BOLD;
	style_attr[TM_HIGHLIGHT] = A_REVERSE;
	style_attr[TM_DIFF] = A_BOLD | A_UNDERLINE;
	style_attr[TM_PROMPT] = A_BOLD;
	if (!color || !has_colors() || start_color() != OK)
		return;
	use_default_colors();
	init_pair(P_OK, COLOR_GREEN, -1);
	init_pair(P_INFO, COLOR_CYAN, -1);
	init_pair(P_WARNING, COLOR_YELLOW, -1);
	init_pair(P_ERROR, COLOR_RED, -1);
	init_pair(P_MARKER, COLOR_MAGENTA, -1);
	init_pair(P_HIGHLIGHT, COLOR_BLACK, COLOR_YELLOW);
	init_pair(P_DIFF, COLOR_RED, -1);
	init_pair(P_BAR, COLOR_BLACK, COLOR_CYAN);
	init_pair(P_TAB, COLOR_WHITE, COLOR_BLUE);
	init_pair(P_HEAD, COLOR_BLUE, -1);
	style_attr[TM_BAR] = COLOR_PAIR(P_BAR);
	style_attr[TM_TAB_ON] = COLOR_PAIR(P_TAB) | A_BOLD;
	style_attr[TM_HEAD] = COLOR_PAIR(P_HEAD) | A_BOLD;
	style_attr[TM_OK] = COLOR_PAIR(P_OK);
	style_attr[TM_INFO] = COLOR_PAIR(P_INFO);
	style_attr[TM_WARNING] = COLOR_PAIR(P_WARNING) | A_BOLD;
	style_attr[TM_ERROR] = COLOR_PAIR(P_ERROR) | A_BOLD;
	style_attr[TM_MARKER] = COLOR_PAIR(P_MARKER);
	style_attr[TM_HIGHLIGHT] = COLOR_PAIR(P_HIGHLIGHT);
	style_attr[TM_DIFF] = COLOR_PAIR(P_DIFF) | A_BOLD;
}

static attr_t attr_of(uint8_t style)
{
	attr_t a = style_attr[(style & ~TM_CURSOR) < TM__NSTYLES ? style & ~TM_CURSOR : TM_NORMAL];
	return style & TM_CURSOR ? a | A_REVERSE : a;
}

/* Copy the grid to the screen in runs of one style. */
static void blit(const struct tm_screen *s)
{
	char run[1024];
	for (int y = 0; y < s->h; y++) {
		int x = 0;
		while (x < s->w) {
			const struct tm_cell *c = &s->cell[(size_t)y * s->w + x];
			uint8_t st = c->style;
			int n = 0;
			while (x + n < s->w && n < (int)sizeof run - 1 && s->cell[(size_t)y * s->w + x + n].style == st) {
				run[n] = s->cell[(size_t)y * s->w + x + n].ch;
				n++;
			}
			attrset(attr_of(st));
			/* The last cell of the screen cannot be written without scrolling: leave it. */
			if (y == s->h - 1 && x + n == s->w)
				n--;
			if (n > 0)
				mvaddnstr(y, x, run, n);
			x += n > 0 ? n : 1;
		}
	}
	attrset(A_NORMAL);
}

static int prompt_key(int ch)
{
	switch (ch) {
	case '\n': case '\r': case KEY_ENTER: return TUI_K_ENTER;
	case 27: return TUI_K_ESC;
	case KEY_BACKSPACE: case 127: case 8: return TUI_K_BACKSPACE;
	case 21: return TUI_K_KILL;   /* ^U */
	default: return ch >= 0x20 && ch < 0x7f ? ch : 0;
	}
}

int tui_run(struct tui *t, const struct tui_display_opts *o)
{
	setlocale(LC_ALL, "");
	SCREEN *scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return -1;
	set_escdelay(25);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	styles_init(o->color);
	if (o->mouse) {
		mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED
#if NCURSES_MOUSE_VERSION > 1
			  | BUTTON5_PRESSED
#endif
			  , NULL);
		mouseinterval(200);
	}
	timeout(1000);   /* a tick a second: the readers view refreshes */
	struct tm_screen grid = { 0 };
	int h, w;
	getmaxyx(stdscr, h, w);
	if (tm_screen_resize(&grid, w, h)) {
		endwin();
		delscreen(scr);
		return -1;
	}
	struct sigaction sa = { .sa_handler = on_hangup };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	tui_tick(t);
	unsigned fast = 0;
	while (!t->quit && !hangup) {
		tui_render(t, &grid);
		erase();
		blit(&grid);
		refresh();
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int ch = getch();
		if (ch == ERR) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (hangup || (ms < 500 && input_gone(&fast)))
				break;
			if (ms >= 500)
				fast = 0;
			tui_tick(t);
			continue;
		}
		fast = 0;
		if (ch == KEY_RESIZE) {
			getmaxyx(stdscr, h, w);
			if (tm_screen_resize(&grid, w, h))
				break;
			clearok(curscr, TRUE);
			continue;
		}
		if (ch == KEY_MOUSE) {
			MEVENT e;
			if (getmouse(&e) != OK)
				continue;
			if (e.bstate & BUTTON4_PRESSED)
				tui_mouse(t, TUI_M_WHEEL_UP, e.y, e.x);
#if NCURSES_MOUSE_VERSION > 1
			else if (e.bstate & BUTTON5_PRESSED)
				tui_mouse(t, TUI_M_WHEEL_DOWN, e.y, e.x);
#endif
			else if (e.bstate & BUTTON1_DOUBLE_CLICKED)
				tui_mouse(t, TUI_M_DOUBLE, e.y, e.x);
			else if (e.bstate & BUTTON1_CLICKED)
				tui_mouse(t, TUI_M_CLICK, e.y, e.x);
			continue;
		}
		if (t->prompt) {
			int k = prompt_key(ch);
			if (k)
				tui_prompt_key(t, k);
			continue;
		}
		int a = tui_key_action(ch);
		if (a < 0) {
			tui_message(t, TM_DIM, "no action on this key: ? lists the keys");
			continue;
		}
		if (a == ACT_REDRAW)
			clearok(curscr, TRUE);
		tui_act(t, (enum tui_action)a);
	}
	tm_screen_free(&grid);
	endwin();
	delscreen(scr);
	return 0;
}
