/*
 * scan_int.h — what scan.c (workers, analysis, output) and scan_walk.c
 * (finding inputs and grouping files) share.  Not a public interface.
 */
#ifndef WALDO_SCAN_INT_H
#define WALDO_SCAN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "scan.h"
#include "../formats/diag.h"

/* The four files of one database, in wf_set order. */
enum { S_DB = 0, S_WAL, S_SHM, S_JOURNAL, S_N };

/* What the first bytes of a file (or of its inflated content) are. */
enum sniff_kind {
	SK_UNKNOWN = 0, SK_EMPTY, SK_DB, SK_WAL, SK_SHM, SK_JOURNAL, SK_TAR, SK_GZIP,
	SK_GZIP_BROKEN,          /* gzip whose first bytes do not inflate */
};

enum sniff_kind scan_sniff(const uint8_t *p, size_t n);

/* A file of a group found on disk: read in place, or inflated (.gz). */
struct src {
	char *path;              /* filesystem path; NULL: slot not looked for */
	char *display;           /* printed path */
	bool gz;                 /* gzip: inflate into memory */
	bool absent;             /* looked for, not there */
};

enum unit_kind {
	U_GROUP,                 /* db/-wal/-shm/-journal files on disk */
	U_ARCHIVE,               /* a tar, tar.gz, or a gzip file read as a stream */
	U_CHAIN,                 /* a series of WAL files in one folder */
	U_NOTE,                  /* a problem found while walking (one finding) */
};

struct rec;

struct unit {
	enum unit_kind kind;
	char *key;               /* display path: sort, dedupe and shard key */
	bool named;              /* named by the user: an unreadable one means exit 66 */
	struct src slot[S_N];    /* U_GROUP; U_ARCHIVE uses slot[0] */
	struct src *chain;       /* U_CHAIN members */
	size_t nchain;
	struct src base;         /* U_CHAIN: the folder's one database, if any */
	char *pattern;           /* U_CHAIN: the series' display path ("dir/wal-*") */
	enum wd_code code;       /* U_NOTE */
	enum wd_severity sev;
	char *msg;
	bool noinput;            /* U_NOTE: an input that could not be read at all */
	/* results, under the context lock */
	struct rec **recs;
	size_t nrecs, caprecs;
	unsigned outstanding;
	bool done;
};

/* Inputs found by walking: a growing list of units. */
struct unit_list {
	struct unit **v;
	size_t n, cap;
	bool oom;
};

struct walk_opts {
	bool recursive;
};

/*
 * Walk one input (a file or a directory named by the user) and append its
 * units.  Never follows a symbolic link found inside a directory unless it
 * stays inside that directory; detects loops by device and inode; lists
 * each folder in byte order.  Problems become U_NOTE units.
 */
void scan_walk_input(const char *path, const struct walk_opts *o, struct unit_list *out);
void scan_unit_free(struct unit *u);
/* Append a U_NOTE unit. */
void scan_note(struct unit_list *l, const char *key, enum wd_code code, enum wd_severity sev,
	       bool noinput, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
char *scan_strdup(const char *s);
char *scan_join(const char *dir, const char *name);
/* Display form of a path for messages (escaped, cut to fit n). */
const char *scan_esc(const char *s, char *buf, size_t n);

#endif
