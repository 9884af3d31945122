/*
 * wal.c — the write-ahead log: header, frames, checksum chain, and a walk
 * that stops exactly where SQLite's recovery (walIndexRecover) stops.
 *
 * A WAL is a 32-byte header followed by frames of 24 + page-size bytes.
 * Every integer is a big-endian u32 (src/wal.c, top-of-file comment):
 *
 *   header                          frame header (frame N starts at
 *   off field                       32 + (N-1) * (page size + 24))
 *     0 magic 0x377f0682 | be       off field
 *     4 format version 3007000        0 page number (0 is invalid)
 *     8 page size (65536 as-is)       4 commit size: db pages after the
 *    12 checkpoint sequence             commit, 0 on non-commit frames
 *    16 salt-1                        8 salt-1 copy } must equal the
 *    20 salt-2                       12 salt-2 copy } header's salts
 *    24 checksum-1 } over bytes      16 checksum-1 } running checksum over
 *    28 checksum-2 } 0..23           20 checksum-2 } frame bytes 0..7 + page
 *                                    24 the page (page-size bytes)
 *
 * The checksum (walChecksumBytes) reads its input as 32-bit words, big-endian
 * when the magic's low bit is set, little-endian otherwise, and folds pairs
 * of words into (s0, s1): s0 += x[i] + s1; s1 += x[i+1] + s0.  The header's
 * checksum starts from (0, 0); frame 1 continues from the header checksum,
 * frame N from frame N-1's, so a frame is valid only if all before it are.
 * Stored checksums are always big-endian, whatever the word order.
 *
 * What SQLite accepts (walIndexRecover, walDecodeFrame):
 *  - a WAL of 32 bytes or less holds no frames (its header is not read);
 *  - bad magic, a page size that is not a power of two in 512..65536, or a
 *    header checksum mismatch: the whole WAL is silently ignored;
 *  - only then, a version other than 3007000 makes the open fail (CANTOPEN);
 *  - frames 1..(size - 32) / (page size + 24) are read in order, and the
 *    first frame failing the salt test, the page-number test or the
 *    checksum test (in that order) ends the log; a trailing partial frame is
 *    never read;
 *  - mxFrame is the last valid frame with a non-zero commit size, nPage its
 *    commit size; valid frames after it are an unfinished transaction.
 *
 * waldo classifies every whole frame (enum wal_frame_state), so frames past
 * the end — stale frames of an earlier generation, frames after a checksum
 * break — are shown for what they are.  See docs/format-wal.md.  Two limits
 * (docs/limits.md): WAL_MAX_FRAMES frames, and a run of all-zero frame
 * headers past the valid end (WAL_ZERO_RUN_*): a hole or a zeroed tail,
 * never valid (page number 0), after which the walk reads nothing, so that
 * a WAL made sparse to 1 TiB costs what its data costs.
 *
 * Speed: the checksum runs in eight vector lanes, and a WAL of more than
 * 64 MiB is summed by two threads, each half of the frames on one; both
 * rest on the chain being linear (the checksum section below).  The result
 * is the one the serial loop gives; figures in docs/performance.md.
 */
#include "wal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dbheader.h"

enum {
	OFF_MAGIC = 0, OFF_VERSION = 4, OFF_PAGE_SIZE = 8, OFF_CKPT_SEQ = 12,
	OFF_SALT1 = 16, OFF_SALT2 = 20, OFF_CKSUM1 = 24, OFF_CKSUM2 = 28,
};
enum {
	FOFF_PGNO = 0, FOFF_COMMIT = 4, FOFF_SALT1 = 8, FOFF_SALT2 = 12,
	FOFF_CKSUM1 = 16, FOFF_CKSUM2 = 20,
};

#define WAL_MIN_PAGE_SIZE 512u
#define WAL_MAX_PAGE_SIZE 65536u      /* SQLITE_MAX_PAGE_SIZE */
#define WAL_MAX_PGNO 0xfffffffeu      /* largest page number SQLite can address */

/* ---- checksum ----------------------------------------------------------
 *
 * The chain is linear.  With v = (x0, x0 + x1) for the word pair (x0, x1),
 * one step is s <- M s + v (mod 2^32), M = [[1 1] [1 2]]: s0 + s1 + x0 is
 * the new s0, and s1 + (new s0) + x1 = s0 + 2 s1 + x0 + x1 the new s1.  So
 * after n pairs s = M^n s + sum_j M^(n-1-j) v_j, where M^k = [[F(2k-1)
 * F(2k)] [F(2k) F(2k+1)]] (Fibonacci numbers).  Two things follow:
 *  - the sum splits into CK_LANES independent recurrences that a vector
 *    unit runs side by side: lane l takes pairs j = l, l+L, l+2L, ... and
 *    steps T_l <- M^L T_l + v_j from 0; the sum is then sum_l M^(L-1-l) T_l;
 *  - the incoming s enters only through M^n s, added at the end: summing
 *    a page does not depend on the chain before it, which is what lets the
 *    walk sum the second half of a large WAL on another thread (below).
 * Same result, bit for bit, as walChecksumBytes; the unit tests compare it
 * with the word-by-word loop.
 */
#define CK_LANES 8
#define CK_GROUP (8 * CK_LANES)          /* bytes per step of all lanes */

/* M^8 = (F15, F16, F17): one step of a lane */
#define CK_ML_A 610u
#define CK_ML_B 987u
#define CK_ML_C 1597u

/* M^(L-1-l), the weight of lane l: (F(2k-1), F(2k), F(2k+1)), k = 7 - l */
static const uint32_t ck_weight[CK_LANES][3] = {
	{ 233, 377, 610 }, { 89, 144, 233 }, { 34, 55, 89 }, { 13, 21, 34 },
	{ 5, 8, 13 },      { 2, 3, 5 },      { 1, 1, 2 },    { 1, 0, 1 },
};

/* Powers of M are symmetric, [[a b] [b c]]; m <- m * x. */
static void ck_mat_mul(uint32_t m[3], const uint32_t x[3])
{
	uint32_t a = m[0] * x[0] + m[1] * x[1];
	uint32_t b = m[0] * x[1] + m[1] * x[2];
	uint32_t c = m[1] * x[1] + m[2] * x[2];
	m[0] = a;
	m[1] = b;
	m[2] = c;
}

/* (M^8)^k by squaring: for a page (k a power of two) a few squarings. */
static void ck_pow_group(size_t k, uint32_t m[3])
{
	uint32_t x[3] = { CK_ML_A, CK_ML_B, CK_ML_C };
	m[0] = 1, m[1] = 0, m[2] = 1;
	for (; k; k >>= 1) {
		if (k & 1)
			ck_mat_mul(m, x);
		if (k > 1)
			ck_mat_mul(x, x);
	}
}

/* The serial loop, for the tail and for short inputs; two loops so that the
 * word order is not tested per word (rd_be32/rd_le32 compile to a load,
 * plus a bswap). */
static void ck_serial(int big, const uint8_t *p, const uint8_t *end, uint32_t s[2])
{
	uint32_t s0 = s[0], s1 = s[1];
	if (big) {
		for (; p < end; p += 8) {
			s0 += rd_be32(p) + s1;
			s1 += rd_be32(p + 4) + s0;
		}
	} else {
		for (; p < end; p += 8) {
			s0 += rd_le32(p) + s1;
			s1 += rd_le32(p + 4) + s0;
		}
	}
	s[0] = s0;
	s[1] = s1;
}

/*
 * The lanes over ngroups groups of CK_GROUP bytes.  Plain C that compilers
 * vectorise: GCC on x86-64 also builds an AVX2 copy (eight 32-bit lanes in
 * one register) and picks it at load time when the CPU has AVX2.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void ck_lanes(int big, const uint8_t *p, size_t ngroups, uint32_t t0[CK_LANES],
		     uint32_t t1[CK_LANES])
{
	uint32_t a[CK_LANES], b[CK_LANES];
	memcpy(a, t0, sizeof a);
	memcpy(b, t1, sizeof b);
	if (big) {
		for (size_t g = 0; g < ngroups; g++, p += CK_GROUP)
			for (int l = 0; l < CK_LANES; l++) {
				uint32_t x0 = rd_be32(p + 8 * l), x1 = rd_be32(p + 8 * l + 4);
				uint32_t n0 = CK_ML_A * a[l] + CK_ML_B * b[l] + x0;
				b[l] = CK_ML_B * a[l] + CK_ML_C * b[l] + x0 + x1;
				a[l] = n0;
			}
	} else {
		for (size_t g = 0; g < ngroups; g++, p += CK_GROUP)
			for (int l = 0; l < CK_LANES; l++) {
				uint32_t x0 = rd_le32(p + 8 * l), x1 = rd_le32(p + 8 * l + 4);
				uint32_t n0 = CK_ML_A * a[l] + CK_ML_B * b[l] + x0;
				b[l] = CK_ML_B * a[l] + CK_ML_C * b[l] + x0 + x1;
				a[l] = n0;
			}
	}
	memcpy(t0, a, sizeof a);
	memcpy(t1, b, sizeof b);
}

void wal_checksum(int big, const uint8_t *p, size_t n, uint32_t s[2])
{
	const uint8_t *end = p + (n & ~(size_t)7);   /* SQLite asserts n % 8 == 0 */
	size_t ngroups = (n & ~(size_t)7) / CK_GROUP;
	if (ngroups >= 2) {   /* below that the lanes' set-up costs more than they save */
		uint32_t t0[CK_LANES] = { 0 }, t1[CK_LANES] = { 0 }, m[3];
		ck_lanes(big, p, ngroups, t0, t1);
		ck_pow_group(ngroups, m);
		uint32_t s0 = m[0] * s[0] + m[1] * s[1], s1 = m[1] * s[0] + m[2] * s[1];
		for (int l = 0; l < CK_LANES; l++) {
			const uint32_t *w = ck_weight[l];
			s0 += w[0] * t0[l] + w[1] * t1[l];
			s1 += w[1] * t0[l] + w[2] * t1[l];
		}
		s[0] = s0;
		s[1] = s1;
		p += ngroups * CK_GROUP;
	}
	ck_serial(big, p, end, s);
}

void wal_frame_checksum(int big, const uint8_t *frame, uint32_t page_size, uint32_t s[2])
{
	/* walDecodeFrame: the first 8 header bytes (page number and commit
	 * size, not the salts), then the page. */
	wal_checksum(big, frame, 8, s);
	wal_checksum(big, frame + WAL_FRAME_HDR_SIZE, page_size, s);
}

void wal_header_seal(uint8_t hdr[WAL_HDR_SIZE])
{
	uint32_t s[2] = { 0, 0 };
	wal_checksum(rd_be32(hdr + OFF_MAGIC) & 1, hdr, OFF_CKSUM1, s);
	wr_be32(hdr + OFF_CKSUM1, s[0]);
	wr_be32(hdr + OFF_CKSUM2, s[1]);
}

/* ---- acceptance rules -------------------------------------------------- */

/* walIndexRecover: (magic & 0xFFFFFFFE) == WAL_MAGIC. */
static bool wal_magic_ok(uint32_t magic)
{
	return (magic & ~1u) == WAL_MAGIC;
}

/* walIndexRecover: a power of two, 512 <= size <= SQLITE_MAX_PAGE_SIZE. */
bool wal_page_size_ok(uint32_t sz)
{
	return is_pow2_u32(sz) && sz >= WAL_MIN_PAGE_SIZE && sz <= WAL_MAX_PAGE_SIZE;
}

/* walDecodeFrame, first test: the frame's salts equal the header's. */
static bool wal_frame_salt_ok(const struct wal_header *h, const struct wal_frame *f)
{
	return f->salt1 == h->salt1 && f->salt2 == h->salt2;
}

/* walDecodeFrame, second test: page number not 0. */
static bool wal_frame_pgno_ok(const struct wal_frame *f)
{
	return f->pgno != 0;
}

/* walDecodeFrame, third test: the chain extended over this frame equals its
 * stored checksum.  `s` is the running checksum, updated in place. */
static bool wal_frame_cksum_ok(int big, const uint8_t *frame, uint32_t page_size,
			       const struct wal_frame *f, uint32_t s[2])
{
	wal_frame_checksum(big, frame, page_size, s);
	return s[0] == f->cksum1 && s[1] == f->cksum2;
}

/* A commit frame of the header's generation: the kind of frame whose loss
 * after a break loses a transaction. */
static bool frame_looks_committed(const struct wal_header *h, const struct wal_frame *f)
{
	return f->commit_size != 0 && wal_frame_salt_ok(h, f);
}

/* ---- header ------------------------------------------------------------ */

/* Decode 32 header bytes (the caller checked they exist); no diagnostics. */
static void header_decode(const uint8_t *p, struct wal_header *h)
{
	memset(h, 0, sizeof *h);
	h->magic = rd_be32(p + OFF_MAGIC);
	h->version = rd_be32(p + OFF_VERSION);
	h->page_size = rd_be32(p + OFF_PAGE_SIZE);
	h->ckpt_seq = rd_be32(p + OFF_CKPT_SEQ);
	h->salt1 = rd_be32(p + OFF_SALT1);
	h->salt2 = rd_be32(p + OFF_SALT2);
	h->cksum1 = rd_be32(p + OFF_CKSUM1);
	h->cksum2 = rd_be32(p + OFF_CKSUM2);
	h->big_endian_cksum = h->magic & 1;
	h->magic_ok = wal_magic_ok(h->magic);
	h->page_size_ok = wal_page_size_ok(h->page_size);
	h->version_ok = h->version == WAL_VERSION;
	uint32_t s[2] = { 0, 0 };
	wal_checksum(h->big_endian_cksum, p, OFF_CKSUM1, s);
	h->calc_cksum1 = s[0];
	h->calc_cksum2 = s[1];
	h->cksum_ok = s[0] == h->cksum1 && s[1] == h->cksum2;
	/* walIndexRecover checks magic and page size, then the checksum; the
	 * version is looked at only after all three pass. */
	h->valid = h->magic_ok && h->page_size_ok && h->cksum_ok;
}

/*
 * Why SQLite rejects the header, as text for a message, and the offset of
 * the first bad field.  Returns false when the header is valid.
 */
static bool header_faults(const struct wal_header *h, char *buf, size_t n, int64_t *off)
{
	size_t k = 0;
	buf[0] = '\0';
	*off = WD_NONE;
	if (!h->magic_ok) {
		k += (size_t)snprintf(buf + k, n - k, "bad magic 0x%08x", h->magic);
		*off = OFF_MAGIC;
	}
	if (!h->page_size_ok && k < n) {
		k += (size_t)snprintf(buf + k, n - k, "%sbad page size %u",
				      k ? ", " : "", h->page_size);
		if (*off == WD_NONE)
			*off = OFF_PAGE_SIZE;
	}
	if (!h->cksum_ok && k < n) {
		/* The values matter only when the checksum is the sole fault. */
		if (k)
			snprintf(buf + k, n - k, ", bad checksum");
		else
			snprintf(buf, n, "checksum %08x %08x != computed %08x %08x", h->cksum1, h->cksum2,
				 h->calc_cksum1, h->calc_cksum2);
		if (*off == WD_NONE)
			*off = OFF_CKSUM1;
	}
	return !h->valid;
}

int wal_parse_header(const uint8_t *p, size_t n, struct wal_header *h, struct wd_diags *d)
{
	memset(h, 0, sizeof *h);
	if (n == 0) {
		wd_add(d, WD_WAL_EMPTY, WD_F_WAL, 0, WD_NONE, WD_NONE, "WAL is empty (0 bytes)");
		return WD_OK;
	}
	if (n < WAL_HDR_SIZE) {
		wd_add(d, WD_WAL_TORN_HEADER, WD_F_WAL, 0, WD_NONE, WD_NONE,
		       "WAL is %zu bytes, shorter than its 32-byte header: SQLite treats it as empty", n);
		return WD_FATAL;
	}
	header_decode(p, h);
	char why[160];
	int64_t off;
	if (header_faults(h, why, sizeof why, &off)) {
		wd_add(d, WD_WAL_HEADER_INVALID, WD_F_WAL, off, WD_NONE, WD_NONE,
		       "WAL header: %s; SQLite ignores the whole WAL", why);
		return WD_FATAL;
	}
	if (!h->version_ok) {
		wd_add(d, WD_WAL_VERSION_INVALID, WD_F_WAL, OFF_VERSION, WD_NONE, WD_NONE,
		       "WAL format version %u is not 3007000: SQLite refuses to open the database (CANTOPEN)",
		       h->version);
		return WD_FATAL;
	}
	return WD_OK;
}

/* ---- the walk ---------------------------------------------------------- */

/* Outcome of running SQLite's recovery loop over the frames. */
struct chain {
	uint32_t s[2];            /* the running checksum, carried from one range to the next */
	uint32_t nvalid;          /* frames 1..nvalid pass */
	uint32_t mx, npage;       /* last valid commit frame and its commit size */
	uint32_t cksum_mx[2];     /* running checksum at mx ({0,0} when mx == 0) */
	uint32_t calc[2];         /* checksum computed for frame nvalid+1 when it broke */
	enum wal_end end;
};

/* Decode the 24-byte header of frame i (0-based); the caller checked that
 * the whole frame is in the buffer. */
static void frame_decode(const uint8_t *buf, uint32_t page_size, uint32_t i, struct wal_frame *f)
{
	const uint8_t *p = buf + wal_frame_offset(page_size, (uint64_t)i + 1);
	f->pgno = rd_be32(p + FOFF_PGNO);
	f->commit_size = rd_be32(p + FOFF_COMMIT);
	f->salt1 = rd_be32(p + FOFF_SALT1);
	f->salt2 = rd_be32(p + FOFF_SALT2);
	f->cksum1 = rd_be32(p + FOFF_CKSUM1);
	f->cksum2 = rd_be32(p + FOFF_CKSUM2);
	f->state = 0;
}

/*
 * The second half of a large WAL is prepared by a helper thread while the
 * walk checks the first: it decodes those frame headers and, for each
 * frame, the part of its checksum that does not depend on the chain,
 * c_i = P v_i + z_i (v_i the frame header's word pair, z_i the page summed
 * from 0, P = M^(page size / 8); see the checksum section).  When the walk
 * reaches that half it extends the chain with s <- Q s + c_i (Q = P M): the
 * same value walDecodeFrame computes, in four multiplications per frame.
 * The chain still stops at the first failing frame, in order; only the
 * reading of the bytes is shared between two cores.  Small WALs (all the
 * ones a test makes) are walked by one thread: splitting pays only when a
 * half takes longer than starting a thread.  Build with
 * -DWAL_SPLIT_MIN_BYTES=0 to send every WAL through the split path.
 */
#ifndef WAL_SPLIT_MIN_BYTES
#define WAL_SPLIT_MIN_BYTES (64u << 20)
#endif
static const uint64_t split_min_bytes = WAL_SPLIT_MIN_BYTES;

struct split {
	const uint8_t *buf;
	uint32_t page_size;
	int big;
	struct wal_frame *fr;
	uint32_t mid, n;          /* the helper prepares frames mid..n-1 (0-based) */
	uint32_t *c;              /* 2 * (n - mid) words: c_i */
	uint32_t q[3];            /* Q = M^(page_size / 8 + 1), symmetric [[a b] [b c]] */
	pthread_t thread;
	bool running;             /* thread started and not joined */
};

static void *split_main(void *arg)
{
	const struct split *sp = arg;
	uint32_t p[3];
	ck_pow_group(sp->page_size / CK_GROUP, p);
	for (uint32_t i = sp->mid; i < sp->n; i++) {
		const uint8_t *frame = sp->buf + wal_frame_offset(sp->page_size, (uint64_t)i + 1);
		frame_decode(sp->buf, sp->page_size, i, &sp->fr[i]);
		uint32_t z[2] = { 0, 0 };
		wal_checksum(sp->big, frame + WAL_FRAME_HDR_SIZE, sp->page_size, z);
		uint32_t x0 = rd_u32(frame, sp->big), x1 = rd_u32(frame + 4, sp->big);
		uint32_t v0 = x0, v1 = x0 + x1;
		uint32_t *c = &sp->c[2 * (size_t)(i - sp->mid)];
		c[0] = p[0] * v0 + p[1] * v1 + z[0];
		c[1] = p[1] * v0 + p[2] * v1 + z[1];
	}
	return NULL;
}

/* Start the helper on the second half of frames 1..n when the WAL is large
 * enough; false (and nothing to undo) when it is not, or when memory or a
 * thread cannot be had: the walk is then serial. */
static bool split_start(struct split *sp, const uint8_t *buf, uint32_t page_size, int big,
			struct wal_frame *fr, uint32_t n)
{
	memset(sp, 0, sizeof *sp);
	if ((uint64_t)n * page_size < split_min_bytes || n < 2)
		return false;
	sp->buf = buf;
	sp->page_size = page_size;
	sp->big = big;
	sp->fr = fr;
	sp->n = n;
	sp->mid = n / 2;
	sp->c = malloc(2 * sizeof *sp->c * (size_t)(n - sp->mid));
	if (!sp->c)
		return false;
	uint32_t m1[3] = { 1, 1, 2 };              /* M */
	ck_pow_group(page_size / CK_GROUP, sp->q);
	ck_mat_mul(sp->q, m1);
	if (pthread_create(&sp->thread, NULL, split_main, sp) != 0) {
		free(sp->c);
		sp->c = NULL;
		return false;
	}
	sp->running = true;
	return true;
}

static void split_join(struct split *sp)
{
	if (sp->running) {
		pthread_join(sp->thread, NULL);
		sp->running = false;
	}
}

static void split_finish(struct split *sp)
{
	split_join(sp);
	free(sp->c);
	sp->c = NULL;
}

/* A frame header of 24 zero bytes, in the file: never valid (page number 0),
 * and what a hole or a zeroed tail reads as. */
static bool frame_hdr_zero(const uint8_t *buf, uint32_t page_size, uint32_t i)
{
	static const uint8_t zero[WAL_FRAME_HDR_SIZE];
	return !memcmp(buf + wal_frame_offset(page_size, (uint64_t)i + 1), zero, sizeof zero);
}

/* The same for a decoded record. */
static bool frame_rec_zero(const struct wal_frame *f)
{
	return !(f->pgno | f->commit_size | f->salt1 | f->salt2 | f->cksum1 | f->cksum2);
}

uint32_t wal_zero_run_frames(uint32_t page_size)
{
	uint64_t n = WAL_ZERO_RUN_BYTES / ((uint64_t)page_size + WAL_FRAME_HDR_SIZE);
	return n < WAL_ZERO_RUN_MIN ? WAL_ZERO_RUN_MIN : (uint32_t)n;
}

#define FRAMES_FIRST 4096u   /* records made before a walk that grows them */

/* Records for frames 0..need-1 in w->frames, doubling the room `cap` up to
 * `max` records.  False when memory runs out (w->frames is kept). */
static bool frames_reserve(struct wal_walk *w, uint32_t *cap, uint32_t need, uint32_t max)
{
	if (need <= *cap)
		return true;
	uint64_t k = *cap ? 2ull * *cap : FRAMES_FIRST;
	if (k < need)
		k = need;
	if (k > max)
		k = max;
	struct wal_frame *p = realloc(w->frames, (size_t)k * sizeof *p);
	if (!p)
		return false;
	w->frames = p;
	*cap = (uint32_t)k;
	return true;
}

/* Start a chain from `seed` (the header's stored checksum). */
static void chain_init(struct chain *c, const uint32_t seed[2])
{
	memset(c, 0, sizeof *c);
	c->s[0] = seed[0];
	c->s[1] = seed[1];
	c->end = WAL_END_EOF;
}

/*
 * walIndexRecover's frame loop over frames from+1..n (0-based from..n-1),
 * continuing the chain in c (chain_init for frame 1), stopping at the first
 * frame that fails walDecodeFrame; c->end stays END_EOF while all pass, so
 * a caller may run the frames in ranges.  `buf` holds every frame (the
 * caller derived n from the buffer length).  Decodes each frame header into
 * fr[] just before testing it, so the walk reads the file once, front to
 * back; returns the index past the last frame it decoded (the frames it
 * tested), and the caller decodes the rest.  With `sp` (from 0 only),
 * frames sp->mid.. come decoded and pre-summed from the helper thread.
 */
static uint32_t chain_run(const uint8_t *buf, uint32_t page_size, const struct wal_header *h,
			  struct wal_frame *fr, uint32_t from, uint32_t n, struct chain *c, struct split *sp)
{
	uint32_t s[2] = { c->s[0], c->s[1] };
	const int big = h->big_endian_cksum;
	const uint32_t mid = sp ? sp->mid : n;
	for (uint32_t i = from; i < n; i++) {
		struct wal_frame *f = &fr[i];
		if (i < mid)
			frame_decode(buf, page_size, i, f);
		else if (i == mid)
			split_join(sp);
		if (!wal_frame_salt_ok(h, f)) {
			c->end = WAL_END_SALT;
			return i + 1;
		}
		if (!wal_frame_pgno_ok(f)) {
			c->end = WAL_END_PGNO;
			return i + 1;
		}
		bool ok;
		if (i < mid) {
			const uint8_t *frame = buf + wal_frame_offset(page_size, (uint64_t)i + 1);
			ok = wal_frame_cksum_ok(big, frame, page_size, f, s);
		} else {
			const uint32_t *ci = &sp->c[2 * (size_t)(i - mid)], *q = sp->q;
			uint32_t s0 = q[0] * s[0] + q[1] * s[1] + ci[0];
			uint32_t s1 = q[1] * s[0] + q[2] * s[1] + ci[1];
			s[0] = s0;
			s[1] = s1;
			ok = s0 == f->cksum1 && s1 == f->cksum2;
		}
		if (!ok) {
			c->end = WAL_END_CKSUM;
			c->calc[0] = s[0];
			c->calc[1] = s[1];
			return i + 1;
		}
		c->nvalid = i + 1;
		if (f->commit_size) {
			c->mx = i + 1;
			c->npage = f->commit_size;
			c->cksum_mx[0] = s[0];
			c->cksum_mx[1] = s[1];
		}
	}
	c->s[0] = s[0];
	c->s[1] = s[1];
	return n;
}

/* Committed-looking frames at index >= from (0-based): count and the last. */
static uint32_t count_commits_from(const struct wal_walk *w, uint32_t from, uint32_t *last)
{
	uint32_t n = 0;
	*last = 0;
	for (uint32_t i = from; i < w->nframes; i++)
		if (frame_looks_committed(&w->hdr, &w->frames[i])) {
			n++;
			*last = i + 1;
		}
	return n;
}

/* Report the frame that ended the log (checksum break or page number 0). */
static void report_break(const struct wal_walk *w, const struct chain *c, struct wd_diags *d)
{
	const uint32_t k = c->nvalid + 1;               /* 1-based breaking frame */
	const struct wal_frame *f = &w->frames[k - 1];
	uint32_t last, nlost = count_commits_from(w, k - 1, &last);
	uint32_t after = w->nframes - k;                /* frames behind the break */
	char what[128], loss[160];
	if (c->end == WAL_END_CKSUM)
		snprintf(what, sizeof what, "frame %u (page %u): checksum %08x %08x != computed %08x %08x", k,
			 f->pgno, f->cksum1, f->cksum2, c->calc[0], c->calc[1]);
	else
		snprintf(what, sizeof what, "frame %u has page number 0", k);
	if (nlost)
		snprintf(loss, sizeof loss, "losing %u commit%s (last at frame %u)", nlost, nlost == 1 ? "" : "s",
			 last);
	else
		snprintf(loss, sizeof loss, "only the unfinished transaction in frames %u-%u is affected",
			 w->mx_frame + 1, w->nframes);
	enum wd_code code = c->end == WAL_END_CKSUM ? WD_WAL_CHECKSUM_MISMATCH : WD_WAL_FRAME_INVALID;
	wd_add_sev(d, code, nlost ? WD_ERROR : WD_WARNING, WD_F_WAL,
		   (int64_t)wal_frame_offset(w->page_size, k), k, f->pgno ? (int64_t)f->pgno : WD_NONE,
		   "%s; SQLite stops here: %s; %u later frame%s unverifiable", what, loss, after,
		   after == 1 ? "" : "s");
}

/*
 * Frame-header values SQLite does not check but never writes, among the
 * valid frames: commit size 0xffffffff, the lock-byte page, a page past its
 * transaction's database size.  One summarising diagnostic per condition.
 */
static void report_odd_frames(const struct wal_walk *w, struct wd_diags *d)
{
	const uint32_t lock_pgno = dbh_lock_byte_page(w->page_size);
	uint32_t n_huge = 0, f_huge = 0, n_lock = 0, f_lock = 0, n_past = 0, f_past = 0, p_past = 0, s_past = 0;
	uint32_t t = 0;                                  /* transaction of frame i */
	for (uint32_t i = 0; i < w->nvalid; i++) {
		const struct wal_frame *f = &w->frames[i];
		if (f->commit_size > WAL_MAX_PGNO && n_huge++ == 0)
			f_huge = i + 1;
		if (f->pgno == lock_pgno && n_lock++ == 0)
			f_lock = i + 1;
		while (t < w->ntxn && w->txns[t].last < i + 1)
			t++;
		if (t < w->ntxn && (uint64_t)f->pgno > (uint64_t)w->txns[t].db_size && n_past++ == 0) {
			f_past = i + 1;
			p_past = f->pgno;
			s_past = w->txns[t].db_size;
		}
	}
	if (n_huge)
		wd_add(d, WD_WAL_FRAME_INVALID, WD_F_WAL,
		       (int64_t)wal_frame_offset(w->page_size, f_huge) + FOFF_COMMIT, f_huge, w->frames[f_huge - 1].pgno,
		       "frame %u: commit size 0xffffffff is not a database size SQLite can write (%u such frame%s)",
		       f_huge, n_huge, n_huge == 1 ? "" : "s");
	if (n_lock)
		wd_add(d, WD_WAL_FRAME_INVALID, WD_F_WAL,
		       (int64_t)wal_frame_offset(w->page_size, f_lock) + FOFF_PGNO, f_lock, lock_pgno,
		       "frame %u writes page %u, the lock-byte page for %u-byte pages, which never holds data "
		       "(%u such frame%s)", f_lock, lock_pgno, w->page_size, n_lock, n_lock == 1 ? "" : "s");
	if (n_past)
		wd_add_sev(d, WD_WAL_FRAME_INVALID, WD_WARNING, WD_F_WAL,
			   (int64_t)wal_frame_offset(w->page_size, f_past) + FOFF_PGNO, f_past, p_past,
			   "frame %u writes page %u past its transaction's database size of %u pages "
			   "(%u such frame%s; legal only when that transaction shrank the database)",
			   f_past, p_past, s_past, n_past, n_past == 1 ? "" : "s");
}

/* Header diagnostics of a walk, worded with what the frames hold. */
static void report_header(const struct wal_walk *w, const struct chain *shadow, struct wd_diags *d)
{
	const struct wal_header *h = &w->hdr;
	char why[160];
	int64_t off;
	if (header_faults(h, why, sizeof why, &off)) {
		if (w->file_size <= WAL_HDR_SIZE) {
			wd_add_sev(d, WD_WAL_HEADER_INVALID, WD_INFO, WD_F_WAL, off, WD_NONE, WD_NONE,
				   "WAL header: %s; the WAL holds no frames, so nothing is lost", why);
			return;
		}
		if (!w->page_size) {
			wd_add(d, WD_WAL_HEADER_INVALID, WD_F_WAL, off, WD_NONE, WD_NONE,
			       "WAL header: %s; SQLite ignores the whole WAL (%llu bytes after the header, "
			       "no page size to delimit frames)",
			       why, (unsigned long long)(w->file_size - WAL_HDR_SIZE));
			return;
		}
		uint32_t last, ncommit = count_commits_from(w, 0, &last);
		char more[128] = "";
		if (shadow && shadow->nvalid)
			snprintf(more, sizeof more, "; frames 1-%u chain from the stored checksum: header "
				 "altered after sealing", shadow->nvalid);
		wd_add_sev(d, WD_WAL_HEADER_INVALID, w->nframes ? WD_ERROR : WD_WARNING, WD_F_WAL, off, WD_NONE,
			   WD_NONE, "WAL header: %s; SQLite ignores all %u frame%s (%u commit%s)%s", why,
			   w->nframes, w->nframes == 1 ? "" : "s", ncommit, ncommit == 1 ? "" : "s", more);
		return;
	}
	if (!h->version_ok) {
		if (w->file_size <= WAL_HDR_SIZE)
			wd_add_sev(d, WD_WAL_VERSION_INVALID, WD_INFO, WD_F_WAL, OFF_VERSION, WD_NONE, WD_NONE,
				   "WAL format version %u is not 3007000; the WAL holds no frames, so SQLite "
				   "does not read its header", h->version);
		else
			wd_add(d, WD_WAL_VERSION_INVALID, WD_F_WAL, OFF_VERSION, WD_NONE, WD_NONE,
			       "WAL format version %u is not 3007000: SQLite refuses to open the database "
			       "(CANTOPEN)", h->version);
	}
}

/* Fill w->txns from the valid frames 1..mx_frame.  Returns false on ENOMEM. */
static bool collect_txns(struct wal_walk *w)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < w->mx_frame; i++)
		n += w->frames[i].commit_size != 0;
	if (!n)
		return true;
	w->txns = malloc((size_t)n * sizeof *w->txns);
	if (!w->txns)
		return false;
	uint32_t first = 1;
	for (uint32_t i = 0; i < w->mx_frame; i++) {
		if (!w->frames[i].commit_size)
			continue;
		struct wal_txn *t = &w->txns[w->ntxn++];
		t->first = first;
		t->last = i + 1;
		t->db_size = w->frames[i].commit_size;
		first = i + 2;
	}
	return true;
}

static int status_since(const struct wd_diags *d, size_t from, bool fatal)
{
	if (fatal)
		return WD_FATAL;
	for (size_t i = from; i < d->n; i++)
		if (d->v[i].sev >= WD_WARNING)
			return WD_WARN;
	return WD_OK;
}

int wal_walk(const uint8_t *buf, uint64_t len, uint32_t page_size_hint,
	     struct wal_walk *w, struct wd_diags *d)
{
	const size_t n0 = d->n;
	memset(w, 0, sizeof *w);
	w->file_size = len;
	w->end = WAL_END_NO_HEADER;
	if (len < WAL_HDR_SIZE) {
		/* Empty (info) or torn (warning); nothing else to look at. */
		int rc = wal_parse_header(buf, (size_t)len, &w->hdr, d);
		return rc;
	}
	header_decode(buf, &w->hdr);
	const struct wal_header *h = &w->hdr;

	/* Frame geometry: the header's page size, or the caller's hint when the
	 * header's is unusable, so that damaged WALs still show their frames.
	 * Nothing is ever divided by an unchecked value. */
	if (h->page_size_ok)
		w->page_size = h->page_size;
	else if (wal_page_size_ok(page_size_hint))
		w->page_size = page_size_hint;
	uint64_t nwhole = 0;
	if (w->page_size) {
		const uint64_t sz_frame = (uint64_t)w->page_size + WAL_FRAME_HDR_SIZE;
		nwhole = (len - WAL_HDR_SIZE) / sz_frame;
		w->partial_bytes = (uint32_t)((len - WAL_HDR_SIZE) % sz_frame);
		w->nframes = nwhole > WAL_MAX_FRAMES ? WAL_MAX_FRAMES : (uint32_t)nwhole;
	}
	/*
	 * Records.  A large WAL whose middle and last frame hold data is read
	 * by two threads, with a record for every frame made up front; any
	 * other WAL gets records as the walk reaches its frames, so that a
	 * file whose size is mostly a hole or zeros costs what its data costs
	 * (the walk stops at such a run below).
	 */
	const uint32_t n = w->nframes, ps = w->page_size;
	uint32_t cap = 0;
	bool nomem = false;
	const bool dense = n >= 2 && !frame_hdr_zero(buf, ps, n / 2) && !frame_hdr_zero(buf, ps, n - 1);
	const uint32_t nfirst = dense || n < FRAMES_FIRST ? n : FRAMES_FIRST;
	w->nframes = 0;
	if (n && !frames_reserve(w, &cap, nfirst, n)) {
		wd_add(d, WD_WAL_LIMIT_EXCEEDED, WD_F_WAL, WAL_HDR_SIZE, WD_NONE, WD_NONE,
		       "cannot allocate records for %u frames", nfirst);
		return WD_FATAL;
	}
	/* SQLite reads frames only from a header it accepts and only when the
	 * file is longer than the header (walIndexRecover: nSize > WAL_HDRSIZE). */
	struct chain c = { .end = WAL_END_NO_HEADER }, shadow = { 0 };
	const bool run_chain = h->valid && len > WAL_HDR_SIZE;
	const bool have_shadow = !run_chain && n;
	uint32_t ndecoded = 0;
	if (run_chain || have_shadow) {
		/* Without a valid header, forensics only: does the chain hold from
		 * the checksum stored in the header?  Then the header was changed
		 * after it was sealed. */
		struct chain *cc = run_chain ? &c : &shadow;
		const uint32_t seed[2] = { h->cksum1, h->cksum2 };
		chain_init(cc, seed);
		struct split sp;
		if (dense && split_start(&sp, buf, ps, h->big_endian_cksum, w->frames, n)) {
			ndecoded = chain_run(buf, ps, h, w->frames, 0, n, cc, &sp);
			split_finish(&sp);
			if (ndecoded < sp.mid)   /* the helper decoded the rest */
				for (uint32_t i = ndecoded; i < sp.mid; i++)
					frame_decode(buf, ps, i, &w->frames[i]);
			ndecoded = n;
		} else {
			/* In ranges of the records there are; the chain carries over. */
			for (uint32_t i = 0; i < n && cc->end == WAL_END_EOF;) {
				if (i == cap && !frames_reserve(w, &cap, i + 1, n)) {
					nomem = true;
					break;
				}
				uint32_t to = cap < n ? cap : n;
				ndecoded = chain_run(buf, ps, h, w->frames, i, to, cc, NULL);
				i = to;
			}
		}
		if (run_chain && c.end == WAL_END_EOF && (nwhole > n || nomem))
			c.end = WAL_END_LIMIT;
	}
	/*
	 * Frames past the end of the chain: headers only, no checksum, up to
	 * the first run of all-zero frame headers long enough to be a hole or
	 * a zeroed tail (wal_zero_run_frames).  Such a header can never be
	 * valid (page number 0), SQLite never reads past the first one, and a
	 * sparse WAL of 1 TiB would otherwise cost 2^26 records.  The frame
	 * that broke the chain keeps its record (report_break shows it).
	 */
	uint32_t nrec = nomem ? ndecoded : n, run = 0;
	const struct chain *ce = run_chain ? &c : &shadow;
	uint32_t from = ce->nvalid + (ce->end == WAL_END_CKSUM || ce->end == WAL_END_PGNO);
	if (from > ndecoded)
		from = ndecoded;
	const uint32_t zrun = ps ? wal_zero_run_frames(ps) : 1;
	for (uint32_t i = from; i < nrec; i++) {
		if (i >= ndecoded) {
			if (i >= cap && !frames_reserve(w, &cap, i + 1, n)) {
				nomem = true;
				nrec = i;
				break;
			}
			frame_decode(buf, ps, i, &w->frames[i]);
			ndecoded = i + 1;
		}
		if (!frame_rec_zero(&w->frames[i])) {
			run = 0;
		} else if (++run == zrun) {
			nrec = i + 1 - zrun;
			w->zero_from = nrec + 1;
			break;
		}
	}
	w->nframes = nrec;
	w->nwhole = nwhole;
	if (nomem)
		wd_add(d, WD_WAL_LIMIT_EXCEEDED, WD_F_WAL, (int64_t)wal_frame_offset(ps, (uint64_t)nrec + 1),
		       (int64_t)nrec + 1, WD_NONE, "cannot allocate records past frame %u: the frames after it are "
		       "not read", nrec);
	w->nvalid = c.nvalid;
	w->mx_frame = c.mx;
	w->npage = c.npage;
	w->cksum_mx[0] = c.cksum_mx[0];
	w->cksum_mx[1] = c.cksum_mx[1];
	w->end = c.end;

	for (uint32_t i = 0; i < w->nframes; i++) {
		struct wal_frame *f = &w->frames[i];
		enum wal_frame_state st;
		if (i < w->mx_frame)
			st = WAL_FR_COMMITTED;
		else if (i < w->nvalid)
			st = WAL_FR_UNCOMMITTED;
		else if (i == w->nvalid && w->end == WAL_END_CKSUM)
			st = WAL_FR_CKSUM_BREAK;
		else if (i == w->nvalid && w->end == WAL_END_PGNO)
			st = WAL_FR_BAD_PGNO;
		else
			st = wal_frame_salt_ok(h, f) ? WAL_FR_AFTER_BREAK : WAL_FR_STALE;
		f->state = (uint8_t)st;
	}
	if (!collect_txns(w)) {
		wd_add(d, WD_WAL_LIMIT_EXCEEDED, WD_F_WAL, WAL_HDR_SIZE, WD_NONE, WD_NONE,
		       "cannot allocate records for the transactions of %u frames", w->mx_frame);
		return WD_FATAL;
	}

	/* Diagnostics, one per condition. */
	report_header(w, have_shadow ? &shadow : NULL, d);
	const bool fatal = !h->valid || !h->version_ok;
	if (len == WAL_HDR_SIZE)
		wd_add(d, WD_WAL_EMPTY, WD_F_WAL, WAL_HDR_SIZE, WD_NONE, WD_NONE,
		       "WAL holds only its 32-byte header, no frames");
	if (w->zero_from)
		wd_add_sev(d, WD_WAL_LIMIT_EXCEEDED, WD_WARNING, WD_F_WAL,
			   (int64_t)wal_frame_offset(w->page_size, w->zero_from), w->zero_from, WD_NONE,
			   "frames %u-%u have all-zero headers (a hole or a zeroed tail; SQLite never reads past "
			   "the first): waldo stops there, %llu of %llu whole frames not read", w->zero_from,
			   w->zero_from + zrun - 1, (unsigned long long)(nwhole - (w->zero_from - 1)),
			   (unsigned long long)nwhole);
	else if (nwhole > WAL_MAX_FRAMES)
		wd_add(d, WD_WAL_LIMIT_EXCEEDED, WD_F_WAL,
		       (int64_t)wal_frame_offset(w->page_size, (uint64_t)WAL_MAX_FRAMES + 1),
		       (int64_t)WAL_MAX_FRAMES + 1, WD_NONE,
		       "WAL holds %llu whole frames; waldo reads only the first %u (WAL_MAX_FRAMES)",
		       (unsigned long long)nwhole, WAL_MAX_FRAMES);
	if (w->end == WAL_END_CKSUM || w->end == WAL_END_PGNO)
		report_break(w, &c, d);
	if (w->nvalid > w->mx_frame)
		wd_add(d, WD_WAL_UNCOMMITTED_TAIL, WD_F_WAL,
		       (int64_t)wal_frame_offset(w->page_size, (uint64_t)w->mx_frame + 1), w->mx_frame + 1, WD_NONE,
		       "frames %u-%u (%u frame%s) follow the last commit frame %u: a transaction that never "
		       "committed; SQLite ignores them", w->mx_frame + 1, w->nvalid, w->nvalid - w->mx_frame,
		       w->nvalid - w->mx_frame == 1 ? "" : "s", w->mx_frame);
	if (w->partial_bytes)
		wd_add(d, WD_WAL_PARTIAL_FRAME, WD_F_WAL,
		       (int64_t)wal_frame_offset(w->page_size, nwhole + 1), (int64_t)nwhole + 1, WD_NONE,
		       "%u bytes after frame %llu are a partial frame (a frame is %u bytes): a torn write "
		       "SQLite never reads", w->partial_bytes, (unsigned long long)nwhole,
		       w->page_size + WAL_FRAME_HDR_SIZE);
	if (h->valid) {
		uint32_t nstale = 0, first = 0;
		for (uint32_t i = w->nvalid; i < w->nframes; i++)
			if (w->frames[i].state == WAL_FR_STALE && nstale++ == 0)
				first = i + 1;
		if (nstale)
			wd_add(d, WD_WAL_STALE_FRAMES, WD_F_WAL, (int64_t)wal_frame_offset(w->page_size, first),
			       first, WD_NONE,
			       "%u frame%s from frame %u on carry salts %08x %08x, not the header's %08x %08x: "
			       "left from an earlier WAL generation (before a restart)", nstale,
			       nstale == 1 ? "" : "s", first, w->frames[first - 1].salt1,
			       w->frames[first - 1].salt2, h->salt1, h->salt2);
		report_odd_frames(w, d);
	}
	return status_since(d, n0, fatal);
}

void wal_walk_free(struct wal_walk *w)
{
	free(w->frames);
	free(w->txns);
	w->frames = NULL;
	w->txns = NULL;
	w->nframes = w->ntxn = 0;
}

const char *wal_frame_state_name(enum wal_frame_state s)
{
	switch (s) {
	case WAL_FR_COMMITTED: return "committed";
	case WAL_FR_UNCOMMITTED: return "uncommitted";
	case WAL_FR_CKSUM_BREAK: return "checksum-break";
	case WAL_FR_BAD_PGNO: return "bad-pgno";
	case WAL_FR_STALE: return "stale";
	case WAL_FR_AFTER_BREAK: return "after-break";
	}
	return "unknown";
}

const char *wal_end_name(enum wal_end e)
{
	switch (e) {
	case WAL_END_EOF: return "eof";
	case WAL_END_NO_HEADER: return "no-header";
	case WAL_END_SALT: return "salt";
	case WAL_END_PGNO: return "pgno";
	case WAL_END_CKSUM: return "checksum";
	case WAL_END_LIMIT: return "limit";
	}
	return "unknown";
}
