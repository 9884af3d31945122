/*
 * shm.c — the wal-index (`-shm`): header copies, checkpoint info, hash index.
 *
 * The -shm is a sequence of 32 KiB blocks (WALINDEX_PGSZ).  Every integer in
 * it is in the byte order of the host that last wrote it ("native"), except
 * aSalt, which is a raw copy of WAL header bytes 16..23.  Block 0 starts with
 * the 136-byte header (src/wal.c, struct WalIndexHdr and struct WalCkptInfo):
 *
 *   off  copy1 size field              rule
 *     0    48   4  iVersion            3007000; also tells the byte order
 *     4    52   4  unused
 *     8    56   4  iChange             bumped by every commit
 *    12    60   1  isInit              0: never initialised, being rebuilt
 *    13    61   1  bigEndCksum         WAL checksum words big-endian (magic & 1)
 *    14    62   2  szPage              page size, 1 means 65536
 *    16    64   4  mxFrame             last frame of the last committed txn
 *    20    68   4  nPage               database size in pages after it
 *    24    72   8  aFrameCksum[2]      running WAL checksum at frame mxFrame
 *    32    80   8  aSalt[2]            raw WAL header bytes 16..23
 *    40    88   8  aCksum[2]           walChecksumBytes, native word order,
 *                                      seed 0,0, over bytes 0..39 of the copy
 *    96         4  nBackfill           frames 1..nBackfill copied into the db
 *   100        20  aReadMark[0..4]     reader snapshots; [0] is always 0,
 *                                      0xffffffff = slot not used
 *   120         8  aLock[8]            lock bytes (WRITE, CKPT, RECOVER,
 *                                      READ0..READ4); contents never used
 *   128         4  nBackfillAttempted  mxSafeFrame of the last checkpoint
 *   132         4  notUsed0
 *
 * A writer fills copy 1, then copy 0 (walIndexWriteHdr); a reader accepts the
 * header only if both copies are byte-identical, isInit is non-zero and the
 * checksum matches (walIndexTryHdr), and then refuses a version other than
 * 3007000 (walIndexReadHdr, SQLITE_CANTOPEN).  Anything else makes it run
 * recovery, which rebuilds the whole index from the WAL file.
 *
 * Hash index (walHashGet, walFramePage, walIndexAppend, walFindFrame): block
 * k holds a page-number array u32[4096] followed by hash slots u16[8192]
 * (byte k*32768 + 16384).  In block 0 the header takes the first 34 array
 * entries, so its array has 4062 entries from byte 136.  Block 0 covers
 * frames 1..4062, block k>=1 frames iZero+1..iZero+4096 with
 * iZero = 4062 + (k-1)*4096.  Array entry j holds the page number of frame
 * iZero+j+1.  A slot holds a 1-based index into the block's array (0 =
 * empty); the key of page P is (P*383) & 8191, collisions probe the next
 * slot.  Recovery indexes every valid WAL frame, so entries past mxFrame are
 * normal; a reader only takes frames F with nBackfill < F <= mxFrame.
 *
 * Byte order: iVersion read little- and big-endian; whichever gives 3007000
 * is the writer's order.  When neither does (damaged header), szPage tells:
 * a real page size is plausible in one order only.
 *
 * The WAL side (frames, running checksum) is formats/wal.c; this file only
 * compares against a struct wal_walk.  See docs/format-shm.md.
 */
#include "shm.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "wal.h"

/* Field offsets inside one WalIndexHdr copy. */
enum {
	OFF_VERSION = 0, OFF_UNUSED = 4, OFF_CHANGE = 8, OFF_ISINIT = 12, OFF_BIGEND = 13,
	OFF_SZPAGE = 14, OFF_MXFRAME = 16, OFF_NPAGE = 20, OFF_FRAME_CKSUM = 24, OFF_SALT = 32,
	OFF_CKSUM = 40,
};
/* WalCkptInfo, absolute offsets. */
enum {
	OFF_NBACKFILL = 96, OFF_READMARK = 100, OFF_NBACKFILL_ATTEMPTED = 128, OFF_NOTUSED0 = 132,
};
#define HASH_OFF_IN_BLOCK (SHM_NPAGE * 4)      /* u16 slots after the u32 page array */

static const struct {
	const char *name;
	unsigned off, size;
} hdr_fields[] = {
	{ "iVersion", OFF_VERSION, 4 }, { "unused", OFF_UNUSED, 4 }, { "iChange", OFF_CHANGE, 4 },
	{ "isInit", OFF_ISINIT, 1 }, { "bigEndCksum", OFF_BIGEND, 1 }, { "szPage", OFF_SZPAGE, 2 },
	{ "mxFrame", OFF_MXFRAME, 4 }, { "nPage", OFF_NPAGE, 4 },
	{ "aFrameCksum", OFF_FRAME_CKSUM, 8 }, { "aSalt", OFF_SALT, 8 }, { "aCksum", OFF_CKSUM, 8 },
};

uint32_t shm_decode_page_size(uint16_t raw)
{
	/* walIndexTryHdr: (szPage & 0xfe00) + ((szPage & 1) << 16).  We accept
	 * only the values a writer produces, so damage shows as 0. */
	uint32_t sz = raw == 1 ? 65536u : raw;
	return sz >= 512 && is_pow2_u32(sz) ? sz : 0;
}

uint16_t shm_encode_page_size(uint32_t page_size)
{
	/* walIndexWriteHdr stores (szPage & 0xff00) | (szPage >> 16). */
	return (uint16_t)((page_size & 0xff00) | (page_size >> 16));
}

const char *shm_lock_name(unsigned i)
{
	static const char *names[8] = { "WRITE", "CKPT", "RECOVER", "READ0", "READ1", "READ2", "READ3", "READ4" };
	return i < 8 ? names[i] : "?";
}

/* A page size a writer could have stored, read in byte order `big`. */
static bool page_size_plausible(const uint8_t *copy, int big)
{
	return shm_decode_page_size(rd_u16(copy + OFF_SZPAGE, big)) != 0;
}

/*
 * The writer's byte order: 1 big-endian, 0 little-endian.  *known is set
 * when some copy's iVersion reads 3007000 in that order; otherwise the order
 * comes from szPage plausibility, and failing that is this host's.
 */
static int detect_order(const uint8_t *buf, bool *known)
{
	*known = true;
	for (unsigned c = 0; c < 2; c++) {
		const uint8_t *p = buf + c * SHM_HDR_COPY_SIZE;
		if (rd_le32(p + OFF_VERSION) == SHM_VERSION)
			return 0;
		if (rd_be32(p + OFF_VERSION) == SHM_VERSION)
			return 1;
	}
	*known = false;
	for (unsigned c = 0; c < 2; c++) {
		const uint8_t *p = buf + c * SHM_HDR_COPY_SIZE;
		bool le = page_size_plausible(p, 0), be = page_size_plausible(p, 1);
		if (le != be)
			return be;
	}
	return host_is_be();
}

/* Decode one 48-byte header copy in byte order `big` and verify its checksum. */
static void decode_copy(const uint8_t *p, int big, struct shm_hdr *h)
{
	memset(h, 0, sizeof *h);
	h->version = rd_u32(p + OFF_VERSION, big);
	h->unused = rd_u32(p + OFF_UNUSED, big);
	h->change = rd_u32(p + OFF_CHANGE, big);
	h->is_init = p[OFF_ISINIT];
	h->big_end_cksum = p[OFF_BIGEND];
	h->page_size_raw = rd_u16(p + OFF_SZPAGE, big);
	h->page_size = shm_decode_page_size(h->page_size_raw);
	h->mx_frame = rd_u32(p + OFF_MXFRAME, big);
	h->n_page = rd_u32(p + OFF_NPAGE, big);
	h->frame_cksum[0] = rd_u32(p + OFF_FRAME_CKSUM, big);
	h->frame_cksum[1] = rd_u32(p + OFF_FRAME_CKSUM + 4, big);
	memcpy(h->salt, p + OFF_SALT, 8);
	h->salt1 = rd_be32(p + OFF_SALT);
	h->salt2 = rd_be32(p + OFF_SALT + 4);
	h->cksum[0] = rd_u32(p + OFF_CKSUM, big);
	h->cksum[1] = rd_u32(p + OFF_CKSUM + 4, big);
	/* The writer checksummed its own native words: read them in its order. */
	uint32_t s[2] = { 0, 0 };
	wal_checksum(big, p, OFF_CKSUM, s);
	h->calc_cksum[0] = s[0];
	h->calc_cksum[1] = s[1];
	h->cksum_ok = s[0] == h->cksum[0] && s[1] == h->cksum[1];
}

/*
 * Mirrors walIndexTryHdr: the copies are identical, isInit is set and the
 * checksum over bytes 0..39 matches.  (The version is checked afterwards by
 * walIndexReadHdr; a wrong one is SQLITE_CANTOPEN, not a rebuild.)
 */
static bool shm_hdr_accepted(const struct shm_info *s)
{
	return s->copies_agree && s->hdr[0].is_init && s->hdr[0].cksum_ok;
}

/* Problems of one copy as text; returns the offset of the first, or -1. */
static int64_t copy_problems(const struct shm_hdr *h, unsigned base, char *out, size_t n)
{
	int64_t off = -1;
	size_t k = 0;
	out[0] = '\0';
	if (h->version != SHM_VERSION) {
		k += (size_t)snprintf(out + k, n - k, "iVersion %u is not 3007000 (SQLite answers SQLITE_CANTOPEN while the index stays in use)",
				      h->version);
		off = base + OFF_VERSION;
	}
	if (!h->is_init && k < n) {
		k += (size_t)snprintf(out + k, n - k, "%sisInit is 0 (not initialised)", k ? "; " : "");
		if (off < 0)
			off = base + OFF_ISINIT;
	}
	if (!h->cksum_ok && k < n) {
		snprintf(out + k, n - k, "%saCksum %08x %08x, computed %08x %08x", k ? "; " : "",
			 h->cksum[0], h->cksum[1], h->calc_cksum[0], h->calc_cksum[1]);
		if (off < 0)
			off = base + OFF_CKSUM;
	}
	return off;
}

static void check_header(const uint8_t *buf, struct shm_info *s, struct wd_diags *d)
{
	char why[2][WD_MSG_MAX];
	int64_t off[2];
	for (unsigned c = 0; c < 2; c++)
		off[c] = copy_problems(&s->hdr[c], c * SHM_HDR_COPY_SIZE, why[c], sizeof why[c]);
	if (s->copies_agree) {
		if (off[0] >= 0)
			wd_add(d, WD_SHM_HEADER_INVALID, WD_F_SHM, off[0], WD_NONE, WD_NONE,
			       "both header copies: %s; SQLite rebuilds the index from the WAL", why[0]);
	} else {
		for (unsigned c = 0; c < 2; c++)
			if (off[c] >= 0)
				wd_add(d, WD_SHM_HEADER_INVALID, WD_F_SHM, off[c], WD_NONE, WD_NONE,
				       "header copy %u: %s", c, why[c]);
		char list[WD_MSG_MAX];
		size_t k = 0;
		int64_t first = -1;
		list[0] = '\0';
		for (size_t i = 0; i < sizeof hdr_fields / sizeof *hdr_fields; i++) {
			unsigned o = hdr_fields[i].off;
			if (!memcmp(buf + o, buf + SHM_HDR_COPY_SIZE + o, hdr_fields[i].size))
				continue;
			if (first < 0)
				first = o;
			if (k < sizeof list)
				k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", hdr_fields[i].name);
		}
		wd_add(d, WD_SHM_HEADER_MISMATCH, WD_F_SHM, first, WD_NONE, WD_NONE,
		       "header copies differ in %s (mxFrame %u vs %u); writers fill copy 1 first, so a torn update leaves copy 1 newer",
		       list, s->hdr[0].mx_frame, s->hdr[1].mx_frame);
	}
	if (s->order_known && s->foreign_endian)
		wd_add(d, WD_SHM_FOREIGN_ENDIAN, WD_F_SHM, OFF_VERSION, WD_NONE, WD_NONE,
		       "iVersion reads 3007000 %s-endian: written by a %s-endian host; decoded in that order, "
		       "SQLite on this host would reject it and rebuild",
		       s->big_endian ? "big" : "little", s->big_endian ? "big" : "little");
}

/* nBackfill, nBackfillAttempted and the read marks against mxFrame (copy 0). */
static void check_ckpt_info(struct shm_info *s, struct wd_diags *d)
{
	const uint32_t mx = s->hdr[0].mx_frame;
	static const char race[] =
		"; one known cause: the WAL-reset race of SQLite 3.7.0-3.51.2 (sqlite.org/wal.html#walresetbug)";
	if (s->n_backfill > mx)
		wd_add(d, WD_SHM_BACKFILL_INVALID, WD_F_SHM, OFF_NBACKFILL, WD_NONE, WD_NONE,
		       "nBackfill %u > mxFrame %u: the checkpoint claims frames the index does not hold%s",
		       s->n_backfill, mx, race);
	if (s->n_backfill_attempted < s->n_backfill)
		wd_add(d, WD_SHM_BACKFILL_INVALID, WD_F_SHM, OFF_NBACKFILL_ATTEMPTED, WD_NONE, WD_NONE,
		       "nBackfillAttempted %u < nBackfill %u: a checkpoint never copies more than it attempts%s",
		       s->n_backfill_attempted, s->n_backfill, race);
	else if (s->n_backfill_attempted > mx)
		wd_add(d, WD_SHM_BACKFILL_INVALID, WD_F_SHM, OFF_NBACKFILL_ATTEMPTED, WD_NONE, WD_NONE,
		       "nBackfillAttempted %u > mxFrame %u%s", s->n_backfill_attempted, mx, race);
	if (s->read_mark[0] != 0)
		wd_add(d, WD_SHM_READMARK_INVALID, WD_F_SHM, OFF_READMARK, WD_NONE, WD_NONE,
		       "aReadMark[0] is %u; SQLite always keeps it 0", s->read_mark[0]);
	for (unsigned i = 1; i < SHM_NREADER; i++)
		if (s->read_mark[i] > mx && s->read_mark[i] != SHM_READMARK_NOT_USED)
			wd_add(d, WD_SHM_READMARK_INVALID, WD_F_SHM, OFF_READMARK + 4 * i, WD_NONE, WD_NONE,
			       "aReadMark[%u] %u > mxFrame %u: stale read mark%s", i, s->read_mark[i], mx,
			       i == 1 && s->read_mark[1] == s->n_backfill
				       ? "; equal to nBackfill, as the WAL-reset race of SQLite 3.7.0-3.51.2 leaves it" : "");
}

/*
 * Decode the header of a -shm image.  Returns WD_FATAL when the file is too
 * short to hold a header (s->has_header false, nothing else decoded),
 * otherwise WD_WARN when a warning or error was added, else WD_OK.
 */
int shm_parse(const uint8_t *buf, uint64_t len, struct shm_info *s, struct wd_diags *d)
{
	size_t before = d->n;
	memset(s, 0, sizeof *s);
	s->size = len;
	s->nblocks = (uint32_t)((len + SHM_BLOCK_SIZE - 1) / SHM_BLOCK_SIZE);
	if (len < SHM_HDR_SIZE) {
		wd_add(d, WD_SHM_TRUNCATED, WD_F_SHM, (int64_t)len, WD_NONE, WD_NONE,
		       "-shm is %llu bytes, shorter than the 136-byte header%s; SQLite rebuilds the index from the WAL",
		       (unsigned long long)len,
		       len == 0 || len == 3 ? " (SQLite itself leaves 0 or 3 bytes)" : "");
		return WD_FATAL;
	}
	s->has_header = true;
	int big = detect_order(buf, &s->order_known);
	s->big_endian = big != 0;
	s->foreign_endian = s->big_endian != (host_is_be() != 0);
	decode_copy(buf, big, &s->hdr[0]);
	decode_copy(buf + SHM_HDR_COPY_SIZE, big, &s->hdr[1]);
	s->copies_agree = !memcmp(buf, buf + SHM_HDR_COPY_SIZE, SHM_HDR_COPY_SIZE);
	s->hdr_ok = shm_hdr_accepted(s);

	s->n_backfill = rd_u32(buf + OFF_NBACKFILL, big);
	for (unsigned i = 0; i < SHM_NREADER; i++)
		s->read_mark[i] = rd_u32(buf + OFF_READMARK + 4 * i, big);
	memcpy(s->lock, buf + SHM_LOCK_OFFSET, 8);
	s->n_backfill_attempted = rd_u32(buf + OFF_NBACKFILL_ATTEMPTED, big);
	s->not_used0 = rd_u32(buf + OFF_NOTUSED0, big);

	check_header(buf, s, d);
	/* Without isInit, mxFrame means nothing and the counters are leftovers. */
	if (s->hdr[0].is_init)
		check_ckpt_info(s, d);
	for (size_t i = before; i < d->n; i++)
		if (d->v[i].sev >= WD_WARNING)
			return WD_WARN;
	return WD_OK;
}

/* ---- hash index ---- */

/* walFramePage: the block holding frame iFrame (>= 1). */
static uint64_t frame_block(uint64_t iFrame)
{
	return (iFrame + SHM_NPAGE - SHM_NPAGE_ONE - 1) / SHM_NPAGE;
}

/* Frames before block k (walHashGet's iZero). */
static uint64_t block_zero(uint64_t k)
{
	return k == 0 ? 0 : SHM_NPAGE_ONE + (k - 1) * SHM_NPAGE;
}

static uint32_t block_entries(uint64_t k)
{
	return k == 0 ? SHM_NPAGE_ONE : SHM_NPAGE;
}

/* Byte offset of block k's page-array entry j (0-based). */
static uint64_t pgno_offset(uint64_t k, uint32_t j)
{
	return (k == 0 ? SHM_HDR_SIZE : k * SHM_BLOCK_SIZE) + 4ull * j;
}

/* Page array entry j of block k, or 0 when the file ends first. */
static uint32_t block_pgno(const uint8_t *buf, uint64_t len, int big, uint64_t k, uint32_t j)
{
	uint64_t off = pgno_offset(k, j);
	return off + 4 <= len ? rd_u32(buf + off, big) : 0;
}

/* Hash slot `key` of block k; 0 (empty) when the file ends first. */
static uint32_t block_slot(const uint8_t *buf, uint64_t len, int big, uint64_t k, uint32_t key)
{
	uint64_t off = k * SHM_BLOCK_SIZE + HASH_OFF_IN_BLOCK + 2ull * key;
	return off + 2 <= len ? rd_u16(buf + off, big) : 0;
}

static uint32_t hash_key(uint32_t pgno)
{
	return (pgno * (uint32_t)SHM_HASH_MULT) & (SHM_NSLOT - 1);   /* walHash */
}

uint32_t shm_frame_pgno(const uint8_t *buf, uint64_t len, const struct shm_info *s, uint32_t iFrame)
{
	if (!s->has_header || iFrame == 0)
		return 0;
	uint64_t k = frame_block(iFrame);
	return block_pgno(buf, len, s->big_endian, k, (uint32_t)(iFrame - block_zero(k) - 1));
}

/*
 * Mirrors walFindFrame: scan blocks from the one holding max_frame down to
 * the one holding min_frame+1; in each, probe from the page's hash key until
 * an empty slot, keeping frames in (min_frame, max_frame] whose array entry
 * is pgno; the first block with a match answers.  SQLite keeps the last match
 * in probe order, which on a sound table is the largest; we keep the largest.
 * A probe visits at most SHM_NSLOT slots (SQLite's nCollide bound), and slot
 * values past the block's array are skipped, so no table can loop or read
 * outside the block.
 */
uint32_t shm_find_frame(const uint8_t *buf, uint64_t len, const struct shm_info *s,
			uint32_t pgno, uint32_t min_frame, uint32_t max_frame)
{
	if (!s->has_header || pgno == 0 || max_frame <= min_frame)
		return 0;
	const int big = s->big_endian;
	uint64_t lo = frame_block((uint64_t)min_frame + 1), hi = frame_block(max_frame);
	if (hi > (len - 1) / SHM_BLOCK_SIZE)      /* blocks past the end of the file hold nothing */
		hi = (len - 1) / SHM_BLOCK_SIZE;
	for (uint64_t k = hi + 1; k-- > lo;) {
		uint64_t zero = block_zero(k), best = 0;
		uint32_t key = hash_key(pgno), nent = block_entries(k);
		for (unsigned n = 0; n < SHM_NSLOT; n++, key = (key + 1) & (SHM_NSLOT - 1)) {
			uint32_t h = block_slot(buf, len, big, k, key);
			if (h == 0)
				break;
			if (h > nent)
				continue;
			uint64_t f = zero + h;
			if (f > min_frame && f <= max_frame && f > best && block_pgno(buf, len, big, k, h - 1) == pgno)
				best = f;
		}
		if (best)
			return (uint32_t)best;
	}
	return 0;
}

/* Slots of block k holding an index past the block's page array. */
static uint32_t count_bad_slots(const uint8_t *buf, uint64_t len, int big, uint64_t k)
{
	uint32_t n = 0, nent = block_entries(k);
	for (uint32_t key = 0; key < SHM_NSLOT; key++)
		if (block_slot(buf, len, big, k, key) > nent)
			n++;
	return n;
}

/* Valid frames of the walk that have a frame record (never trust the count alone). */
static uint32_t walk_valid(const struct wal_walk *w)
{
	if (!w->frames)
		return 0;
	return w->nvalid < w->nframes ? w->nvalid : w->nframes;
}

/* Compare the header with the WAL header and its valid frames. */
static void check_wal_header(const struct shm_info *s, const struct wal_walk *w, struct wd_diags *d,
			     bool *same_generation)
{
	const struct shm_hdr *h = &s->hdr[0];
	const uint32_t mx = h->mx_frame, nv = walk_valid(w);
	*same_generation = true;
	if (mx > nv) {
		wd_add(d, WD_SHM_STALE, WD_F_SHM, OFF_MXFRAME, WD_NONE, WD_NONE,
		       "mxFrame %u but the WAL holds only %u valid frame%s (last commit at frame %u): "
		       "WAL truncated after the index was written, or files copied at different times",
		       mx, nv, nv == 1 ? "" : "s", w->mx_frame);
	} else if (mx != w->mx_frame) {
		bool prefix = mx > 0 && w->frames[mx - 1].cksum1 == h->frame_cksum[0] &&
			      w->frames[mx - 1].cksum2 == h->frame_cksum[1];
		wd_add(d, WD_SHM_STALE, WD_F_SHM, OFF_MXFRAME, WD_NONE, WD_NONE,
		       "mxFrame %u but recovery of the WAL finds its last commit at frame %u%s",
		       mx, w->mx_frame, prefix ? " (the -shm is an older state of this WAL)" : "");
	} else if (mx > 0 && h->n_page != w->npage) {
		wd_add(d, WD_SHM_STALE, WD_F_SHM, OFF_NPAGE, WD_NONE, WD_NONE,
		       "nPage %u but the commit frame %u says %u pages", h->n_page, mx, w->npage);
	}
	/* With mxFrame 0 the index claims no frame: after a WAL restart its salts
	 * are already the next generation's while the WAL header is still old. */
	if (mx == 0 || w->file_size < WAL_HDR_SIZE)
		return;
	if (h->salt1 != w->hdr.salt1 || h->salt2 != w->hdr.salt2) {
		wd_add(d, WD_SHM_STALE, WD_F_SHM, OFF_SALT, WD_NONE, WD_NONE,
		       "aSalt %08x %08x but the WAL header has %08x %08x: the index describes another WAL generation",
		       h->salt1, h->salt2, w->hdr.salt1, w->hdr.salt2);
		*same_generation = false;
	}
	if (h->page_size != w->hdr.page_size) {
		wd_add(d, WD_SHM_STALE, WD_F_SHM, OFF_SZPAGE, WD_NONE, WD_NONE,
		       "szPage %u (page size %u) but the WAL header says %u", h->page_size_raw, h->page_size,
		       w->hdr.page_size);
		*same_generation = false;
	}
	if ((h->big_end_cksum != 0) != w->hdr.big_endian_cksum)
		wd_add(d, WD_SHM_STALE, WD_F_SHM, OFF_BIGEND, WD_NONE, WD_NONE,
		       "bigEndCksum %u but the WAL magic %08x says %s-endian checksum words", h->big_end_cksum,
		       w->hdr.magic, w->hdr.big_endian_cksum ? "big" : "little");
	if (mx <= nv &&
	    (w->frames[mx - 1].cksum1 != h->frame_cksum[0] || w->frames[mx - 1].cksum2 != h->frame_cksum[1]))
		wd_add(d, WD_SHM_STALE, WD_F_SHM, OFF_FRAME_CKSUM, mx, WD_NONE,
		       "aFrameCksum %08x %08x but the WAL's running checksum at frame %u is %08x %08x",
		       h->frame_cksum[0], h->frame_cksum[1], mx, w->frames[mx - 1].cksum1, w->frames[mx - 1].cksum2);
}

/*
 * Cross-check the -shm against the WAL walk.  Appends SHM_STALE and
 * SHM_INDEX_MISMATCH; returns WD_WARN when it added any, else WD_OK.
 */
int shm_check_wal(const uint8_t *buf, uint64_t len, const struct shm_info *s,
		  const struct wal_walk *w, struct wd_diags *d)
{
	size_t before = d->n;
	if (!s->has_header || !s->hdr[0].is_init)
		return WD_OK;
	bool same_generation;
	check_wal_header(s, w, d, &same_generation);
	const uint32_t mx = s->hdr[0].mx_frame;
	const uint32_t nv = walk_valid(w), n = mx < nv ? mx : nv;
	if (!same_generation || n == 0)
		return d->n > before ? WD_WARN : WD_OK;

	/* Frames 1..n are committed for the index and valid in the WAL: every one
	 * must be in the page array and reachable through the hash. */
	uint32_t bad_pgno = 0, bad_find = 0, first_pgno = 0, first_find = 0;
	uint32_t pg_idx = 0, pg_wal = 0, found = 0;
	for (uint32_t f = 1; f <= n; f++) {
		uint32_t want = w->frames[f - 1].pgno;
		uint32_t got = shm_frame_pgno(buf, len, s, f);
		if (got != want && bad_pgno++ == 0) {
			first_pgno = f;
			pg_idx = got;
			pg_wal = want;
		}
		uint32_t r = shm_find_frame(buf, len, s, want, f - 1, f);
		if (r != f && bad_find++ == 0) {
			first_find = f;
			found = r;
		}
	}
	/* An entry past the end of a cut -shm is reported at the end of the file. */
	if (bad_pgno) {
		uint64_t off = pgno_offset(frame_block(first_pgno), (uint32_t)(first_pgno - block_zero(frame_block(first_pgno)) - 1));
		wd_add(d, WD_SHM_INDEX_MISMATCH, WD_F_SHM, (int64_t)(off < len ? off : len), first_pgno, pg_wal,
		       "page-number array disagrees with the WAL for %u of %u frames (first: frame %u, index page %u, WAL page %u)%s",
		       bad_pgno, n, first_pgno, pg_idx, pg_wal, off < len ? "" : "; the -shm ends before that entry");
	}
	if (bad_find) {
		uint64_t off = frame_block(first_find) * SHM_BLOCK_SIZE + HASH_OFF_IN_BLOCK
			       + 2ull * hash_key(w->frames[first_find - 1].pgno);
		wd_add(d, WD_SHM_INDEX_MISMATCH, WD_F_SHM, (int64_t)(off < len ? off : len),
		       first_find, w->frames[first_find - 1].pgno,
		       "hash lookup misses %u of %u frames (first: frame %u page %u, lookup gives %u)%s",
		       bad_find, n, first_find, w->frames[first_find - 1].pgno, found,
		       off < len ? "" : "; the -shm ends before its hash table");
	}
	uint32_t bad_slots = 0;
	uint64_t first_block = 0;
	for (uint64_t k = 0; k <= frame_block(n) && k * SHM_BLOCK_SIZE < len; k++) {
		uint32_t b = count_bad_slots(buf, len, s->big_endian, k);
		if (b && bad_slots == 0)
			first_block = k;
		bad_slots += b;
	}
	if (bad_slots)
		wd_add(d, WD_SHM_INDEX_MISMATCH, WD_F_SHM,
		       (int64_t)(first_block * SHM_BLOCK_SIZE + HASH_OFF_IN_BLOCK), WD_NONE, WD_NONE,
		       "%u hash slots hold an index past their block's page array (first in block %llu)",
		       bad_slots, (unsigned long long)first_block);
	return d->n > before ? WD_WARN : WD_OK;
}
