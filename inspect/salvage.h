/*
 * salvage.h — commit groups SQLite will not see, and the states they imply.
 *
 * SQLite reads a WAL only up to its first invalid frame (walIndexRecover).
 * Past that point a WAL can still hold whole transactions: the commits after
 * a checksum break, frames of an earlier WAL generation left behind by a
 * restart (stale salts), or every frame of a WAL whose header SQLite
 * rejected.  salvage_find collects them as "commit groups" — runs of frames
 * with one pair of salts that end in a commit frame — and numbers them after
 * the commits SQLite sees, so that state K > model_ncommits() means: the
 * last state SQLite would show, with salvage groups 1..K-ncommits applied on
 * top in file order (the newest frame of a page wins).
 *
 * When the database file's header is destroyed SQLite opens nothing, and
 * the model sees no commit; then every commit group of the WAL, from frame
 * 1, is a salvage group, so that the database can be rebuilt from the WAL's
 * copy of page 1.
 *
 * These states are NOT something SQLite ever showed anybody as a whole; see
 * docs/timetravel.md for what they can and cannot be trusted for.
 */
#ifndef WALDO_SALVAGE_H
#define WALDO_SALVAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum salvage_kind {
	SALVAGE_AFTER_BREAK = 0, /* the header's salts, behind a checksum break or a page-0 frame */
	SALVAGE_STALE,           /* other salts: an earlier WAL generation (before a restart) */
	SALVAGE_NO_HEADER,       /* the WAL header is invalid, so SQLite reads none of the WAL */
	SALVAGE_NO_DATABASE,     /* the database header is invalid: SQLite opens nothing at all,
				  * but the WAL's commits (with their copy of page 1) remain */
};

struct salvage_group {
	uint32_t first, last;    /* 1-based frames; `last` is the commit frame */
	uint32_t db_size;        /* commit size of `last`: database pages after it */
	uint32_t salt1, salt2;   /* the group's salts (all its frames carry them) */
	uint32_t nverified;      /* frames whose stored checksum continues the stored
				  * checksum of the frame before them */
	bool whole;              /* the frame before `first` ends a transaction of the
				  * same salts (or first == 1): the start is not lost */
	enum salvage_kind kind;
};

struct salvage {
	const struct model *m;
	uint32_t base;           /* model_ncommits(m): salvage commit i is base + i */
	struct salvage_group *g; /* ng groups, owned, in frame order */
	uint32_t ng;
	uint32_t *frame_group;   /* per frame (index f-1): 1-based group or 0; owned */
	uint32_t nframes_outside;/* frames past the last valid commit in no group */
	uint32_t nskipped;       /* groups dropped: implausible database size */
};

/*
 * Find the commit groups of m's WAL past its last valid commit.  Nothing is
 * found (ng == 0) when the model has no WAL whose page size matches the
 * database.  Returns 0, or -1 (out of memory, err set).  Always call
 * salvage_free.
 */
int salvage_find(const struct model *m, struct salvage *s, char *err, size_t errlen);
void salvage_free(struct salvage *s);

/* Commits SQLite sees plus salvage groups: the largest valid K. */
uint32_t salvage_ncommits(const struct salvage *s);
/* The group behind commit k (k > base), NULL for k <= base or out of range. */
const struct salvage_group *salvage_group_of(const struct salvage *s, uint32_t k);
/* The 1-based salvage commit number that frame f ends or belongs to; 0 if none. */
uint32_t salvage_commit_of_frame(const struct salvage *s, uint32_t f);

/* Database pages in state k (any k up to salvage_ncommits). */
uint32_t salvage_npages(const struct salvage *s, uint32_t k);
/*
 * Page pgno in state k: for k <= base exactly model_page(); beyond, the
 * newest frame of salvage groups 1..k-base holding it, else model_page at
 * base.  *frame (may be NULL) gets the frame or 0 for the database file.
 */
const uint8_t *salvage_page(const struct salvage *s, uint32_t k, uint32_t pgno, uint32_t *frame);

/*
 * Write state k as a standalone rollback-mode database at `path` (created,
 * must not exist), like materialize_state but reading through
 * salvage_page: page 1 gets read/write versions 1 and a trusted in-header
 * size; pages no file holds become zeros, counted in *missing.  fsyncs the
 * file.  Returns 0, or -1 with err set (the partial file is removed).
 */
int salvage_materialize(const struct salvage *s, uint32_t k, const char *path, uint32_t *missing,
			char *err, size_t errlen);


/*
 * Pages of state k (k <= the commits SQLite sees) that come from the
 * database file although a committed frame after commit k holds the very
 * same bytes: the checkpointer most likely copied that later version into
 * the file, so the file no longer holds the page as it was at commit k, and
 * state k mixes times.  0 means state k is exact as far as the files can
 * tell.
 */
uint32_t salvage_count_newer_pages(const struct model *m, uint32_t k);

/*
 * Distinct page numbers among WAL frames first..last (1-based, inclusive,
 * clamped to the frames present); 0 when out of memory.
 */
uint32_t salvage_count_pages(const struct model *m, uint32_t first, uint32_t last);

/* "after-break", "stale", "no-header" or "no-database". */
const char *salvage_kind_name(enum salvage_kind k);
/* One line on why SQLite drops this kind of group. */
const char *salvage_kind_reason(enum salvage_kind k);

#endif
