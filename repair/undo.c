/* undo.c — the undo file and restoring from it; layout in undo.h and docs/repair.md. */
#include "undo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../formats/bytes.h"

enum {
	OFF_MAGIC = 0, OFF_VERSION = 16, OFF_NFILES = 20, OFF_CREATED = 24, OFF_BODY_LEN = 32,
	OFF_RAW_LEN = 40, OFF_BODY_SHA = 64,
};
#define META_FIXED (2 + 1 + 1 + 4 + 8 + RIO_SHA + 8 + RIO_SHA + 8)
#define NOTE_MAX 65536u
#define KNOWN_FLAGS (UNDO_ORIG_PRESENT | UNDO_NEW_PRESENT | UNDO_VOLATILE)

/* ---- writing ---- */

int undo_write(const char *path, const char *note, const struct undo_rec *r, size_t n,
	       char *err, size_t errlen)
{
	if (n > UNDO_MAX_FILES) {
		snprintf(err, errlen, "too many files for an undo file");
		return -1;
	}
	struct atomic_out a;
	if (atomic_prepare(&a, path, false, err, errlen) != ATOMIC_OK || atomic_open(&a, err, errlen) < 0)
		return -1;
	/* The undo file holds database content: readable by the owner only. */
	fchmod(a.fd, 0600);
	uint8_t h[UNDO_HDR_SIZE];
	memset(h, 0, sizeof h);
	int rc = rio_write_all(a.fd, h, sizeof h);
	struct rio_zout z;
	if (rc || rio_zout_begin(&z, a.fd)) {
		snprintf(err, errlen, "cannot write '%s': %s", a.tmp, strerror(errno));
		atomic_abort(&a);
		return -1;
	}
	uint8_t b[META_FIXED + UNDO_NAME_MAX];
	size_t nl = note ? strlen(note) : 0;
	if (nl > NOTE_MAX)
		nl = NOTE_MAX;
	wr_be32(b, (uint32_t)nl);
	rio_zout_write(&z, b, 4);
	rio_zout_write(&z, note, nl);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(r[i].name);
		uint8_t *p = b;
		rio_put_u16(p, (uint16_t)k);
		memcpy(p + 2, r[i].name, k);
		p += 2 + k;
		*p++ = r[i].role;
		*p++ = r[i].flags;
		wr_be32(p, r[i].mode);
		p += 4;
		rio_put_u64(p, r[i].orig_size);
		memcpy(p + 8, r[i].orig_sha, RIO_SHA);
		p += 8 + RIO_SHA;
		rio_put_u64(p, r[i].new_size);
		memcpy(p + 8, r[i].new_sha, RIO_SHA);
		p += 8 + RIO_SHA;
		rio_put_u64(p, r[i].nreg);
		p += 8;
		rio_zout_write(&z, b, (size_t)(p - b));
	}
	for (size_t i = 0; i < n; i++)
		for (uint64_t j = 0; j < r[i].nreg; j++) {
			const struct undo_region *g = &r[i].reg[j];
			rio_put_u64(b, g->off);
			rio_put_u64(b + 8, g->len);
			rio_zout_write(&z, b, 16);
			for (uint64_t done = 0; done < g->len;) {
				size_t part = g->len - done > RIO_CHUNK ? RIO_CHUNK : (size_t)(g->len - done);
				rio_zout_write(&z, r[i].orig_data + g->off + done, part);
				done += part;
			}
		}
	uint8_t sha[RIO_SHA];
	if (rio_zout_end(&z, sha)) {
		snprintf(err, errlen, "cannot write '%s': %s", a.tmp, errno ? strerror(errno) : "zlib failed");
		atomic_abort(&a);
		return -1;
	}
	memcpy(h + OFF_MAGIC, UNDO_MAGIC, 16);
	wr_be32(h + OFF_VERSION, UNDO_VERSION);
	wr_be32(h + OFF_NFILES, (uint32_t)n);
	rio_put_u64(h + OFF_CREATED, (uint64_t)time(NULL));
	rio_put_u64(h + OFF_BODY_LEN, z.out_bytes);
	rio_put_u64(h + OFF_RAW_LEN, z.in_bytes);
	memcpy(h + OFF_BODY_SHA, sha, RIO_SHA);
	if (rio_pwrite_all(a.fd, h, sizeof h, 0)) {
		snprintf(err, errlen, "cannot write '%s': %s", a.tmp, strerror(errno));
		atomic_abort(&a);
		return -1;
	}
	if (rio_commit(&a, err, errlen) != ATOMIC_OK) {
		if (!a.tmp[0])
			unlink(path);     /* renamed, its folder not synced: nothing relies on it yet */
		atomic_abort(&a);
		return -1;
	}
	return 0;
}

/* ---- reading ---- */

static int invalid(struct undo_doc *u, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int invalid(struct undo_doc *u, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "'%s' is not a valid undo file: %s", u->path, msg);
	return -2;
}

int undo_open(struct undo_doc *u, const char *path, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	u->fd = -1;
	u->path = strdup(path);
	if (!u->path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rio_dirname(path, u->dir, sizeof u->dir);
	u->fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (u->fd < 0 || fstat(u->fd, &st)) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", path);
		return -1;
	}
	uint8_t h[UNDO_HDR_SIZE];
	ssize_t k = pread(u->fd, h, sizeof h, 0);
	if (k < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if ((size_t)k < sizeof h || memcmp(h + OFF_MAGIC, UNDO_MAGIC, 16))
		return invalid(u, err, errlen, "no \"waldo undo v1\" header at offset 0");
	if (rd_be32(h + OFF_VERSION) != UNDO_VERSION)
		return invalid(u, err, errlen, "format version %u at offset 16; this waldo reads %u",
			       rd_be32(h + OFF_VERSION), UNDO_VERSION);
	u->n = rd_be32(h + OFF_NFILES);
	if (u->n == 0 || u->n > UNDO_MAX_FILES)
		return invalid(u, err, errlen, "%zu file records at offset 20 (1..%u)", u->n, UNDO_MAX_FILES);
	u->created = rd_be64(h + OFF_CREATED);
	u->body_len = rd_be64(h + OFF_BODY_LEN);
	if ((uint64_t)st.st_size < UNDO_HDR_SIZE || (uint64_t)st.st_size - UNDO_HDR_SIZE != u->body_len)
		return invalid(u, err, errlen, "the file is %llu bytes, the header says %llu",
			       (unsigned long long)st.st_size, (unsigned long long)(u->body_len + UNDO_HDR_SIZE));

	/* The whole body's hash first: never restore from a damaged file. */
	struct rio_sha sha;
	rio_sha_begin(&sha);
	uint8_t *buf = malloc(RIO_CHUNK);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint64_t off = UNDO_HDR_SIZE; off < (uint64_t)st.st_size;) {
		uint64_t want = (uint64_t)st.st_size - off;
		ssize_t got = pread(u->fd, buf, want > RIO_CHUNK ? RIO_CHUNK : (size_t)want, (off_t)off);
		if (got <= 0) {
			free(buf);
			snprintf(err, errlen, "cannot read '%s': %s", path, got < 0 ? strerror(errno) : "file shrank");
			return -1;
		}
		rio_sha_update(&sha, buf, (size_t)got);
		off += (uint64_t)got;
	}
	free(buf);
	uint8_t d[RIO_SHA];
	if (rio_sha_end(&sha, d) || memcmp(d, h + OFF_BODY_SHA, RIO_SHA))
		return invalid(u, err, errlen, "the body does not match its SHA-256 (offset 64): the file is damaged");

	if (lseek(u->fd, UNDO_HDR_SIZE, SEEK_SET) < 0 || rio_zin_begin(&u->z, u->fd, u->body_len)) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	u->streaming = true;
	uint8_t b[META_FIXED];
	if (rio_zin_read(&u->z, b, 4))
		return invalid(u, err, errlen, "the body is damaged");
	uint32_t nl = rd_be32(b);
	if (nl > NOTE_MAX)
		return invalid(u, err, errlen, "a note of %u bytes (at most %u)", nl, NOTE_MAX);
	u->note = malloc((size_t)nl + 1);
	if (!u->note) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (rio_zin_read(&u->z, u->note, nl))
		return invalid(u, err, errlen, "the body is damaged");
	u->note[nl] = '\0';
	for (size_t i = 0; i < u->n; i++) {
		struct undo_rec *r = &u->r[i];
		if (rio_zin_read(&u->z, b, 2))
			return invalid(u, err, errlen, "the body is damaged");
		size_t len = rd_be16(b);
		if (len == 0 || len > UNDO_NAME_MAX || rio_zin_read(&u->z, r->name, len))
			return invalid(u, err, errlen, "file record %zu: bad name", i);
		r->name[len] = '\0';
		if (memchr(r->name, '/', len) || memchr(r->name, '\0', len) || !strcmp(r->name, ".") ||
		    !strcmp(r->name, ".."))
			return invalid(u, err, errlen, "file record %zu: the name is not a plain file name", i);
		if (rio_zin_read(&u->z, b, META_FIXED - 2))
			return invalid(u, err, errlen, "the body is damaged");
		const uint8_t *p = b;
		r->role = p[0];
		r->flags = p[1];
		r->mode = rd_be32(p + 2) & 07777;
		p += 6;
		r->orig_size = rd_be64(p);
		memcpy(r->orig_sha, p + 8, RIO_SHA);
		p += 8 + RIO_SHA;
		r->new_size = rd_be64(p);
		memcpy(r->new_sha, p + 8, RIO_SHA);
		p += 8 + RIO_SHA;
		r->nreg = rd_be64(p);
		if (r->role > 2 || (r->flags & ~KNOWN_FLAGS))
			return invalid(u, err, errlen, "file record %zu ('%s'): role %u, flags 0x%x", i, r->name,
				       r->role, r->flags);
		/* Regions are disjoint and non-empty: no more of them than bytes. */
		if (r->nreg > r->orig_size || (!(r->flags & UNDO_ORIG_PRESENT) && (r->nreg || r->orig_size)))
			return invalid(u, err, errlen, "file record %zu ('%s'): %llu regions for %llu bytes", i,
				       r->name, (unsigned long long)r->nreg, (unsigned long long)r->orig_size);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(u->r[j].name, r->name))
				return invalid(u, err, errlen, "file '%s' appears twice", r->name);
	}
	return 0;
}

void undo_close(struct undo_doc *u)
{
	if (u->streaming)
		rio_zin_end(&u->z);
	if (u->fd >= 0)
		close(u->fd);
	free(u->path);
	free(u->note);
	memset(u, 0, sizeof *u);
	u->fd = -1;
}

const char *undo_rec_path(const struct undo_doc *u, size_t i, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", u->dir, u->r[i].name);
	return buf;
}

const char *undo_state_name(enum undo_state s)
{
	static const char *const names[] = { "original", "repaired", "changed since the repair" };
	return (unsigned)s < 3 ? names[s] : "?";
}

int undo_state_of(const struct undo_doc *u, size_t i, enum undo_state *st, char *err, size_t errlen)
{
	const struct undo_rec *r = &u->r[i];
	char path[4400];
	undo_rec_path(u, i, path, sizeof path);
	uint8_t d[RIO_SHA];
	uint64_t size = 0;
	int present = rio_sha256_file(path, d, &size, err, errlen);
	if (present < 0)
		return -1;
	bool was = r->flags & UNDO_ORIG_PRESENT, after = r->flags & UNDO_NEW_PRESENT;
	if (present ? was && size == r->orig_size && !memcmp(d, r->orig_sha, RIO_SHA) : !was)
		*st = UNDO_ST_ORIGINAL;
	else if (present ? after && size == r->new_size && !memcmp(d, r->new_sha, RIO_SHA) : !after)
		*st = UNDO_ST_REPAIRED;
	else if (present && !after && size == 0)
		/* SQLite creates an empty -wal (and -shm) when it opens a WAL-mode
		 * database without one: no data, same as absent. */
		*st = UNDO_ST_REPAIRED;
	else
		*st = UNDO_ST_OTHER;
	return 0;
}

/* Region data of the current record: read and either write it to fd or drop it. */
static int region_bytes(struct undo_doc *u, uint64_t len, int fd, struct rio_sha *sha, uint8_t *buf)
{
	while (len) {
		size_t part = len > RIO_CHUNK ? RIO_CHUNK : (size_t)len;
		if (rio_zin_read(&u->z, buf, part))
			return -2;
		if (fd >= 0) {
			rio_sha_update(sha, buf, part);
			if (rio_write_all(fd, buf, part))
				return -1;
		}
		len -= part;
	}
	return 0;
}

/* Copy bytes [from, to) of the current file's mapping to fd. */
static int copy_base(const uint8_t *base, uint64_t from, uint64_t to, int fd, struct rio_sha *sha)
{
	while (from < to) {
		size_t part = to - from > RIO_CHUNK ? RIO_CHUNK : (size_t)(to - from);
		rio_sha_update(sha, base + from, part);
		if (rio_write_all(fd, base + from, part))
			return -1;
		from += part;
	}
	return 0;
}

/*
 * Restore record i, or (restore false) just read past its regions.
 * Returns 0, -1 (I/O, err set), -2 (the undo data does not fit the file).
 */
static int restore_one(struct undo_doc *u, size_t i, bool restore, int (*lock_db)(void *, const char *),
		       void *ctx, uint8_t *buf, char *err, size_t errlen)
{
	const struct undo_rec *r = &u->r[i];
	char path[4400];
	undo_rec_path(u, i, path, sizeof path);
	if (!restore) {
		for (uint64_t j = 0; j < r->nreg; j++) {
			uint8_t b[16];
			if (rio_zin_read(&u->z, b, 16) || region_bytes(u, rd_be64(b + 8), -1, NULL, buf)) {
				snprintf(err, errlen, "'%s': the body is damaged", u->path);
				return -2;
			}
		}
		return 0;
	}
	if (!(r->flags & UNDO_ORIG_PRESENT))
		return rio_unlink(path, err, errlen);

	/* The file as it is now: the base the regions are laid over. */
	const uint8_t *base = NULL;
	uint64_t bsize = 0;
	int bfd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (bfd >= 0 && !fstat(bfd, &st) && S_ISREG(st.st_mode) && st.st_size > 0) {
		bsize = (uint64_t)st.st_size;
		void *mp = mmap(NULL, (size_t)bsize, PROT_READ, MAP_PRIVATE, bfd, 0);
		base = mp == MAP_FAILED ? NULL : mp;
		if (!base)
			bsize = 0;
	}
	if (bfd >= 0)
		close(bfd);

	struct atomic_out a;
	int rc = 0;
	if (atomic_prepare(&a, path, true, err, errlen) != ATOMIC_OK || atomic_open(&a, err, errlen) < 0) {
		rc = -1;
		goto out;
	}
	fchmod(a.fd, r->mode ? r->mode : 0644);
	struct rio_sha sha;
	rio_sha_begin(&sha);
	uint64_t cur = 0;
	for (uint64_t j = 0; j < r->nreg && !rc; j++) {
		uint8_t b[16];
		if (rio_zin_read(&u->z, b, 16)) {
			rc = -2;
			break;
		}
		uint64_t off = rd_be64(b), len = rd_be64(b + 8);
		if (off < cur || len == 0 || len > r->orig_size || off > r->orig_size - len) {
			rc = -2;
			break;
		}
		if (off > bsize) {
			snprintf(err, errlen, "cannot restore '%s': it is %llu bytes, shorter than the unchanged "
				 "bytes before offset %llu", path, (unsigned long long)bsize, (unsigned long long)off);
			rc = -1;
			break;
		}
		if (copy_base(base, cur, off, a.fd, &sha))
			rc = -1;
		else
			rc = region_bytes(u, len, a.fd, &sha, buf);
		cur = off + len;
	}
	if (!rc && cur < r->orig_size) {
		if (r->orig_size > bsize) {
			snprintf(err, errlen, "cannot restore '%s': it is %llu bytes and the undo file does not hold "
				 "bytes %llu..%llu", path, (unsigned long long)bsize, (unsigned long long)cur,
				 (unsigned long long)r->orig_size);
			rc = -1;
		} else if (copy_base(base, cur, r->orig_size, a.fd, &sha)) {
			rc = -1;
		}
	}
	uint8_t d[RIO_SHA];
	if (rio_sha_end(&sha, d) && !rc)
		rc = -1;
	if (!rc && memcmp(d, r->orig_sha, RIO_SHA)) {
		snprintf(err, errlen, "cannot restore '%s': the result does not match the original SHA-256 "
			 "(the file was changed where the repair had not)", path);
		rc = -1;
	}
	if (rc == -2)
		snprintf(err, errlen, "'%s': the regions of '%s' are damaged", u->path, r->name);
	else if (rc && !err[0])
		snprintf(err, errlen, "cannot write '%s': %s", a.tmp, strerror(errno));
	/* Read back what was written: the restored file, not only the bytes handed to write(). */
	uint64_t got = 0;
	if (!rc && (rio_sha256_file(a.tmp, d, &got, err, errlen) != 1 || got != r->orig_size ||
		    memcmp(d, r->orig_sha, RIO_SHA))) {
		if (!err[0])
			snprintf(err, errlen, "cannot restore '%s': '%s' does not read back as written "
				 "(%llu bytes)", path, a.tmp, (unsigned long long)got);
		rc = -1;
	}
	if (!rc && r->role == 0 && lock_db && lock_db(ctx, a.tmp)) {
		snprintf(err, errlen, "cannot lock the restored database '%s'", a.tmp);
		rc = -1;
	}
	if (!rc && rio_commit(&a, err, errlen) != ATOMIC_OK)
		rc = -1;
	if (rc)
		atomic_abort(&a);
out:
	if (base)
		munmap((void *)base, (size_t)bsize);
	return rc;
}

int undo_restore(struct undo_doc *u, bool force, int (*lock_db)(void *ctx, const char *tmp),
		 void *ctx, struct undo_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof *res);
	err[0] = '\0';
	enum undo_state st[UNDO_MAX_FILES];
	size_t k = 0;
	for (size_t i = 0; i < u->n; i++) {
		if (undo_state_of(u, i, &st[i], err, errlen))
			return -1;
		const struct undo_rec *r = &u->r[i];
		bool vol = r->flags & UNDO_VOLATILE;
		if (st[i] == UNDO_ST_ORIGINAL)
			res->already++;
		else if (st[i] == UNDO_ST_OTHER && !vol)
			res->changed++;
		if (k < sizeof res->msg)
			k += (size_t)snprintf(res->msg + k, sizeof res->msg - k, "%s%s: %s%s", k ? "\n" : "", r->name,
					      undo_state_name(st[i]),
					      st[i] == UNDO_ST_OTHER && vol ? " (volatile: restored anyway)" : "");
	}
	if (res->changed && !force) {
		snprintf(err, errlen, "%zu file%s changed since the repair; restoring would lose those changes "
			 "(use --force to restore anyway)", res->changed, res->changed == 1 ? " has" : "s have");
		return -2;
	}
	uint8_t *buf = malloc(RIO_CHUNK);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < u->n && !rc; i++) {
		bool restore = st[i] != UNDO_ST_ORIGINAL;
		rc = restore_one(u, i, restore, lock_db, ctx, buf, err, errlen);
		if (!rc && restore)
			res->restored++;
	}
	free(buf);
	if (rc == -1 && (res->restored || strstr(err, "durability"))) {
		/* Some files are back, others not (a failing disk): stop there; a second
		 * run leaves the restored ones alone and finishes. */
		size_t n = strlen(err);
		snprintf(err + n, errlen - n, "; stopped half way: durability of the restored files unknown; "
			 "run 'waldo undo %s' again to finish", u->path);
	}
	if (!rc && !rio_zin_at_end(&u->z)) {
		snprintf(err, errlen, "'%s': the body has data after the last region", u->path);
		rc = -2;
	}
	return rc;
}
