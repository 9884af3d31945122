/*
 * model.h — one database as SQLite would see it, built from its files.
 *
 * model_open maps the database, -wal, -shm and -journal (read-only), runs
 * every parser over them, and indexes the page versions the WAL holds, so
 * that any state — the database file alone, or the state as of commit K of
 * the WAL — can be read page by page without copying anything.  inspect,
 * log, history, extract, hash and diff all read through this one model.
 */
#ifndef WALDO_MODEL_H
#define WALDO_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "files.h"
#include "../formats/dbheader.h"
#include "../formats/diag.h"
#include "../formats/journal.h"
#include "../formats/shm.h"
#include "../formats/wal.h"

#define MODEL_LAST UINT32_MAX   /* "the last commit SQLite would see" */

struct model {
	struct wf_set files;
	struct wd_diags diags;       /* what the parsers reported, in file order */

	bool has_db;                 /* database file present and non-empty */
	bool db_ok;                  /* its header parsed (magic ok) */
	struct db_header dbh;
	uint32_t page_size;          /* the database's page size, else the WAL's, else 0 */
	uint64_t db_pages;           /* whole pages in the database file */

	bool has_wal;
	struct wal_walk wal;
	bool wal_usable;             /* WAL frames can be combined with the database */

	bool has_shm;
	struct shm_info shm;

	bool has_journal;
	struct jrnl_header jrnl;

	/* page-version index over every whole frame whose page number is plausible */
	uint32_t idx_maxpg;
	uint32_t *idx_start;         /* idx_maxpg + 2 offsets into idx_frames */
	uint32_t *idx_frames;        /* frame numbers grouped by page, ascending */
};

/*
 * Open PATH (a database, or a -wal/-shm/-journal beside one) with optional
 * explicit WAL/-shm paths.  Returns 0, or -1 with err set (exit 66).  Always
 * call model_close, also after a failure.
 */
int model_open(struct model *m, const char *path, const char *wal_path, const char *shm_path,
	       char *err, size_t errlen);
/*
 * The same over files already opened (wf_set_open, or wf_set_from_mem for
 * buffers that are not files).  Takes ownership of *s: its contents move
 * into m->files and *s is cleared, also on failure.  Returns 0, or -1 with
 * err set; always call model_close.
 */
int model_open_set(struct model *m, struct wf_set *s, char *err, size_t errlen);
void model_close(struct model *m);

/* Number of committed transactions SQLite would see. */
uint32_t model_ncommits(const struct model *m);
/* Resolve MODEL_LAST and clamp: returns a commit number in 0..ncommits. */
uint32_t model_commit(const struct model *m, uint32_t k);
/* Last frame of commit k (0 for the database file alone). */
uint32_t model_commit_frame(const struct model *m, uint32_t k);
/*
 * Size in pages of the state as of commit k: the commit's database size, or
 * for k == 0 the in-header size when SQLite trusts it, else the file's pages
 * (a partial last page counts, as in SQLite's pagerPagecount).
 */
uint32_t model_npages(const struct model *m, uint32_t k);

/*
 * Could the files back a state of `npages` pages?  A commit cannot make the
 * database larger than the file's pages plus one page per frame, and a
 * little room (1 GiB) for pages of zeros; anything beyond is a damaged
 * size field, and no loop or file is ever sized from it.
 */
bool model_size_plausible(const struct model *m, uint64_t npages);

/* Newest frame F with min_frame < F <= max_frame holding pgno; 0 if none. */
uint32_t model_find_frame(const struct model *m, uint32_t pgno, uint32_t min_frame, uint32_t max_frame);
/* Every frame (any state) that holds pgno, ascending; *n gets the count. */
const uint32_t *model_page_frames(const struct model *m, uint32_t pgno, uint32_t *n);

/* Page bytes in WAL frame f (page_size bytes), NULL if out of range. */
const uint8_t *model_frame_page(const struct model *m, uint32_t f);
/* Page pgno of the database file, NULL when the file does not hold all of it. */
const uint8_t *model_db_page(const struct model *m, uint32_t pgno);
/*
 * Page pgno as of commit k: the newest frame of the valid prefix up to that
 * commit's frame, else the database file.  *frame (may be NULL) gets the
 * frame number or 0 for the file.  NULL when no file holds the page.
 */
const uint8_t *model_page(const struct model *m, uint32_t k, uint32_t pgno, uint32_t *frame);

/* One state of a model as a page source for callbacks (b-tree walkers, writers). */
struct model_state {
	const struct model *m;
	uint32_t k;
};
/* model_page(ctx->m, ctx->k, pgno, NULL), with the callback signature. */
const uint8_t *model_state_page(void *ctx, uint32_t pgno);

#endif
