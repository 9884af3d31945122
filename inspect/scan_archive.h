/*
 * scan_archive.h — streaming readers for the containers backups come in:
 * gzip (one or many members) and tar (v7, ustar, GNU, PAX), read from a
 * file descriptor through one fixed buffer.  Nothing is ever extracted:
 * member data goes only where the caller's buffer points.
 *
 * Every problem — corrupt or truncated gzip data, a tar header whose
 * checksum fails, trailing garbage, an archive past the decompression-ratio
 * cap — is appended to the caller's diagnostic list with the offset where
 * it was found (compressed offset for gzip, tar-stream offset for tar) and
 * the reader goes on where it sensibly can.  Layout and rules: the essay at
 * the top of scan_archive.c and docs/scan.md.
 */
#ifndef WALDO_SCAN_ARCHIVE_H
#define WALDO_SCAN_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "../formats/diag.h"

#define SA_BLOCK 512                 /* tar block */
#define SA_NAME_MAX 4096             /* longest member or link name kept (GNU 'L'/'K', PAX path) */
#define SA_PAX_MAX (1u << 20)        /* largest PAX extended header read */
#define SA_BUF_SIZE (256u * 1024)    /* input buffer */
#define SA_RATIO_FLOOR (64ull << 20) /* the ratio cap applies once this much was inflated */

/* A byte source: a plain file, or the concatenated members of a gzip file. */
struct sa_stream {
	int fd;                  /* -1 for a memory stream */
	const uint8_t *mem;      /* memory stream (sa_stream_open_mem): the whole file */
	size_t mem_size, mem_pos;
	const char *name;        /* escaped display name for messages (not owned) */
	struct wd_diags *diags;  /* where problems go (not owned) */
	uint64_t max_ratio;      /* inflated/compressed bytes allowed; 0: no cap */
	uint64_t ratio_floor;    /* the ratio cap applies past this many inflated bytes (SA_RATIO_FLOOR) */
	bool gzip;               /* output is inflated */
	bool seekable;           /* plain regular file: skips are lseeks */
	uint64_t file_size;      /* from fstat; 0 when unknown */

	uint8_t *buf;            /* SA_BUF_SIZE bytes of input */
	size_t len, pos;         /* valid bytes in buf, next to use */
	uint64_t buf_off;        /* file offset of buf[0] */
	bool in_eof;             /* read() returned 0 */
	bool started;            /* the format was decided (first read) */
	z_stream z;
	bool z_live;             /* inflateInit2 done */
	bool in_member;          /* inside a gzip member */
	unsigned members;        /* gzip members begun */

	bool done;               /* no more output: end of data or failure */
	bool failed;             /* ended by an error (already reported) */
	bool limited;            /* ended by the ratio cap (already reported) */
	uint64_t in_bytes;       /* bytes read from the file */
	uint64_t out_bytes;      /* bytes delivered (inflated for gzip) */
};

/*
 * Start reading fd (positioned at 0).  The stream is gzip when its first two
 * bytes are 1f 8b.  Returns 0, or -1 (out of memory; reported).  Always
 * call sa_stream_close.
 */
int sa_stream_open(struct sa_stream *s, int fd, const char *name, uint64_t max_ratio,
		   struct wd_diags *diags);
/*
 * The same over a file already in memory (size bytes at data, which must
 * outlive the stream): what the fuzz target drives.  Behaves exactly as a
 * regular file of that content (seekable, size known); no I/O.
 */
int sa_stream_open_mem(struct sa_stream *s, const uint8_t *data, size_t size, const char *name,
		       uint64_t max_ratio, struct wd_diags *diags);
/* Up to n bytes into out; fewer only when the stream is done. */
size_t sa_stream_read(struct sa_stream *s, uint8_t *out, size_t n);
/* Skip n bytes; returns the bytes skipped (fewer only when done). */
uint64_t sa_stream_skip(struct sa_stream *s, uint64_t n);
/* Compressed (file) offset of the next byte to be consumed. */
uint64_t sa_stream_in_offset(const struct sa_stream *s);
void sa_stream_close(struct sa_stream *s);

/* One decoded 512-byte tar header block. */
enum sa_hdr_status { SA_HDR_OK = 0, SA_HDR_ZERO, SA_HDR_CKSUM, SA_HDR_FIELD };

struct sa_tar_hdr {
	char name[257];          /* ustar prefix + "/" + name, NUL-terminated */
	char link[101];
	uint64_t size;
	char typeflag;
	bool ustar;              /* "ustar" magic (POSIX or GNU) */
};

/*
 * Decode one header block.  SA_HDR_ZERO for a block of zeros (end marker),
 * SA_HDR_CKSUM when the checksum (unsigned or historic signed sum) fails,
 * SA_HDR_FIELD when the size field is not octal / base-256 or too large.
 * Mirrors what GNU tar and libarchive accept.
 */
enum sa_hdr_status sa_tar_parse_header(const uint8_t b[SA_BLOCK], struct sa_tar_hdr *h);
/* Whether a block looks like a tar header (for content sniffing). */
bool sa_tar_is_header(const uint8_t *b, size_t n);

enum sa_type {
	SA_FILE = 0,             /* regular file (also contiguous and unknown types, as POSIX says) */
	SA_DIR,
	SA_SYMLINK,
	SA_HARDLINK,
	SA_SPECIAL,              /* device, FIFO, volume label: no data for us */
	SA_UNSUPPORTED,          /* GNU sparse, multi-volume continuation */
};

struct sa_entry {
	const char *name;        /* raw bytes, NUL-terminated; valid until the next sa_tar_next */
	const char *link;        /* link target ("" when none) */
	uint64_t size;           /* data bytes the header declares */
	uint64_t avail;          /* at most this many of them are in the archive (== size unless the
				  * reader knows better: a plain file too short for them) */
	enum sa_type type;
	char typeflag;
	uint64_t offset;         /* tar-stream offset of the member's header */
	bool name_cut;           /* a name or link was longer than SA_NAME_MAX and was cut */
};

struct sa_tar {
	struct sa_stream *s;
	struct wd_diags *diags;
	const char *name;        /* escaped archive name for messages */
	uint64_t pos;            /* tar-stream offset of the next unread byte */
	uint64_t left;           /* data bytes of the current member not yet read */
	uint64_t pad;            /* padding after them */
	unsigned zeros;          /* consecutive zero blocks */
	bool ended;              /* end marker seen (two zero blocks) */
	bool finished;           /* sa_tar_next returned 0 */
	bool truncated;          /* a member's data ended early */
	uint64_t cur_off;        /* header offset of the member whose data is being read */
	uint64_t cur_size;       /* the data bytes its header declares */
	bool cur_told;           /* its cut was reported */
	char cur_what[96];       /* "member 'NAME'" (escaped), for messages */
	unsigned headers;        /* valid headers read */
	char ename[SA_NAME_MAX + 1], elink[SA_NAME_MAX + 1];
	char long_name[SA_NAME_MAX + 1], long_link[SA_NAME_MAX + 1];
	char pax_name[SA_NAME_MAX + 1], pax_link[SA_NAME_MAX + 1];
	bool has_long_name, has_long_link, has_pax_name, has_pax_link, cut;
	int64_t pax_size;        /* -1: none */
	const uint8_t *pb_block; /* a first block already read from the stream (sniffing) */
	bool has_pb;
};

void sa_tar_init(struct sa_tar *t, struct sa_stream *s, const char *name, struct wd_diags *diags);
/*
 * Next member: 1 with e filled, 0 at the end of the archive (after an end
 * marker, at end of data, or after damage that cannot be skipped; each
 * reported).  Unread data of the previous member is skipped.
 */
int sa_tar_next(struct sa_tar *t, struct sa_entry *e);
/* Read up to n bytes of the current member's data; fewer at its end or when
 * the archive ends early (then t->truncated is set and the cut reported). */
size_t sa_tar_read(struct sa_tar *t, uint8_t *out, size_t n);
/* Skip up to n bytes of the current member's data; returns the bytes skipped
 * (fewer at its end or when the archive ends early, as sa_tar_read). */
uint64_t sa_tar_skip(struct sa_tar *t, uint64_t n);
/* After the last member: read the rest of the stream (gzip CRC, garbage). */
void sa_tar_drain(struct sa_tar *t);

/* An absolute member name, or one with a ".." component. */
bool sa_name_unsafe(const char *name);


#endif
