/*
 * files.c — read-only mapping of a database and its siblings.
 *
 * Files are opened O_RDONLY|O_NONBLOCK|O_NOCTTY (a FIFO or a device must
 * not block us), checked with fstat to be regular files, and mapped with
 * mmap(PROT_READ, MAP_PRIVATE): large WALs are never copied to the heap.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../formats/bytes.h"
#include "../formats/journal.h"
#include "../formats/wal.h"
#include "../formats/shm.h"
#include "../formats/dbheader.h"

static const uint8_t empty_map[1];

int wf_open(struct wf_file *f, const char *path, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	f->path = strdup(path);
	if (!f->path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &f->st) < 0) {
		snprintf(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(f->st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", path);
		close(fd);
		return -1;
	}
	f->size = (uint64_t)f->st.st_size;
	if (f->size == 0) {
		f->data = empty_map;
	} else {
		if (f->size > SIZE_MAX) {
			snprintf(err, errlen, "'%s' is too large to map (%llu bytes)", path,
				 (unsigned long long)f->size);
			close(fd);
			return -1;
		}
		void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			snprintf(err, errlen, "cannot map '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		f->data = m;
	}
	f->fd = fd;
	f->present = true;
	return 0;
}

void wf_close(struct wf_file *f)
{
	if (f->present && f->size && !f->borrowed)
		munmap((void *)f->data, (size_t)f->size);
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	memset(f, 0, sizeof *f);
	f->fd = -1;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

enum wf_kind wf_sniff(const uint8_t *p, uint64_t n, const char *name)
{
	if (n == 0)
		return WF_EMPTY;
	if (n >= 16 && !memcmp(p, DBH_MAGIC, 16))
		return WF_DB;
	if (n >= 4 && (rd_be32(p) & ~1u) == WAL_MAGIC)
		return WF_WAL;
	if (n >= 8 && !memcmp(p, jrnl_magic, 8))
		return WF_JOURNAL;
	if (n >= 4 && (rd_le32(p) == SHM_VERSION || rd_be32(p) == SHM_VERSION))
		return WF_SHM;
	if (name && ends_with(name, "-shm"))
		return WF_SHM;
	if (name && ends_with(name, "-journal"))
		return WF_JOURNAL;
	if (name && ends_with(name, "-wal"))
		return WF_WAL;
	return WF_UNKNOWN;
}

const char *wf_kind_name(enum wf_kind k)
{
	static const char *names[] = { "missing", "empty", "unknown", "database", "wal", "shm", "journal" };
	return (unsigned)k < sizeof names / sizeof *names ? names[k] : "unknown";
}

/* Open `path` into f; a missing file is not an error (present stays false). */
static int open_optional(struct wf_file *f, const char *path, char *err, size_t errlen)
{
	int rc = wf_open(f, path, err, errlen);
	return rc < 0 ? -1 : 0;
}

static char *with_suffix(const char *base, const char *suffix)
{
	size_t a = strlen(base), b = strlen(suffix);
	char *s = malloc(a + b + 1);
	if (s) {
		memcpy(s, base, a);
		memcpy(s + a, suffix, b + 1);
	}
	return s;
}

int wf_set_open(struct wf_set *s, const char *path, const char *wal_path, const char *shm_path,
		char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (errlen)
		err[0] = '\0';
	s->db.fd = s->wal.fd = s->shm.fd = s->journal.fd = -1;
	struct wf_file given;
	int rc = wf_open(&given, path, err, errlen);
	if (rc == 1) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(ENOENT));
		wf_close(&given);
		return -1;
	}
	if (rc < 0) {
		wf_close(&given);
		return -1;
	}
	enum wf_kind k = wf_sniff(given.data, given.size, path);
	/* An empty or unknown file is taken as the database the user named. */
	if (k == WF_EMPTY || k == WF_UNKNOWN)
		k = ends_with(path, "-wal") ? WF_WAL : ends_with(path, "-shm") ? WF_SHM : WF_DB;
	s->given = k;

	/* The database base name: PATH itself, or PATH without its sibling suffix. */
	char *base = strdup(path);
	if (!base) {
		wf_close(&given);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *sfx = k == WF_WAL ? "-wal" : k == WF_SHM ? "-shm" : k == WF_JOURNAL ? "-journal" : NULL;
	bool have_base = k == WF_DB;
	if (sfx && ends_with(base, sfx)) {
		base[strlen(base) - strlen(sfx)] = '\0';
		have_base = true;
	}

	struct wf_file *slot = k == WF_WAL ? &s->wal : k == WF_SHM ? &s->shm
			     : k == WF_JOURNAL ? &s->journal : &s->db;
	*slot = given;

	int ret = 0;
	char *p;
	if (have_base && !s->db.path) {
		if (open_optional(&s->db, base, err, errlen) < 0)
			ret = -1;
	}
	if (!ret && !s->wal.path) {
		p = wal_path ? strdup(wal_path) : have_base ? with_suffix(base, "-wal") : NULL;
		if (p && (wal_path ? wf_open(&s->wal, p, err, errlen) != 0 : open_optional(&s->wal, p, err, errlen) < 0)) {
			if (wal_path && !s->wal.present && !err[0])
				snprintf(err, errlen, "cannot open '%s': %s", p, strerror(ENOENT));
			ret = -1;
		}
		free(p);
	}
	if (!ret && !s->shm.path) {
		p = shm_path ? strdup(shm_path) : have_base ? with_suffix(base, "-shm") : NULL;
		if (p && (shm_path ? wf_open(&s->shm, p, err, errlen) != 0 : open_optional(&s->shm, p, err, errlen) < 0)) {
			if (shm_path && !s->shm.present && !err[0])
				snprintf(err, errlen, "cannot open '%s': %s", p, strerror(ENOENT));
			ret = -1;
		}
		free(p);
	}
	if (!ret && !s->journal.path && have_base) {
		p = with_suffix(base, "-journal");
		if (p && open_optional(&s->journal, p, err, errlen) < 0)
			ret = -1;
		free(p);
	}
	free(base);
	if (ret)
		wf_set_close(s);
	return ret;
}

void wf_set_close(struct wf_set *s)
{
	wf_close(&s->db);
	wf_close(&s->wal);
	wf_close(&s->shm);
	wf_close(&s->journal);
}

static int mem_one(struct wf_file *f, const struct wf_mem *src)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	if (!src)
		return 0;
	f->path = strdup(src->path ? src->path : "");
	if (!f->path)
		return -1;
	if (!src->data)
		return 0;
	f->present = true;
	f->borrowed = true;
	f->size = src->size;
	f->data = src->size ? src->data : empty_map;
	f->st.st_size = (off_t)src->size;
	f->st.st_mode = S_IFREG | 0444;
	return 0;
}

int wf_set_from_mem(struct wf_set *s, const struct wf_mem *db, const struct wf_mem *wal,
		    const struct wf_mem *shm, const struct wf_mem *journal, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (errlen)
		err[0] = '\0';
	int rc = mem_one(&s->db, db) | mem_one(&s->wal, wal) | mem_one(&s->shm, shm) |
		 mem_one(&s->journal, journal);
	s->given = db ? WF_DB : WF_WAL;
	if (rc) {
		snprintf(err, errlen, "out of memory");
		wf_set_close(s);
		return -1;
	}
	return 0;
}
