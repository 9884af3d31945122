/*
 * tuimodel.h — what `waldo tui` shows, without ncurses.
 *
 * The TUI (tui/) draws into a `struct tm_screen`, a grid of characters and
 * styles, and only tui/display.c copies that grid to the terminal.  This
 * file holds everything between the inspect model and that grid: the rows
 * of each view formatted from the very structs inspect uses (model.h,
 * checks.h, btree.h, schema.h, shm.h, locks.h), a scrolling list, a hex
 * row painter and a byte diff.  Nothing here parses a file a second time:
 * the WAL rows come from m->wal.frames one row at a time (a WAL of millions
 * of frames costs nothing until rows are drawn), page versions from
 * model_page_frames, findings from m->diags.  Unit tests link this file
 * (tests/unit/test_tui.c); the layout code in tui/ is tested through tmux.
 *
 * Text on the screen is ASCII: bytes outside printable ASCII in record
 * values are shown as \xNN, so a hostile database cannot send escape
 * sequences to the terminal.
 */
#ifndef WALDO_TUIMODEL_H
#define WALDO_TUIMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checks.h"
#include "locks.h"
#include "model.h"
#include "schema.h"
#include "../formats/btree.h"

/* --- the screen grid ------------------------------------------------------ */

/* What a cell means; tui/display.c maps each to a colour or, on monochrome
 * terminals and under NO_COLOR, to bold / reverse / underline. */
enum tm_style {
	TM_NORMAL = 0,
	TM_BAR,            /* top bar and status line */
	TM_TAB_ON,         /* the current view's tab */
	TM_HEAD,           /* column headings, section titles */
	TM_DIM,            /* secondary text */
	TM_OK,
	TM_INFO,
	TM_WARNING,
	TM_ERROR,
	TM_MARKER,         /* markers in a list: valid end, mxFrame, nBackfill, read marks */
	TM_COMMIT,         /* commit frames */
	TM_HIGHLIGHT,      /* the bytes of the selected field in the hex view */
	TM_DIFF,           /* bytes that differ between two versions */
	TM_PROMPT,         /* the `/` and `:` prompt */
	TM__NSTYLES
};
#define TM_CURSOR 0x80     /* flag on a style: the selected row */

struct tm_cell {
	char ch;           /* printable ASCII */
	uint8_t style;     /* enum tm_style, maybe | TM_CURSOR */
};

struct tm_screen {
	int w, h;
	struct tm_cell *cell;  /* h rows of w cells, owned */
};

/* (Re)size to w x h and clear; returns -1 when out of memory (the old grid stays). */
int tm_screen_resize(struct tm_screen *s, int w, int h);
void tm_screen_free(struct tm_screen *s);
void tm_clear(struct tm_screen *s);
/* Write text at (y, x), clipped to the row and to maxw columns (maxw < 0: no
 * limit); bytes that are not printable ASCII become '?'.  Returns the column
 * after the last one written. */
int tm_putn(struct tm_screen *s, int y, int x, uint8_t style, const char *text, int maxw);
int tm_put(struct tm_screen *s, int y, int x, uint8_t style, const char *text);
int tm_printf(struct tm_screen *s, int y, int x, uint8_t style, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void tm_fill(struct tm_screen *s, int y, int x, int n, uint8_t style, char ch);
/* OR `flag` into the style of n cells of row y from x (the cursor bar). */
void tm_mark(struct tm_screen *s, int y, int x, int n, uint8_t flag);
/* Text of row y, trailing blanks removed (tests and screen dumps). */
void tm_row_text(const struct tm_screen *s, int y, char *buf, size_t n);

/* --- a scrolling list ----------------------------------------------------- */

struct tm_list {
	uint64_t n;        /* rows */
	uint64_t cur;      /* selected row (0 when n == 0) */
	uint64_t top;      /* first row shown */
	int height;        /* rows shown */
};

/* Clamp cur into 0..n-1 and scroll so that it is shown. */
void tm_list_fix(struct tm_list *l);
void tm_list_move(struct tm_list *l, int64_t delta);
/* Select row i; when it is off screen, scroll it to a third of the height. */
void tm_list_goto(struct tm_list *l, uint64_t i);
/* Scroll by delta rows without moving past the ends; cur follows into view. */
void tm_list_scroll(struct tm_list *l, int64_t delta);

/* --- text helpers ----------------------------------------------------------- */

/* Copy len bytes as printable ASCII: other bytes as \xNN, quotes doubled when
 * quote != 0.  Always NUL-terminates; returns the length written. */
size_t tm_escape(char *out, size_t n, const uint8_t *p, size_t len, char quote);
/* Case-insensitive substring test (an empty pattern matches everything). */
bool tm_match(const char *text, const char *pat);
/* A record value as SQL-ish text: NULL, 42, 1.5, 'text', x'00ff'.  `rec`
 * holds nrec bytes of payload; values past it show as "?". */
void tm_value_text(char *buf, size_t n, const uint8_t *rec, size_t nrec, const struct bt_value *c,
		   uint32_t encoding);
/* Display style of a severity. */
uint8_t tm_severity_style(enum wd_severity s);
/* Short name of a frame state for the WAL list: "valid", "uncommitted", "BREAK", … */
const char *tm_frame_status(uint8_t state);
/* Committed transaction (1-based) holding frame f, or 0. */
uint32_t tm_txn_of_frame(const struct model *m, uint32_t f);

/* Lines of text with a style and, optionally, where Enter takes you. */
enum tm_target { TM_T_NONE = 0, TM_T_FRAME, TM_T_PAGE, TM_T_VIEW };
struct tm_jump {
	uint8_t kind;      /* enum tm_target */
	uint8_t view;      /* TM_T_VIEW: view number 1..6 */
	uint32_t frame;    /* TM_T_FRAME */
	uint32_t page;     /* TM_T_PAGE */
	int64_t offset;    /* TM_T_PAGE: byte offset within the page, or -1 */
};

struct tm_line {
	char *text;        /* owned */
	uint8_t style;
	int32_t finding;   /* index into m->diags, or -1 */
	struct tm_jump jump;
};

struct tm_lines {
	struct tm_line *v;
	size_t n, cap;
};

/* Append one line (not wrapped). */
void tm_lines_add(struct tm_lines *l, uint8_t style, const struct tm_jump *j, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Append text word-wrapped to `width` columns, continuation lines indented by
 * `indent` blanks; every piece carries the same style, finding and jump. */
void tm_lines_wrap(struct tm_lines *l, int width, int indent, uint8_t style, int32_t finding,
		   const struct tm_jump *j, const char *text);
void tm_lines_free(struct tm_lines *l);

/* --- view 1: overview ---------------------------------------------------- */

/* Where a finding points: its frame, else its page (with the offset inside
 * the page when it names a database-file offset), else its file's view. */
struct tm_jump tm_finding_jump(const struct model *m, const struct wd_diag *d);
/*
 * The overview for a screen `width` columns wide: each file's header fields
 * and summary, the state SQLite sees, readers, the status, every finding
 * (severity, code, where, message, action), and the `waldo repair` commands
 * the findings call for (shown, never run).
 */
void tm_overview_build(struct tm_lines *out, const struct model *m, const struct check_result *r,
		       const char *path, int width);

/* --- view 2: the WAL, one row per frame ----------------------------------- */

#define TM_WAL_MAXMARK 16
struct tm_wal_marker {
	uint32_t after;    /* the marker row follows frame `after` (0: before frame 1) */
	uint8_t style;
	char text[128];
};

struct tm_wal_rows {
	const struct model *m;
	uint32_t nframes;
	uint64_t nrows;    /* frames + markers */
	unsigned nmark;
	struct tm_wal_marker mark[TM_WAL_MAXMARK];  /* sorted by `after` */
};

/* Markers: the valid end, mxFrame (the WAL's and the -shm's), nBackfill and
 * every read mark in use, each placed after the frame it names. */
void tm_wal_rows_init(struct tm_wal_rows *r, const struct model *m);
/* The frame (1-based) shown on row `row`, or 0 for a marker row (*mark gets its index). */
uint32_t tm_wal_row_frame(const struct tm_wal_rows *r, uint64_t row, unsigned *mark);
/* The row that shows frame f (1..nframes). */
uint64_t tm_wal_frame_row(const struct tm_wal_rows *r, uint32_t f);
/* Column headings and a row, for a screen `width` columns wide (more columns when wider). */
void tm_wal_heading(int width, char *buf, size_t n);
void tm_wal_row_text(const struct tm_wal_rows *r, uint64_t row, int width, char *buf, size_t n,
		     uint8_t *style);

/* --- view 3: one page decoded ------------------------------------------- */

/*
 * What the pages of the current state (the last commit SQLite sees) are for:
 * sqlite_schema and the page accounting, computed once when the page view
 * is first opened, and the page source that reads overflow chains.
 */
struct tm_state_src {
	const struct model *m;
	uint32_t k;
};
struct tm_roles {
	bool ok;                     /* schema and accounting available */
	struct tm_state_src ss;
	struct sc_source src;        /* reads through ss: do not copy a tm_roles */
	bool have_dbh;
	struct db_header dbh;        /* page 1 of the state */
	uint32_t usable, encoding, npages;
	struct sc_schema schema;
	struct sc_account acct;
};
void tm_roles_compute(struct tm_roles *r, const struct model *m);
void tm_roles_free(struct tm_roles *r);

/* One line of the decoded page: the bytes it describes and where Enter goes. */
struct tm_item {
	char *text;                  /* owned */
	uint32_t off, len;           /* bytes of the page it describes (len 0: none) */
	uint8_t style;
	uint32_t link;               /* page to open on Enter (child, overflow, trunk), 0 none */
};

struct tm_page {
	uint32_t pgno;
	uint32_t frame;              /* 0: the database file's copy */
	bool present;                /* some file holds this version */
	uint32_t page_size;
	uint8_t *data;               /* private copy (page_size bytes), owned */
	char title[200];             /* version, state, role in one line */
	struct tm_item *item;
	size_t nitem, cap;
	struct wd_diags d;           /* what decoding the page found */
};

/*
 * Decode version `frame` (0: the database file) of page pgno into items:
 * source, role, database header fields (page 1), the b-tree header, cell
 * pointers, each cell with its rowid, child or record values and overflow
 * link, freeblocks and unallocated space; or a trunk's leaves, pointer-map
 * entries, an overflow page's link.  Findings about the page are the last
 * items.  Lines longer than `width` are wrapped (the items of one line
 * share its bytes).  Returns 0, or -1 when out of memory.
 */
int tm_page_decode(struct tm_page *p, const struct model *m, const struct tm_roles *roles,
		   uint32_t pgno, uint32_t frame, int width);
void tm_page_free(struct tm_page *p);
/* Index of the item describing byte `off` (the narrowest one), or 0. */
size_t tm_page_item_at(const struct tm_page *p, uint32_t off);

/* --- view 4: the versions of one page ---------------------------------- */

struct tm_versions {
	const struct model *m;
	uint32_t pgno;
	const uint32_t *fv;          /* frames holding pgno (model's index) */
	uint32_t nf;
	bool has_db;                 /* the database file holds the page */
	uint32_t n;                  /* versions: the file's copy first, then frames */
	uint32_t reads;              /* version SQLite reads (index), UINT32_MAX if none */
};
void tm_versions_init(struct tm_versions *v, const struct model *m, uint32_t pgno);
/* Frame of version i, 0 for the database file's copy. */
uint32_t tm_version_frame(const struct tm_versions *v, uint32_t i);
/* Index of the version held by frame f (0: the file), UINT32_MAX if none. */
uint32_t tm_version_index(const struct tm_versions *v, uint32_t f);
/* Bytes of version i; *size gets its length.  NULL if out of range. */
const uint8_t *tm_version_data(const struct tm_versions *v, uint32_t i, uint32_t *size);
/* "frame 16  committed  txn 4  sha 1a2b3c4d  leaf table  <- SQLite reads" */
void tm_version_text(const struct tm_versions *v, uint32_t i, char *buf, size_t n);

/*
 * Rows of `bpr` bytes where a and b differ (both `size` bytes).  Returns the
 * number of rows; *rows (malloc'd, caller frees; NULL when none) gets their
 * offsets and *nbytes the number of differing bytes.
 */
uint32_t tm_diff_rows(const uint8_t *a, const uint8_t *b, uint32_t size, unsigned bpr, uint32_t **rows,
		      uint32_t *nbytes);
/*
 * Paint one hex row at (y, x): offset, `bpr` bytes, ASCII.  Bytes in
 * [hl_off, hl_off+hl_len) get TM_HIGHLIGHT; bytes that differ from `other`
 * (may be NULL) get TM_DIFF.  `ascii` adds the character column.
 */
void tm_hex_row(struct tm_screen *s, int y, int x, const uint8_t *p, uint32_t size, uint32_t off,
		unsigned bpr, uint32_t hl_off, uint32_t hl_len, const uint8_t *other, bool ascii);
/* Columns tm_hex_row takes. */
int tm_hex_width(unsigned bpr, bool ascii);

/* --- view 5: the -shm ------------------------------------------------------ */

/* Header copies side by side (differences marked), checkpoint info with
 * what each read mark means against the WAL, lock bytes and their holders,
 * hash blocks. */
void tm_shm_build(struct tm_lines *out, const struct model *m, const struct lock_report *locks);
/* Frames the page-number array lists (rows after the fixed part). */
uint32_t tm_shm_index_rows(const struct model *m);
/* Row for frame f: the page the index records, the WAL's page, agreement. */
void tm_shm_index_text(const struct model *m, uint32_t f, char *buf, size_t n, uint8_t *style);

/* --- view 6: readers --------------------------------------------------------- */

#define TM_SAMPLES 60
struct tm_growth {
	uint64_t size[TM_SAMPLES];   /* WAL size, one sample per second, oldest first */
	unsigned n;
};
void tm_growth_add(struct tm_growth *g, uint64_t size);
/* Lock slots with marks and holders, processes, checkpoint progress, WAL growth. */
void tm_readers_build(struct tm_lines *out, const struct model *m, const struct lock_report *r,
		      const struct tm_growth *g, int width);

#endif
