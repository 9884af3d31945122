/*
 * files.h — find and map a database's files read-only: the database, its
 * -wal, -shm and -journal.  Nothing here ever opens a file for writing.
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
