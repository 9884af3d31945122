/*
 * tui.h — `waldo tui`: the state of the browser, its views and actions.
 *
 * Layering: tui/display.c and tui/keys.c are the only files that include
 * ncurses.  Everything else here draws into a struct tm_screen
 * (inspect/tuimodel.h) and reacts to actions, so the whole browser runs
 * the same whatever the terminal; display.c copies the grid to the screen
 * and turns keys, mouse events and KEY_RESIZE into calls below.
 *
 * Each view is a small vtable (struct tui_view): open, draw, key, select,
 * row_text (search) and go (`:N`).  Lists, search, goto, the back stack,
 * the help screen and the prompt are the same code for every view (app.c).
 */
#ifndef WALDO_TUI_H
#define WALDO_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../inspect/checks.h"
#include "../inspect/model.h"
#include "../inspect/tuimodel.h"

enum tui_action {
#define A(id, name, keys, help) ACT_##id,
#include "actions.def"
#undef A
	ACT__N
};

struct tui_action_info {
	const char *name, *keys, *help;
};
extern const struct tui_action_info tui_actions[ACT__N];

enum { V_OVERVIEW = 0, V_WAL, V_PAGE, V_HISTORY, V_SHM, V_READERS, TUI_NVIEWS };

struct tui;

struct tui_view {
	const char *title;                                   /* tab title */
	/* (Re)build from the model: at start, after a reload.  May be NULL. */
	void (*open)(struct tui *t);
	/* Draw the body: rows y .. y+h-1 of the screen. */
	void (*draw)(struct tui *t, struct tm_screen *s, int y, int h);
	/* Actions only this view knows; returns false to let the common code act. */
	bool (*key)(struct tui *t, enum tui_action a);
	/* Enter on the selected row. */
	void (*select)(struct tui *t);
	/* Text of a row, for `/` search. */
	void (*row_text)(struct tui *t, uint64_t row, char *buf, size_t n);
	/* `:N` with no f/p prefix. */
	void (*go)(struct tui *t, uint32_t n);
	/* The view's main list (cursor, scrolling). */
	struct tm_list *(*list)(struct tui *t);
	/* Free what open built.  May be NULL. */
	void (*close)(struct tui *t);
};
extern const struct tui_view *const tui_views[TUI_NVIEWS];
extern const struct tui_view tui_view_overview, tui_view_wal, tui_view_page, tui_view_history,
	tui_view_shm, tui_view_readers;

/* Where the back stack returns to. */
struct tui_pos {
	int view;
	uint64_t cur, top;
	uint32_t pgno, frame;
};
#define TUI_BACK_MAX 64

/* Keys of the `/` and `:` prompt, as display.c passes them. */
enum { TUI_K_ENTER = -2, TUI_K_ESC = -3, TUI_K_BACKSPACE = -4, TUI_K_KILL = -5 };

/* Mouse events, as display.c passes them. */
enum tui_mouse { TUI_M_CLICK, TUI_M_DOUBLE, TUI_M_WHEEL_UP, TUI_M_WHEEL_DOWN };

struct tui {
	/* inputs */
	const char *path, *wal_path, *shm_path;
	bool loaded;
	struct model m;
	struct check_result cr;
	bool integrity;              /* run PRAGMA integrity_check at the next load */
	bool locks;                  /* probe lock holders */

	/* screen */
	int w, h;
	int view;
	bool help;
	struct tm_list help_list;
	int list_y;                  /* screen row of the current list's first row (mouse clicks) */
	bool quit;

	/* prompt and messages */
	char prompt;                 /* 0, '/' or ':' */
	char input[128];
	size_t ninput;
	char pattern[128];           /* last search */
	char msg[256];
	uint8_t msg_style;

	struct tui_pos back[TUI_BACK_MAX];
	int nback;

	/* the current page and version, shared by the page and history views */
	uint32_t pgno;
	uint32_t frame;              /* 0: the database file's copy */

	struct {
		struct tm_lines lines;
		struct tm_list list;
		int width;
	} ov;
	struct {
		struct tm_wal_rows rows;
		struct tm_list list;
	} wal;
	struct {
		bool roles_done;
		struct tm_roles roles;   /* computed on first use; never copied */
		bool built;
		uint32_t built_pgno, built_frame;
		int built_width;
		struct tm_page page;
		struct tm_list list;
		uint64_t hex_top;        /* first hex row shown */
		bool hex_manual;         /* J/K moved the hex pane: do not follow the cursor */
		int64_t want_offset;     /* select the item at this offset after building, or -1 */
	} pg;
	struct {
		struct tm_versions v;
		uint32_t vpgno;
		struct tm_list list;
		uint32_t base;           /* diff base version index, UINT32_MAX: the one before the cursor */
		uint64_t diff_top;
	} hist;
	struct {
		struct tm_lines lines;
		struct tm_list list;
	} shm;
	struct {
		struct tm_lines lines;
		struct tm_list list;
		struct lock_report locks;
		struct tm_growth growth;
		int width;
	} rd;
};

/* app.c — the browser, without ncurses */
/* Open the files (model, checks) and build every view.  Returns 0, or -1
 * with a message in err (the previous state is kept on a reload). */
int tui_load(struct tui *t, char *err, size_t errlen);
void tui_unload(struct tui *t);
void tui_render(struct tui *t, struct tm_screen *s);
void tui_act(struct tui *t, enum tui_action a);
/* A key typed while the prompt is open (a character or TUI_K_*). */
void tui_prompt_key(struct tui *t, int ch);
/* Called about once a second while idle (the readers view refreshes). */
void tui_tick(struct tui *t);
void tui_mouse(struct tui *t, enum tui_mouse ev, int y, int x);
void tui_message(struct tui *t, uint8_t style, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Navigation used by the views. */
void tui_switch(struct tui *t, int view);            /* pushes the back stack */
void tui_push(struct tui *t);
void tui_open_page(struct tui *t, uint32_t pgno, int64_t frame, int64_t offset); /* frame -1: the one SQLite reads */
void tui_open_frame(struct tui *t, uint32_t f);       /* WAL view at frame f */
void tui_follow(struct tui *t, const struct tm_jump *j);
/* The version of pgno SQLite reads (frame, 0 for the file); the newest one held when it reads none. */
uint32_t tui_default_version(const struct tui *t, uint32_t pgno);
/* Body height of the main list of a view drawn with h rows and `chrome` fixed rows. */
void tui_list_height(struct tm_list *l, int h);
/* Draw a list of styled lines with the cursor (rows y..y+h-1). */
void tui_draw_lines(struct tm_screen *s, int y, int h, const struct tm_lines *lines, struct tm_list *l,
		    bool whole_finding);

/* page view helpers shared with the history view */
void tui_page_ensure(struct tui *t, int width);
void tui_roles_ensure(struct tui *t);

/* keys.c — ncurses key codes to actions */
int tui_keys_init(char *err, size_t errlen);
/* The action bound to an ncurses key code, or -1. */
int tui_key_action(int key);

/* display.c — run the browser on the terminal; returns the exit status. */
struct tui_display_opts {
	bool mouse;
	bool color;                  /* false: monochrome (NO_COLOR, --no-color) */
};
int tui_run(struct tui *t, const struct tui_display_opts *o);

#endif
