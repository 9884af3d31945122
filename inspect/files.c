/*
 * files.c — read-only mapping of a database and its siblings.
 *
 * Files are opened O_RDONLY|O_NONBLOCK|O_NOCTTY (a FIFO or a device must
 * not block us), checked with fstat to be regular files, and mapped with
 * mmap(PROT_READ, MAP_PRIVATE): large WALs are never copied to the heap.
 *
 * Files that shrink under us.  A MAP_PRIVATE mapping still shows the file:
 * when another process truncates it (a checkpoint in TRUNCATE mode, a WAL
 * reset, a copy tool), touching a page past the new end raises SIGBUS,
 * whose default action ends the process.  Every mapping made here is
 * registered in a small table (guards[]), and a SIGBUS handler, installed
 * with the first mapping, looks the faulting address up: inside one of our
 * mappings, it maps anonymous zero pages over the faulting page and the
 * rest of that mapping (mmap MAP_FIXED: one system call, no further fault
 * there), marks the mapping as cut and returns, so the read goes on and
 * sees zeros, as a read past the end of a file would.  A page the file
 * still covers (fstat, async-signal-safe, says so) faulted for another
 * reason: the disk could not read it (EIO, a bad sector).  Then only that
 * page becomes zeros, the mapping stays the file's elsewhere, and the slot
 * counts the unreadable pages and keeps the lowest one's offset, for an
 * INPUT_UNREADABLE finding (HOSTILE E2).  Any other SIGBUS
 * goes to the handler that was there before ours, or ends the process as
 * it would have.  wf_changed and wf_set_check_changed report it, with what
 * fstat says moved, so that no command quietly mixes two versions of a
 * file.  mmap is not on POSIX's list of async-signal-safe functions but is
 * a plain system call on the systems we build for (Linux, the BSDs).
 * Parsers (formats/) know nothing of this: they read bytes.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../formats/diag.h"

#include "../formats/bytes.h"
#include "../formats/journal.h"
#include "../formats/wal.h"
#include "../formats/shm.h"
#include "../formats/dbheader.h"

static const uint8_t empty_map[1];

/* ---- SIGBUS guard ------------------------------------------------------ */

#define WF_GUARDS 64          /* mappings guarded at once; more are mapped unguarded */

static struct {
	atomic_int used;          /* slot claimed (before start is set, after it is cleared) */
	_Atomic uintptr_t start;  /* 0: nothing to look at */
	_Atomic uintptr_t len;
	atomic_int cut;           /* pages were replaced with zeros */
	atomic_int fd;            /* the mapped file (offset 0 at start), or -1 */
	atomic_uint bad;          /* pages the file covers that could not be read */
	_Atomic uint64_t bad_first;   /* offset of the lowest of them */
} guards[WF_GUARDS];

static struct sigaction guard_old;   /* the SIGBUS action before ours */
static uintptr_t guard_page = 4096;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

/* What SIGBUS would have done without us: the previous handler, or the default action. */
static void guard_pass_on(int sig, siginfo_t *si, void *uc)
{
	if ((guard_old.sa_flags & SA_SIGINFO) && guard_old.sa_sigaction) {
		guard_old.sa_sigaction(sig, si, uc);
		return;
	}
	if (!(guard_old.sa_flags & SA_SIGINFO) && guard_old.sa_handler != SIG_DFL &&
	    guard_old.sa_handler != SIG_IGN) {
		guard_old.sa_handler(sig);
		return;
	}
	/* Blocked until we return: then the default action ends the process
	 * (and a fault would recur at the same instruction anyway). */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	uintptr_t a = (uintptr_t)si->si_addr;
	for (int i = 0; i < WF_GUARDS; i++) {
		uintptr_t st = atomic_load(&guards[i].start), len = atomic_load(&guards[i].len);
		if (!st || a < st || a - st >= len)
			continue;
		uintptr_t from = a & ~(guard_page - 1), to = (st + len + guard_page - 1) & ~(guard_page - 1);
		struct stat fs;
		int fd = atomic_load(&guards[i].fd);
		bool unreadable = fd >= 0 && !fstat(fd, &fs) && fs.st_size > 0 && (uintptr_t)fs.st_size > a - st;
		if (unreadable)
			to = from + guard_page;
		void *m = mmap((void *)from, to - from, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED && unreadable) {
			uint64_t off = from > st ? from - st : 0, old = atomic_load(&guards[i].bad_first);
			while (off < old && !atomic_compare_exchange_weak(&guards[i].bad_first, &old, off))
				;
			atomic_fetch_add(&guards[i].bad, 1);
			errno = saved;
			return;
		}
		if (m != MAP_FAILED) {
			atomic_store(&guards[i].cut, 1);
			errno = saved;
			return;
		}
		break;
	}
	errno = saved;
	guard_pass_on(sig, si, uc);
}

static void guard_install(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	if (ps > 0)
		guard_page = (uintptr_t)ps;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = guard_on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &guard_old);
}

int wf_guard_add(const void *p, uint64_t len, int fd)
{
	pthread_once(&guard_once, guard_install);
	for (int i = 0; i < WF_GUARDS; i++) {
		int free_slot = 0;
		if (!atomic_compare_exchange_strong(&guards[i].used, &free_slot, 1))
			continue;
		/* len before start: the handler never sees a slot with a stale length */
		atomic_store(&guards[i].len, (uintptr_t)len);
		atomic_store(&guards[i].cut, 0);
		atomic_store(&guards[i].fd, fd);
		atomic_store(&guards[i].bad, 0);
		atomic_store(&guards[i].bad_first, UINT64_MAX);
		atomic_store(&guards[i].start, (uintptr_t)p);
		return i + 1;
	}
	return 0;
}

void wf_guard_remove(int slot)
{
	if (slot > 0 && slot <= WF_GUARDS) {
		atomic_store(&guards[slot - 1].start, 0);
		atomic_store(&guards[slot - 1].used, 0);
	}
}

bool wf_guard_cut(int slot)
{
	return slot > 0 && slot <= WF_GUARDS && atomic_load(&guards[slot - 1].cut);
}

unsigned wf_guard_unreadable(int slot, uint64_t *first)
{
	if (slot <= 0 || slot > WF_GUARDS)
		return 0;
	*first = atomic_load(&guards[slot - 1].bad_first);
	return atomic_load(&guards[slot - 1].bad);
}

unsigned wf_unreadable(const struct wf_file *f, uint64_t *first)
{
	return f->present && !f->borrowed ? wf_guard_unreadable(f->guard, first) : 0;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22   /* Linux 5.14; older kernels say EINVAL, which is ignored */
#endif
#define WF_POPULATE_MIN (16u << 20)

/*
 * Fault a WAL's whole mapping in with one call before the walk reads every
 * byte of it: one MADV_POPULATE_READ costs a sixth of the page faults that
 * reading it page by page takes (an 800 MB WAL: 2,400 faults instead of
 * 14,900, inspect a third faster; docs/performance.md).  Only for files
 * larger than WF_POPULATE_MIN whose blocks are all allocated, so that a
 * sparse WAL's hole is never read (HOSTILE W19); errors are ignored (a file
 * cut short meanwhile gives EFAULT, not SIGBUS).
 */
static void populate(const struct wf_file *f)
{
	if (f->present && !f->borrowed && f->size >= WF_POPULATE_MIN &&
	    (uint64_t)f->st.st_blocks * 512 >= f->size)
		(void)madvise((void *)f->data, (size_t)f->size, MADV_POPULATE_READ);
}

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
		f->guard = wf_guard_add(m, f->size, fd);
	}
	f->fd = fd;
	f->present = true;
	return 0;
}

void wf_close(struct wf_file *f)
{
	wf_guard_remove(f->guard);
	if (f->present && f->size && !f->borrowed)
		munmap((void *)f->data, (size_t)f->size);
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	memset(f, 0, sizeof *f);
	f->fd = -1;
}

bool wf_changed(const struct wf_file *f, bool *cut, char *why, size_t n)
{
	struct stat now;
	const char *w = NULL;
	*cut = wf_guard_cut(f->guard);
	if (!f->present || f->borrowed || f->fd < 0)
		return false;
	if (*cut)
		w = "was cut short while it was read";
	else if (fstat(f->fd, &now) < 0)
		w = "can no longer be examined";
	else if (now.st_size != f->st.st_size)
		w = now.st_size < f->st.st_size ? "shrank while it was read" : "grew while it was read";
	else if (now.st_mtim.tv_sec != f->st.st_mtim.tv_sec || now.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec)
		w = "was written while it was read";
	else {
		struct timespec ct = now.st_ctim;
		if (stat(f->path, &now) < 0)
			w = "was removed or renamed while it was read";
		else if (now.st_ino != f->st.st_ino || now.st_dev != f->st.st_dev)
			w = "was replaced by another file while it was read";
		else if (ct.tv_sec != f->st.st_ctim.tv_sec || ct.tv_nsec != f->st.st_ctim.tv_nsec)
			w = "changed status while it was read";
	}
	if (w && why && n)
		snprintf(why, n, "%s", w);
	return w != NULL;
}

void wf_set_check_changed(const struct wf_set *s, struct wd_diags *d)
{
	const struct wf_file *v[] = { &s->db, &s->wal, &s->shm, &s->journal };
	const enum wd_file kind[] = { WD_F_DB, WD_F_WAL, WD_F_SHM, WD_F_JOURNAL };
	static const char *const name[] = { "database file", "WAL", "-shm", "journal" };
	for (int i = 0; i < 4; i++) {
		char why[64];
		bool cut;
		uint64_t first;
		unsigned bad = wf_unreadable(v[i], &first);
		if (bad)
			wd_add_sev(d, WD_INPUT_UNREADABLE, WD_ERROR, kind[i], first, WD_NONE, WD_NONE,
				   "the %s could not be read: %u page%s of %lu bytes from byte offset %llu gave an "
				   "I/O error (a failing disk?) and were analysed as zeros", name[i], bad,
				   bad == 1 ? "" : "s", (unsigned long)guard_page, (unsigned long long)first);
		if (!wf_changed(v[i], &cut, why, sizeof why))
			continue;
		wd_add_sev(d, WD_INPUT_CHANGED, cut ? WD_ERROR : WD_WARNING, kind[i], WD_NONE, WD_NONE, WD_NONE,
			   "the %s %s%s: an inconsistent snapshot, results may mix states; re-run or inspect a "
			   "backup copy", name[i], why,
			   cut ? " (pages past its new end read as zeros)" : "");
	}
}

uint64_t wf_data_after(const struct wf_file *f, uint64_t off)
{
	if (!f->present || f->borrowed || f->fd < 0 || off >= f->size)
		return off;
	off_t r = lseek(f->fd, (off_t)off, SEEK_DATA);
	if (r >= 0)
		return (uint64_t)r;
	return errno == ENXIO ? f->size : off;
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
		if (!ret)
			populate(&s->wal);
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
