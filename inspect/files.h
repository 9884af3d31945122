/*
 * files.h — find and map a database's files read-only: the database, its
 * -wal, -shm and -journal.  Nothing here ever opens a file for writing.
 *
 * A mapped file that another process cuts short while it is read would
 * raise SIGBUS on the pages past its new end.  files.c catches that for its
 * own mappings: the pages from the faulting one to the end of the mapping
 * become zeros, the file is marked as changed, and the program goes on;
 * wf_set_check_changed turns that (and a size, time or inode that moved
 * since the open) into an INPUT_CHANGED finding.  A page the file still
 * covers that cannot be read (EIO: a bad sector) becomes zeros alone and an
 * INPUT_UNREADABLE finding.
 */
#ifndef WALDO_FILES_H
#define WALDO_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>

enum wf_kind { WF_MISSING = 0, WF_EMPTY, WF_UNKNOWN, WF_DB, WF_WAL, WF_SHM, WF_JOURNAL };

struct wf_file {
	char *path;             /* owned; NULL when no file was looked for */
	bool present;           /* the file exists and is mapped */
	const uint8_t *data;    /* read-only mapping (never NULL when present) */
	uint64_t size;
	struct stat st;
	int fd;
	bool borrowed;          /* data belongs to the caller (wf_set_from_mem): never unmapped */
	int guard;              /* slot of the SIGBUS guard + 1, 0 when not guarded */
};

struct wf_set {
	struct wf_file db, wal, shm, journal;
	enum wf_kind given;     /* what the PATH argument turned out to be */
};

/*
 * Map `path` read-only.  Returns 0 and fills f; 1 when the file does not
 * exist (f->present false); -1 with a message in err ("cannot open 'x': …",
 * also for directories, FIFOs and devices, which are refused).
 */
int wf_open(struct wf_file *f, const char *path, char *err, size_t errlen);
void wf_close(struct wf_file *f);

/*
 * The SIGBUS guard for a read-only mapping [p, p + len) made elsewhere (the
 * mappings of wf_open are guarded already): wf_guard_add returns a slot
 * (> 0), or 0 when all WF_GUARDS slots are taken (the mapping is then not
 * guarded); fd is the file mapped from offset 0, or -1 (memory: any fault
 * is a cut); wf_guard_remove before munmap; wf_guard_cut tells whether
 * pages of it were replaced with zeros because the file was cut short;
 * wf_guard_unreadable how many pages the file still covers could not be
 * read (each replaced with zeros), *first the lowest one's offset.
 * Installs the handler on first use.
 */
int wf_guard_add(const void *p, uint64_t len, int fd);
void wf_guard_remove(int slot);
bool wf_guard_cut(int slot);
unsigned wf_guard_unreadable(int slot, uint64_t *first);

/*
 * Did f change since it was opened?  True when pages of its mapping had to
 * be replaced with zeros (the file was cut short under it: *cut set), or
 * when its size, modification or status-change time moved, or its path now
 * names another file or nothing; `why` (may be NULL) says what in a few
 * words.  False for buffers (wf_set_from_mem).
 */
bool wf_changed(const struct wf_file *f, bool *cut, char *why, size_t n);

/* How many pages of f could not be read (wf_guard_unreadable), *first the lowest one's offset. */
unsigned wf_unreadable(const struct wf_file *f, uint64_t *first);

/*
 * Append an INPUT_CHANGED finding for each file of s that changed while it
 * was read (wf_changed): a warning, an error when bytes were read as zeros
 * because the file was cut short; and an INPUT_UNREADABLE error, with the
 * offset of the first page, for a file with pages that could not be read.
 * Call it when the work on s is done.
 */
struct wd_diags;
void wf_set_check_changed(const struct wf_set *s, struct wd_diags *d);

/*
 * The offset of the first byte of data at or after `off` (SEEK_DATA): a hole
 * reads as zeros without being stored.  f->size when nothing but holes
 * follow; `off` itself when the file system cannot tell (or f is a buffer).
 */
uint64_t wf_data_after(const struct wf_file *f, uint64_t off);

/* Recognise a file by content (and by name suffix only for an ambiguous -shm). */
enum wf_kind wf_sniff(const uint8_t *p, uint64_t n, const char *name);
const char *wf_kind_name(enum wf_kind k);

/*
 * Open PATH and its siblings.  PATH may be a database (siblings PATH-wal,
 * PATH-shm, PATH-journal), or a WAL, -shm or journal file recognised by
 * content; when its name ends in -wal/-shm/-journal the database and other
 * siblings are looked up by name.  `wal_path`/`shm_path` (may be NULL)
 * override the sibling names.  Returns 0, or -1 with err set (exit 66).
 */
int wf_set_open(struct wf_set *s, const char *path, const char *wal_path, const char *shm_path,
		char *err, size_t errlen);
void wf_set_close(struct wf_set *s);

/* One caller-owned buffer for wf_set_from_mem. */
struct wf_mem {
	const char *path;       /* display name, copied (e.g. "backup.tar.gz:srv/app.db") */
	const uint8_t *data;    /* NULL: the file was looked for and is absent */
	uint64_t size;
};

/*
 * Fill s from caller-owned buffers instead of files (archive members,
 * decompressed files).  Each argument may be NULL (not looked for).  The
 * buffers must outlive s; wf_set_close frees only the path copies (fd is
 * -1, st holds only st_size and a regular-file st_mode, `borrowed` is
 * set).  `given` becomes WF_DB when db is given, else WF_WAL.  Returns 0,
 * or -1 with err set (out of memory).
 */
int wf_set_from_mem(struct wf_set *s, const struct wf_mem *db, const struct wf_mem *wal,
		    const struct wf_mem *shm, const struct wf_mem *journal, char *err, size_t errlen);

#endif
