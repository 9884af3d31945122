/*
 * walscan.c — the corpus's own reading of a WAL, and the edits made to
 * WAL and -shm files by hand.
 *
 * walscan() is deliberately independent of formats/wal.c: the expected
 * numbers in expected.json come from it, --check compares them with
 * libwaldo's wal_walk, and at generation time they are also compared with
 * the mxFrame SQLite's own recovery finds (view.c).  It follows
 * walIndexRecover (src/wal.c):
 *
 *   header (32 bytes, big-endian): magic 0x377f0682|bigEndian, version,
 *     page size, checkpoint seq, salt-1, salt-2, checksum-1, checksum-2;
 *     read only when the file is larger than 32 bytes; valid when the magic
 *     and page size are right and the checksum over bytes 0..23 matches.
 *   frames: 24-byte header (pgno, commit size, salt-1, salt-2, checksum-1,
 *     checksum-2) + page.  Valid while the salts equal the header's, pgno
 *     is not 0 and the running checksum over frame bytes 0..7 and the page
 *     matches; the first invalid frame ends the log.  mxFrame is the last
 *     valid frame with a non-zero commit size.
 *
 * The checksum is SQLite's walChecksumBytes: 32-bit words in the order the
 * magic's low bit names, s0 += w0 + s1, s1 += w1 + s0.
 */
#include "corpus.h"

#include <stdlib.h>
#include <string.h>

#include "formats/bytes.h"
#include "formats/wal.h"

static void cksum(int big, const uint8_t *p, size_t n, uint32_t s[2])
{
	uint32_t s0 = s[0], s1 = s[1];
	for (size_t i = 0; i + 8 <= n; i += 8) {
		s0 += rd_u32(p + i, big) + s1;
		s1 += rd_u32(p + i + 4, big) + s0;
	}
	s[0] = s0;
	s[1] = s1;
}

static bool page_size_ok(uint32_t ps) { return ps >= 512 && ps <= 65536 && is_pow2_u32(ps); }

uint64_t wal_frame_off(uint32_t page_size, uint32_t i)
{
	return 32 + (uint64_t)(i - 1) * ((uint64_t)page_size + 24);
}

static void walscan_ex(const uint8_t *p, uint64_t n, uint32_t hint, bool trust_seal,
		       struct walscan *w);

void walscan(const uint8_t *p, uint64_t n, uint32_t hint, struct walscan *w)
{
	walscan_ex(p, n, hint, false, w);
}

/*
 * trust_seal: treat the header as valid when its magic and page size are,
 * whatever its checksum says, and chain the frames from the stored
 * checksum (bytes 24..31): which frames would be valid had only a header
 * field other than the seal been damaged.
 */
static void walscan_ex(const uint8_t *p, uint64_t n, uint32_t hint, bool trust_seal,
		       struct walscan *w)
{
	memset(w, 0, sizeof *w);
	w->present = true;
	w->size = n;
	if (n < 32)
		return;
	w->magic = rd_be32(p);
	w->big_endian = w->magic & 1;
	uint32_t ps = rd_be32(p + 8);
	uint32_t s[2] = { 0, 0 };
	cksum(w->big_endian, p, 24, s);
	w->header_valid = (w->magic & ~1u) == 0x377f0682u && page_size_ok(ps) &&
			  ((s[0] == rd_be32(p + 24) && s[1] == rd_be32(p + 28)) || trust_seal);
	s[0] = rd_be32(p + 24);
	s[1] = rd_be32(p + 28);
	w->salt1 = rd_be32(p + 16);
	w->salt2 = rd_be32(p + 20);
	w->page_size = page_size_ok(ps) ? ps : page_size_ok(hint) ? hint : 0;
	if (!w->page_size)
		return;
	uint64_t fsz = (uint64_t)w->page_size + 24;
	w->frames_total = (uint32_t)((n - 32) / fsz);
	w->partial_bytes = (uint32_t)((n - 32) % fsz);
	bool valid = w->header_valid;
	for (uint32_t i = 1; i <= w->frames_total; i++) {
		const uint8_t *f = p + wal_frame_off(w->page_size, i);
		bool salts = !memcmp(f + 8, p + 16, 8);
		if (valid) {
			cksum(w->big_endian, f, 8, s);
			cksum(w->big_endian, f + 24, w->page_size, s);
			valid = salts && rd_be32(f) != 0 &&
				s[0] == rd_be32(f + 16) && s[1] == rd_be32(f + 20);
			if (valid) {
				w->frames_valid = i;
				if (rd_be32(f + 4)) {
					w->commits++;
					w->last_commit = i;
					w->npage = rd_be32(f + 4);
				}
				continue;
			}
		}
		if (!salts)
			w->stale++;
	}
	w->uncommitted = w->frames_valid - w->last_commit;
}

void walscan_file(const char *path, uint32_t hint, struct walscan *w)
{
	size_t n;
	uint8_t *p = file_read_opt(path, &n);
	if (!p) {
		memset(w, 0, sizeof *w);
		return;
	}
	walscan(p, n, hint, w);
	free(p);
}

uint32_t wal_frame_pgno(const uint8_t *p, uint64_t n, uint32_t page_size, uint32_t i)
{
	if (i == 0 || wal_frame_off(page_size, i) + 24 > n)
		return 0;
	return rd_be32(p + wal_frame_off(page_size, i));
}

/*
 * Recompute the header checksum and the checksum chain of frames
 * 1..upto with the word order the (possibly patched) magic names, using
 * libwaldo's wal_header_seal and wal_checksum.
 */
static void wal_rechain(uint8_t *p, uint64_t n, uint32_t upto)
{
	wal_header_seal(p);
	int big = rd_be32(p) & 1;
	uint32_t ps = rd_be32(p + 8);
	uint32_t s[2] = { rd_be32(p + 24), rd_be32(p + 28) };
	for (uint32_t i = 1; i <= upto; i++) {
		uint64_t off = wal_frame_off(ps, i);
		if (off + 24 + ps > n)
			die("rechain: frame %u past the end", i);
		uint8_t *f = p + off;
		wal_checksum(big, f, 8, s);
		wal_checksum(big, f + 24, ps, s);
		wr_be32(f + 16, s[0]);
		wr_be32(f + 20, s[1]);
	}
}

void wal_make_big_endian(const char *path)
{
	size_t n;
	uint8_t *p = file_read(path, &n);
	struct walscan before, after;
	walscan(p, n, 0, &before);
	if (!before.header_valid || before.big_endian)
		die("'%s' is not a valid little-endian-checksum WAL", path);
	wr_be32(p, 0x377f0683u);
	wal_rechain(p, n, before.frames_valid);
	walscan(p, n, 0, &after);
	/* Our own walk must agree that the rewrite kept every frame valid. */
	if (!after.header_valid || !after.big_endian || after.frames_valid != before.frames_valid ||
	    after.last_commit != before.last_commit)
		die("big-endian rewrite of '%s' broke the chain (%u of %u frames valid): "
		    "check wal_header_seal/wal_checksum", path, after.frames_valid, before.frames_valid);
	file_write(path, p, n);
	free(p);
}

void wal_repair_header(const char *path)
{
	size_t n;
	uint8_t *p = file_read(path, &n);
	struct walscan w;
	walscan_ex(p, n, 0, true, &w);
	if (!w.header_valid)
		die("'%s': magic or page size damaged, cannot reseal", path);
	wal_rechain(p, n, w.frames_valid);
	file_write(path, p, n);
	free(p);
}

void wal_patch_header(const char *path, unsigned off, uint32_t v)
{
	size_t n;
	uint8_t *p = file_read(path, &n);
	struct walscan w;
	walscan(p, n, 0, &w);
	if (!w.header_valid || off > 20)
		die("cannot patch the header of '%s' at %u", path, off);
	/* The frames valid under the old header stay valid under the new one. */
	wr_be32(p + off, v);
	wal_rechain(p, n, w.frames_valid);
	file_write(path, p, n);
	free(p);
}

/* ---- -shm ---------------------------------------------------------------- */

uint32_t shm_get32(const uint8_t *shm, size_t off)
{
	uint32_t v;
	memcpy(&v, shm + off, 4);
	return v;
}

void shm_put32(uint8_t *shm, size_t off, uint32_t v)
{
	memcpy(shm + off, &v, 4);
}

void shm_reseal_copy(uint8_t *shm, size_t copy, int big)
{
	/* walIndexWriteHdr: aCksum over the first 40 bytes in the writer's native word order. */
	uint32_t s[2] = { 0, 0 };
	wal_checksum(big, shm + copy, 40, s);
	wr_u32(shm + copy + SHMX_OFF_CKSUM, s[0], big);
	wr_u32(shm + copy + SHMX_OFF_CKSUM + 4, s[1], big);
}

static void swap32(uint8_t *p)
{
	uint8_t t = p[0];
	p[0] = p[3];
	p[3] = t;
	t = p[1];
	p[1] = p[2];
	p[2] = t;
}

static void swap16(uint8_t *p)
{
	uint8_t t = p[0];
	p[0] = p[1];
	p[1] = t;
}

void shm_swap_endian(uint8_t *shm, size_t n)
{
	if (n < SHMX_HDR)
		die("-shm too short to swap");
	static const size_t hdr32[] = { 0, 4, 8, 16, 20, 24, 28 };
	for (size_t c = 0; c < 2 * SHMX_COPY; c += SHMX_COPY) {
		for (size_t i = 0; i < sizeof hdr32 / sizeof hdr32[0]; i++)
			swap32(shm + c + hdr32[i]);
		swap16(shm + c + SHMX_OFF_PGSZ);
		/* aSalt is a raw copy of WAL header bytes: not swapped.  aCksum is
		 * recomputed in the foreign word order, as that host would have. */
		shm_reseal_copy(shm, c, !host_is_be());
	}
	for (size_t off = SHMX_OFF_BACKFILL; off < SHMX_OFF_LOCK; off += 4)
		swap32(shm + off);
	swap32(shm + SHMX_OFF_ATTEMPTED);
	swap32(shm + SHMX_OFF_ATTEMPTED + 4);
	/* Hash blocks: aPgno (u32) then aHash (u16), both native. */
	for (size_t b = 0; b * SHMX_BLOCK < n; b++) {
		size_t base = b * SHMX_BLOCK;
		size_t pg = b ? base : SHMX_HDR;
		size_t npg = b ? SHMX_NPAGE : SHMX_NPAGE_ONE;
		for (size_t i = 0; i < npg && pg + 4 * i + 4 <= n; i++)
			swap32(shm + pg + 4 * i);
		size_t hs = base + SHMX_NPAGE * 4;
		for (size_t i = 0; i < SHMX_NSLOT && hs + 2 * i + 2 <= n; i++)
			swap16(shm + hs + 2 * i);
	}
}
