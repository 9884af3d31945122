/*
 * scan.h — `waldo scan`: find every SQLite database in directories, gzip
 * files and tar archives, run inspect's analysis on each (in parallel), and
 * print one line or one NDJSON object per database.  Reference:
 * docs/scan.md.
 */
#ifndef WALDO_SCAN_H
#define WALDO_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SCAN_MAX_MEMBER_DEFAULT (256ull << 20)   /* per-member memory cap */
#define SCAN_MAX_RATIO_DEFAULT 200               /* inflated : compressed bytes */

struct scan_opts {
	bool json;               /* NDJSON records instead of text lines */
	bool unordered;          /* print records as they complete */
	bool recursive;          /* descend into subdirectories */
	bool sqlite;             /* PRAGMA integrity_check on each final state (default on) */
	bool verbose;            /* text: each finding's message under its line */
	bool quiet;              /* no summary, no progress */
	bool null_sep;           /* --files-from entries end with NUL, not newline */
	int progress;            /* -1 when stderr is a terminal, 0 never, 1 always */
	unsigned jobs;           /* worker threads (0: number of cores) */
	unsigned shard_i, shard_n;   /* this is share shard_i (1-based) of shard_n; 0/0: all */
	uint64_t max_member;     /* bytes of one decompressed member held in memory */
	uint64_t max_memory;     /* bytes of member data held at once (0: 4 x max_member, at least 1 GiB) */
	uint64_t max_ratio;      /* decompression-ratio cap (0: none) */
	const char *files_from;  /* file of input paths, "-" for stdin; NULL for none */
};

void scan_opts_default(struct scan_opts *o);

/*
 * Scan the inputs (paths, then those of o->files_from), printing records to
 * out and the summary / progress to err.  Returns the exit status: the
 * worst status over every record (0, 1, 2), 66 when an input named by the
 * user (or the --files-from file) could not be read at all, 70 when memory
 * runs out.
 */
int scan_run(const struct scan_opts *o, int npaths, char *const *paths, FILE *out, FILE *err);

/*
 * Tests only: called with a database's path after its files were mapped
 * and before they are read, so that a test can change them in between.
 */
extern void (*scan_test_after_map)(const char *path);

/* "1/4" -> 1, 4; returns 0, or -1 when malformed (i must be 1..n). */
int scan_parse_shard(const char *s, unsigned *i, unsigned *n);
/* "256M", "1G", "4096", "64k" -> bytes; -1 when malformed. */
int scan_parse_size(const char *s, uint64_t *out);
/* FNV-1a 64 of a path: which shard a unit belongs to. */
uint64_t scan_shard_hash(const char *s);

#endif
