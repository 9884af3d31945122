/*
 * scan_archive.c — gzip and tar read as streams; see scan_archive.h.
 *
 * gzip (RFC 1952).  A gzip file is one or more members, each a 10-byte
 * header (1f 8b 08 flags mtime xfl os, then optional extra/name/comment/
 * header-CRC fields), deflate data, and an 8-byte trailer (CRC-32 and the
 * length mod 2^32).  `cat a.gz b.gz` is a valid gzip file whose content is
 * the concatenation, so after each member we look for another 1f 8b.
 * zlib (inflateInit2 with windowBits 16+15) parses header and trailer and
 * checks the CRC.  What we report, with the compressed offset:
 *   - deflate data zlib rejects, or a bad CRC/length: ARCHIVE_CORRUPT;
 *   - input ending inside a member: ARCHIVE_CORRUPT (truncated);
 *   - bytes after the last member that do not start another member:
 *     ARCHIVE_TRAILING_GARBAGE (gzip -d says "trailing garbage ignored");
 *   - inflated bytes past max_ratio times the compressed bytes read, once
 *     SA_RATIO_FLOOR bytes were inflated: ARCHIVE_LIMIT, reading stops.
 *     Deflate cannot exceed about 1032:1, so a cap below that bounds the
 *     work one small file can cause.
 *
 * tar.  A sequence of 512-byte header blocks, each followed by the member's
 * data padded to a multiple of 512; the archive ends with two blocks of
 * zeros (more zero padding to a 10240-byte record usually follows).
 *
 *   offset size  field
 *        0  100  name (NUL-terminated unless it fills the field)
 *      100    8  mode        (octal)
 *      108    8  uid, 116 8 gid
 *      124   12  size        octal, or base-256 when the top bit of byte 124 is set (GNU)
 *      136   12  mtime
 *      148    8  checksum    octal sum of all 512 bytes with this field taken as spaces
 *      156    1  typeflag    '0'/NUL file, '1' hard link, '2' symlink, '3' '4' devices,
 *                            '5' directory, '6' FIFO, '7' contiguous file,
 *                            'L'/'K' GNU long name/link for the next member,
 *                            'x'/'g' PAX extended header (next member / global),
 *                            'S' GNU sparse, 'M' multi-volume, 'V' volume label
 *      157  100  linkname
 *      257    6  magic       "ustar\0" (POSIX, version "00") or "ustar " (GNU, version " \0")
 *      265   32  uname, 297 32 gname, 329 8 devmajor, 337 8 devminor
 *      345  155  prefix      POSIX only: the name is prefix + "/" + name
 *
 * Rules, as GNU tar and libarchive apply them: the checksum may be the
 * unsigned or (historic) signed byte sum; unknown typeflags are regular
 * files; the size of symlinks, devices, FIFOs and directories is ignored;
 * a PAX record is "LEN key=value\n" with LEN counting the whole record.
 * Names longer than SA_NAME_MAX and PAX headers longer than SA_PAX_MAX are
 * never held whole.  A header whose checksum fails is ARCHIVE_CORRUPT and
 * the reader skips block by block to the next valid header (tar
 * "Skipping to next header"); after the end marker a valid header starts a
 * concatenated archive (tar -i), anything else is trailing garbage.
 *
 * A size field is never trusted to size anything.  When the archive ends
 * inside the data a header declares (a member, a GNU long-name record, a
 * PAX header), that is ARCHIVE_CORRUPT "truncated/corrupt tar at offset X"
 * with the header's offset, found where the data runs out.  In a plain
 * file the reader knows earlier: a size larger than what the file still
 * holds is damage or a cut, and the data is taken to end at the next valid
 * header after it (data_extent), so that the members behind a damaged size
 * field are still read.
 *
 * The byte source is a file descriptor (read, lseek, pread) or, for the
 * fuzz target, a buffer in memory behaving as a regular file of that
 * content (sa_stream_open_mem); nothing else differs.
 */
#include "scan_archive.h"
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* tar header fields */
#define TH_NAME 0
#define TH_NAME_LEN 100
#define TH_SIZE 124
#define TH_SIZE_LEN 12
#define TH_CKSUM 148
#define TH_CKSUM_LEN 8
#define TH_TYPE 156
#define TH_LINK 157
#define TH_LINK_LEN 100
#define TH_MAGIC 257
#define TH_VERSION 263
#define TH_PREFIX 345
#define TH_PREFIX_LEN 155

#define SIZE_MAX_FIELD (1ull << 62)   /* larger sizes are damage, not data */

static bool is_gzip_magic(const uint8_t *p)
{
	return p[0] == 0x1f && p[1] == 0x8b;
}

/* ---------------------------------------------------------------- stream */

static int stream_init(struct sa_stream *s, const char *name, uint64_t max_ratio,
		       struct wd_diags *diags)
{
	s->name = name;
	s->diags = diags;
	s->max_ratio = max_ratio;
	s->ratio_floor = SA_RATIO_FLOOR;
	s->buf = malloc(SA_BUF_SIZE);
	if (!s->buf) {
		wd_add(diags, WD_SCAN_INPUT_UNREADABLE, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
		       "'%s': out of memory", name);
		s->done = s->failed = true;
		return -1;
	}
	return 0;
}

int sa_stream_open(struct sa_stream *s, int fd, const char *name, uint64_t max_ratio,
		   struct wd_diags *diags)
{
	memset(s, 0, sizeof *s);
	s->fd = fd;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		s->file_size = (uint64_t)st.st_size;
		s->seekable = true;
	}
	return stream_init(s, name, max_ratio, diags);
}

int sa_stream_open_mem(struct sa_stream *s, const uint8_t *data, size_t size, const char *name,
		       uint64_t max_ratio, struct wd_diags *diags)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->mem = data;
	s->mem_size = size;
	s->file_size = size;
	s->seekable = true;
	return stream_init(s, name, max_ratio, diags);
}

/* The source's read(2), lseek(2) and pread(2): the file, or the memory of a memory stream. */
static ssize_t src_read(struct sa_stream *s, uint8_t *dst, size_t n)
{
	if (s->fd >= 0)
		return read(s->fd, dst, n);
	size_t k = s->mem_size - s->mem_pos < n ? s->mem_size - s->mem_pos : n;
	if (k)
		memcpy(dst, s->mem + s->mem_pos, k);
	s->mem_pos += k;
	return (ssize_t)k;
}

static bool src_seek(struct sa_stream *s, uint64_t off)
{
	if (s->fd >= 0)
		return lseek(s->fd, (off_t)off, SEEK_SET) >= 0;
	s->mem_pos = off < s->mem_size ? (size_t)off : s->mem_size;
	return true;
}

static ssize_t src_pread(struct sa_stream *s, uint8_t *dst, size_t n, uint64_t off)
{
	if (s->fd >= 0)
		return pread(s->fd, dst, n, (off_t)off);
	if (off >= s->mem_size)
		return 0;
	size_t k = s->mem_size - (size_t)off < n ? s->mem_size - (size_t)off : n;
	memcpy(dst, s->mem + off, k);
	return (ssize_t)k;
}

void sa_stream_close(struct sa_stream *s)
{
	if (s->z_live)
		inflateEnd(&s->z);
	free(s->buf);
	s->buf = NULL;
	s->z_live = false;
}

uint64_t sa_stream_in_offset(const struct sa_stream *s)
{
	return s->buf_off + s->pos;
}

static void fail_read(struct sa_stream *s, int e)
{
	wd_add(s->diags, WD_SCAN_INPUT_UNREADABLE, WD_F_NONE, (int64_t)sa_stream_in_offset(s), WD_NONE,
	       WD_NONE, "'%s': read error at offset %llu: %s", s->name,
	       (unsigned long long)sa_stream_in_offset(s), strerror(e));
	s->done = s->failed = true;
}

/*
 * Make at least `want` (≤ SA_BUF_SIZE) unconsumed bytes available unless
 * the file ends first.  Returns the bytes available, or -1 on a read error.
 */
static long ensure(struct sa_stream *s, size_t want)
{
	if (s->len - s->pos >= want)
		return (long)(s->len - s->pos);
	if (s->pos) {
		memmove(s->buf, s->buf + s->pos, s->len - s->pos);
		s->buf_off += s->pos;
		s->len -= s->pos;
		s->pos = 0;
	}
	while (s->len < want && !s->in_eof) {
		ssize_t k = src_read(s, s->buf + s->len, SA_BUF_SIZE - s->len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			fail_read(s, errno);
			return -1;
		}
		if (k == 0)
			s->in_eof = true;
		s->len += (size_t)k;
		s->in_bytes += (uint64_t)k;
	}
	return (long)(s->len - s->pos);
}

/* Bytes after the last member: zeros (padding) or something else. */
static void report_trailing(struct sa_stream *s)
{
	uint64_t off = sa_stream_in_offset(s);
	size_t avail = s->len - s->pos;
	bool zeros = true;
	for (size_t i = 0; i < avail && zeros; i++)
		zeros = s->buf[s->pos + i] == 0;
	char size[64] = "";
	if (s->file_size > off)
		snprintf(size, sizeof size, "%llu ", (unsigned long long)(s->file_size - off));
	wd_add(s->diags, WD_ARCHIVE_TRAILING_GARBAGE, WD_F_NONE, (int64_t)off, WD_NONE, WD_NONE,
	       "'%s': %sbytes after gzip member %u at compressed offset %llu %s; ignored", s->name, size,
	       s->members, (unsigned long long)off,
	       zeros ? "are zeros (padding)" : "do not start another gzip member");
}

static bool ratio_exceeded(struct sa_stream *s)
{
	uint64_t in = sa_stream_in_offset(s);
	if (!s->max_ratio || s->out_bytes <= s->ratio_floor)
		return false;
	if (in && s->out_bytes / in <= s->max_ratio)
		return false;
	wd_add(s->diags, WD_ARCHIVE_LIMIT, WD_F_NONE, (int64_t)in, WD_NONE, WD_NONE,
	       "'%s': %llu bytes inflated from %llu compressed bytes pass the decompression-ratio cap "
	       "of %llu:1 (--max-ratio); reading stopped", s->name, (unsigned long long)s->out_bytes,
	       (unsigned long long)in, (unsigned long long)s->max_ratio);
	s->done = s->limited = true;
	return true;
}

/* Begin the gzip member at the current position (its magic was seen). */
static int member_begin(struct sa_stream *s)
{
	int rc = s->z_live ? inflateReset(&s->z) : inflateInit2(&s->z, 16 + MAX_WBITS);
	if (rc != Z_OK) {
		wd_add(s->diags, WD_SCAN_INPUT_UNREADABLE, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
		       "'%s': cannot start zlib: %s", s->name, s->z.msg ? s->z.msg : "out of memory");
		s->done = s->failed = true;
		return -1;
	}
	s->z_live = true;
	s->in_member = true;
	s->members++;
	return 0;
}

static size_t gz_read(struct sa_stream *s, uint8_t *out, size_t n)
{
	size_t got = 0;
	while (got < n && !s->done) {
		if (!s->in_member) {
			long avail = ensure(s, 2);
			if (avail < 0)
				break;
			if (avail == 0) {
				s->done = true;      /* clean end after a whole member */
				break;
			}
			if (avail < 2 || !is_gzip_magic(s->buf + s->pos)) {
				report_trailing(s);
				s->done = true;
				break;
			}
			if (member_begin(s))
				break;
		}
		if (s->pos == s->len) {
			long avail = ensure(s, 1);
			if (avail < 0)
				break;
			if (avail == 0) {
				uint64_t off = sa_stream_in_offset(s);
				wd_add(s->diags, WD_ARCHIVE_CORRUPT, WD_F_NONE, (int64_t)off, WD_NONE, WD_NONE,
				       "'%s': gzip member %u is truncated at compressed offset %llu "
				       "(%llu bytes inflated so far)", s->name, s->members,
				       (unsigned long long)off, (unsigned long long)s->out_bytes);
				s->done = s->failed = true;
				break;
			}
		}
		size_t in_avail = s->len - s->pos;
		size_t out_avail = n - got;
		if (out_avail > UINT32_MAX)
			out_avail = UINT32_MAX;
		s->z.next_in = s->buf + s->pos;
		s->z.avail_in = (uInt)in_avail;
		s->z.next_out = out + got;
		s->z.avail_out = (uInt)out_avail;
		int rc = inflate(&s->z, Z_NO_FLUSH);
		size_t used = in_avail - s->z.avail_in, made = out_avail - s->z.avail_out;
		s->pos += used;
		got += made;
		s->out_bytes += made;
		if (rc == Z_STREAM_END) {
			s->in_member = false;
		} else if (rc == Z_OK || (rc == Z_BUF_ERROR && (used || made || s->pos == s->len))) {
			/* progress, or simply more input needed */
		} else {
			uint64_t off = sa_stream_in_offset(s);
			wd_add(s->diags, WD_ARCHIVE_CORRUPT, WD_F_NONE, (int64_t)off, WD_NONE, WD_NONE,
			       "'%s': corrupt gzip data in member %u at compressed offset %llu: %s", s->name,
			       s->members, (unsigned long long)off, s->z.msg ? s->z.msg : "zlib error");
			s->done = s->failed = true;
			break;
		}
		if (ratio_exceeded(s))
			break;
	}
	return got;
}

static size_t plain_read(struct sa_stream *s, uint8_t *out, size_t n)
{
	size_t got = 0;
	while (got < n && !s->done) {
		if (s->pos < s->len) {
			size_t k = s->len - s->pos < n - got ? s->len - s->pos : n - got;
			memcpy(out + got, s->buf + s->pos, k);
			s->pos += k;
			got += k;
			continue;
		}
		if (n - got >= SA_BUF_SIZE) {
			/* Large reads bypass the buffer. */
			s->buf_off += s->len;
			s->len = s->pos = 0;
			ssize_t k = src_read(s, out + got, n - got);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				fail_read(s, errno);
				break;
			}
			if (k == 0) {
				s->in_eof = true;
				s->done = true;
				break;
			}
			s->buf_off += (uint64_t)k;
			s->in_bytes += (uint64_t)k;
			got += (size_t)k;
			continue;
		}
		long avail = ensure(s, 1);
		if (avail <= 0) {
			s->done = true;
			break;
		}
	}
	s->out_bytes += got;
	return got;
}

size_t sa_stream_read(struct sa_stream *s, uint8_t *out, size_t n)
{
	if (s->done)
		return 0;
	if (!s->started) {
		/* First read: decide the format from the first two bytes. */
		s->started = true;
		long avail = ensure(s, 2);
		if (avail < 0)
			return 0;
		s->gzip = avail >= 2 && is_gzip_magic(s->buf);
		if (s->gzip && member_begin(s))
			return 0;
	}
	if (n == 0)
		return 0;
	return s->gzip ? gz_read(s, out, n) : plain_read(s, out, n);
}

uint64_t sa_stream_skip(struct sa_stream *s, uint64_t n)
{
	uint64_t done = 0;
	if (!s->started && n)
		sa_stream_read(s, NULL, 0);
	if (!s->gzip && s->seekable) {
		size_t k = s->len - s->pos < n ? s->len - s->pos : (size_t)n;
		s->pos += k;
		done += k;
		uint64_t rest = n - done, here = s->buf_off + s->len;
		if (rest && !s->done) {
			uint64_t avail = s->file_size > here ? s->file_size - here : 0;
			uint64_t step = rest < avail ? rest : avail;
			if (step && src_seek(s, here + step)) {
				s->buf_off = here + step;
				s->len = s->pos = 0;
				done += step;
				s->out_bytes += step;
			}
		}
		s->out_bytes += k;
		if (done == n)
			return done;
	}
	uint8_t tmp[16384];
	while (done < n && !s->done) {
		size_t want = n - done < sizeof tmp ? (size_t)(n - done) : sizeof tmp;
		size_t k = sa_stream_read(s, tmp, want);
		done += k;
		if (k < want)
			break;
	}
	return done;
}

/* ---------------------------------------------------------------- tar */

/* Octal field: leading spaces, digits 0-7, ended by NUL or space.  -1 on anything else. */
static int64_t octal_field(const uint8_t *p, size_t n, bool empty_ok)
{
	size_t i = 0;
	while (i < n && p[i] == ' ')
		i++;
	uint64_t v = 0;
	size_t digits = 0;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++, digits++) {
		if (v > (SIZE_MAX_FIELD >> 3))
			return -1;
		v = v * 8 + (uint64_t)(p[i] - '0');
	}
	if (i < n && p[i] != 0 && p[i] != ' ')
		return -1;
	if (!digits && !empty_ok)
		return -1;
	return (int64_t)v;
}

/* GNU base-256: top bit of the first byte set, the rest big-endian.  -1 for negative or huge. */
static int64_t base256_field(const uint8_t *p, size_t n)
{
	if (p[0] & 0x40)
		return -1;                       /* negative */
	uint64_t v = p[0] & 0x3f;
	for (size_t i = 1; i < n; i++) {
		if (v > (SIZE_MAX_FIELD >> 8))
			return -1;
		v = (v << 8) | p[i];
	}
	return (int64_t)v;
}

static bool block_is_zero(const uint8_t *b)
{
	for (size_t i = 0; i < SA_BLOCK; i++)
		if (b[i])
			return false;
	return true;
}

/* The header checksum as tar computes it: unsigned, or the historic signed sum. */
static bool tar_cksum_ok(const uint8_t *b)
{
	int64_t want = octal_field(b + TH_CKSUM, TH_CKSUM_LEN, false);
	if (want < 0)
		return false;
	uint64_t usum = 0;
	int64_t ssum = 0;
	for (size_t i = 0; i < SA_BLOCK; i++) {
		uint8_t c = i >= TH_CKSUM && i < TH_CKSUM + TH_CKSUM_LEN ? ' ' : b[i];
		usum += c;
		ssum += (int8_t)c;
	}
	return (int64_t)usum == want || ssum == want;
}

static void copy_field(char *dst, const uint8_t *src, size_t n)
{
	size_t k = strnlen((const char *)src, n);
	memcpy(dst, src, k);
	dst[k] = '\0';
}

enum sa_hdr_status sa_tar_parse_header(const uint8_t b[SA_BLOCK], struct sa_tar_hdr *h)
{
	memset(h, 0, sizeof *h);
	if (block_is_zero(b))
		return SA_HDR_ZERO;
	if (!tar_cksum_ok(b))
		return SA_HDR_CKSUM;
	int64_t size = (b[TH_SIZE] & 0x80) ? base256_field(b + TH_SIZE, TH_SIZE_LEN)
					   : octal_field(b + TH_SIZE, TH_SIZE_LEN, true);
	if (size < 0)
		return SA_HDR_FIELD;
	h->size = (uint64_t)size;
	h->typeflag = (char)b[TH_TYPE];
	h->ustar = !memcmp(b + TH_MAGIC, "ustar", 5);
	bool posix = !memcmp(b + TH_MAGIC, "ustar\0", 6);
	char name[TH_NAME_LEN + 1];
	copy_field(name, b + TH_NAME, TH_NAME_LEN);
	if (posix && b[TH_PREFIX]) {
		char prefix[TH_PREFIX_LEN + 1];
		copy_field(prefix, b + TH_PREFIX, TH_PREFIX_LEN);
		snprintf(h->name, sizeof h->name, "%s/%s", prefix, name);
	} else {
		memcpy(h->name, name, strlen(name) + 1);
	}
	copy_field(h->link, b + TH_LINK, TH_LINK_LEN);
	return SA_HDR_OK;
}

bool sa_tar_is_header(const uint8_t *b, size_t n)
{
	if (n < SA_BLOCK)
		return false;
	struct sa_tar_hdr h;
	return sa_tar_parse_header(b, &h) == SA_HDR_OK;
}

void sa_tar_init(struct sa_tar *t, struct sa_stream *s, const char *name, struct wd_diags *diags)
{
	memset(t, 0, sizeof *t);
	t->s = s;
	t->name = name;
	t->diags = diags;
	t->pax_size = -1;
}

/* Read one block; returns the bytes read (SA_BLOCK, or fewer at the end). */
static size_t read_block(struct sa_tar *t, uint8_t *b)
{
	if (t->has_pb) {
		t->has_pb = false;
		memcpy(b, t->pb_block, SA_BLOCK);
		t->pos += SA_BLOCK;
		return SA_BLOCK;
	}
	size_t k = sa_stream_read(t->s, b, SA_BLOCK);
	t->pos += k;
	return k;
}

/* Padding after `size` data bytes, to the next block. */
static uint64_t tar_pad(uint64_t size)
{
	return (SA_BLOCK - size % SA_BLOCK) % SA_BLOCK;
}

/*
 * The archive ended inside the data (got of declared bytes) or the padding
 * of what the header at hdr_off describes.  Not repeated when the stream
 * itself failed or hit the ratio cap: that was reported, with the
 * compressed offset, and is the cause.
 */
static void tar_cut(struct sa_tar *t, uint64_t hdr_off, const char *what, uint64_t declared, uint64_t got)
{
	t->truncated = true;
	if (t->s->failed || t->s->limited)
		return;
	if (got >= declared)
		wd_add_sev(t->diags, WD_ARCHIVE_CORRUPT, WD_WARNING, WD_F_NONE, (int64_t)t->pos, WD_NONE, WD_NONE,
			   "'%s': the archive ends at offset %llu in the padding after %s (header at offset %llu), "
			   "without its end-of-archive blocks", t->name, (unsigned long long)t->pos, what,
			   (unsigned long long)hdr_off);
	else
		wd_add(t->diags, WD_ARCHIVE_CORRUPT, WD_F_NONE, (int64_t)hdr_off, WD_NONE, WD_NONE,
		       "'%s': truncated/corrupt tar at offset %llu: %s declares %llu bytes, the archive ends "
		       "after %llu of them", t->name, (unsigned long long)hdr_off, what,
		       (unsigned long long)declared, (unsigned long long)got);
}

/* The current member's data ended early (read or skipped). */
static void member_cut(struct sa_tar *t)
{
	t->truncated = true;
	if (t->cur_told)
		return;
	t->cur_told = true;
	tar_cut(t, t->cur_off, t->cur_what, t->cur_size, t->cur_size - t->left);
}

/*
 * First offset in [from, end) of a block that is a valid tar header, at a
 * multiple of SA_BLOCK from `from`; UINT64_MAX when there is none.  Reads
 * with pread, so the stream's position does not move.
 */
static uint64_t find_next_header(struct sa_stream *s, uint64_t from, uint64_t end)
{
	uint8_t buf[32 * SA_BLOCK];
	struct sa_tar_hdr h;
	uint64_t off = from;
	while (end > off && end - off >= SA_BLOCK) {
		uint64_t span = (end - off) / SA_BLOCK * SA_BLOCK;
		size_t want = span < sizeof buf ? (size_t)span : sizeof buf;
		ssize_t k = src_pread(s, buf, want, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < SA_BLOCK)
			return UINT64_MAX;
		for (size_t i = 0; i + SA_BLOCK <= (size_t)k; i += SA_BLOCK)
			if (sa_tar_parse_header(buf + i, &h) == SA_HDR_OK)
				return off + i;
		off += (uint64_t)k / SA_BLOCK * SA_BLOCK;
	}
	return UINT64_MAX;
}

/*
 * How many bytes after the header at hdr_off to take as its data, for a
 * header declaring `size`.  *avail is set to how many of them the archive
 * holds.  Normally both are `size`.  In a plain file whose remaining bytes
 * cannot hold `size`, the size field is damaged or the file was cut: the
 * data is then taken to end at the next valid header (reported, with the
 * resynchronisation point), or, when there is none, *avail is what the
 * file still holds and the cut is reported where the data runs out.  A
 * compressed stream does not know what remains: its cut is found when the
 * data runs out.
 */
static uint64_t data_extent(struct sa_tar *t, uint64_t hdr_off, uint64_t size, const char *what,
			    uint64_t *avail)
{
	struct sa_stream *s = t->s;
	*avail = size;
	if (s->gzip || !s->seekable || !size)
		return size;
	uint64_t start = sa_stream_in_offset(s);
	if (start > s->file_size)
		return size;             /* the file grew since fstat: its size says nothing */
	uint64_t remain = s->file_size - start;
	if (size <= remain)
		return size;
	uint64_t next = find_next_header(s, start, s->file_size);
	if (next == UINT64_MAX) {
		*avail = remain;
		return size;
	}
	*avail = next - start;
	wd_add(t->diags, WD_ARCHIVE_CORRUPT, WD_F_NONE, (int64_t)hdr_off, WD_NONE, WD_NONE,
	       "'%s': truncated/corrupt tar at offset %llu: %s declares %llu bytes, %llu remain; "
	       "resync at the next header, offset %llu", t->name, (unsigned long long)hdr_off,
	       what, (unsigned long long)size, (unsigned long long)remain, (unsigned long long)next);
	return next - start;
}

/*
 * Read the data of the record at hdr_off (declared bytes, of which extent
 * are taken, see data_extent) into dst, keeping at most cap bytes
 * (NUL-terminated); the rest and the padding are skipped.  Returns false
 * when the archive ended inside it (reported).  *cut is set when bytes were
 * dropped.
 */
static bool read_small(struct sa_tar *t, uint64_t hdr_off, const char *what, uint64_t declared,
		       uint64_t extent, char *dst, size_t cap, bool *cut)
{
	uint64_t keep = extent < cap ? extent : cap;
	size_t k = sa_stream_read(t->s, (uint8_t *)dst, (size_t)keep);
	t->pos += k;
	dst[k] = '\0';
	if (k < keep) {
		tar_cut(t, hdr_off, what, declared, k);
		return false;
	}
	if (extent > keep && cut)
		*cut = true;
	uint64_t data_rest = extent - keep;
	uint64_t rest = data_rest + (extent < declared ? 0 : tar_pad(declared));
	uint64_t sk = sa_stream_skip(t->s, rest);
	t->pos += sk;
	if (sk < rest) {
		tar_cut(t, hdr_off, what, declared, keep + (sk < data_rest ? sk : data_rest));
		return false;
	}
	return true;
}

static void copy_name(char *dst, const char *src, size_t n, bool *cut)
{
	size_t k = strnlen(src, n);
	if (k > SA_NAME_MAX) {
		k = SA_NAME_MAX;
		*cut = true;
	}
	memcpy(dst, src, k);
	dst[k] = '\0';
}

/* Parse PAX records "LEN key=value\n"; path, linkpath and size are used. */
static void parse_pax(struct sa_tar *t, const char *p, size_t n, uint64_t hdr_off)
{
	size_t i = 0;
	while (i < n) {
		size_t len = 0, j = i;
		while (j < n && p[j] >= '0' && p[j] <= '9' && j - i < 8)
			len = len * 10 + (size_t)(p[j++] - '0');
		if (j == i || j >= n || p[j] != ' ' || len <= j - i + 1 || len > n - i || p[i + len - 1] != '\n') {
			if (p[i] == '\0')
				return;                          /* NUL padding */
			wd_add_sev(t->diags, WD_ARCHIVE_CORRUPT, WD_WARNING, WD_F_NONE, (int64_t)hdr_off, WD_NONE,
				   WD_NONE, "'%s': malformed PAX record in the extended header at offset %llu; "
				   "the rest of that header is ignored", t->name, (unsigned long long)hdr_off);
			return;
		}
		const char *key = p + j + 1, *end = p + i + len - 1;   /* end: the newline */
		const char *eq = memchr(key, '=', (size_t)(end - key));
		if (eq) {
			size_t klen = (size_t)(eq - key), vlen = (size_t)(end - eq - 1);
			const char *v = eq + 1;
			if (klen == 4 && !memcmp(key, "path", 4)) {
				copy_name(t->pax_name, v, vlen, &t->cut);
				t->has_pax_name = true;
			} else if (klen == 8 && !memcmp(key, "linkpath", 8)) {
				copy_name(t->pax_link, v, vlen, &t->cut);
				t->has_pax_link = true;
			} else if (klen == 4 && !memcmp(key, "size", 4)) {
				uint64_t sz = 0;
				size_t d = 0;
				for (; d < vlen && v[d] >= '0' && v[d] <= '9' && sz < SIZE_MAX_FIELD / 10; d++)
					sz = sz * 10 + (uint64_t)(v[d] - '0');
				if (d == vlen && d > 0)
					t->pax_size = (int64_t)sz;
			}
		}
		i += len;
	}
}

static void clear_pending(struct sa_tar *t)
{
	t->has_long_name = t->has_long_link = t->has_pax_name = t->has_pax_link = false;
	t->cut = false;
	t->pax_size = -1;
}

/* Skip to the next block that is a valid header; returns true with it in b. */
static bool resync(struct sa_tar *t, uint8_t *b, uint64_t bad_off, const char *why)
{
	uint64_t skipped = 0;
	struct sa_tar_hdr h;
	for (;;) {
		size_t k = read_block(t, b);
		if (k < SA_BLOCK) {
			wd_add(t->diags, WD_ARCHIVE_CORRUPT, WD_F_NONE, (int64_t)bad_off, WD_NONE, WD_NONE,
			       "'%s': corrupt tar header at offset %llu (%s); no valid header after it "
			       "(%llu bytes skipped)", t->name, (unsigned long long)bad_off, why,
			       (unsigned long long)(skipped + k));
			return false;
		}
		skipped += SA_BLOCK;
		if (sa_tar_parse_header(b, &h) == SA_HDR_OK) {
			wd_add(t->diags, WD_ARCHIVE_CORRUPT, WD_F_NONE, (int64_t)bad_off, WD_NONE, WD_NONE,
			       "'%s': corrupt tar header at offset %llu (%s); skipped %llu bytes to the next "
			       "header at offset %llu", t->name, (unsigned long long)bad_off, why,
			       (unsigned long long)skipped, (unsigned long long)(t->pos - SA_BLOCK));
			return true;
		}
	}
}

int sa_tar_next(struct sa_tar *t, struct sa_entry *e)
{
	uint8_t b[SA_BLOCK];
	memset(e, 0, sizeof *e);
	if (t->finished)
		return 0;
	if (t->left + t->pad) {
		uint64_t left = t->left, want = t->left + t->pad;
		uint64_t k = sa_stream_skip(t->s, want);
		t->pos += k;
		t->left = t->pad = 0;
		if (k < want) {
			if (!t->cur_told) {
				t->left = k < left ? left - k : 0;
				member_cut(t);
				t->left = 0;
			}
			t->truncated = true;
			t->finished = true;
			return 0;
		}
	}
	clear_pending(t);
	for (;;) {
		uint64_t off = t->pos;
		size_t k = read_block(t, b);
		if (k == 0) {
			if (!t->ended && t->headers && !t->s->failed && !t->s->limited)
				wd_add_sev(t->diags, WD_ARCHIVE_CORRUPT, WD_WARNING, WD_F_NONE, (int64_t)off, WD_NONE,
					   WD_NONE, "'%s': the archive ends at offset %llu without its end-of-archive "
					   "blocks (cut at a member boundary?)", t->name, (unsigned long long)off);
			t->finished = true;
			return 0;
		}
		if (k < SA_BLOCK) {
			bool zeros = true;
			for (size_t i = 0; i < k && zeros; i++)
				zeros = b[i] == 0;
			if (t->ended && !zeros && !t->s->failed && !t->s->limited)
				wd_add(t->diags, WD_ARCHIVE_TRAILING_GARBAGE, WD_F_NONE, (int64_t)off, WD_NONE, WD_NONE,
				       "'%s': %zu bytes after the end-of-archive blocks at offset %llu; ignored",
				       t->name, k, (unsigned long long)off);
			else if (!t->ended && !t->s->failed && !t->s->limited)
				wd_add(t->diags, WD_ARCHIVE_CORRUPT, WD_F_NONE, (int64_t)off, WD_NONE, WD_NONE,
				       "'%s': truncated tar header at offset %llu (%zu of 512 bytes)", t->name,
				       (unsigned long long)off, k);
			t->finished = true;
			return 0;
		}
		struct sa_tar_hdr h;
		enum sa_hdr_status st = sa_tar_parse_header(b, &h);
		if (st == SA_HDR_ZERO) {
			if (++t->zeros >= 2)
				t->ended = true;
			continue;
		}
		if (st != SA_HDR_OK) {
			if (t->ended) {
				wd_add(t->diags, WD_ARCHIVE_TRAILING_GARBAGE, WD_F_NONE, (int64_t)off, WD_NONE, WD_NONE,
				       "'%s': data after the end-of-archive blocks at offset %llu is not a tar header; "
				       "ignored", t->name, (unsigned long long)off);
				sa_tar_drain(t);
				t->finished = true;
				return 0;
			}
			if (!resync(t, b, off, st == SA_HDR_CKSUM ? "checksum mismatch" : "bad size field")) {
				t->finished = true;
				return 0;
			}
			off = t->pos - SA_BLOCK;
			sa_tar_parse_header(b, &h);
		}
		t->zeros = 0;
		t->ended = false;        /* a header after the end marker: a concatenated archive */
		t->headers++;
		uint64_t extent, avail;
		switch (h.typeflag) {
		case 'L':
		case 'K': {
			const char *what = h.typeflag == 'L' ? "a GNU long-name record" : "a GNU long-link record";
			char *dst = h.typeflag == 'L' ? t->long_name : t->long_link;
			extent = data_extent(t, off, h.size, what, &avail);
			if (!read_small(t, off, what, h.size, extent, dst, SA_NAME_MAX, &t->cut)) {
				t->finished = true;
				return 0;
			}
			*(h.typeflag == 'L' ? &t->has_long_name : &t->has_long_link) = true;
			continue;
		}
		case 'x':
		case 'g': {
			const char *what = h.typeflag == 'x' ? "a PAX extended header" : "a PAX global header";
			extent = data_extent(t, off, h.size, what, &avail);
			if (h.typeflag == 'g' || extent > SA_PAX_MAX) {
				if (h.typeflag == 'x')
					wd_add(t->diags, WD_ARCHIVE_LIMIT, WD_F_NONE, (int64_t)off, WD_NONE, WD_NONE,
					       "'%s': PAX extended header at offset %llu is %llu bytes (cap %u); ignored",
					       t->name, (unsigned long long)off, (unsigned long long)extent, SA_PAX_MAX);
				uint64_t want = extent + (extent < h.size ? 0 : tar_pad(h.size));
				uint64_t sk = sa_stream_skip(t->s, want);
				t->pos += sk;
				if (sk < want) {
					tar_cut(t, off, what, h.size, sk < extent ? sk : extent);
					t->finished = true;
					return 0;
				}
				continue;
			}
			/* extent <= SA_PAX_MAX: a bounded allocation */
			char *pax = malloc((size_t)extent + 1);
			if (!pax) {
				t->finished = true;
				return 0;
			}
			bool ok = read_small(t, off, what, h.size, extent, pax, (size_t)extent, NULL);
			if (ok)
				parse_pax(t, pax, (size_t)extent, off);
			free(pax);
			if (!ok) {
				t->finished = true;
				return 0;
			}
			continue;
		}
		default:
			break;
		}
		/* A member. */
		const char *name = t->has_pax_name ? t->pax_name : t->has_long_name ? t->long_name : h.name;
		const char *link = t->has_pax_link ? t->pax_link : t->has_long_link ? t->long_link : h.link;
		memcpy(t->ename, name, strlen(name) + 1);
		memcpy(t->elink, link, strlen(link) + 1);
		e->name = t->ename;
		e->link = t->elink;
		e->typeflag = h.typeflag;
		e->offset = off;
		e->name_cut = t->cut;
		uint64_t size = t->pax_size >= 0 ? (uint64_t)t->pax_size : h.size;
		switch (h.typeflag) {
		case '1': e->type = SA_HARDLINK; break;
		case '2': e->type = SA_SYMLINK; size = 0; break;
		case '3': case '4': case '6': e->type = SA_SPECIAL; size = 0; break;
		case '5': e->type = SA_DIR; size = 0; break;
		case 'V': e->type = SA_SPECIAL; break;
		case 'S': case 'M': e->type = SA_UNSUPPORTED; break;
		default: e->type = SA_FILE; break;      /* '0', NUL, '7', unknown: POSIX says regular */
		}
		/* The data that follows is what the header's size (or PAX size) says,
		 * except for the types whose size tar ignores. */
		char esc[64];
		snprintf(t->cur_what, sizeof t->cur_what, "member '%s'",
			 report_esc_into(t->ename, strlen(t->ename), esc, sizeof esc, false));
		extent = data_extent(t, off, size, t->cur_what, &avail);
		e->size = size;
		e->avail = avail;
		t->left = extent;
		t->pad = extent < size ? 0 : tar_pad(size);
		t->cur_off = off;
		t->cur_size = size;
		t->cur_told = extent < size;     /* the resynchronisation was reported */
		clear_pending(t);
		return 1;
	}
}

size_t sa_tar_read(struct sa_tar *t, uint8_t *out, size_t n)
{
	if (n > t->left)
		n = (size_t)t->left;
	size_t k = sa_stream_read(t->s, out, n);
	t->pos += k;
	t->left -= k;
	if (k < n)
		member_cut(t);
	return k;
}

uint64_t sa_tar_skip(struct sa_tar *t, uint64_t n)
{
	if (n > t->left)
		n = t->left;
	uint64_t k = sa_stream_skip(t->s, n);
	t->pos += k;
	t->left -= k;
	if (k < n)
		member_cut(t);
	return k;
}

void sa_tar_drain(struct sa_tar *t)
{
	t->pos += sa_stream_skip(t->s, UINT64_MAX);
}

/* ---------------------------------------------------------------- names */

bool sa_name_unsafe(const char *name)
{
	if (name[0] == '/')
		return true;
	for (const char *p = name; *p;) {
		const char *q = strchr(p, '/');
		size_t n = q ? (size_t)(q - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		if (!q)
			break;
		p = q + 1;
	}
	return false;
}

